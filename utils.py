"""Shared helpers: data sets, the batch loader, input checks, the numerical
gradient, plotting and result files. Every task script builds on these."""
import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import mnist

TRAIN_SIZE = 20000  # the first 20000 MNIST training images are the training set
VAL_SIZE = 10000    # the 10000 MNIST test images are the validation set


# ----------------------------------------------------------------------------
# Input checks (errors that say what was expected and what was given)
# ----------------------------------------------------------------------------
def check_matrix(X, num_columns: int, name: str = "X") -> None:
    """Raise ValueError unless X is a non-empty 2-D array of shape [N, num_columns]."""
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape [N, {num_columns}], "
                        f"got {type(X).__name__}")
    if X.ndim != 2 or X.shape[1] != num_columns:
        raise ValueError(f"{name} must have shape [N, {num_columns}], got {X.shape}"
                         + (" (did you forget pre_process_images, or apply it twice?)"
                            if X.ndim == 2 and abs(X.shape[1] - num_columns) == 1 else ""))
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}): expected at least one row")


def check_same_shape(targets: np.ndarray, outputs: np.ndarray) -> None:
    """Raise ValueError unless targets and outputs are non-empty 2-D arrays of one shape."""
    for name, arr in (("targets", targets), ("outputs", outputs)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 2:
            got = arr.shape if isinstance(arr, np.ndarray) else type(arr).__name__
            raise ValueError(f"{name} must be a 2-D array [batch size, num outputs], got {got}")
    if targets.shape != outputs.shape:
        raise ValueError(f"targets shape {targets.shape} does not match outputs shape "
                         f"{outputs.shape}")
    if targets.shape[0] == 0:
        raise ValueError(f"empty batch: targets and outputs have shape {targets.shape}, "
                         f"expected at least one row")


def check_same_length(X: np.ndarray, Y: np.ndarray, x_name="X", y_name="Y") -> None:
    """Raise ValueError unless X and Y have the same number of rows."""
    if len(X) != len(Y):
        raise ValueError(f"{x_name} and {y_name} must have the same number of rows, "
                         f"got {len(X)} and {len(Y)}")


def check_positive(value, name: str, integer: bool = False) -> None:
    """Raise ValueError unless value is a positive (integer, if asked) number."""
    kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        expected = "a positive integer" if integer else "a positive number"
        raise ValueError(f"{name} must be {expected}, got {value!r}")


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------
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
    check_same_length(X, Y)
    check_positive(batch_size, "batch_size", integer=True)
    num_rows = len(X)
    if drop_last and batch_size > num_rows:
        raise ValueError(f"batch_size ({batch_size}) is larger than the data set ({num_rows} "
                         f"rows): with drop_last=True no full batch can be drawn")
    if shuffle:
        order = rng.permutation(num_rows) if rng is not None else np.random.permutation(num_rows)
    num_batches = num_rows // batch_size if drop_last else -(-num_rows // batch_size)
    for i in range(num_batches):
        if shuffle:
            idx = order[i * batch_size:(i + 1) * batch_size]
            yield X[idx], Y[idx]
        else:
            yield X[i * batch_size:(i + 1) * batch_size], Y[i * batch_size:(i + 1) * batch_size]


def binary_prune_dataset(class1: int, class2: int, X: np.ndarray, Y: np.ndarray):
    """Keep the rows of class1 (target 1) and class2 (target 0).

    X: [N, 784], Y: [N] integer labels -> X [M, 784], Y [M] in {0, 1}.
    """
    check_same_length(X, Y)
    if class1 == class2:
        raise ValueError(f"class1 and class2 must differ, got {class1} twice")
    Y = np.asarray(Y).reshape(-1)
    keep = (Y == class1) | (Y == class2)
    return X[keep], (Y[keep] == class1).astype(np.int64)


def _split():
    """The training split (first TRAIN_SIZE images) and validation split (the test set)."""
    X_train, Y_train, X_test, Y_test = mnist.load()
    return (X_train[:TRAIN_SIZE], Y_train[:TRAIN_SIZE],
            X_test[-VAL_SIZE:], Y_test[-VAL_SIZE:])


def load_binary_dataset(class1: int, class2: int, verbose: bool = True):
    """MNIST digits class1 (target 1) vs class2 (target 0).

    Returns X_train [N, 784] uint8, Y_train [N, 1], X_val [M, 784] uint8, Y_val [M, 1].
    For 2 vs 3 the shapes are (4005, 784) and (2042, 784).
    """
    for c in (class1, class2):
        if not isinstance(c, (int, np.integer)) or not 0 <= c <= 9:
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


# ----------------------------------------------------------------------------
# Gradient checking: one numerical-gradient helper for every model
# ----------------------------------------------------------------------------
def numerical_gradient(f, w: np.ndarray, epsilon: float = 1e-3) -> np.ndarray:
    """Central-difference gradient of the scalar function f() with respect to w.

    f reads w (for example through a model that holds it); each entry of w is
    moved by +-epsilon in place and restored. Returns an array shaped like w.
    """
    grad = np.zeros_like(w, dtype=np.float64)
    for idx in np.ndindex(*w.shape):
        original = w[idx]
        w[idx] = original + epsilon
        f_plus = f()
        w[idx] = original - epsilon
        f_minus = f()
        w[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * epsilon)
    return grad


def gradient_check(model, X: np.ndarray, Y: np.ndarray, objective, epsilon: float = 1e-3):
    """Compare model.backward with central differences of objective() w.r.t. model.w.

    objective() returns the scalar cost for the model's current weights on (X, Y).
    Raises AssertionError naming the first weight whose analytic and numerical
    gradients differ by more than epsilon**2. Returns the largest difference.
    """
    w = model.w
    numerical = numerical_gradient(objective, w, epsilon)
    model.backward(X, model.forward(X), Y)
    if model.grad is None or model.grad.shape != w.shape:
        got = None if model.grad is None else model.grad.shape
        raise AssertionError(f"model.grad must have the weight shape {w.shape}, got {got}")
    diff = np.abs(model.grad - numerical)
    worst = np.unravel_index(np.argmax(diff), diff.shape)
    if diff[worst] > epsilon ** 2:
        raise AssertionError(
            f"Gradient check failed at weight {worst}: analytic {model.grad[worst]:.8g}, "
            f"numerical {numerical[worst]:.8g}, difference {diff[worst]:.3g} > {epsilon ** 2:.1g}")
    return float(diff[worst])


# ----------------------------------------------------------------------------
# Plots and result files
# ----------------------------------------------------------------------------
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
    ax.plot(centers, mean, label=f"{label} (mean of each {n} steps)", **plot_kwargs)
    if plot_variance:
        ax.fill_between(centers, mean - std, mean + std, alpha=0.2,
                        label=f"{label} (+-1 std over {n} steps)")


def plot_run(train_history: dict, val_history: dict, best_step: int, steps_per_epoch: int,
             titles, loss_ylim, accuracy_ylim, loss_path, accuracy_path):
    """The two figures of one training run, saved as PNG: the loss (training loss per
    batch and per epoch, validation loss) and the accuracy (training and validation).
    A dotted line marks best_step, whose weights the model keeps. titles holds the
    titles of the two figures. Returns (loss_path, accuracy_path)."""
    paths = []
    for kind, title, ylim, path in (("loss", titles[0], loss_ylim, loss_path),
                                    ("accuracy", titles[1], accuracy_ylim, accuracy_path)):
        fig, ax = plt.subplots(figsize=(10, 6))
        if kind == "loss":
            plot_loss(train_history["loss"], "Training loss per batch", ax=ax,
                      color="tab:blue", alpha=0.25, linewidth=0.7)
            plot_loss(train_history["loss"], "Training loss", npoints_to_average=steps_per_epoch,
                      plot_variance=False, ax=ax, color="tab:blue")
        else:
            plot_loss(train_history["accuracy"], "Training accuracy", ax=ax, color="tab:blue")
        plot_loss(val_history[kind], f"Validation {kind}", ax=ax, color="tab:orange")
        ax.axvline(best_step, color="grey", linestyle=":", linewidth=1.2,
                   label="lowest validation loss (weights kept)")
        ax.set(ylim=ylim, xlabel="Number of gradient steps",
               ylabel="Cross-entropy loss" if kind == "loss" else "Accuracy", title=title)
        ax.legend()
        ax.grid(alpha=0.3)
        paths.append(save_figure(fig, path))
    return tuple(paths)


def set_plot_style() -> None:
    """Larger fonts, so the figures stay readable when scaled to a page width."""
    plt.rcParams.update({"font.size": 12, "axes.titlesize": 14, "axes.labelsize": 13,
                         "legend.fontsize": 11, "xtick.labelsize": 11, "ytick.labelsize": 11})


def save_figure(fig, path) -> Path:
    """Save a figure as PNG, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight", metadata={"Software": None})
    print(f"Saved figure {path}")
    return path


def show_or_close(show: bool) -> None:
    """Open the figures in windows if asked (blocks until closed), else close them."""
    if show:
        plt.show()
    plt.close("all")


def split_shapes(X_train, Y_train, X_val, Y_val) -> dict:
    """The four array shapes as JSON-ready lists, for the results files."""
    return dict(X_train=list(X_train.shape), Y_train=list(Y_train.shape),
                X_val=list(X_val.shape), Y_val=list(Y_val.shape))


def write_json(path, data) -> Path:
    """Write data as JSON atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"Saved results {path}")
    return path


def script_args(description: str, argv=None):
    """Parse the options every task script shares (--results-dir, --figures-dir, --show)."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--results-dir", type=Path, default=Path("results"),
                        help="folder for the results JSON (default: results)")
    parser.add_argument("--figures-dir", type=Path, default=Path("figures"),
                        help="folder for the PNG figures (default: figures)")
    parser.add_argument("--show", action="store_true",
                        help="also open the figures in a window (needs a display)")
    args = parser.parse_args(argv)
    set_plot_style()
    return args
