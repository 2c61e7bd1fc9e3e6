"""The autograder: one group of tests per subtask of the assignment, each checking one
function of yours on small fixed inputs (`make check` prints one line per subtask).

The expected numbers are data (tests/expected.npz), computed once from a solution by the
course staff; the other checks are properties (rows that sum to one, a permutation).
The functions a test does not check are replaced by stand-ins, so a mistake in one
function fails its own subtask and no other. The modules are imported inside the tests:
a file of yours that does not import fails the subtasks of the files that import it.
"""
import importlib

import numpy as np
import pytest

from expect import assert_all, assert_close

subtask = pytest.mark.subtask


def module(name: str):
    """Your module `name` (task2a, task3, ...), imported fresh if it changed."""
    return importlib.import_module(name)


def first_differing_row(actual, desired) -> int:
    """The index of the first row where the arrays differ (they have one shape)."""
    bad = ~np.isclose(actual, desired, rtol=1e-7, atol=1e-12)
    return int(np.argmax(bad.reshape(len(bad), -1).any(axis=1)))


class FakeModel:
    """A stand-in model: forward returns the given outputs (the next one at each call),
    backward records its arguments and sets grad to the given gradient."""

    def __init__(self, w, outputs, grad=None):
        self.w, self.outputs, self.grad_to_set = w, list(outputs), grad
        self.grad, self.forward_calls, self.backward_calls = None, [], []

    def forward(self, X):
        self.forward_calls.append(X)
        return self.outputs[min(len(self.forward_calls), len(self.outputs)) - 1]

    def backward(self, X, outputs, targets):
        self.backward_calls.append((X, outputs, targets))
        self.grad = self.grad_to_set

    def zero_grad(self):
        self.grad = None


# ------------------------------------------------------------------ task 2a
@subtask("2a pre-processing", "task2a.py:pre_process_images")
def test_pre_process_images(expected):
    images, desired = expected["images"], expected["pre_processed"]
    out = module("task2a").pre_process_images(images.copy())
    assert isinstance(out, np.ndarray) and out.shape == desired.shape, (
        f"pre_process_images must return an array of shape {desired.shape} for "
        f"{len(images)} images (784 pixels, then a 1 for the bias), got shape {np.shape(out)}")
    assert out.dtype == np.float64, (f"pre_process_images must return float64 (as the "
                                     f"docstring says), got {out.dtype}")
    assert_all(out[:, -1] == 1, "pre_process_images: the last column must be all ones "
               "(the bias trick)", out[:, -1])
    if np.allclose(out[:, :-1], images / 255):
        raise AssertionError("pre_process_images maps the pixels to [0, 1] (divides by 255): "
                             "they must lie in [-1, 1], with 0 -> -1 and 255 -> 1")
    if not np.allclose(out, desired, rtol=1e-7, atol=0) and np.allclose(out, desired, atol=1e-6):
        raise AssertionError("pre_process_images loses digits: compute in float64 "
                             "(X.astype(np.float64)), not in float32")
    assert_close(out, desired, "pre_process_images must map a pixel x in [0, 255] linearly to "
                 "[-1, 1] (0 -> -1, 255 -> 1)")


def check_loss(task, targets, outputs, desired, formula, equation):
    """cross_entropy_loss of `task` on fixed targets and outputs: one number, the mean."""
    __tracebackhide__ = True
    name = f"cross_entropy_loss ({task}.py)"
    loss = module(task).cross_entropy_loss(targets.copy(), outputs.copy())
    assert np.ndim(loss) == 0, (f"{name} must return one number, the mean over the batch, "
                                f"got an array of shape {np.shape(loss)}")
    loss = float(loss)
    if np.isclose(loss, len(targets) * desired):
        raise AssertionError(f"{name} sums over the batch: it must average (divide by N = "
                             f"{len(targets)})")
    if np.isclose(loss, -desired):
        raise AssertionError(f"{name} has the wrong sign: the loss is {formula} >= 0")
    assert np.isclose(loss, desired, rtol=1e-9), (
        f"{name} gives {loss:.6g} on {len(targets)} examples, expected {desired:.6g} "
        f"({equation}, averaged over the batch)")


