"""Tasks 3 and 4: one-hot, the softmax model with L2, its loss, gradient checks
on real images, accuracy, and the weight images.

Each test checks one of your functions and its message names it. The data the
tests use is encoded with the tests' own formulas (tests/reference.py), so a
mistake in one_hot_encode fails the tests of one_hot_encode only.
"""
import types

import numpy as np
import pytest

import reference
import task3
import task3a
import utils
from expect import assert_all, assert_close, gradient_fault, overflow_of
from task2a import pre_process_images
from task3 import calculate_accuracy
from task3a import SoftmaxModel, cross_entropy_loss, gradient_approximation_test, \
    one_hot_encode
from task4 import weight_images


# ------------------------------------------------------------------ one_hot_encode
def test_one_hot_example_and_round_trip():
    three = one_hot_encode(np.array([[3]]), 10)
    assert three.shape == (1, 10), \
        f"one_hot_encode([[3]], 10) must have shape (1, 10), got {three.shape}"
    assert three[0].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0], (
        f"one_hot_encode: label 3 must become [0, 0, 0, 1, 0, 0, 0, 0, 0, 0], got "
        f"{three[0].tolist()}")
    labels = np.arange(10).repeat(3).reshape(-1, 1)
    encoded = one_hot_encode(labels, 10)
    assert encoded.shape == (30, 10) and encoded.dtype == np.float64
    assert_close(encoded, reference.one_hot(labels), (
        "one_hot_encode: row n must have its 1 in column Y[n] and 0 elsewhere"), rtol=0)
    assert_close(one_hot_encode(labels[:, 0], 10), encoded,
                 "one_hot_encode must accept labels of shape [N] too", rtol=0)


@pytest.mark.parametrize("labels, message", [
    (np.array([[0], [10]]), r"0\.\.9, got 10 at index 1"),
    (np.array([[-1], [2]]), r"0\.\.9, got -1 at index 0"),
    (np.array([[1.0], [2.5]]), r"integers in 0\.\.9, got 2\.5 at index 1"),
    (np.array([[True], [False]]), r"integer labels, .*dtype bool"),
    (np.zeros((2, 2), dtype=int), r"shape \[N, 1\] or \[N\], got shape \(2, 2\)"),
])
def test_one_hot_rejects_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        one_hot_encode(labels, 10)


# ------------------------------------------------------------------ SoftmaxModel
def assert_rows_sum_to_one(outputs, when: str):
    """Each row of SoftmaxModel.forward's outputs sums to 1: the softmax normalises over
    the 10 classes of an image (axis=1), not over the images of the batch (axis=0)."""
    __tracebackhide__ = True
    assert np.ndim(outputs) == 2 and np.shape(outputs)[1] == 10, (
        f"SoftmaxModel.forward must return shape [N, 10], got {np.shape(outputs)}")
    assert_close(np.sum(outputs, axis=1), np.ones(len(outputs)), (
        f"SoftmaxModel.forward: each row of its outputs must sum to 1 ({when}): softmax "
        f"must normalise each row (axis=1, the 10 classes of an image), not each column "
        f"(axis=0, the images of the batch)"), rtol=0, atol=1e-12)


def test_zero_weights_give_one_tenth(full_data):
    model = SoftmaxModel(0.0)
    assert model.w.shape == (785, 10) and not model.w.any(), \
        f"SoftmaxModel must start with zero weights of shape (785, 10), got {model.w.shape}"
    outputs = model.forward(full_data[2])
    assert outputs.shape == (10000, 10), \
        f"SoftmaxModel.forward: expected outputs of shape (10000, 10), got {outputs.shape}"
    assert_rows_sum_to_one(outputs, "zero weights, 10000 images")
    assert_close(outputs, np.full(outputs.shape, 0.1),
                 "SoftmaxModel.forward: with zero weights every output is 1/10")


def logits_to_forward(z):
    """A SoftmaxModel and inputs X with X @ w == z (w copies the first 10 columns)."""
    model = SoftmaxModel(0.0)
    model.w[:10] = np.eye(10)
    X = np.zeros((len(z), 785))
    X[:, :10] = z
    return model, X


def test_forward_is_the_softmax(rng):
    z = rng.normal(size=(4, 10))
    model, X = logits_to_forward(z)
    outputs = model.forward(X)
    assert_rows_sum_to_one(outputs, "logits of size about 1")
    assert_close(outputs, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
                 "SoftmaxModel.forward must be softmax(X @ w) (Eq. 4), row by row", rtol=1e-12)


