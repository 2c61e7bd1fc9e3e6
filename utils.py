"""The starter's helpers: the batch loader, the MNIST splits and plot_loss."""
import matplotlib.pyplot as plt
import numpy as np

import checks
import mnist

TRAIN_SIZE = 20000  # the first 20000 MNIST training images are the training set
VAL_SIZE = 10000    # the 10000 MNIST test images are the validation set


def batch_loader(X: np.ndarray, Y: np.ndarray, batch_size: int, shuffle=False,
                 drop_last=True, rng: np.random.Generator = None):
    """Yield one epoch of mini-batches (X_batch [B, ...], Y_batch [B, ...]).

    Args:
        X: inputs of shape [N, ...]; Y: targets of shape [N, ...].
        batch_size: B, the number of rows per batch.
        shuffle: draw a fresh random order of the N rows for this epoch.
        drop_last: leave out the last batch if it has fewer than B rows.
        rng: the random generator for the shuffle (default: numpy's global one).
    """
    checks.check_same_length(X, Y)
    checks.check_positive(batch_size, "batch_size", integer=True)
    num_batches = len(X) // batch_size
    if not drop_last and len(X) % batch_size:
        num_batches += 1
    if drop_last and num_batches == 0:
        raise ValueError(f"batch_size ({batch_size}) is larger than the data set ({len(X)} "
                         f"rows): with drop_last=True no full batch can be drawn")
    indices = np.arange(len(X))
    if shuffle:  # a new random order of the rows, the same for X and Y
        indices = rng.permutation(len(X)) if rng is not None else np.random.permutation(len(X))
    for i in range(num_batches):
        batch = indices[i * batch_size:(i + 1) * batch_size]
        yield X[batch], Y[batch]


# ---- The helpers below come ready: nothing in them is part of the tasks. ----

def binary_prune_dataset(class1: int, class2: int, X: np.ndarray, Y: np.ndarray):
    """Keep the rows of class1 (target 1) and class2 (target 0).

    X: [N, 784], Y: [N] integer labels -> X [M, 784], Y [M] in {0, 1}.
    """
    checks.check_same_length(X, Y)
    if class1 == class2:
        raise ValueError(f"class1 and class2 must differ, got {class1} twice")
    Y = np.asarray(Y).reshape(-1)
    keep = (Y == class1) | (Y == class2)
    return X[keep], (Y[keep] == class1).astype(np.int64)


def _split():
    """The training split (first TRAIN_SIZE images) and validation split (the test set)."""
    X_train, Y_train, X_test, Y_test = mnist.load()
    return (X_train[:TRAIN_SIZE], Y_train[:TRAIN_SIZE],
            X_test[:VAL_SIZE], Y_test[:VAL_SIZE])


def load_binary_dataset(class1: int, class2: int, verbose: bool = True):
    """MNIST digits class1 (target 1) vs class2 (target 0).

    Returns X_train [N, 784] uint8, Y_train [N, 1], X_val [M, 784] uint8, Y_val [M, 1].
    For 2 vs 3 the shapes are (4005, 784) and (2042, 784).
    """
    for c in (class1, class2):
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c <= 9:
            raise ValueError(f"classes must be digits 0..9, got {c!r}")
    X_train, Y_train, X_val, Y_val = _split()
    X_train, Y_train = binary_prune_dataset(class1, class2, X_train, Y_train)
    X_val, Y_val = binary_prune_dataset(class1, class2, X_val, Y_val)
    Y_train, Y_val = Y_train.reshape(-1, 1), Y_val.reshape(-1, 1)
    if verbose:
        print(f"Train shape: X: {X_train.shape}, Y: {Y_train.shape}")
        print(f"Validation shape: X: {X_val.shape}, Y: {Y_val.shape}")
    return X_train, Y_train, X_val, Y_val


def load_full_mnist(verbose: bool = True):
    """All ten digits: X_train [20000, 784] uint8, Y_train [20000, 1] int,
    X_val [10000, 784] uint8, Y_val [10000, 1] int."""
    X_train, Y_train, X_val, Y_val = _split()
    Y_train = Y_train.astype(np.int64).reshape(-1, 1)
    Y_val = Y_val.astype(np.int64).reshape(-1, 1)
    if verbose:
        print(f"Train shape: X: {X_train.shape}, Y: {Y_train.shape}")
        print(f"Validation shape: X: {X_val.shape}, Y: {Y_val.shape}")
    return X_train, Y_train, X_val, Y_val


def plot_loss(loss_dict: dict, label: str = None, npoints_to_average: int = 1,
              plot_variance: bool = True, ax=None, **plot_kwargs):
    """Plot a {global step: value} history. With npoints_to_average > 1 the curve
    is the mean over consecutive windows of that many points, with a +-1 std band
    if plot_variance. plot_kwargs go to Axes.plot (colour, alpha, ...)."""
    ax = ax if ax is not None else plt.gca()
    steps = np.fromiter(loss_dict.keys(), dtype=np.float64, count=len(loss_dict))
    values = np.fromiter(loss_dict.values(), dtype=np.float64, count=len(loss_dict))
    n = npoints_to_average
    if n <= 1 or len(values) < n:
        ax.plot(steps, values, label=label, **plot_kwargs)
        return
    m = len(values) // n
    windows = values[:m * n].reshape(m, n)
    centers = steps[:m * n].reshape(m, n)[:, n // 2]
    mean, std = windows.mean(axis=1), windows.std(axis=1)
    ax.plot(centers, mean, label=f"{label}, mean of each {n} steps", **plot_kwargs)
    if plot_variance:
        ax.fill_between(centers, mean - std, mean + std, alpha=0.2,
                        label=f"{label} (+-1 std over {n} steps)")
