"""Task 2: pre-processing, the logistic model, its loss, accuracy, the gradient
check on real images, and the end-to-end run on the real data.

Each test checks one of your functions and its message names it. The data the
tests use is pre-processed with the tests' own formula (tests/reference.py), so a
mistake in pre_process_images fails the tests of pre_process_images only.
"""
import types

import numpy as np
import pytest

import building_blocks
import mnist
import reference
import script_tools
import task2
import task2a
import utils
from expect import assert_all, assert_close, gradient_fault, overflow_of
from task2 import LogisticTrainer, calculate_accuracy
from task2a import BinaryModel, cross_entropy_loss, gradient_approximation_test, \
    pre_process_images


def test_binary_dataset_shapes_and_targets():
    X_train, Y_train, X_val, Y_val = utils.load_binary_dataset(2, 3, verbose=False)
    assert X_train.shape == (4005, 784) and Y_train.shape == (4005, 1)
    assert X_val.shape == (2042, 784) and Y_val.shape == (2042, 1)
    assert X_train.dtype == np.uint8
    assert set(np.unique(Y_train)) == {0, 1}
    # target 1 is the first class (digit 2): count the 2s among the first 20000 labels
    labels = mnist.load()[1][:20000]
    assert Y_train.sum() == np.sum(labels == 2), \
        "load_binary_dataset(2, 3) must give target 1 to digit 2, target 0 to digit 3"
    assert len(Y_train) - Y_train.sum() == np.sum(labels == 3)


def test_full_mnist_split():
    X_train, Y_train, X_val, Y_val = utils.load_full_mnist(verbose=False)
    assert X_train.shape == (20000, 784) and Y_train.shape == (20000, 1)
    assert X_val.shape == (10000, 784) and Y_val.shape == (10000, 1)
    assert set(np.unique(Y_train)) == set(range(10))


# ------------------------------------------------------------------ pre_process_images
def test_pre_process_range_shape_and_bias():
    X = np.array([[0] * 784, [255] * 784, list(range(0, 256, 1)) * 3 + [0] * 16], dtype=np.uint8)
    out = pre_process_images(X)
    assert out.shape == (3, 785), (
        f"pre_process_images returned shape {out.shape} for 3 images; expected (3, 785): "
        f"the 784 scaled pixels and then one column of ones (the bias trick)")
    assert out.dtype == np.float64, f"pre_process_images must return floats, got {out.dtype}"
    assert_all(out[:, -1] == 1.0, "pre_process_images: the last column must be all ones "
               "(the bias trick)", out[:, -1])
    assert out[0, 0] == -1.0 and out[1, 0] == 1.0, (
        f"pre_process_images must map pixel 0 to -1 and pixel 255 to 1, got "
        f"{out[0, 0]} and {out[1, 0]}")
    assert_close(out[2, :256], np.arange(256) / 127.5 - 1,
                 "pre_process_images must map a pixel x to x / 127.5 - 1")
    assert_all(out[0, :-1] == -1.0, "pre_process_images must map every pixel 0 to -1",
               out[0, :-1])
    assert_all(out[1, :-1] == 1.0, "pre_process_images must map every pixel 255 to 1",
               out[1, :-1])


def test_pre_process_real_images():
    X_train = utils.load_binary_dataset(2, 3, verbose=False)[0]
    out = pre_process_images(X_train)
    assert out.shape == (4005, 785), \
        f"pre_process_images: expected shape (4005, 785) for the training images, got {out.shape}"
    assert_close(out, reference.pre_process(X_train), (
        "pre_process_images: the real training images must become x / 127.5 - 1 with a "
        "column of ones appended"), rtol=0)


def test_pre_process_leaves_its_input_alone():
    X = np.full((2, 784), 255, dtype=np.uint8)
    pre_process_images(X)
    assert_all(X == 255, "pre_process_images must not change the array it is given", X)


def test_pre_process_rejects_wrong_columns():
    with pytest.raises(ValueError, match=r"\[N, 784\].*\(2, 785\)"):
        pre_process_images(np.zeros((2, 785)))