# The binary loss, forward and backward take pre-processed images from the data file,
# not from your pre_process_images.
@subtask("2a loss", "task2a.py:cross_entropy_loss")
def test_binary_cross_entropy(expected):
    check_loss("task2a", expected["binary_targets"], expected["binary_outputs"],
               float(expected["binary_loss"]),
               "-1/N sum_n (y_n ln y_hat_n + (1 - y_n) ln(1 - y_hat_n))", "Equation 3")


@subtask("2a forward", "task2a.py:BinaryModel.forward")
def test_binary_forward(expected):
    X = expected["X"]
    model = module("task2a").BinaryModel()
    out = model.forward(X.copy())
    assert np.shape(out) == (len(X), 1), (
        f"BinaryModel.forward must return shape [N, 1] (one column), got {np.shape(out)} "
        f"for N = {len(X)}")
    assert_all(np.asarray(out) == 0.5, "BinaryModel.forward: with all weights zero every "
               "output must be sigmoid(0) = 0.5", out)
    for w, desired in ((expected["w1"], expected["binary_forward"]),
                       (expected["w1_large"], expected["binary_forward_large"])):
        model.w = w.copy()
        with np.errstate(all="ignore"):  # a warning is no error here; the value is
            out = np.asarray(model.forward(X.copy()), dtype=np.float64)
        assert_all(np.isfinite(out) & (out >= 0) & (out <= 1), "BinaryModel.forward must "
                   f"return probabilities in [0, 1] (at weights up to "
                   f"{np.abs(w).max():.3g}), got", out)
        assert_close(out, desired, "BinaryModel.forward must return sigmoid(X w) = "
                     "1 / (1 + exp(-X w))", atol=1e-12)


@subtask("2a backward", "task2a.py:BinaryModel.backward")
def test_binary_backward(expected):
    X, targets, outputs, desired = (expected["X"], expected["binary_targets"],
                                    expected["binary_outputs"], expected["binary_grad"])
    model = module("task2a").BinaryModel()
    model.w = expected["w1"].copy()
    model.backward(X.copy(), outputs.copy(), targets.copy())
    assert model.grad is not None and np.shape(model.grad) == desired.shape, (
        f"BinaryModel.backward must set self.grad to an array of the shape of w "
        f"{desired.shape}, got {None if model.grad is None else np.shape(model.grad)}")
    diagnose_gradient("BinaryModel.backward", model.grad, desired, len(X))


def diagnose_gradient(name, grad, desired, num_rows, l2=None):
    """Fail with what is most likely wrong with grad, given the right one."""
    __tracebackhide__ = True
    grad = np.asarray(grad, dtype=np.float64)
    data_term = desired if l2 is None else desired - l2
    l2 = np.zeros_like(desired) if l2 is None else l2
    for wrong, fault in ((-data_term + l2, "the sign is wrong: the gradient of the loss is "
                                           "-1/N sum_n (y_n - y_hat_n) x_n"),
                         (num_rows * data_term + l2, "it sums over the batch: divide by N, "
                                                     f"the batch size (here {num_rows})")):
        if np.allclose(grad, wrong, rtol=1e-9, atol=1e-15) and not np.allclose(wrong, desired):
            raise AssertionError(f"{name}: {fault}")
    assert_close(grad, desired, f"{name} must set self.grad to the gradient of the mean loss, "
                 "-1/N sum_n (y_n - y_hat_n) x_n", atol=1e-12)


