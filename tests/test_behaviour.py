"""Behaviour of the training loop, checked against expectations computed here and
independently of the code under test: hand-computed losses, accuracies and
updates, recorded batch orders, scripted histories.

Each test names the kind of one-line mistake it is there to catch (the mutation
list in tools/mutation_check.py applies them one at a time). Synthetic data
only: small, so the whole file runs in well under a second. The trainers here train
the tests' own models (tests/reference.py): a mistake in BinaryModel or SoftmaxModel
fails the models' tests, not these tests of the training loop. The losses they return
are your cross_entropy_loss, though: when that is wrong, a message says so first.
"""
import numpy as np
import pytest

import building_blocks
import reference
from expect import assert_close
import script_tools
import task2
import task3
from reference import ReferenceBinaryModel as BinaryModel
from reference import ReferenceSoftmaxModel as SoftmaxModel
from task2 import LogisticTrainer
from task3 import SoftmaxTrainer
from test_trainer import ScriptedTrainer
from trainer import BaseTrainer


# ------------------------------------------------------------------ independent formulas
# (tests/reference.py: sigmoid, softmax, the losses, random inputs and one-hot rows)
from reference import inputs, one_hot  # noqa: E402


# ------------------------------------------------------------------ the batch order
class RowModel:
    """Two inputs (the row number and a constant) and `num_outputs` outputs: just holds w."""

    def __init__(self, num_outputs=1):
        self.w = np.zeros((2, num_outputs))


class RecordingTrainer(BaseTrainer):
    """Records the row numbers of every batch it is given; X = [row, 1], Y = the one-hot
    row of the row number. The validation loss keeps falling: no early stop."""

    def __init__(self, num_rows, batch_size, shuffle, seed=0):
        rows = np.arange(num_rows, dtype=np.float64)
        X = np.stack([rows, np.ones(num_rows)], axis=1)
        Y = np.eye(num_rows)
        super().__init__(RowModel(num_rows), 0.1, batch_size, shuffle, X, Y, X[:2], Y[:2],
                         seed=seed)
        self.batches = []

    def train_step(self, X_batch, Y_batch):
        np.testing.assert_array_equal(Y_batch.argmax(axis=1), X_batch[:, 0],
                                      err_msg="batch_loader paired X and Y rows wrongly")
        self.batches.append(X_batch[:, 0].astype(int).tolist())
        return 1.0

    def validation_step(self):
        return 1.0 / (len(self.batches) + 1), 0.5, 0.5

    def epochs(self, steps_per_epoch):
        return [sum(self.batches[i:i + steps_per_epoch], [])
                for i in range(0, len(self.batches), steps_per_epoch)]


def test_without_shuffle_every_epoch_is_the_same_batches_in_order():
    trainer = RecordingTrainer(num_rows=23, batch_size=5, shuffle=False)
    trainer.train(num_epochs=3)
    in_order = [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19]]
    assert trainer.batches == in_order * 3  # the 3 spare rows dropped (drop_last)


def test_shuffle_draws_a_new_order_every_epoch():
    """Mistakes caught: the same order in every epoch (an rng re-seeded per epoch),
    no shuffling at all, X and Y shuffled apart, the last partial batch kept."""
    trainer = RecordingTrainer(num_rows=23, batch_size=5, shuffle=True, seed=3)
    trainer.train(num_epochs=4)
    assert len(trainer.batches) == 16
    assert all(len(batch) == 5 for batch in trainer.batches)  # no partial batch
    epochs = trainer.epochs(steps_per_epoch=4)
    for rows in epochs:
        assert len(set(rows)) == 20 and set(rows) <= set(range(23))  # 20 distinct rows
        assert rows != sorted(rows)                                     # shuffled
    assert len({tuple(rows) for rows in epochs}) == 4, (  # a new order each epoch
        "with shuffling, every epoch must draw a new order of the rows (utils.batch_loader "
        "with the trainer's random generator), not repeat one permutation")


def test_shuffle_order_follows_the_seed():
    def orders(seed):
        trainer = RecordingTrainer(num_rows=23, batch_size=5, shuffle=True, seed=seed)
        trainer.train(num_epochs=2)
        return trainer.batches

    assert orders(5) == orders(5)
    assert orders(5) != orders(6), "the shuffled order must follow the trainer's seed"


