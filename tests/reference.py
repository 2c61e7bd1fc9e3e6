"""The tests' own formulas, written out independently of the student's code: the test
data and the expected numbers are computed with these, so a mistake in one of the
student's functions fails the tests of that function and not the tests of the others.

Also the models the trainer tests use (ReferenceBinaryModel, ReferenceSoftmaxModel):
tests of the training loop train these, so that a mistake in BinaryModel or
SoftmaxModel is reported by the model's own tests, not as a broken training loop.
"""
import numpy as np


def pre_process(images: np.ndarray) -> np.ndarray:
    """Pixels [N, 784] in [0, 255] -> [N, 785]: x / 127.5 - 1, then a column of ones."""
    X = images.astype(np.float64) / 127.5 - 1.0
    return np.hstack([X, np.ones((len(X), 1))])


def one_hot(labels, num_classes: int = 10) -> np.ndarray:
    """Integer labels [N] or [N, 1] -> one-hot rows [N, num_classes]."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    Y = np.zeros((len(labels), num_classes))
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


def sigmoid(z):
    """1 / (1 + e^-z), with an exp that cannot overflow: e^-|z| in both branches."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def binary_loss(y, p) -> float:
    """Mean binary cross-entropy, written out per row."""
    return float(np.mean([-(t * np.log(q) + (1 - t) * np.log(1 - q))
                          for t, q in zip(y[:, 0], p[:, 0])]))


def softmax_loss(y, p) -> float:
    """Mean multi-class cross-entropy: -log of the target's probability, per row."""
    return float(np.mean([-np.log(p[n, np.argmax(y[n])]) for n in range(len(y))]))


def inputs(rng, num_rows: int, num_columns: int = 785) -> np.ndarray:
    """Stand-ins for pre-processed images: [num_rows, 785] in [-1, 1], bias column 1."""
    X = rng.uniform(-1.0, 1.0, size=(num_rows, num_columns))
    X[:, -1] = 1.0
    return X


class ReferenceBinaryModel:
    """Logistic regression as the assignment defines it (not the student's BinaryModel)."""

    def __init__(self):
        self.w = np.zeros((785, 1))
        self.grad = None

    def forward(self, X):
        return sigmoid(X @ self.w)

    def backward(self, X, outputs, targets):
        self.grad = X.T @ (outputs - targets) / X.shape[0]

    def zero_grad(self):
        self.grad = None


class ReferenceSoftmaxModel:
    """Softmax regression with L2 as the assignment defines it (not the student's)."""

    def __init__(self, l2_reg_lambda: float):
        self.w = np.zeros((785, 10))
        self.grad = None
        self.l2_reg_lambda = l2_reg_lambda

    def forward(self, X):
        return softmax(X @ self.w)

    def backward(self, X, outputs, targets):
        self.grad = X.T @ (outputs - targets) / X.shape[0] + 2 * self.l2_reg_lambda * self.w

    def zero_grad(self):
        self.grad = None


def central_differences(cost, w: np.ndarray, weights, epsilon: float = 1e-4) -> np.ndarray:
    """d cost / d w[i, j] by central differences, for each (i, j) in weights."""
    result = []
    for i, j in weights:
        original = w[i, j]
        w[i, j] = original + epsilon
        plus = cost()
        w[i, j] = original - epsilon
        minus = cost()
        w[i, j] = original
        result.append((plus - minus) / (2 * epsilon))
    return np.array(result)