# ------------------------------------------------------------------ task 2b, 2c
def check_train_step(task, loss_modules, monkeypatch, num_outputs):
    """train_step must call forward once, backward with those outputs, step w against
    the gradient by the learning rate, and return the loss of those outputs."""
    __tracebackhide__ = True
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(6, 785))
    Y = np.eye(num_outputs)[[0, 1, 0, 1, 1, 0]] if num_outputs > 1 else \
        np.array([[1], [0], [1], [1], [0], [0]])
    outputs = [np.full((6, num_outputs), 0.5 if num_outputs == 1 else 1 / num_outputs),
               np.full((6, num_outputs), 0.25 if num_outputs == 1 else 0.05)]
    w, grad = rng.normal(size=(785, num_outputs)), rng.normal(size=(785, num_outputs))
    losses = []

    def fake_loss(targets, outputs_):
        losses.append((targets, outputs_))
        return 0.125 * len(losses)
    for name in loss_modules:  # the loss is not yours to be checked here
        monkeypatch.setattr(module(name), "cross_entropy_loss", fake_loss)
    model = FakeModel(w.copy(), outputs, grad.copy())
    trainer_class = getattr(module(task), "LogisticTrainer" if task == "task2"
                            else "SoftmaxTrainer")
    name = f"{trainer_class.__name__}.train_step"
    trainer = trainer_class(model, 0.3, 3, False, X, Y, X, Y)
    loss = trainer.train_step(X[:3], Y[:3])
    assert len(model.forward_calls) >= 1, f"{name} must call self.model.forward(X_batch)"
    assert len(model.backward_calls) == 1, (
        f"{name} must call self.model.backward(X_batch, outputs, Y_batch) once, "
        f"it called it {len(model.backward_calls)} times")
    X_b, outputs_b, Y_b = model.backward_calls[0]
    assert np.array_equal(X_b, X[:3]) and np.array_equal(Y_b, Y[:3]), \
        f"{name} must pass the batch to backward: backward(X_batch, outputs, Y_batch)"
    assert outputs_b is outputs[0], \
        f"{name} must pass backward the outputs of forward(X_batch)"
    assert np.shape(model.w) == w.shape, \
        f"{name} changed the shape of w from {w.shape} to {np.shape(model.w)}"
    if np.allclose(model.w, w + 0.3 * grad):
        raise AssertionError(f"{name} steps along the gradient: gradient descent is "
                             "w = w - learning_rate * grad")
    if np.allclose(model.w, w):
        raise AssertionError(f"{name} must update the weights: w = w - learning_rate * grad")
    assert_close(model.w, w - 0.3 * grad, f"{name} must update the weights by "
                 "w = w - learning_rate * grad (self.learning_rate)")
    assert losses, f"{name} must return the batch loss, computed with cross_entropy_loss"
    targets_l, outputs_l = losses[-1]
    assert np.array_equal(targets_l, Y[:3]) and outputs_l is outputs[0] and loss == \
        0.125 * len(losses), (f"{name} must return the loss of the outputs it trained on "
                              "and the batch's targets, from before the update")


def check_accuracy(task, outputs, targets, desired, rule):
    """calculate_accuracy on a stand-in model that returns `outputs`."""
    __tracebackhide__ = True
    model = FakeModel(np.zeros((785, targets.shape[1])), [outputs.copy()])
    X = np.zeros((len(outputs), 785))
    accuracy = module(task).calculate_accuracy(X, targets.copy(), model)
    assert np.ndim(accuracy) == 0, (f"calculate_accuracy ({task}.py) must return one number, "
                                    f"got shape {np.shape(accuracy)}")
    assert len(model.forward_calls) >= 1, \
        f"calculate_accuracy ({task}.py) must compute the outputs with model.forward(X)"
    assert np.isclose(float(accuracy), desired), (
        f"calculate_accuracy ({task}.py) gives {float(accuracy):g} where "
        f"{round(desired * len(outputs))} of {len(outputs)} predictions are right "
        f"({desired:g}; {rule})" + ("; it counts the wrong ones"
                            if np.isclose(float(accuracy), 1 - desired) else ""))


@subtask("2b training step", "task2.py:LogisticTrainer.train_step")
def test_logistic_train_step(monkeypatch):
    check_train_step("task2", ("task2", "task2a"), monkeypatch, 1)


@subtask("2c accuracy", "task2.py:calculate_accuracy")
def test_binary_accuracy(expected):
    check_accuracy("task2", expected["binary_acc_outputs"], expected["binary_acc_targets"],
                   float(expected["binary_accuracy"]), "an output of 0.5 or more predicts 1")


# ------------------------------------------------------------------ task 2d, 2e
class StepModel:
    """A stand-in model whose weights are the number of train steps taken so far
    (changed in place, as `w -= learning_rate * grad` would)."""

    def __init__(self):
        self.w = np.zeros((785, 1))


