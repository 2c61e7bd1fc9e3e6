"""Shared helpers: data sets, the batch loader, input checks, the numerical
gradient, plotting and result files. Every task script builds on these."""
import contextlib
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import tempfile
from pathlib import Path

from concurrent.futures import ThreadPoolExecutor

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import ThreadpoolController

import mnist

TRAIN_SIZE = 20000  # the first 20000 MNIST training images are the training set
VAL_SIZE = 10000    # the 10000 MNIST test images are the validation set


# ----------------------------------------------------------------------------
# Input checks (errors that say what was expected and what was given)
# ----------------------------------------------------------------------------
_VALUE_CHECKS = {"on": True}  # switched off only inside values_checked_once()


@contextlib.contextmanager
def values_checked_once():
    """A context for the trainer's loop: the value checks below (finite, probability,
    binary, one-hot) are skipped inside, the shape checks are not. The trainer
    enters it after checking its whole data set once, and together with
    np.errstate(over="raise", invalid="raise", divide="raise"): then no NaN or
    infinity can appear unnoticed, and per step only scalars need a check."""
    previous = _VALUE_CHECKS["on"]
    _VALUE_CHECKS["on"] = False
    try:
        yield
    finally:
        _VALUE_CHECKS["on"] = previous


def _first_bad(a: np.ndarray, bad: np.ndarray) -> str:
    """'2.5 at index (0, 3)': the first entry of a where the boolean array bad is True."""
    index = np.unravel_index(int(np.argmax(bad)), bad.shape)
    where = index[0] if len(index) == 1 else tuple(int(i) for i in index)
    return f"{a[index].item()!r} at index {where}"


def check_matrix(X, num_columns: int, name: str = "X") -> None:
    """Raise unless X is a non-empty 2-D numpy array of shape [N, num_columns].

    Only the shape is checked (cheap); see check_finite for the values.
    """
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape [N, {num_columns}], "
                        f"got {type(X).__name__}")
    if X.ndim != 2 or X.shape[1] != num_columns:
        raise ValueError(f"{name} must have shape [N, {num_columns}], got {X.shape}"
                         + (" (did you forget pre_process_images, or apply it twice?)"
                            if X.ndim == 2 and abs(X.shape[1] - num_columns) == 1 else ""))
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}): expected at least one row")


def check_finite(a: np.ndarray, name: str) -> None:
    """Raise ValueError naming the first NaN or infinite entry of a real array."""
    if not _VALUE_CHECKS["on"]:
        return
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    # Fast path: min and max are finite only if every entry is (NaN propagates).
    if a.dtype.kind == "f" and a.size and not (np.isfinite(a.min()) and np.isfinite(a.max())):
        bad = ~np.isfinite(a)
        raise ValueError(f"{name} must be finite, got {_first_bad(a, bad)}")


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


def check_probabilities(outputs: np.ndarray, name: str = "outputs") -> None:
    """Raise ValueError unless every entry is a probability: finite and in [0, 1]."""
    if not _VALUE_CHECKS["on"]:
        return
    if outputs.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold probabilities, got dtype {outputs.dtype}")
    if outputs.size and 0 <= outputs.min() and outputs.max() <= 1:  # False for NaN
        return
    check_finite(outputs, name)
    bad = (outputs < 0) | (outputs > 1)
    raise ValueError(f"{name} must be probabilities in [0, 1], got {_first_bad(outputs, bad)}")


def _zeros_and_ones(targets: np.ndarray, name: str, what: str) -> None:
    """Raise unless every entry of targets is 0 or 1 (fast when they are)."""
    if targets.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be {what}, got dtype {targets.dtype}")
    if not targets.size:
        return
    if 0 <= targets.min() and targets.max() <= 1 and (
            targets.dtype.kind != "f"
            or np.count_nonzero(targets) == np.count_nonzero(targets == 1)):
        return
    bad = (targets != 0) & (targets != 1)
    raise ValueError(f"{name} must be {what} (entries 0 or 1), got {_first_bad(targets, bad)}")


def check_binary_targets(targets: np.ndarray, name: str = "targets") -> None:
    """Raise ValueError unless targets has shape [N, 1] and every entry is 0 or 1."""
    if not _VALUE_CHECKS["on"]:
        return
    if not isinstance(targets, np.ndarray) or targets.ndim != 2 or targets.shape[1] != 1:
        got = targets.shape if isinstance(targets, np.ndarray) else type(targets).__name__
        raise ValueError(f"{name} must have shape [N, 1], got {got}")
    _zeros_and_ones(targets, name, "binary labels")