# ------------------------------------------------------------------ what goes where
class HistoryTrainer(BaseTrainer):
    """Batch losses 100 + step; validations return distinct, recognisable values."""

    def __init__(self, **kwargs):
        X, Y = np.zeros((20, 2)), np.zeros((20, 1))  # 10 batches of 2: validate every 2 steps
        super().__init__(RowModel(), 0.1, 2, False, X, Y, X[:2], Y[:2], **kwargs)
        self.steps = 0

    def train_step(self, X_batch, Y_batch):
        self.steps += 1
        return 100.0 + self.steps - 1

    def validation_step(self):
        step = self.steps - 1
        return 10.0 - step, 0.001 * step, 0.5 + 0.001 * step  # loss, train acc, val acc


def test_histories_hold_each_value_under_its_step():
    """Mistakes caught: train and validation accuracy swapped, the batch loss
    averaged over the steps so far, validation at the wrong steps."""
    trainer = HistoryTrainer()
    train_history, val_history = trainer.train(num_epochs=2)
    assert train_history["loss"] == {step: 100.0 + step for step in range(20)}
    validated = list(range(0, 20, 2))  # 10 steps per epoch: every 10 // 5 = 2 steps
    assert train_history["accuracy"] == {s: 0.001 * s for s in validated}
    assert val_history["accuracy"] == {s: 0.5 + 0.001 * s for s in validated}
    assert val_history["loss"] == {s: 10.0 - s for s in validated}


# ------------------------------------------------------------------ summary of a run
class WeightReportingModel:
    """w = [[step]] (set by the scripted trainer); forward reports the weight itself."""

    def __init__(self):
        self.w = np.zeros((1, 1))

    def forward(self, X):
        return np.full((len(X), 1), self.w[0, 0])


def weight_as_loss(Y, outputs):
    return float(outputs[0, 0])


def weight_as_accuracy(X, Y, model):
    return 0.01 * float(model.w[0, 0])


def summary_of(trainer):
    """script_tools.run_summary with a loss and an accuracy that report the weight, so
    the summary shows which weights it was computed with."""
    return script_tools.run_summary(trainer, weight_as_loss, weight_as_accuracy)


def scripted(losses, **kwargs):
    trainer = ScriptedTrainer(losses, **kwargs)
    trainer.model = WeightReportingModel()
    return trainer


def test_summary_uses_the_kept_weights_of_the_lowest_validation_loss():
    """Scripted: validations at steps 0, 5, 10, ...; the lowest loss at step 10, then
    ten validations without improvement stop the run at step 60 (epoch index 2).
    Mistakes caught: the last weights kept or summarised, early stopping off by one,
    an equal loss counted as an improvement."""
    losses = [5.0, 4.0, 3.0] + [3.0, 3.5, 4.0, 3.2, 3.9, 3.0, 3.1, 3.3, 3.4] + [3.6, 0.1]
    trainer = scripted(losses)
    trainer.train(num_epochs=100)
    summary = summary_of(trainer)
    assert summary == dict(
        shuffle=False, final_train_loss=10.0, final_val_loss=10.0,
        final_train_accuracy=0.1, final_val_accuracy=0.1, early_stopped=True,
        stop_epoch=2, epochs_trained=3, stop_step=60, best_step=10, num_steps=61,
        steps_per_epoch=25, weight_norm_sq=100.0), (
        f"after early stopping the model must hold the weights of the lowest validation "
        f"loss (step 10), and the summary is of those; it holds the weights of step "
        f"{trainer.model.w[0, 0]:g} (BaseTrainer.train must give back the best weights)")


def test_summary_without_early_stopping_runs_every_epoch():
    trainer = scripted([3.0, 2.0] + [5.0] * 100, early_stopping_patience=None)
    trainer.train(num_epochs=4)
    summary = summary_of(trainer)
    assert not summary["early_stopped"]
    assert (summary["stop_epoch"], summary["stop_step"], summary["num_steps"]) == (3, 99, 100)
    assert summary["best_step"] == 5 and summary["final_val_loss"] == 5.0