def scripted_run(val_losses, num_epochs):
    """BaseTrainer.train on a trainer whose validation losses come from a script:
    40 rows, batches of 4, so 10 steps per epoch and a validation every 2 steps."""
    trainer_module = module("trainer")

    class ScriptedTrainer(trainer_module.BaseTrainer):
        def train_step(self, X_batch, Y_batch):
            self.model.w += 1
            return 1.0

        def validation_step(self):
            loss = val_losses[min(len(self.seen), len(val_losses) - 1)]
            self.seen.append(loss)
            return loss, 0.5, 0.5

    X, Y = np.zeros((40, 785)), np.zeros((40, 1))
    trainer = ScriptedTrainer(StepModel(), 0.1, 4, False, X, Y, X[:4], Y[:4])
    trainer.seen = []
    train_history, val_history = trainer.train(num_epochs)
    return trainer, train_history, val_history


@subtask("2d early stopping", "trainer.py:BaseTrainer.train")
def test_early_stopping(expected):
    losses = list(expected["es_val_losses"])
    trainer, train_history, val_history = scripted_run(losses, 50)
    name = "BaseTrainer.train (early stopping)"
    num_validations, desired = len(val_history["loss"]), int(expected["es_num_validations"])
    best = int(np.argmin(losses[:desired]))
    if len(train_history["loss"]) == 500:
        raise AssertionError(
            f"{name} never stops early: the validation loss is lowest at validation "
            f"{best + 1} and does not go lower in the {desired - best - 1} after it; training "
            f"must stop after {desired - best - 1} validations in a row without a lower loss")
    hint = ("the count starts again at 0 with every lower loss" if num_validations < desired
            else "an equal loss is no improvement")
    assert num_validations == desired, (
        f"{name} stops after {num_validations - best - 1} validations in a row without a "
        f"lower validation loss; it must stop after {desired - best - 1} (at validation "
        f"{desired}, not {num_validations}; {hint})")
    assert trainer.early_stopped and trainer.stop_epoch == int(expected["es_stop_epoch"]), (
        f"{name} must leave the loops with break, not return: the lines after them record "
        f"where training stopped (self.early_stopped, self.stop_epoch)")
    last_step, best_step = max(train_history["loss"]), int(expected["es_best_step"])
    kept = float(np.asarray(trainer.model.w).ravel()[0]) - 1  # w counts the steps
    if kept == last_step != best_step:
        raise AssertionError(
            f"{name} keeps the weights of the last step ({last_step}); after training the "
            f"model must get back the weights of the lowest validation loss (step "
            f"{best_step}), a copy kept then (weights can change in place afterwards)")
    assert kept == best_step, (
        f"{name} leaves the model with the weights of step {kept:g}; it must keep those of "
        f"the lowest validation loss (step {best_step})")
    assert trainer.best_step == best_step, (
        f"{name} must set self.best_step to the step of the lowest validation loss "
        f"({best_step}), got {trainer.best_step}")


@subtask("2d early stopping", "trainer.py:BaseTrainer.train")
def test_no_early_stop_while_the_loss_falls():
    trainer, train_history, _ = scripted_run(list(np.linspace(5, 1, 200)), 7)
    assert len(train_history["loss"]) == 70, (
        f"BaseTrainer.train must train all 7 epochs (70 steps) while the validation loss "
        f"keeps falling, it stopped after {len(train_history['loss'])} steps")
    kept = float(np.asarray(trainer.model.w).ravel()[0]) - 1  # w counts the steps
    assert kept == 68, (
        f"BaseTrainer.train must keep the weights of the lowest validation loss, here those "
        f"of the last validation (step 68), got those of step {kept:g}")