def test_forward_does_not_overflow_for_large_logits():
    """exp(1000) overflows: a stable softmax subtracts each row's largest logit first."""
    z = np.array([[1000.0, 999.0] + [0.0] * 8, [-1000.0] * 9 + [-998.0]])
    model, X = logits_to_forward(z)
    assert_rows_sum_to_one(model.forward(X / 1000), "logits of size at most 1")
    p, problem = overflow_of(model.forward, X)
    if problem:
        pytest.fail(f"SoftmaxModel.forward overflows for logits of 1000 ({problem}): "
                    f"subtract each row's largest logit before the exp", pytrace=False)
    assert_close(p, reference.softmax(z), "SoftmaxModel.forward must give softmax(X @ w) "
                 "also for large logits", rtol=1e-12)


def test_rows_sum_to_one_at_large_weights(full_data, rng):
    model = SoftmaxModel(0.0)
    X = full_data[0][:500]
    model.w = rng.normal(scale=1e-3, size=model.w.shape)
    assert_rows_sum_to_one(model.forward(X), "small weights, 500 images")
    model.w = rng.normal(scale=1e3, size=model.w.shape)
    with np.errstate(over="ignore", invalid="ignore"):  # the assert below explains
        outputs = model.forward(X)
    assert_all(np.isfinite(outputs), "SoftmaxModel.forward gives NaN or inf for weights of "
               "size 1e3 (logits of size 1e4): subtract each row's largest logit before "
               "the exp", outputs)
    assert_rows_sum_to_one(outputs, "weights of size 1e3, 500 images")
    loss = cross_entropy_loss(full_data[1][:500], outputs)
    assert np.isfinite(loss), (
        f"task3a.cross_entropy_loss must stay finite when an output rounds to 0, got {loss}")


def test_backward_is_batch_mean_of_eq13_plus_l2(rng):
    X = reference.inputs(rng, 6)
    Y = reference.one_hot(rng.integers(0, 10, size=6))
    model = SoftmaxModel(0.25)
    model.w = rng.normal(scale=0.05, size=(785, 10))
    outputs = reference.softmax(X @ model.w)
    model.backward(X, outputs, Y)
    assert model.grad is not None and model.grad.shape == (785, 10), (
        f"SoftmaxModel.backward must set self.grad to an array of shape (785, 10), got "
        f"{None if model.grad is None else model.grad.shape}")
    data_term = sum(np.outer(X[n], outputs[n] - Y[n]) for n in range(6)) / 6
    fault = gradient_fault(model.grad, data_term, 6, 0.5 * model.w)
    assert_close(model.grad, data_term + 0.5 * model.w, (
        "SoftmaxModel.backward: the gradient must be -1/N sum_n x_n (y_n - y_hat_n)^T "
        "(Eq. 13 averaged over the batch) + 2 lambda w" + (f"; {fault}" if fault else "")),
        rtol=1e-10, atol=1e-14)
    model.zero_grad()
    assert model.grad is None, "SoftmaxModel.zero_grad must set self.grad back to None"


def test_l2_term_alone_is_two_lambda_w(rng):
    """When the prediction is perfect the data gradient is zero and only 2*lambda*w is left."""
    X = reference.inputs(rng, 4)
    model = SoftmaxModel(0.3)
    model.w = rng.normal(size=model.w.shape)
    outputs = reference.softmax(X @ model.w)
    model.backward(X, outputs, targets=outputs)   # targets == outputs: dC/dw = 0
    assert_close(model.grad, 2 * 0.3 * model.w, (
        "SoftmaxModel.backward: the L2 term of the gradient must be 2 * lambda * w, "
        "on every weight, the bias row included"), rtol=1e-12)


# ------------------------------------------------------------------ the loss
def test_cross_entropy_by_hand_and_at_zero():
    targets = np.array([[0, 1, 0], [1, 0, 0]], dtype=float)
    outputs = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
    expected = -(np.log(0.7) + np.log(0.5)) / 2
    assert cross_entropy_loss(targets, outputs) == pytest.approx(expected, rel=1e-12), (
        "task3a.cross_entropy_loss must be -1/N sum_n sum_k y_k log(y_hat_k) (Eq. 5): "
        "averaged over the N rows, summed over the classes")
    zero = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert np.isfinite(cross_entropy_loss(targets, zero)), \
        "task3a.cross_entropy_loss must stay finite when the target's output is exactly 0"