# ------------------------------------------------------------------ one step by hand
def trainer_message(kind: str, what: str, got, expected, function="cross_entropy_loss") -> str:
    """The message of a wrong number from a trainer: first what is wrong with your
    `function` (cross_entropy_loss or calculate_accuracy), if something is: the trainer
    returns what that gives."""
    trainer, task = ("LogisticTrainer", "task2") if kind == "logistic" else ("SoftmaxTrainer",
                                                                              "task3")
    block = f"{function} ({task}a.py)" if function == "cross_entropy_loss" else \
        f"{function} ({task}.py)"
    message = f"{trainer}.{what} gave {got}, expected {expected}"
    problem = building_blocks.problem(block)
    if problem:
        return (f"{problem} (fix {building_blocks.BLOCKS[block][1]} first); {message}, as "
                f"it returns what {function} gives")
    return message


def loss_message(kind: str, what: str, got: float, expected: float) -> str:
    return trainer_message(kind, what, f"the loss {got:.6g}", f"{expected:.6g}")


def test_logistic_train_step_by_hand():
    """At zero weights every output is 1/2: the loss before the step is log 2, and the
    step is w = -lr * mean_n(-(y_n - 1/2) x_n). Mistakes caught: the loss after the
    update, the wrong sign of the step, the gradient not divided by N, the loss
    summed instead of averaged."""
    rng = np.random.default_rng(0)
    X, Y = inputs(rng, 6), np.array([[1], [0], [1], [1], [0], [1]])
    trainer = LogisticTrainer(BinaryModel(), 0.3, 6, False, X, Y, X, Y)
    loss = trainer.train_step(X, Y)
    assert loss == pytest.approx(np.log(2), rel=1e-12), loss_message(
        "logistic", "train_step (the batch loss before the step, at y_hat = 1/2)", loss,
        np.log(2))
    expected_w = 0.3 * sum((Y[n, 0] - 0.5) * X[n] for n in range(6)) / 6
    assert_close(trainer.model.w[:, 0], expected_w, (
        "LogisticTrainer.train_step: the step must be w = w - learning_rate * grad, with the "
        "gradient of backward"), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("l2_reg_lambda", [0.0, 0.25])
def test_softmax_train_step_by_hand(l2_reg_lambda):
    """From random weights w0: the loss before the step is -mean log p[target] and the
    step is w1 = w0 - lr * (mean_n x_n (p_n - y_n)^T + 2 lambda w0), bias row included.
    Mistakes caught: as for the logistic step, plus lambda*w instead of 2*lambda*w and
    the L2 term left off the bias row."""
    rng = np.random.default_rng(1)
    X, Y = inputs(rng, 5), one_hot([3, 0, 9, 3, 7])
    w0 = rng.normal(scale=0.05, size=(785, 10))
    w0[-1] = rng.normal(size=10)  # a bias row that L2 must also pull towards zero
    model = SoftmaxModel(l2_reg_lambda)
    model.w = w0.copy()
    trainer = SoftmaxTrainer(model, 0.2, 5, False, X, Y, X, Y)
    loss = trainer.train_step(X, Y)
    p = reference.softmax(X @ w0)
    expected = reference.softmax_loss(Y, p)
    assert loss == pytest.approx(expected, rel=1e-12), loss_message(
        "softmax", "train_step (the batch loss before the step)", loss, expected)
    gradient = sum(np.outer(X[n], p[n] - Y[n]) for n in range(5)) / 5 + 2 * l2_reg_lambda * w0
    assert_close(model.w, w0 - 0.2 * gradient, (
        "SoftmaxTrainer.train_step: the step must be w = w - learning_rate * grad, with the "
        "gradient of backward (L2 term included)"), rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------------ validation by hand
def test_logistic_validation_step_by_hand():
    """Only the bias is set: every output is sigmoid(log 3) = 3/4, every prediction 1.
    Accuracy is then the share of ones: 6/8 on the training set, 1/4 on the validation
    set, and 0 on the first training batch. Mistakes caught: train and validation
    accuracy swapped, the validation loss on the training data, the training
    accuracy of one batch, the threshold > instead of >=."""
    rng = np.random.default_rng(2)
    X_train, Y_train = inputs(rng, 8), np.array([[0], [0], [1], [1], [1], [1], [1], [1]])
    X_val, Y_val = inputs(rng, 4), np.array([[1], [0], [0], [0]])
    model = BinaryModel()
    trainer = LogisticTrainer(model, 0.1, 2, False, X_train, Y_train, X_val, Y_val)
    model.w[-1, 0] = np.log(3.0)
    val_loss, train_accuracy, val_accuracy = trainer.validation_step()
    expected_val_loss = -(np.log(0.75) + 3 * np.log(0.25)) / 4
    assert val_loss == pytest.approx(expected_val_loss, rel=1e-12), loss_message(
        "logistic", "validation_step (the validation loss)", val_loss, expected_val_loss)
    assert (train_accuracy, val_accuracy) == (0.75, 0.25), trainer_message(
        "logistic", "validation_step", f"the accuracies (train, validation) = "
        f"{(train_accuracy, val_accuracy)}", "(0.75, 0.25)", "calculate_accuracy")
    model.w[-1, 0] = 0.0  # outputs exactly 1/2: still predicted 1 (>= 0.5)
    accuracies = trainer.validation_step()[1:]
    assert accuracies == (0.75, 0.25), trainer_message(
        "logistic", "validation_step at outputs of exactly 1/2 (predicted 1: >= 0.5)",
        f"the accuracies (train, validation) = {accuracies}", "(0.75, 0.25)",
        "calculate_accuracy")


def test_softmax_validation_step_by_hand():
    """Only the bias row is set: every row predicts p = (0.3, 0.2, 0.0625 x 8), class 0.
    Training labels (1, 1, 0, 0, 0, 0, 0, 0): accuracy 6/8 (0 on the first batch);
    validation labels (0, 1, 2, 3): accuracy 1/4."""
    rng = np.random.default_rng(3)
    p = np.array([0.3, 0.2] + [0.0625] * 8)
    X_train, Y_train = inputs(rng, 8), one_hot([1, 1, 0, 0, 0, 0, 0, 0])
    X_val, Y_val = inputs(rng, 4), one_hot([0, 1, 2, 3])
    model = SoftmaxModel(0.5)
    trainer = SoftmaxTrainer(model, 0.1, 2, False, X_train, Y_train, X_val, Y_val)
    model.w[-1] = np.log(p)
    val_loss, train_accuracy, val_accuracy = trainer.validation_step()
    expected_val_loss = -(np.log(0.3) + np.log(0.2) + 2 * np.log(0.0625)) / 4  # no L2 term
    assert val_loss == pytest.approx(expected_val_loss, rel=1e-12), loss_message(
        "softmax", "validation_step (the validation loss, without the L2 term)", val_loss,
        expected_val_loss)
    assert (train_accuracy, val_accuracy) == (0.75, 0.25), trainer_message(
        "softmax", "validation_step", f"the accuracies (train, validation) = "
        f"{(train_accuracy, val_accuracy)}", "(0.75, 0.25)", "calculate_accuracy")


# ------------------------------------------------------------------ whole runs, replayed
class Replay:
    """Mixed into a trainer: records the weights (and the batch) before every step,
    and the weights at every validation."""

    def train_step(self, X_batch, Y_batch):
        self.log.append(("step", self.model.w.copy(), X_batch.copy(), Y_batch.copy()))
        return super().train_step(X_batch, Y_batch)

    def validation_step(self):
        self.log.append(("validation", self.model.w.copy()))
        return super().validation_step()


class ReplayedLogisticTrainer(Replay, LogisticTrainer):
    pass


class ReplayedSoftmaxTrainer(Replay, SoftmaxTrainer):
    pass


def logistic_numbers(w, X, Y):
    p = reference.sigmoid(X @ w)
    return reference.binary_loss(Y, p), float(np.mean((p[:, 0] >= 0.5) == (Y[:, 0] == 1)))


def softmax_numbers(w, X, Y):
    p = reference.softmax(X @ w)
    return reference.softmax_loss(Y, p), float(np.mean(p.argmax(axis=1) == Y.argmax(axis=1)))


@pytest.mark.parametrize("kind", ["logistic", "softmax"])
def test_a_whole_run_replayed_with_independent_formulas(kind):
    """Every recorded number of a short run on random data, recomputed here from the
    recorded weights: batch losses before each step, the updates, the validation
    loss and both accuracies on the whole sets, the early stop, the kept weights
    and the summary."""
    rng = np.random.default_rng(4)
    X_train, X_val = inputs(rng, 60), inputs(rng, 30)
    # Learnable labels (the largest of the first ten inputs): the validation loss
    # falls for a few steps and then rises as 60 rows are overfitted.
    labels_train, labels_val = X_train[:, :10].argmax(axis=1), X_val[:, :10].argmax(axis=1)
    if kind == "logistic":
        Y_train, Y_val = (labels_train < 5)[:, None] * 1, (labels_val < 5)[:, None] * 1
        model, trainer_class, numbers, lam = BinaryModel(), ReplayedLogisticTrainer, \
            logistic_numbers, 0.0
    else:
        Y_train, Y_val = one_hot(labels_train), one_hot(labels_val)
        model, trainer_class, numbers, lam = SoftmaxModel(0.01), ReplayedSoftmaxTrainer, \
            softmax_numbers, 0.01
    learning_rate, batch_size, patience = 0.2, 8, 3  # 7 batches per epoch: validate every step
    trainer = trainer_class(model, learning_rate, batch_size, True, X_train, Y_train,
                            X_val, Y_val, early_stopping_patience=patience, seed=11)
    trainer.log = []
    train_history, val_history = trainer.train(num_epochs=50)
    module = task2 if kind == "logistic" else task3
    summary = script_tools.run_summary(trainer, module.cross_entropy_loss,
                                       module.calculate_accuracy)

    steps = [entry for entry in trainer.log if entry[0] == "step"]
    validations = [entry[1] for entry in trainer.log if entry[0] == "validation"]
    assert len(steps) == len(validations) == summary["num_steps"]  # 7 // 5 = 1: every step
    for step, (_, w, X_batch, Y_batch) in enumerate(steps):
        loss = numbers(w, X_batch, Y_batch)[0]
        assert train_history["loss"][step] == pytest.approx(loss, rel=1e-9), loss_message(
            kind, f"train (the batch loss of step {step}, in train_history)",
            train_history["loss"][step], loss)
        p = reference.sigmoid(X_batch @ w) if kind == "logistic" else reference.softmax(X_batch @ w)
        expected = w - learning_rate * (X_batch.T @ (p - Y_batch) / batch_size + 2 * lam * w)
        assert_close(validations[step], expected, (
            f"the weights after step {step} must be w - learning_rate * grad of the batch of "
            f"that step"), rtol=1e-9, atol=1e-12)
    val_losses = []
    for step, w in enumerate(validations):
        val_loss, val_accuracy = numbers(w, X_val, Y_val)
        val_losses.append(val_loss)
        assert val_history["loss"][step] == pytest.approx(val_loss, rel=1e-9), loss_message(
            kind, f"train (the validation loss of step {step}, in val_history)",
            val_history["loss"][step], val_loss)
        assert val_history["accuracy"][step] == val_accuracy
        assert train_history["accuracy"][step] == numbers(w, X_train, Y_train)[1]

    # Early stopping: the run ends at the `patience`-th validation after the best one.
    best = int(np.argmin(val_losses))
    assert summary["early_stopped"] and summary["best_step"] == best > 0
    assert summary["stop_step"] == best + patience == len(val_losses) - 1
    assert summary["stop_epoch"] == summary["stop_step"] // 7
    assert_close(model.w, validations[best], (
        f"BaseTrainer.train must give the model back the weights of the lowest validation "
        f"loss (step {best})"), rtol=0)
    train_loss, train_accuracy = numbers(validations[best], X_train, Y_train)
    assert summary["final_val_loss"] == pytest.approx(val_losses[best], rel=1e-9)
    assert summary["final_train_loss"] == pytest.approx(train_loss, rel=1e-9)
    assert summary["final_train_accuracy"] == train_accuracy
    assert summary["weight_norm_sq"] == pytest.approx(np.sum(validations[best] ** 2), rel=1e-12)