def shuffled_epochs(shuffle, num_epochs=2, drop_last=True, rng=None):
    """The row numbers batch_loader yields in each epoch over 50 numbered rows."""
    utils = module("utils")
    X = np.arange(50, dtype=np.float64).reshape(-1, 1) * np.ones((1, 3))
    Y = np.arange(50).reshape(-1, 1) + 1000
    epochs = []
    for _ in range(num_epochs):
        rows = []
        kwargs = {} if rng is None else dict(rng=rng)
        for X_batch, Y_batch in utils.batch_loader(X, Y, 8, shuffle=shuffle,
                                                   drop_last=drop_last, **kwargs):
            assert np.shape(X_batch)[1:] == (3,) and len(X_batch) == len(Y_batch), \
                "batch_loader must yield (X_batch, Y_batch) with the rows of X and of Y"
            assert_all(X_batch[:, 0] + 1000 == np.asarray(Y_batch)[:, 0],
                       "batch_loader must keep each row of X with its row of Y when "
                       "shuffling (shuffle both with one order)")
            rows.extend(int(r) for r in X_batch[:, 0])
        epochs.append(rows)
    return epochs


@subtask("2e shuffling", "utils.py:batch_loader")
def test_batch_loader_shuffles(expected):
    np.random.seed(0)
    for rng in (None, np.random.default_rng(0)):
        first, second = shuffled_epochs(True, rng=rng)
        assert len(first) == 48 and len(set(first)) == 48, (
            "batch_loader(shuffle=True, drop_last=True) must yield 6 full batches of 8 "
            f"distinct rows out of 50 each epoch, got {len(first)} rows "
            f"({len(set(first))} distinct)")
        assert first != list(range(48)), ("batch_loader(shuffle=True) yields the rows in "
                                          "their original order: it must shuffle them")
        assert first != second, ("batch_loader(shuffle=True) yields the same order every "
                                 "epoch: draw a new random order each time it is called")
    assert shuffled_epochs(False, 1) == [list(range(48))], \
        "batch_loader(shuffle=False) must keep the rows in their order"
    state = np.random.get_state()[1].copy()
    orders = [shuffled_epochs(True, 1, rng=np.random.default_rng(seed))[0] for seed in (5, 5, 6)]
    assert orders[0] == orders[1] and orders[0] != orders[2], (
        "batch_loader(shuffle=True, rng=...) must draw its order from rng: the same seed "
        "must give the same order, another seed another one")
    assert np.array_equal(np.random.get_state()[1], state), \
        "batch_loader(shuffle=True, rng=...) must use rng, not numpy's global random state"
    everything = shuffled_epochs(True, 1, drop_last=False)[0]
    assert sorted(everything) == list(range(50)), (
        "batch_loader(shuffle=True, drop_last=False) must yield every row once per epoch")


# ------------------------------------------------------------------ task 3a
@subtask("3a one-hot", "task3a.py:one_hot_encode")
def test_one_hot_encode(expected):
    labels, desired = expected["labels"], expected["one_hot"]
    out = module("task3a").one_hot_encode(labels.copy(), 10)
    assert np.shape(out) == desired.shape, (
        f"one_hot_encode(Y, 10) must return shape {desired.shape} for {len(labels)} labels, "
        f"got {np.shape(out)}")
    out = np.asarray(out)
    for shift, how in ((-1, "label - 1"), (1, "label + 1")):
        if np.array_equal(out, np.roll(desired, shift, axis=1)):
            raise AssertionError(f"one_hot_encode puts the 1 in column {how}: label k must "
                                 "have its 1 in column k (0 -> column 0)")
    row = first_differing_row(out, desired)
    assert np.array_equal(out, desired), (
        f"one_hot_encode: label {int(labels[row, 0])} must become a row of zeros with one 1 "
        f"in column {int(labels[row, 0])}, got {out[row].tolist()}")


@subtask("3a loss", "task3a.py:cross_entropy_loss")
def test_softmax_cross_entropy(expected):
    check_loss("task3a", expected["softmax_targets"], expected["softmax_outputs"],
               float(expected["softmax_loss"]), "-1/N sum_n sum_k y_k ln y_hat_k",
               "Equation 5")


