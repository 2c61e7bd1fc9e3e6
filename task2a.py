"""Task 2a: pre-processing, the logistic regression model, its loss and the
gradient approximation test."""
import checks  # first: it names a missing package and how to install it

import argparse

import numpy as np

import utils


def pre_process_images(X: np.ndarray) -> np.ndarray:
    """Scale the pixels from [0, 255] to [-1, 1] and apply the bias trick.

    Args:
        X: images of shape [batch size, 784], values in [0, 255].
    Returns:
        float64 array of shape [batch size, 785]; the last column is all ones.
    """
    checks.check_pixels(X)  # a numpy array [N, 784] with values in [0, 255]
    X = X.astype(np.float64) / 127.5 - 1.0
    bias = np.ones((X.shape[0], 1))
    return np.concatenate([X, bias], axis=1)


def cross_entropy_loss(targets: np.ndarray, outputs: np.ndarray) -> float:
    """Mean binary cross-entropy over the batch (Eq. 3).

    Args:
        targets: labels in {0, 1}, shape [batch size, 1].
        outputs: predicted probabilities in [0, 1], shape [batch size, 1].
    Returns:
        The loss averaged over the batch, a float.
    """
    assert np.shape(targets) == np.shape(outputs), \
        f"targets {np.shape(targets)} and outputs {np.shape(outputs)} must have one shape"
    checks.check_binary_targets(targets)
    checks.check_probabilities(outputs)
    # A y_hat below 2.2e-308 (a logit below about -708) or a 1 - y_hat of 0 (a logit above
    # about 37) is clamped at 2.2e-308 or 2**-53, so the loss stays finite: such an example
    # counts about 708 or 37, no more than its true value.
    log_p = np.log(np.maximum(outputs, np.finfo(np.float64).tiny))
    log_not_p = np.log(np.maximum(1.0 - outputs, np.finfo(np.float64).epsneg))
    return float(-np.mean(targets * log_p + (1.0 - targets) * log_not_p))


class BinaryModel:
    """Logistic regression: y_hat = sigmoid(X w), with w of shape [785, 1], zero at start."""

    def __init__(self):
        """w: [785, 1] zeros; grad: set by backward."""
        self.I = 785  # inputs: 784 pixels and the bias

        self.w = np.zeros((self.I, 1))
        self.grad = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """
        Args:
            X: images of shape [batch size, 785]
        Returns:
            y_hat: the probability of the first class, shape [batch size, 1]
        """
        assert isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == self.I, \
            f"expected X, an array [batch size, {self.I}] (pre-processed), got {np.shape(X)}"
        z = X @ self.w
        # sigmoid(z) = 1 / (1 + e^-z) = e^-log(1 + e^-z): no exp can overflow
        return np.exp(-np.logaddexp(0.0, -z))

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        """Set self.grad to the gradient of the batch mean loss (Eq. 6):
        -1/N sum_n (y_n - y_hat_n) x_n, shape [785, 1].

        Args:
            X: pre-processed images [batch size, 785]
            outputs: what forward(X) returned, [batch size, 1]
            targets: 0/1 labels, [batch size, 1]
        """
        assert targets.shape == outputs.shape, \
            f"outputs {outputs.shape} and targets {targets.shape} must have one shape"
        assert X.ndim == 2 and X.shape == (targets.shape[0], self.I), \
            f"expected X of shape [{targets.shape[0]}, {self.I}] like targets, got {X.shape}"
        self.grad = X.T @ (outputs - targets) / X.shape[0]
        assert self.grad.shape == self.w.shape, \
            f"the gradient {self.grad.shape} must have the shape of w {self.w.shape}"

    def zero_grad(self) -> None:
        """Forget the gradient of the last backward pass."""
        self.grad = None


def gradient_approximation_test(model: BinaryModel, X: np.ndarray, Y: np.ndarray):
    """Compare model.backward with central differences of the loss, weight by weight,
    at the model's current weights. It checks your code: leave it as it is.

    X: [N, 785], Y: [N, 1]. Raises AssertionError at the first weight whose two
    gradients differ by more than epsilon**2; returns the largest difference.
    """
    epsilon = 1e-3
    model.backward(X, model.forward(X), Y)
    assert model.grad is not None and model.grad.shape == model.w.shape, (
        f"backward must set model.grad to the shape of w {model.w.shape}, got "
        f"{None if model.grad is None else model.grad.shape}")
    largest = 0.0
    for i in range(model.w.shape[0]):
        original = model.w[i, 0]
        model.w[i, 0] = original + epsilon
        cost_plus = cross_entropy_loss(Y, model.forward(X))
        model.w[i, 0] = original - epsilon
        cost_minus = cross_entropy_loss(Y, model.forward(X))
        model.w[i, 0] = original
        approximation = (cost_plus - cost_minus) / (2 * epsilon)
        difference = abs(approximation - model.grad[i, 0])
        assert difference <= epsilon ** 2, (
            f"Gradient check failed at weight w[{i}, 0]: approximation {approximation:.8g}, "
            f"backward {model.grad[i, 0]:.8g}, difference {difference:.3g} > "
            f"{epsilon ** 2:g}. Check cross_entropy_loss, forward and backward.")
        largest = max(largest, difference)
    return largest


def main():
    """Sanity checks: pre-processing, an output of 0.5 at zero weights, the gradient."""
    category1, category2 = 2, 3
    X_train, Y_train, *_ = utils.load_binary_dataset(category1, category2)
    X_train = pre_process_images(X_train)
    assert -1 <= X_train.min() < 0 and X_train.max() <= 1, (
        f"pre-processed pixels must lie in [-1, 1], got [{X_train.min()}, {X_train.max()}]")
    assert X_train.shape[1] == 785, \
        f"expected 785 columns (784 pixels and the bias), got {X_train.shape}"

    model = BinaryModel()
    outputs = model.forward(X_train)
    np.testing.assert_almost_equal(
        outputs.mean(), 0.5, err_msg="with all weights zero, every output must be 0.5")

    # The gradient test on the first 100 images: at zero weights, then at random ones
    # (small ones: beyond |w^T x| ~ 30, 1 - sigmoid loses its digits in float64)
    X_train, Y_train = X_train[:100], Y_train[:100]
    rng = np.random.default_rng(1)
    for i in range(2):
        largest = gradient_approximation_test(model, X_train, Y_train)
        print(f"Gradient check {i + 1} passed (largest difference {largest:.2e})")
        model.w = rng.normal(scale=0.1, size=model.w.shape)


if __name__ == "__main__":
    argparse.ArgumentParser(description="Task 2a's sanity checks on the real data: the "
                            "pre-processing, the output at zero weights and the gradient "
                            "approximation test. Writes nothing; takes no options.").parse_args()
    main()