def check_one_hot(targets: np.ndarray, name: str = "targets") -> None:
    """Raise ValueError unless every row of targets [N, K] is one-hot (one 1, else 0)."""
    if not _VALUE_CHECKS["on"]:
        return
    if not isinstance(targets, np.ndarray) or targets.ndim != 2:
        got = targets.shape if isinstance(targets, np.ndarray) else type(targets).__name__
        raise ValueError(f"{name} must be a one-hot array [N, num classes], got {got}")
    if targets.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be one-hot numbers, got dtype {targets.dtype}")
    # Fast path: no negative entry, N non-zero entries and every row summing to 1
    # leave exactly one 1 per row. The sums are a matrix-vector product (exact here).
    num_rows = targets.shape[0]
    if num_rows == 0:
        return  # an empty batch is reported by the shape checks
    if targets.min() >= 0 and np.count_nonzero(targets) == num_rows and np.all(
            (targets @ np.ones(targets.shape[1]) if targets.dtype.kind == "f"
             else targets.sum(axis=1)) == 1):
        return
    _zeros_and_ones(targets, name, "one-hot")
    counts = np.count_nonzero(targets, axis=1)
    row = int(np.argmax(counts != 1))
    raise ValueError(f"{name} must be one-hot (exactly one 1 per row), got "
                     f"{int(counts[row])} ones in row {row} (did you forget one_hot_encode?)")


def check_same_length(X: np.ndarray, Y: np.ndarray, x_name="X", y_name="Y") -> None:
    """Raise ValueError unless X and Y have the same number of rows."""
    if len(X) != len(Y):
        raise ValueError(f"{x_name} and {y_name} must have the same number of rows, "
                         f"got {len(X)} and {len(Y)}")


def check_positive(value, name: str, integer: bool = False, allow_zero: bool = False) -> None:
    """Raise ValueError unless value is a finite number (an integer, if asked) that is
    > 0, or >= 0 with allow_zero. Booleans do not count as numbers here."""
    kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if (isinstance(value, bool) or not isinstance(value, kind) or not np.isfinite(value)
            or not (value >= 0 if allow_zero else value > 0)):
        expected = ("an integer" if integer else "a finite number") + (
            " >= 0" if allow_zero else " > 0")
        raise ValueError(f"{name} must be {expected}, got {value!r}")


def num_batches(num_rows: int, batch_size: int, drop_last: bool = True) -> int:
    """The number of batches of one epoch over num_rows rows: the one place where
    the steps per epoch are computed. Raises ValueError for a bad batch size, or
    when drop_last leaves no full batch."""
    check_positive(batch_size, "batch_size", integer=True)
    if drop_last and batch_size > num_rows:
        raise ValueError(f"batch_size ({batch_size}) is larger than the data set ({num_rows} "
                         f"rows): with drop_last=True no full batch can be drawn")
    return num_rows // batch_size if drop_last else -(-num_rows // batch_size)


# ----------------------------------------------------------------------------
# The two matrix products of the models
# ----------------------------------------------------------------------------
# One BLAS thread for the whole process, set once when utils is imported: the rounding
# of a matrix product depends on how many threads share it, and one thread gives the
# same numbers on every machine. The speed comes from elsewhere: linear() runs blocks of
# rows on threads of its own, and independent runs go to processes (run_parallel).
_BLAS = ThreadpoolController()  # numpy's BLAS library, looked up once
_BLAS.limit(limits=1, user_api="blas")


MATMUL_CHUNK_ROWS = 2048  # rows per product in linear(); fixed, see there
_matmul = {"threads": os.cpu_count() or 1, "pool": None}  # linear()'s thread pool


def set_matmul_threads(num_threads: int) -> None:
    """How many threads linear() may use (default: one per CPU). The numbers do
    not depend on it; parallel runs set it to their share of the CPUs."""
    check_positive(num_threads, "num_threads", integer=True)
    if _matmul["pool"] is not None:
        _matmul["pool"].shutdown()
    _matmul.update(threads=num_threads, pool=None)


os.register_at_fork(after_in_child=lambda: _matmul.update(pool=None))  # threads do not fork