# ------------------------------------------------------------------ BinaryModel
def test_zero_weights_give_one_half(binary_data):
    model = BinaryModel()
    assert model.w.shape == (785, 1) and not model.w.any(), \
        f"BinaryModel() must start with zero weights of shape (785, 1), got {model.w.shape}"
    outputs = model.forward(binary_data[0])
    assert outputs.shape == (4005, 1), \
        f"BinaryModel.forward: expected outputs of shape (4005, 1), got {outputs.shape}"
    assert_all(outputs == 0.5, "BinaryModel.forward: with zero weights every output is 0.5",
               outputs)


def logits_to_forward(z):
    """A BinaryModel and inputs X with X @ w == z (w picks the first column of X)."""
    model = BinaryModel()
    model.w[0, 0] = 1.0
    X = np.zeros((len(z), 785))
    X[:, 0] = z
    return model, X


def test_forward_is_the_sigmoid_also_at_extremes():
    z = np.array([-1e4, -40.0, -1.0, 0.0, 1.0, 40.0, 1e4])
    model, X = logits_to_forward(z)
    outputs, problem = overflow_of(model.forward, X)
    if problem:
        pytest.fail(f"BinaryModel.forward overflows for X @ w = -1e4 or 1e4 ({problem}): "
                    f"compute the sigmoid so that no exp overflows (e.g. with exp(-|z|) "
                    f"only)", pytrace=False)
    assert np.shape(outputs) == (7, 1), (
        f"BinaryModel.forward must return shape [N, 1] (one column: y_hat), got "
        f"{np.shape(outputs)} for N = 7")
    s = outputs[:, 0]
    assert_all(np.isfinite(s), "BinaryModel.forward overflows for large |X @ w|: use a "
               "sigmoid that stays finite", s)
    assert_close(s[2:5], 1 / (1 + np.exp(-z[2:5])), "BinaryModel.forward must be "
                 "sigmoid(X @ w) = 1 / (1 + exp(-X @ w))", rtol=1e-12)
    assert s[0] == 0.0 and s[-1] == 1.0, \
        f"BinaryModel.forward: sigmoid(-1e4) is 0.0 and sigmoid(1e4) is 1.0, got {s[0]}, {s[-1]}"
    assert_close(s[1], np.exp(-40.0) / (1 + np.exp(-40.0)),
                 "BinaryModel.forward: sigmoid(-40) loses its digits", rtol=1e-12)


def test_backward_is_batch_mean_of_eq6(rng):
    X = reference.inputs(rng, 5)
    Y = rng.integers(0, 2, size=(5, 1)).astype(float)
    model = BinaryModel()
    model.w = rng.normal(scale=0.05, size=(785, 1))
    outputs = reference.sigmoid(X @ model.w)
    model.backward(X, outputs, Y)
    assert model.grad is not None and model.grad.shape == (785, 1), (
        f"BinaryModel.backward must set self.grad to an array of shape (785, 1), got "
        f"{None if model.grad is None else model.grad.shape}")
    expected = np.mean([-(Y[n, 0] - outputs[n, 0]) * X[n] for n in range(5)], axis=0)
    fault = gradient_fault(model.grad[:, 0], expected, 5) or "check its sign and the division by N"
    assert_close(model.grad[:, 0], expected, (
        f"BinaryModel.backward: the gradient must be -1/N sum_n (y_n - y_hat_n) x_n "
        f"(Eq. 6 averaged over the batch); {fault}"), rtol=1e-12)
    model.zero_grad()
    assert model.grad is None, "BinaryModel.zero_grad must set self.grad back to None"


# ------------------------------------------------------------------ the loss
def test_cross_entropy_by_hand():
    targets = np.array([[1.0], [0.0], [1.0]])
    outputs = np.array([[0.9], [0.2], [0.5]])
    expected = -(np.log(0.9) + np.log(0.8) + np.log(0.5)) / 3
    assert cross_entropy_loss(targets, outputs) == pytest.approx(expected, rel=1e-12), (
        "task2a.cross_entropy_loss must be the mean over the batch of "
        "-(y log y_hat + (1 - y) log(1 - y_hat)) (Eq. 3)")


