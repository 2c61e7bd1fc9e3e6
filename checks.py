"""Input checks for the assignment's functions: each raises an error that says what
was expected and what was given, so a bad array fails where it enters, not as a wrong
number later. Not part of the starter code; the task files call these where data
enters (pre-processing, one-hot encoding, the losses, the trainer's constructor).

The task files import this module first: when a package is missing, the first line a
student sees says how to install the packages."""
import importlib.util
import sys

_MISSING = [name for name in ("numpy", "matplotlib", "tqdm")
            if importlib.util.find_spec(name) is None]
if _MISSING:
    sys.exit(f"{', '.join(_MISSING)} not installed for {sys.executable}. In the project: run "
             "`make setup` and use .venv/bin/python (or: python3 -m venv .venv && "
             ".venv/bin/python -m pip install -r requirements.txt); elsewhere: "
             f"{sys.executable} -m pip install {' '.join(_MISSING)}")

import numpy as np  # noqa: E402


def _first_bad(a: np.ndarray, bad: np.ndarray) -> str:
    """'2.5 at index (0, 3)': the first entry of a where the boolean array bad is True."""
    index = np.unravel_index(int(np.argmax(bad)), bad.shape)
    where = index[0] if len(index) == 1 else tuple(int(i) for i in index)
    return f"{a[index].item()!r} at index {where}"


def check_matrix(X, num_columns: int, name: str = "X", what: str = "") -> None:
    """Raise unless X is a non-empty 2-D numpy array of shape [N, num_columns].
    `what` explains the columns in the message, e.g. "784 pixels and the bias"."""
    expected = f"[N, {num_columns}]" + (f" ({what})" if what else "")
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape {expected}, "
                        f"got {type(X).__name__}")
    if X.ndim != 2 or X.shape[1] != num_columns:
        raise ValueError(f"{name} must have shape {expected}, got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}): expected at least one row")


def check_finite(a: np.ndarray, name: str) -> None:
    """Raise ValueError naming the first NaN or infinite entry of a real array."""
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    # Fast path: min and max are finite only if every entry is (NaN propagates).
    if a.dtype.kind == "f" and a.size and not (np.isfinite(a.min()) and np.isfinite(a.max())):
        raise ValueError(f"{name} must be finite, got {_first_bad(a, ~np.isfinite(a))}")


def check_pixels(X: np.ndarray) -> None:
    """Raise unless X [N, 784] holds finite pixel values in [0, 255]."""
    check_matrix(X, 784, "X (images)", "784 pixels per image, before pre-processing")
    check_finite(X, "X (images)")
    low, high = X.min(), X.max()
    if low < 0 or high > 255:
        raise ValueError(f"pixel values must lie in [0, 255], got range [{low}, {high}]")


def check_probabilities(outputs: np.ndarray, name: str = "outputs") -> None:
    """Raise ValueError unless every entry is a probability: finite and in [0, 1]."""
    if not isinstance(outputs, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of probabilities, got "
                        f"{type(outputs).__name__}")
    if outputs.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold probabilities, got dtype {outputs.dtype}")
    if outputs.size == 0:
        raise ValueError(f"{name} is empty (shape {outputs.shape}): expected at least one row")
    if 0 <= outputs.min() and outputs.max() <= 1:  # False for NaN
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
    if not isinstance(targets, np.ndarray) or targets.ndim != 2 or targets.shape[1] != 1:
        got = targets.shape if isinstance(targets, np.ndarray) else type(targets).__name__
        raise ValueError(f"{name} must have shape [N, 1], got {got}")
    _zeros_and_ones(targets, name, "binary labels")


def check_one_hot(targets: np.ndarray, name: str = "targets") -> None:
    """Raise ValueError unless every row of targets [N, K] is one-hot (one 1, else 0)."""
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
                     f"{int(counts[row])} ones in row {row}; integer labels become one-hot "
                     f"rows with one_hot_encode(Y, num_classes)")


def check_targets(Y: np.ndarray, name: str) -> None:
    """Targets of either model: [N, 1] binary labels, or [N, K] one-hot rows (K > 1)."""
    if isinstance(Y, np.ndarray) and Y.ndim == 2 and Y.shape[1] == 1:
        check_binary_targets(Y, name)
    else:
        check_one_hot(Y, name)


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


def check_labels(Y, num_classes: int) -> None:
    """Raise unless Y holds integer labels in 0..num_classes-1, shape [N, 1] or [N]
    (floats such as 3.0 count as the integer they equal)."""
    check_positive(num_classes, "num_classes", integer=True)
    Y = np.asarray(Y)
    if Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if Y.ndim != 1 or Y.dtype == bool or Y.dtype.kind not in "iuf":
        raise ValueError(f"Y must hold integer labels, shape [N, 1] or [N], got shape "
                         f"{Y.shape} and dtype {Y.dtype}")
    bad = ~np.isin(Y, np.arange(num_classes))  # also NaN, 2.5, -1
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"labels must be integers in 0..{num_classes - 1}, got "
                         f"{Y[i].item()!r} at index {i}")


def check_training_data(model, learning_rate, batch_size, X_train, Y_train, X_val, Y_val):
    """Everything a trainer is given, checked once when it is built: a positive learning
    rate and batch size, inputs [N, I] that match model.w [I, K], finite, and targets
    [N, K] that the loss accepts (0/1 labels for K = 1, one-hot rows otherwise)."""
    check_positive(learning_rate, "learning_rate")
    check_positive(batch_size, "batch_size", integer=True)
    num_inputs, num_outputs = model.w.shape
    for x_name, X, y_name, Y in (("X_train", X_train, "Y_train", Y_train),
                                 ("X_val", X_val, "Y_val", Y_val)):
        check_matrix(X, num_inputs, x_name, f"the model has {num_inputs} inputs")
        check_matrix(Y, num_outputs, y_name, f"the model has {num_outputs} outputs")
        check_same_length(X, Y, x_name, y_name)
        check_finite(X, x_name)
        check_targets(Y, y_name)
    if batch_size > len(X_train):
        raise ValueError(f"batch_size ({batch_size}) is larger than the training set "
                         f"({len(X_train)} rows): no full batch can be drawn")
