"""Task 3a (and 4a): one-hot encoding, the softmax regression model with L2
regularization, its loss and the gradient approximation test."""
import checks  # first: it names a missing package and how to install it

import argparse

import numpy as np

import utils
from task2a import pre_process_images


def cross_entropy_loss(targets: np.ndarray, outputs: np.ndarray) -> float:
    """Mean multi-class cross-entropy over the batch (Eq. 5), the data term C only.

    Args:
        targets: one-hot labels, shape [batch size, num classes].
        outputs: predicted probabilities in [0, 1], shape [batch size, num classes].
    Returns:
        -1/N sum_n sum_k y_k log(y_hat_k), a float.
    """
    assert np.shape(targets) == np.shape(outputs), \
        f"targets {np.shape(targets)} and outputs {np.shape(outputs)} must have one shape"
    checks.check_one_hot(targets)
    checks.check_probabilities(outputs)
    # A probability that rounds to 0 (a logit about 708 below the largest) counts as the
    # smallest positive float, so the loss stays finite: about 708 for such an example,
    # less than its true value.
    log_p = np.log(np.maximum(outputs, np.finfo(np.float64).tiny))
    return float(-np.sum(targets * log_p) / targets.shape[0])


class SoftmaxModel:
    """Softmax regression: y_hat = softmax(X w), with w of shape [785, 10], zero at start.

    The cost is J(w) = C(w) + l2_reg_lambda * ||w||^2, where ||w||^2 sums the
    squares of all weights, the bias row included.
    """

    def __init__(self, l2_reg_lambda: float):
        """w: [785, 10] zeros; grad: set by backward; l2_reg_lambda >= 0: the L2 strength."""
        checks.check_positive(l2_reg_lambda, "l2_reg_lambda", allow_zero=True)
        self.I = 785  # inputs: 784 pixels and the bias
        self.num_outputs = 10
        self.w = np.zeros((self.I, self.num_outputs))
        self.grad = None
        self.l2_reg_lambda = l2_reg_lambda

    def forward(self, X: np.ndarray) -> np.ndarray:
        """
        Args:
            X: images of shape [batch size, 785]
        Returns:
            y_hat: class probabilities (Eq. 4), shape [batch size, 10]; finite also for
            logits in the thousands (large weights)
        """
        assert isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == self.I, \
            f"expected X, an array [batch size, {self.I}] (pre-processed), got {np.shape(X)}"
        z = X @ self.w
        # Subtracting each row's largest logit leaves the softmax as it is, and no
        # exp can overflow
        exp_z = np.exp(z - z.max(axis=1, keepdims=True))
        return exp_z / exp_z.sum(axis=1, keepdims=True)

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        """Set self.grad to the gradient of J = C + lambda ||w||^2 (Eq. 13 averaged
        over the batch, plus 2 lambda w), shape [785, 10].

        Args:
            X: pre-processed images [batch size, 785]
            outputs: what forward(X) returned, [batch size, 10]
            targets: one-hot labels, [batch size, 10]
        """
        assert targets.shape == outputs.shape, \
            f"outputs {outputs.shape} and targets {targets.shape} must have one shape"
        assert X.ndim == 2 and X.shape == (targets.shape[0], self.I), \
            f"expected X of shape [{targets.shape[0]}, {self.I}] like targets, got {X.shape}"
        self.grad = X.T @ (outputs - targets) / X.shape[0]
        self.grad += 2 * self.l2_reg_lambda * self.w
        assert self.grad.shape == self.w.shape, \
            f"the gradient {self.grad.shape} must have the shape of w {self.w.shape}"

    def zero_grad(self) -> None:
        """Forget the gradient of the last backward pass."""
        self.grad = None


def one_hot_encode(Y: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels [N, 1] in 0..num_classes-1 -> one-hot [N, num_classes].

    Example: 3 -> [0, 0, 0, 1, 0, 0, 0, 0, 0, 0] for num_classes = 10.
    """
    checks.check_labels(Y, num_classes)  # integers in 0..num_classes-1, shape [N, 1] or [N]
    Y = np.asarray(Y).reshape(-1).astype(np.int64)
    encoded = np.zeros((Y.shape[0], num_classes))
    encoded[np.arange(Y.shape[0]), Y] = 1
    return encoded


def gradient_approximation_test(model: SoftmaxModel, X: np.ndarray, Y: np.ndarray):
    """Compare model.backward with central differences of the whole cost
    J(w) = C(w) + lambda ||w||^2, weight by weight, at the model's current weights. It
    checks your code: leave it as it is.

    X: [N, 785], Y: one-hot [N, 10]. Raises AssertionError at the first weight whose
    two gradients differ by more than epsilon**2; returns the largest difference.
    """
    epsilon = 1e-3

    def cost():
        return (cross_entropy_loss(Y, model.forward(X))
                + model.l2_reg_lambda * np.sum(model.w ** 2))

    model.backward(X, model.forward(X), Y)
    assert model.grad is not None and model.grad.shape == model.w.shape, (
        f"backward must set model.grad to the shape of w {model.w.shape}, got "
        f"{None if model.grad is None else model.grad.shape}")
    largest = 0.0
    for i in range(model.w.shape[0]):
        for j in range(model.w.shape[1]):
            original = model.w[i, j]
            model.w[i, j] = original + epsilon
            cost_plus = cost()
            model.w[i, j] = original - epsilon
            cost_minus = cost()
            model.w[i, j] = original
            approximation = (cost_plus - cost_minus) / (2 * epsilon)
            difference = abs(approximation - model.grad[i, j])
            assert difference <= epsilon ** 2, (
                f"Gradient check failed at weight w[{i}, {j}]: approximation "
                f"{approximation:.8g}, backward {model.grad[i, j]:.8g}, difference "
                f"{difference:.3g} > {epsilon ** 2:g}. Check cross_entropy_loss, forward "
                "and backward (with the L2 term).")
            largest = max(largest, difference)
    return largest


def main():
    """Sanity checks: one-hot encoding, an output of 0.1 at zero weights, the gradient
    for lambda = 0 and lambda = 0.1."""
    encoded = one_hot_encode(np.array([[3], [0]]), 10)
    assert encoded.tolist() == np.eye(10)[[3, 0]].tolist(), \
        f"expected the labels 3 and 0 to become rows 3 and 0 of the 10x10 identity, got {encoded}"

    X_train, Y_train, *_ = utils.load_full_mnist()
    X_train = pre_process_images(X_train)
    Y_train = one_hot_encode(Y_train, 10)
    assert X_train.shape[1] == 785, \
        f"expected 785 columns (784 pixels and the bias), got {X_train.shape}"

    # The gradient test on the first 100 images: at zero weights, then at random ones
    X_train, Y_train = X_train[:100], Y_train[:100]
    rng = np.random.default_rng(1)
    for l2_reg_lambda in (0.0, 0.1):
        model = SoftmaxModel(l2_reg_lambda)
        outputs = model.forward(X_train)
        np.testing.assert_almost_equal(
            outputs.mean(), 1 / 10, err_msg="with all weights zero, every output must be 0.1")
        for i in range(2):
            largest = gradient_approximation_test(model, X_train, Y_train)
            print(f"Gradient check {i + 1} with lambda = {l2_reg_lambda} passed "
                  f"(largest difference {largest:.2e})")
            model.w = rng.standard_normal(model.w.shape)


if __name__ == "__main__":
    argparse.ArgumentParser(description="Task 3a's sanity checks on the real data: one-hot "
                            "encoding, the output at zero weights and the gradient "
                            "approximation test for lambda = 0 and 0.1. Writes nothing; takes "
                            "no options.").parse_args()
    main()