def linear(X: np.ndarray, w: np.ndarray, name: str = "X @ w") -> np.ndarray:
    """The logits X @ w: X [N, I], w [I, K] -> [N, K]; raises ValueError if any is
    NaN or infinite (X or w held such a value, or the product overflowed).

    Two things make it faster than a plain X @ w, without changing what it computes:
    each product is written (w.T @ X.T).T, for which OpenBLAS picks a kernel about
    twice as fast when K is small; and a tall X is cut into blocks of
    MATMUL_CHUNK_ROWS rows that run on several threads (NumPy releases the GIL).
    The blocks are the same whatever the number of threads, and BLAS runs on one
    thread (set at import, above), so the numbers are the same on 1 core or 16.
    """
    num_rows = X.shape[0]
    if num_rows <= MATMUL_CHUNK_ROWS:
        z = (w.T @ X.T).T
    else:
        z = np.empty((num_rows, w.shape[1]), dtype=np.result_type(X, w))
        starts = range(0, num_rows, MATMUL_CHUNK_ROWS)

        def block(start):
            stop = start + MATMUL_CHUNK_ROWS
            z[start:stop] = (w.T @ X[start:stop].T).T

        if _matmul["threads"] == 1:
            for start in starts:
                block(start)
        else:
            if _matmul["pool"] is None:
                _matmul["pool"] = ThreadPoolExecutor(_matmul["threads"],
                                                     thread_name_prefix="linear")
            list(_matmul["pool"].map(block, starts))
    check_finite(z, name)
    return z