# ------------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("l2_reg_lambda", [0.1])
def test_gradient_check_real_images(full_data, l2_reg_lambda):
    """Task 3a: SoftmaxModel.backward against central differences of every weight of
    J = C + lambda ||w||^2 (the given gradient_approximation_test), on 20 real images at
    random weights, with L2, so the data term and the L2 term are both checked
    (tests/test_properties.py samples other lambdas; task3.main checks 100 images with
    lambda 0 and 0.1, and tests/test_scripts.py reads what it recorded)."""
    X, Y = full_data[0][:20], full_data[1][:20]
    model = SoftmaxModel(l2_reg_lambda)
    model.w = np.random.default_rng(3).normal(scale=1e-3, size=model.w.shape)
    assert_rows_sum_to_one(model.forward(X), "small weights, 20 images")
    model.w = np.random.default_rng(3).normal(size=model.w.shape)
    assert gradient_approximation_test(model, X, Y) < 1e-6


class WrongL2Model(reference.ReferenceSoftmaxModel):
    """The tests' own softmax model with a deliberately wrong L2 gradient (lambda w)."""

    def backward(self, X, outputs, targets):
        super().backward(X, outputs, targets)
        self.grad -= self.l2_reg_lambda * self.w


def test_gradient_approximation_test_judges_the_whole_cost(full_data, monkeypatch):
    """Of the given check itself (task3a.py), with the tests' own models and loss: it
    passes the right gradient of C + lambda ||w||^2 and catches an L2 term of lambda w.
    (It differentiates the tests' loss, not cross_entropy_loss: whether that is right is
    for test_cross_entropy_by_hand_and_at_zero.)"""
    monkeypatch.setattr(task3a, "cross_entropy_loss", reference.softmax_loss)
    X, Y = full_data[0][:3], full_data[1][:3]
    w = np.random.default_rng(4).normal(size=(785, 10))
    right = reference.ReferenceSoftmaxModel(0.5)
    right.w = w.copy()
    assert gradient_approximation_test(right, X, Y) < 1e-6
    wrong = WrongL2Model(0.5)
    wrong.w = w.copy()
    with pytest.raises(AssertionError, match=r"Gradient check failed at weight w\[0, 0\]"):
        gradient_approximation_test(wrong, X, Y)


# ------------------------------------------------------------------ accuracy
def test_accuracy_by_hand():
    targets = reference.one_hot([0, 1, 2, 2], 3)
    outputs = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])
    model = types.SimpleNamespace(forward=lambda X: outputs)  # outputs as given
    assert calculate_accuracy(np.zeros((4, 785)), targets, model) == 0.75, (
        "task3.calculate_accuracy: the predicted class is the largest output of a row")


def test_calculate_accuracy_zero_weights(full_data):
    # all outputs equal: argmax picks class 0, so accuracy is the share of zeros
    X_val, Y_val = full_data[2], full_data[3]
    model = reference.ReferenceSoftmaxModel(0.0)
    accuracy = calculate_accuracy(X_val, Y_val, model)
    assert accuracy == pytest.approx(Y_val[:, 0].mean()), (
        f"task3.calculate_accuracy: with all outputs equal, argmax predicts class 0 for "
        f"every image, so the accuracy is the share of 0s, {Y_val[:, 0].mean():.4f}; got "
        f"{accuracy:.4f}")
    model.w[-1, 7] = 1.0  # the bias of class 7: every image predicted 7
    accuracy = calculate_accuracy(X_val, Y_val, model)
    assert accuracy == pytest.approx(Y_val[:, 7].mean()), (
        f"task3.calculate_accuracy: when class 7 has the largest output for every image, the "
        f"accuracy is the share of 7s, {Y_val[:, 7].mean():.4f}; got {accuracy:.4f}")


def test_load_data_is_the_full_split_encoded():
    """task3.load_data applies your pre_process_images and one_hot_encode to the full
    split (whether those are right is for their own tests)."""
    X_train, Y_train, X_val, Y_val = utils.load_full_mnist(verbose=False)
    expected = (pre_process_images(X_train), one_hot_encode(Y_train, 10),
                pre_process_images(X_val), one_hot_encode(Y_val, 10))
    for name, got, wanted in zip(("X_train", "Y_train", "X_val", "Y_val"), task3.load_data(),
                                 expected):
        assert_close(got, wanted, (
            f"task3.load_data: {name} must be the full split's {name} passed through "
            f"{'pre_process_images' if name[0] == 'X' else 'one_hot_encode(..., 10)'}"), rtol=0)


# How lambda shrinks the weights, and that softmax regression learns, are checked on
# the outputs of task 3 and task 4 (tests/test_scripts.py).


def test_weight_images_leave_out_the_bias():
    w = np.arange(785 * 10, dtype=float).reshape(785, 10)
    images = weight_images(w)
    assert images.shape == (10, 28, 28)
    np.testing.assert_array_equal(images[3].ravel(), w[:-1, 3])
    assert images[3][1, 0] == w[28, 3], "weight_images: pixel (row 1, column 0) is input 28"
