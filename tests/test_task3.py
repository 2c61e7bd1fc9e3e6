"""Tasks 3 and 4: one-hot, the softmax model with L2, its loss, gradient checks
on real images, accuracy, and the effect of lambda on the weight norm."""
import numpy as np
import pytest

from task3 import calculate_accuracy, multiclass_accuracy
from task3a import (SoftmaxModel, cross_entropy_loss, gradient_approximation_test,
                    one_hot_encode, softmax)
from task4 import weight_images


def test_one_hot_example_and_round_trip():
    np.testing.assert_array_equal(one_hot_encode(np.array([[3]]), 10)[0],
                                  [0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    labels = np.arange(10).repeat(3).reshape(-1, 1)
    encoded = one_hot_encode(labels, 10)
    assert encoded.shape == (30, 10) and encoded.dtype == np.float64
    np.testing.assert_array_equal(encoded.sum(axis=1), 1)
    np.testing.assert_array_equal(encoded.argmax(axis=1), labels[:, 0])
    np.testing.assert_array_equal(one_hot_encode(labels[:, 0], 10), encoded)  # [N] works too


@pytest.mark.parametrize("labels, message", [
    (np.array([[0], [10]]), r"0\.\.9, got 10 at index 1"),
    (np.array([[-1], [2]]), r"0\.\.9, got -1 at index 0"),
    (np.array([[1.0], [2.5]]), r"integers, got 2\.5 at index 1"),
    (np.array([[True], [False]]), r"integers, got dtype bool"),
    (np.zeros((2, 2), dtype=int), r"shape \[N, 1\] or \[N\], got \(2, 2\)"),
])
def test_one_hot_rejects_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        one_hot_encode(labels, 10)


def test_zero_weights_give_one_tenth(full_data):
    model = SoftmaxModel(0.0)
    assert model.w.shape == (785, 10) and not model.w.any()
    outputs = model.forward(full_data[2])
    assert outputs.shape == (10000, 10)
    np.testing.assert_allclose(outputs, 0.1)


def test_rows_sum_to_one_at_large_weights(full_data, rng):
    model = SoftmaxModel(0.0)
    model.w = rng.normal(scale=1e3, size=model.w.shape)
    outputs = model.forward(full_data[0][:500])
    assert np.all(np.isfinite(outputs))
    np.testing.assert_allclose(outputs.sum(axis=1), 1.0, rtol=1e-12)
    assert np.isfinite(cross_entropy_loss(full_data[1][:500], outputs))


def test_softmax_matches_the_definition(rng):
    z = rng.normal(size=(4, 10))
    np.testing.assert_allclose(softmax(z), np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))


def test_cross_entropy_by_hand_and_at_zero():
    targets = np.array([[0, 1, 0], [1, 0, 0]], dtype=float)
    outputs = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
    expected = -(np.log(0.7) + np.log(0.5)) / 2
    assert cross_entropy_loss(targets, outputs) == pytest.approx(expected, rel=1e-12)
    zero = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert np.isfinite(cross_entropy_loss(targets, zero))


def test_gradient_check_real_images(full_data):
    """Analytic gradient of J = C + lambda ||w||^2 against central differences of every
    weight, on 20 real images at random weights (lambda = 0.1: the data term and the L2
    term both count; tests/test_properties.py samples other lambdas and weights)."""
    X, Y = full_data[0][:20], full_data[1][:20]
    model = SoftmaxModel(0.1)
    model.w = np.random.default_rng(3).normal(size=model.w.shape)
    assert gradient_approximation_test(model, X, Y) < 1e-6


def test_l2_term_alone_is_two_lambda_w(rng):
    """When the prediction is perfect the data gradient is zero and only 2*lambda*w is left."""
    X = np.hstack([rng.uniform(-1, 1, size=(4, 784)), np.ones((4, 1))])
    model = SoftmaxModel(0.3)
    model.w = rng.normal(size=model.w.shape)
    outputs = model.forward(X)
    model.backward(X, outputs, targets=outputs)   # targets == outputs: dC/dw = 0
    np.testing.assert_allclose(model.grad, 2 * 0.3 * model.w, rtol=1e-12)
    assert model.grad[-1].any()                   # the bias row is regularized too


def test_accuracy_by_hand():
    targets = one_hot_encode(np.array([0, 1, 2, 2]), 3)
    outputs = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])
    assert multiclass_accuracy(targets, outputs) == 0.75


def test_calculate_accuracy_zero_weights(full_data):
    # all outputs equal: argmax picks class 0, so accuracy is the share of zeros
    X_val, Y_val = full_data[2], full_data[3]
    assert calculate_accuracy(X_val, Y_val, SoftmaxModel(0.0)) == pytest.approx(Y_val[:, 0].mean())


# How lambda shrinks the weights, and that softmax regression learns, are checked on
# the outputs of task 3 and task 4 (tests/test_scripts.py).


def test_weight_images_leave_out_the_bias():
    w = np.arange(785 * 10, dtype=float).reshape(785, 10)
    images = weight_images(w)
    assert images.shape == (10, 28, 28)
    np.testing.assert_array_equal(images[3].ravel(), w[:-1, 3])
