"""Task 3a (and 4b): one-hot encoding, the softmax regression model with L2
regularization, its loss and the gradient approximation test."""
import numpy as np

import utils
from task2a import NUM_INPUTS, pre_process_images

NUM_CLASSES = 10


def cross_entropy_loss(targets: np.ndarray, outputs: np.ndarray) -> float:
    """Mean multi-class cross-entropy (Eq. 5): -1/N sum_n sum_k y_k log(y_hat_k).

    Args:
        targets: one-hot labels, shape [batch size, num classes].
        outputs: predicted probabilities in [0, 1], shape [batch size, num classes].
        Anything else (targets that are not one-hot, NaN) raises ValueError.
    Returns:
        The loss averaged over the batch (the data term C only, no L2 term).
        A probability of exactly 0 is moved to the smallest positive float, so
        the loss stays finite.
    """
    utils.check_same_shape(targets, outputs)
    utils.check_one_hot(targets)
    utils.check_probabilities(outputs)
    log_p = np.log(np.maximum(outputs, np.finfo(np.float64).tiny))
    return float(-np.sum(targets * log_p) / targets.shape[0])


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of z [N, K]. The row maximum is subtracted first, so no
    exp overflows and every row sums to 1."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


class SoftmaxModel:
    """Softmax regression: weights w of shape [785, 10], zero at start.

    The cost is J(w) = C(w) + l2_reg_lambda * ||w||^2, where ||w||^2 sums the
    squares of all weights, the bias row included (as R(w) in Eq. 27).
    """

    def __init__(self, l2_reg_lambda: float):
        utils.check_positive(l2_reg_lambda, "l2_reg_lambda", allow_zero=True)
        self.I = NUM_INPUTS
        self.num_outputs = NUM_CLASSES
        self.w = np.zeros((self.I, self.num_outputs))
        self.grad = None
        self.l2_reg_lambda = float(l2_reg_lambda)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """X: [batch size, 785] -> class probabilities [batch size, 10] (Eq. 4)."""
        utils.check_matrix(X, self.I)
        return softmax(utils.linear(X, self.w))

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        """Set self.grad [785, 10] to dJ/dw = dC/dw + 2 * lambda * w, where dC/dw
        is the batch mean of Eq. 13, -x_j (y_k - y_hat_k).

        Args:
            X: [batch size, 785]; outputs, targets: [batch size, 10].
        """
        utils.check_matrix(X, self.I)
        utils.check_same_shape(targets, outputs)
        utils.check_same_length(X, targets, "X", "targets")
        utils.check_probabilities(targets, "targets")  # one-hot, or soft labels
        utils.check_probabilities(outputs)
        self.grad = utils.input_gradient(X, outputs - targets)
        if self.l2_reg_lambda:
            self.grad += 2.0 * self.l2_reg_lambda * self.w

    def zero_grad(self) -> None:
        """Forget the gradient of the last backward pass."""
        self.grad = None


def one_hot_encode(Y: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels [N, 1] (or [N]) in 0..num_classes-1 -> one-hot [N, num_classes].

    Example: 3 -> [0, 0, 0, 1, 0, 0, 0, 0, 0, 0] for num_classes = 10.
    """
    utils.check_positive(num_classes, "num_classes", integer=True)
    Y = np.asarray(Y)
    if Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if Y.ndim != 1:
        raise ValueError(f"Y must have shape [N, 1] or [N], got {Y.shape}")
    if Y.dtype == bool or not (np.issubdtype(Y.dtype, np.integer)
                               or np.issubdtype(Y.dtype, np.floating)):
        raise ValueError(f"labels must be integers, got dtype {Y.dtype}")
    if np.issubdtype(Y.dtype, np.floating):
        bad = ~np.isfinite(Y) | (Y != np.round(Y))
        if bad.any():
            raise ValueError(f"labels must be integers, got {Y[bad][0].item()!r} at index "
                             f"{int(np.argmax(bad))}")
    bad = (Y < 0) | (Y >= num_classes)
    if bad.any():
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, got {Y[bad][0].item()!r} at "
                         f"index {int(np.argmax(bad))}")
    encoded = np.zeros((Y.shape[0], num_classes))
    encoded[np.arange(Y.shape[0]), Y.astype(np.int64)] = 1.0
    return encoded


def gradient_approximation_test(model: SoftmaxModel, X: np.ndarray, Y: np.ndarray):
    """Check model.backward against central differences of the full cost
    J(w) = C(w) + lambda * ||w||^2 (Appendix).

    X: [N, 785], Y: one-hot [N, 10]. Raises AssertionError on a mismatch larger
    than epsilon**2 (epsilon = 1e-3); returns the largest difference.
    """
    def cost():
        """J(w) for the current model.w on (X, Y)."""
        return (cross_entropy_loss(Y, model.forward(X))
                + model.l2_reg_lambda * np.sum(model.w ** 2))
    return utils.gradient_check(model, X, Y, cost, epsilon=1e-3)


def main():
    """The starter's sanity checks: one-hot, shapes, zero weights give 0.1, gradients."""
    Y = np.zeros((1, 1), dtype=int)
    Y[0, 0] = 3
    Y = one_hot_encode(Y, 10)
    assert Y[0, 3] == 1 and Y.sum() == 1, f"Expected one-hot [0,0,0,1,0,...], got {Y}"

    X_train, Y_train, *_ = utils.load_full_mnist()
    X_train = pre_process_images(X_train)
    Y_train = one_hot_encode(Y_train, 10)
    assert X_train.shape[1] == 785, f"Expected X_train with 785 columns, got {X_train.shape}"

    rng = np.random.default_rng(1)
    for l2_reg_lambda in (0.0, 0.1):
        model = SoftmaxModel(l2_reg_lambda)
        outputs = model.forward(X_train)
        np.testing.assert_almost_equal(
            outputs.mean(), 1 / 10, err_msg="With zero weights every output should be 0.1")
        X_small, Y_small = X_train[:100], Y_train[:100]
        for i in range(2):  # first at zero weights, then at random ones
            worst = gradient_approximation_test(model, X_small, Y_small)
            print(f"Gradient check {i + 1} with lambda = {l2_reg_lambda} passed "
                  f"(largest difference {worst:.2e})")
            model.w = rng.standard_normal(model.w.shape)


if __name__ == "__main__":
    main()