def test_cross_entropy_finite_at_zero_and_one():
    targets = np.array([[1.0], [0.0], [1.0], [0.0]])
    right = np.array([[1.0], [0.0], [1.0], [0.0]])
    wrong = 1.0 - right
    assert cross_entropy_loss(targets, right) == 0.0
    loss = cross_entropy_loss(targets, wrong)
    assert np.isfinite(loss) and loss > 30, (
        f"task2a.cross_entropy_loss must stay finite (and large) for outputs of exactly 0 "
        f"or 1 that are wrong, got {loss}")


def test_cross_entropy_of_a_saturated_output_is_not_above_its_true_value():
    """A logit of 38 rounds y_hat to 1: for target 0 the true loss is about 38."""
    for logit in (38.0, 100.0, 1000.0):
        output = np.array([[reference.sigmoid(logit)]])  # 1.0, as a stable sigmoid gives
        assert output[0, 0] == 1.0
        loss = cross_entropy_loss(np.zeros((1, 1)), output)
        assert 30 < loss <= logit, (
            f"task2a.cross_entropy_loss: an output that rounds to 1 for target 0 at logit "
            f"{logit} must give a finite loss no larger than the true one, got {loss}")


# ------------------------------------------------------------------ gradient checks
def test_gradient_check_real_images(binary_data):
    """Task 2a: BinaryModel.backward against central differences of cross_entropy_loss
    on 100 real images, at zero weights and at random ones, every weight."""
    X, Y = binary_data[0][:100], binary_data[1][:100]
    model = BinaryModel()
    shape = np.shape(model.forward(X))
    assert shape == (100, 1), \
        f"BinaryModel.forward must return shape [N, 1], got {shape} for N = 100"
    for scale in (0.0, 0.1):
        model.w = np.random.default_rng(7).normal(scale=scale, size=model.w.shape)
        assert gradient_approximation_test(model, X, Y) < 1e-6


@pytest.fixture
def reference_loss(monkeypatch):
    """For the tests of gradient_approximation_test itself: it differentiates the tests'
    own loss, so they do not depend on your cross_entropy_loss (test_cross_entropy_*
    check that)."""
    monkeypatch.setattr(task2a, "cross_entropy_loss", reference.binary_loss)


def test_check_gradients_records_what_it_checked(binary_data, reference_loss, monkeypatch):
    """What task2.check_gradients records, with the tests' own model and loss: whether
    BinaryModel is right is for the tests above."""
    monkeypatch.setattr(task2, "BinaryModel", reference.ReferenceBinaryModel)
    X, Y = binary_data[0][:30], binary_data[1][:30]
    checked = task2.check_gradients(X, Y)
    assert [c["weights"] for c in checked] == ["zero", "random"]
    for c in checked:
        assert c["num_images"] == 30 and 0 <= c["max_difference"] < c["tolerance"] == 1e-6


class WrongSignModel(reference.ReferenceBinaryModel):
    """The tests' own logistic model with a deliberately wrong backward pass: it does
    not depend on the student's BinaryModel."""

    def backward(self, X, outputs, targets):
        super().backward(X, outputs, targets)
        self.grad = -self.grad


def test_gradient_approximation_test_passes_a_right_gradient(binary_data, reference_loss):
    """Of the given check itself (task2a.py), with the tests' own correct model and loss."""
    X, Y = binary_data[0][:20], binary_data[1][:20]
    model = reference.ReferenceBinaryModel()
    model.w = np.random.default_rng(0).normal(scale=0.05, size=model.w.shape)
    assert gradient_approximation_test(model, X, Y) < 1e-6