@subtask("3a forward/backward", "task3a.py:SoftmaxModel.forward")
def test_softmax_forward(expected):
    X = expected["X"]
    model = module("task3a").SoftmaxModel(0.0)
    for w, desired, where in ((expected["w10"], expected["softmax_forward"], ""),
                              (expected["w10_large"], expected["softmax_forward_large"],
                               " at large weights (logits in the thousands)")):
        model.w = w.copy()
        with np.errstate(all="ignore"):  # a warning is no error here; the value is
            out = model.forward(X.copy())
        assert np.shape(out) == desired.shape, (
            f"SoftmaxModel.forward must return shape [N, 10], got {np.shape(out)} for "
            f"N = {len(X)}")
        out = np.asarray(out, dtype=np.float64)
        assert_all(np.isfinite(out), f"SoftmaxModel.forward returns NaN or inf{where}: "
                   "subtract each row's largest logit before exp (it leaves the softmax as "
                   "it is)", out)
        assert_all(np.isclose(out.sum(axis=1), 1.0), "SoftmaxModel.forward must normalise "
                   "each row (axis=1, over the classes): every row of outputs must sum to 1",
                   out.sum(axis=1))
        assert_close(out, desired, f"SoftmaxModel.forward must return softmax(X w){where}",
                     atol=1e-12)


@subtask("3a forward/backward", "task3a.py:SoftmaxModel.backward")
def test_softmax_backward(expected):
    X, targets, outputs, desired = (expected["X"], expected["softmax_targets"],
                                    expected["softmax_outputs"], expected["softmax_grad"])
    model = module("task3a").SoftmaxModel(0.0)
    model.w = expected["w10"].copy()
    model.backward(X.copy(), outputs.copy(), targets.copy())
    assert model.grad is not None and np.shape(model.grad) == desired.shape, (
        f"SoftmaxModel.backward must set self.grad to an array of the shape of w "
        f"{desired.shape}, got {None if model.grad is None else np.shape(model.grad)}")
    diagnose_gradient("SoftmaxModel.backward (lambda = 0)", model.grad, desired, len(X))


# ------------------------------------------------------------------ task 3b, 3c
@subtask("3b/3c training step and accuracy", "task3.py:SoftmaxTrainer.train_step")
def test_softmax_train_step(monkeypatch):
    check_train_step("task3", ("task3", "task3a"), monkeypatch, 10)


@subtask("3b/3c training step and accuracy", "task3.py:calculate_accuracy")
def test_softmax_accuracy(expected):
    check_accuracy("task3", expected["softmax_acc_outputs"], expected["softmax_targets"],
                   float(expected["softmax_accuracy"]), "the predicted class is the largest output")


# ------------------------------------------------------------------ task 4
@subtask("4a/4b L2 gradient", "task3a.py:SoftmaxModel.backward")
def test_l2_term_of_the_gradient(expected):
    """backward with lambda minus backward with lambda = 0 is the L2 term alone, so a
    mistake in the data term does not count here."""
    task3a = module("task3a")
    X, targets, outputs = expected["X"], expected["softmax_targets"], expected["softmax_outputs"]
    lam = float(expected["l2_lambda"])
    grads = []
    for value in (lam, 0.0):
        model = task3a.SoftmaxModel(value)
        model.w = expected["w10"].copy()
        model.backward(X.copy(), outputs.copy(), targets.copy())
        grads.append(np.asarray(model.grad, dtype=np.float64))
    term, desired = grads[0] - grads[1], expected["l2_term"]
    name = f"SoftmaxModel.backward with l2_reg_lambda = {lam:g}"
    if np.allclose(term, 0):
        raise AssertionError(f"{name}: the L2 term is missing: the gradient of lambda ||w||^2 "
                             "is added to the gradient of the loss")
    if np.allclose(term, desired / 2):
        raise AssertionError(f"{name}: the L2 term is half what it must be: the derivative of "
                             "lambda w^2 is 2 lambda w")
    assert_close(term, desired, f"{name}: the L2 term of the gradient is wrong (the gradient "
                 "of lambda ||w||^2 = lambda sum of w_ij^2)", atol=1e-12)


@subtask("4b weight images", "task4.py:weight_images")
def test_weight_images(expected):
    w, desired = expected["w10"], expected["weight_images"]
    out = module("task4").weight_images(w.copy())
    assert np.shape(out) == desired.shape, (
        f"weight_images must return the 10 digits' weights as 28x28 images, shape "
        f"{desired.shape}, got {np.shape(out)}")
    assert_close(out, desired, "weight_images: image k must be column k of w without the "
                 "bias row (the last), reshaped row by row to 28x28")
