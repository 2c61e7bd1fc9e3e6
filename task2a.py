"""Task 2a: pre-processing, the logistic regression model, its loss and the
gradient approximation test."""
import numpy as np

import utils

NUM_PIXELS = 28 * 28          # 784 inputs per image
NUM_INPUTS = NUM_PIXELS + 1   # 785 with the bias trick


def pre_process_images(X: np.ndarray) -> np.ndarray:
    """Scale images from [0, 255] to [-1, 1] and apply the bias trick.

    Args:
        X: images of shape [batch size, 784], values in [0, 255].
    Returns:
        float64 array of shape [batch size, 785]; the last column is all ones.
    """
    utils.check_matrix(X, NUM_PIXELS, "X (images)")
    if X.dtype.kind not in "iuf":
        raise TypeError(f"X must hold real pixel values, got dtype {X.dtype}")
    utils.check_finite(X, "X (images)")
    low, high = X.min(), X.max()
    if low < 0 or high > 255:
        raise ValueError(f"pixel values must lie in [0, 255], got range [{low}, {high}]")
    out = np.empty((X.shape[0], NUM_INPUTS), dtype=np.float64)
    np.divide(X, 127.5, out=out[:, :NUM_PIXELS])
    out[:, :NUM_PIXELS] -= 1.0
    out[:, NUM_PIXELS] = 1.0
    return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function 1 / (1 + exp(-z)), any shape.

    Written as exp(-log(1 + exp(-z))) through logaddexp, so no exp overflows.
    """
    return np.exp(-np.logaddexp(0.0, -z))


def cross_entropy_loss(targets: np.ndarray, outputs: np.ndarray) -> float:
    """Mean binary cross-entropy (Eq. 3).

    Args:
        targets: labels in {0, 1}, shape [batch size, 1].
        outputs: predicted probabilities in [0, 1], shape [batch size, 1].
        Anything else (a target of 2, a probability of 1.5, NaN) raises ValueError.
    Returns:
        The loss averaged over the batch. Probabilities of exactly 0 or 1 are
        moved to the smallest positive float, so the loss stays finite.
    """
    utils.check_same_shape(targets, outputs)
    utils.check_binary_targets(targets)
    utils.check_probabilities(outputs)
    tiny = np.finfo(np.float64).tiny
    log_p = np.log(np.maximum(outputs, tiny))
    log_not_p = np.log(np.maximum(1.0 - outputs, tiny))
    return float(-np.mean(targets * log_p + (1.0 - targets) * log_not_p))


class BinaryModel:
    """Logistic regression: one weight vector w of shape [785, 1], zero at start."""

    def __init__(self):
        self.I = NUM_INPUTS
        self.w = np.zeros((self.I, 1))
        self.grad = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """X: [batch size, 785] -> probabilities of the first class, [batch size, 1]."""
        utils.check_matrix(X, self.I)
        return sigmoid(utils.linear(X, self.w))

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        """Set self.grad [785, 1] to the batch mean of Eq. 6, -(y - y_hat) x.

        Args:
            X: [batch size, 785]; outputs, targets: [batch size, 1].
        """
        utils.check_matrix(X, self.I)
        utils.check_same_shape(targets, outputs)
        utils.check_same_length(X, targets, "X", "targets")
        utils.check_probabilities(targets, "targets")  # one-hot, or soft labels
        utils.check_probabilities(outputs)
        self.grad = utils.input_gradient(X, outputs - targets)

    def zero_grad(self) -> None:
        """Forget the gradient of the last backward pass."""
        self.grad = None


def gradient_approximation_test(model: BinaryModel, X: np.ndarray, Y: np.ndarray):
    """Check model.backward against central differences of the loss (Appendix).

    X: [N, 785], Y: [N, 1]. Raises AssertionError on a mismatch larger than
    epsilon**2 (epsilon = 1e-3); returns the largest difference.
    """
    return utils.gradient_check(
        model, X, Y, lambda: cross_entropy_loss(Y, model.forward(X)), epsilon=1e-3)


def main():
    """The starter's sanity checks: shapes, zero weights give 0.5, gradients."""
    category1, category2 = 2, 3
    X_train, Y_train, *_ = utils.load_binary_dataset(category1, category2)
    X_train = pre_process_images(X_train)
    assert X_train.max() <= 1.0, f"expected X_train.max() <= 1, got {X_train.max()}"
    assert X_train.min() < 0 and X_train.min() >= -1, (
        f"expected -1 <= X_train.min() < 0, got {X_train.min()}")
    assert X_train.shape[1] == 785, f"expected X_train.shape[1] == 785, got {X_train.shape[1]}"

    model = BinaryModel()
    outputs = model.forward(X_train)
    np.testing.assert_almost_equal(
        outputs.mean(), 0.5, err_msg="With zero weights every output should be 0.5")

    # First at zero weights, then at random ones. Their scale keeps |w^T x| well
    # below ~30: beyond that 1 - sigmoid(z) loses its digits in float64, and a loss
    # that only sees the probabilities cannot be differentiated numerically.
    rng = np.random.default_rng(1)
    X_small, Y_small = X_train[:100], Y_train[:100]
    for i in range(2):
        worst = gradient_approximation_test(model, X_small, Y_small)
        print(f"Gradient check {i + 1} passed (largest difference {worst:.2e})")
        model.w = rng.normal(scale=0.1, size=model.w.shape)


if __name__ == "__main__":
    main()