def test_gradient_approximation_test_catches_a_wrong_gradient(binary_data, reference_loss):
    """Of the given check itself (task2a.py), with the tests' own wrong model and loss."""
    X, Y = binary_data[0][:20], binary_data[1][:20]
    model = WrongSignModel()
    model.w = np.random.default_rng(0).normal(scale=0.05, size=model.w.shape)
    with pytest.raises(AssertionError, match=r"Gradient check failed at weight w\[\d+, 0\]"):
        gradient_approximation_test(model, X, Y)


# ------------------------------------------------------------------ accuracy
def test_accuracy_threshold_is_one_half():
    targets = np.array([[1], [0], [1], [0]])
    outputs = np.array([[0.5], [0.49], [0.2], [0.51]])
    model = types.SimpleNamespace(forward=lambda X: outputs)  # outputs as given
    assert calculate_accuracy(np.zeros((4, 785)), targets, model) == 0.5, (
        "task2.calculate_accuracy: an output >= 0.5 predicts target 1, below 0.5 target 0")


def test_calculate_accuracy_uses_the_model(binary_data):
    X_val, Y_val = binary_data[2], binary_data[3]
    model = reference.ReferenceBinaryModel()
    # zero weights: every output is 0.5 -> predicted 1 (digit 2) for all
    accuracy = calculate_accuracy(X_val, Y_val, model)
    assert accuracy == pytest.approx(Y_val.mean()), (
        f"task2.calculate_accuracy: with every output exactly 0.5 every image is predicted 1 "
        f"(>= 0.5), so the accuracy is the share of 1s, {Y_val.mean():.4f}; got {accuracy:.4f}")
    model.w[-1, 0] = -1.0  # every output below 0.5: predicted 0 (digit 3) for all
    accuracy = calculate_accuracy(X_val, Y_val, model)
    assert accuracy == pytest.approx(1 - Y_val.mean()), (
        f"task2.calculate_accuracy: with every output below 0.5 every image is predicted 0, "
        f"so the accuracy is the share of 0s, {1 - Y_val.mean():.4f}; got {accuracy:.4f}")


# ------------------------------------------------------------------ a whole run
def test_end_to_end_early_stop_epoch(binary_data):
    """The deterministic run on the real data (learning rate 0.05, batch size 128, no
    shuffle, patience 10: set here, whatever task2.main uses) stops in epoch index 33
    (the 34th), at about 0.976 train and 0.979 validation accuracy. Skipped while
    BinaryModel, cross_entropy_loss or calculate_accuracy is wrong (their tests say more)."""
    building_blocks.skip_if_wrong(building_blocks.BINARY[1:], "the whole logistic run")
    model = BinaryModel()
    trainer = LogisticTrainer(model, 0.05, 128, False, *binary_data)
    train_history, val_history = trainer.train(500)
    run = script_tools.run_summary(trainer, cross_entropy_loss, calculate_accuracy)
    where = (run["early_stopped"], run["stop_epoch"], run["stop_step"], run["best_step"])
    assert where == (True, 33, 1038, 978), (
        f"LogisticTrainer on the real 2-vs-3 data (learning rate 0.05, batch size 128, no "
        f"shuffling, patience 10) must stop early in epoch index 33 at step 1038 with the "
        f"lowest validation loss at step 978; got early_stopped, stop_epoch, stop_step, "
        f"best_step = {where}. If a test of BinaryModel, cross_entropy_loss or the trainer "
        f"fails too, start there.")
    assert run["final_train_accuracy"] == pytest.approx(0.976, abs=0.002)
    assert run["final_val_accuracy"] == pytest.approx(0.979, abs=0.002)
    # validation every 31 // 5 = 6 steps, starting at step 0
    assert list(val_history["loss"])[:3] == [0, 6, 12]
    assert len(train_history["loss"]) == run["num_steps"] == 1039
    # the model holds the weights of the lowest validation loss
    assert run["final_val_loss"] == pytest.approx(min(val_history["loss"].values()), rel=1e-12)
    assert val_history["loss"][run["best_step"]] == min(val_history["loss"].values())