def input_gradient(X: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """X.T @ delta / N: X [N, I], delta [N, K] -> [I, K], the batch mean of
    x_n delta_n^T. Computed as (delta.T @ X).T, the same product with the faster
    kernel (see linear)."""
    grad = (delta.T @ X).T / X.shape[0]
    check_finite(grad, "the gradient X.T @ (outputs - targets) / N")
    return grad


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
    num_rows = len(X)
    count = num_batches(num_rows, batch_size, drop_last)
    if shuffle:
        order = rng.permutation(num_rows) if rng is not None else np.random.permutation(num_rows)
    for i in range(count):
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
    ax.plot(centers, mean, label=f"{label}, mean of each {n} steps", **plot_kwargs)
    if plot_variance:
        ax.fill_between(centers, mean - std, mean + std, alpha=0.2,
                        label=f"{label} (+-1 std over {n} steps)")


def plot_run(train_history: dict, val_history: dict, best_step: int, steps_per_epoch: int,
             titles, loss_ylim, accuracy_ylim, loss_path, accuracy_path):
    """The two figures of one training run, saved as PNG: the loss (the training loss of
    every batch, its mean over each epoch, the validation loss) and the accuracy
    (training and validation). A dashed line marks best_step, whose weights the model
    keeps. titles holds the titles of the two figures. Returns (loss_path, accuracy_path)."""
    paths = []
    for kind, title, ylim, path in (("loss", titles[0], loss_ylim, loss_path),
                                    ("accuracy", titles[1], accuracy_ylim, accuracy_path)):
        fig, ax = plt.subplots(figsize=(10, 4.6))
        if kind == "loss":
            plot_loss(train_history["loss"], "training loss of each batch", ax=ax,
                      color="tab:blue", alpha=0.45, linewidth=0.6)
            plot_loss(train_history["loss"], "training loss", npoints_to_average=steps_per_epoch,
                      plot_variance=False, ax=ax, color="navy", linewidth=2)
        else:
            plot_loss(train_history["accuracy"], "training accuracy", ax=ax, color="tab:blue",
                      linewidth=1.6)
        plot_loss(val_history[kind], f"validation {kind}", ax=ax, color="tab:orange",
                  linewidth=1.6)
        ax.axvline(best_step, color="black", linestyle="--", linewidth=1.4,
                   label=f"lowest validation loss (step {best_step}, weights kept)")
        ax.set(ylim=ylim, xlabel="Number of gradient steps",
               ylabel="Cross-entropy loss" if kind == "loss" else "Accuracy", title=title)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
        ax.grid(alpha=0.3)
        paths.append(save_figure(fig, path))
    return tuple(paths)


def set_plot_style() -> None:
    """Larger fonts, so the figures stay readable when scaled to a page width."""
    plt.rcParams.update({"font.size": 12, "axes.titlesize": 14, "axes.labelsize": 13,
                         "legend.fontsize": 11, "xtick.labelsize": 11, "ytick.labelsize": 11})


@contextlib.contextmanager
def atomic_file(path, mode: str = "w"):
    """Open a temporary file next to `path` for writing; when the block ends without
    an error it replaces `path`, else it is deleted. So an interrupted run never leaves
    a half-written figure or results file. Creates the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as file:
            yield file
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_figure(fig, path) -> Path:
    """Save a figure as PNG, atomically (see atomic_file)."""
    with atomic_file(path, "wb") as file:
        fig.savefig(file, format="png", dpi=150, bbox_inches="tight",
                    metadata={"Software": None})
    print(f"Saved figure {path}")
    return Path(path)


def sha256_of(path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def figure_record(paths: dict) -> dict:
    """{key: path} -> {key: {"path": str, "sha256": hex}}: what a results file stores
    about the figures its script wrote, so the report can tell they belong to it."""
    return {key: {"path": str(path), "sha256": sha256_of(path)} for key, path in paths.items()}


def show_or_close(show: bool) -> None:
    """Open the figures in windows if asked (blocks until closed), else close them."""
    if show:
        plt.show()
    plt.close("all")


def split_shapes(X_train, Y_train, X_val, Y_val) -> dict:
    """The four array shapes as JSON-ready lists, for the results files."""
    return dict(X_train=list(X_train.shape), Y_train=list(Y_train.shape),
                X_val=list(X_val.shape), Y_val=list(Y_val.shape))


def fingerprint(settings: dict, source_files) -> str:
    """SHA-256 over everything a seeded training run depends on: its settings, the
    source code that computes it, the data (the MNIST MD5s that mnist.load checks)
    and the numerical libraries (NumPy, its BLAS and the CPU kernel BLAS chose)."""
    blas = [{key: info.get(key) for key in ("internal_api", "version", "architecture")}
            for info in _BLAS.info() if info.get("user_api") == "blas"]
    digest = hashlib.sha256(json.dumps(
        [settings, mnist.MD5, np.__version__, blas, sys.version], sort_keys=True,
        default=str).encode())
    here = Path(__file__).resolve().parent
    for name in sorted(source_files):
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return digest.hexdigest()


def _non_finite(data, key="the data"):
    """(key path, value) of the first NaN or infinite float in nested dicts and lists,
    or None."""
    if isinstance(data, float) and not np.isfinite(data):
        return key, data
    items = (data.items() if isinstance(data, dict)
             else enumerate(data) if isinstance(data, (list, tuple)) else ())
    for name, value in items:
        found = _non_finite(value, str(name) if key == "the data" else f"{key}.{name}")
        if found is not None:
            return found
    return None


def write_json(path, data) -> Path:
    """Write data as JSON, atomically (see atomic_file). NaN and infinities raise
    ValueError naming the file and the key: they are no valid JSON for other readers."""
    where = _non_finite(data)
    if where is not None:
        key, value = where
        raise ValueError(f"cannot write {path}: {key} is not JSON compliant: {value}")
    with atomic_file(path, "w") as file:
        json.dump(data, file, indent=2, sort_keys=False, allow_nan=False)
        file.write("\n")
    print(f"Saved results {path}")
    return Path(path)


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
    parser.add_argument("--max-epochs", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=None,
                        help="processes for independent runs (default: one per CPU; "
                             "the results do not depend on it)")
    args = parser.parse_args(argv)
    for name in ("max_epochs", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    set_plot_style()
    return args


# ----------------------------------------------------------------------------
# Independent runs side by side
# ----------------------------------------------------------------------------
_WORKER = {}  # inside a worker process only: the shared arguments and its progress line


def _start_worker(shared, lock, counter, matmul_threads) -> None:
    """Pool initializer: Ctrl-C is the parent's to handle; give the worker its
    progress line and its share of the CPUs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_matmul_threads(matmul_threads)
    from tqdm import tqdm
    tqdm.set_lock(lock)
    with counter.get_lock():
        _WORKER["line"] = counter.value
        counter.value += 1
    _WORKER["shared"] = shared


def _run_in_worker(function_and_job):
    function, job = function_and_job
    return function(*_WORKER["shared"], **job, progress_position=_WORKER["line"])


def run_parallel(function, jobs: list, shared: tuple = (), num_workers: int = None) -> list:
    """Return [function(*shared, **job, progress_position=line) for job in jobs],
    computed in up to num_workers processes (default: one per CPU).

    Every job must fix its own randomness (a seed among its arguments): then the
    results are the same whatever the number of processes. `shared` (the data)
    reaches forked workers without a copy. Ctrl-C, or an error in any job, stops
    every worker before the exception reaches the caller.
    """
    num_workers = min(len(jobs), num_workers or os.cpu_count() or 1)
    if num_workers <= 1:
        return [function(*shared, **job, progress_position=0) for job in jobs]
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux")
                                          else "spawn")
    from tqdm import tqdm
    pool = context.Pool(num_workers, initializer=_start_worker,
                        initargs=(shared, tqdm.get_lock(), context.Value("i", 0),
                                  max(1, (os.cpu_count() or 1) // num_workers)))
    try:
        results = list(pool.imap(_run_in_worker, [(function, job) for job in jobs]))
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return results
