"""Your building blocks, each checked once on a tiny input against the tests' own
formulas (tests/reference.py).

The tests of code that uses them (the task scripts' outputs, a whole training run on
the real data) are skipped while a block they need is wrong: their failures would only
repeat, less clearly, what the block's own test says. The skip reason names the block,
what is wrong with it and the test of yours to fix first.
"""
import functools
import types

import numpy as np
import pytest

import reference

_rng = np.random.default_rng(0)
_IMAGES = _rng.integers(0, 256, size=(4, 784)).astype(np.uint8)
_X = reference.pre_process(_IMAGES)
_LABELS = np.array([3, 0, 9, 3])
_Y1, _Y10 = (_LABELS % 2).reshape(-1, 1), reference.one_hot(_LABELS)
_W1 = _rng.normal(scale=0.05, size=(785, 1))
_W10 = _rng.normal(scale=0.05, size=(785, 10))


def _pre_process_images():
    import task2a
    out = task2a.pre_process_images(_IMAGES)
    assert out.shape == (4, 785), \
        f"returns shape {out.shape} for 4 images, expected (4, 785): 784 pixels and the bias"
    assert np.allclose(out[:, :-1], _X[:, :-1]), "a pixel x must become x / 127.5 - 1"
    assert np.all(out[:, -1] == 1), "the last column must be all ones (the bias trick)"


def _one_hot_encode():
    import task3a
    out = task3a.one_hot_encode(_LABELS.reshape(-1, 1), 10)
    assert np.shape(out) == (4, 10), f"returns shape {np.shape(out)} for 4 labels, expected (4, 10)"
    assert np.array_equal(out, _Y10), "label k must become a row with its 1 in column k"


def _forward(model_class, w, expected, formula, *args):
    model = model_class(*args)
    model.w = w.copy()
    p = model.forward(_X)
    assert np.shape(p) == expected.shape, \
        f"returns shape {np.shape(p)} for 4 images, expected {expected.shape}"
    assert np.allclose(p, expected), f"is not {formula}"


def _backward(model_class, w, targets, expected, formula, *args):
    model = model_class(*args)
    model.w = w.copy()
    p = reference.sigmoid(_X @ w) if w.shape[1] == 1 else reference.softmax(_X @ w)
    model.backward(_X, p, targets)
    assert np.shape(model.grad) == w.shape, \
        f"sets grad to shape {np.shape(model.grad)}, expected {w.shape}"
    assert np.allclose(model.grad, expected(p)), f"is not {formula}"


def _binary_forward():
    import task2a
    _forward(task2a.BinaryModel, _W1, reference.sigmoid(_X @ _W1), "sigmoid(X w), shape [N, 1]")


def _binary_backward():
    import task2a
    _backward(task2a.BinaryModel, _W1, _Y1, lambda p: _X.T @ (p - _Y1) / 4,
              "-1/N sum_n (y_n - y_hat_n) x_n (Eq. 6 averaged over the batch)")


def _softmax_forward():
    import task3a
    _forward(task3a.SoftmaxModel, _W10, reference.softmax(_X @ _W10),
             "softmax(X w), each row normalised (axis=1)", 0.5)


def _softmax_backward():
    import task3a
    _backward(task3a.SoftmaxModel, _W10, _Y10, lambda p: _X.T @ (p - _Y10) / 4 + _W10,
              "-1/N sum_n x_n (y_n - y_hat_n)^T + 2 lambda w (Eq. 13 averaged, with L2)", 0.5)


def _binary_loss():
    import task2a
    p = np.array([[0.25], [0.5], [0.75], [0.9]])
    loss, expected = task2a.cross_entropy_loss(_Y1, p), reference.binary_loss(_Y1, p)
    assert np.isclose(loss, expected), (
        f"gives {loss:.4g} for 4 rows, the mean of Eq. 3 is {expected:.4g}"
        + (": it must average over the batch, not sum" if np.isclose(loss, 4 * expected) else ""))


def _softmax_loss():
    import task3a
    p = np.full((4, 10), 0.05)
    p[np.arange(4), [3, 1, 9, 2]] = 0.55
    loss, expected = task3a.cross_entropy_loss(_Y10, p), reference.softmax_loss(_Y10, p)
    assert np.isclose(loss, expected), (
        f"gives {loss:.4g} for 4 rows, the mean of Eq. 5 is {expected:.4g}"
        + (": it must average over the batch, not sum" if np.isclose(loss, 4 * expected) else ""))


def _outputs_model(outputs):
    return types.SimpleNamespace(forward=lambda X: outputs)


def _binary_accuracy():
    import task2
    outputs = np.array([[0.5], [0.51], [0.2], [0.9]])  # predicted 1, 1, 0, 1; targets 1, 0, 1, 1
    accuracy = task2.calculate_accuracy(_X, _Y1, _outputs_model(outputs))
    assert accuracy == 0.5, f"gives {accuracy} where 2 of 4 outputs are right (>= 0.5 is 1)"


def _softmax_accuracy():
    import task3
    accuracy = task3.calculate_accuracy(_X, _Y10, _outputs_model(np.roll(_Y10, 1, axis=0)))
    assert accuracy == 0.25, f"gives {accuracy} where 1 of 4 rows has its largest output right"


# block: (its check, the test of yours that says more)
BLOCKS = {
    "pre_process_images (task2a.py)":
        (_pre_process_images, "tests/test_task2.py::test_pre_process_range_shape_and_bias"),
    "one_hot_encode (task3a.py)":
        (_one_hot_encode, "tests/test_task3.py::test_one_hot_example_and_round_trip"),
    "BinaryModel.forward (task2a.py)":
        (_binary_forward, "tests/test_task2.py::test_forward_is_the_sigmoid_also_at_extremes"),
    "BinaryModel.backward (task2a.py)":
        (_binary_backward, "tests/test_task2.py::test_backward_is_batch_mean_of_eq6"),
    "cross_entropy_loss (task2a.py)":
        (_binary_loss, "tests/test_task2.py::test_cross_entropy_by_hand"),
    "calculate_accuracy (task2.py)":
        (_binary_accuracy, "tests/test_task2.py::test_accuracy_threshold_is_one_half"),
    "SoftmaxModel.forward (task3a.py)":
        (_softmax_forward, "tests/test_task3.py::test_forward_is_the_softmax"),
    "SoftmaxModel.backward (task3a.py)":
        (_softmax_backward, "tests/test_task3.py::test_backward_is_batch_mean_of_eq13_plus_l2"),
    "cross_entropy_loss (task3a.py)":
        (_softmax_loss, "tests/test_task3.py::test_cross_entropy_by_hand_and_at_zero"),
    "calculate_accuracy (task3.py)":
        (_softmax_accuracy, "tests/test_task3.py::test_accuracy_by_hand"),
}
BINARY = ("pre_process_images (task2a.py)", "BinaryModel.forward (task2a.py)",
          "BinaryModel.backward (task2a.py)", "cross_entropy_loss (task2a.py)",
          "calculate_accuracy (task2.py)")
SOFTMAX = ("pre_process_images (task2a.py)", "one_hot_encode (task3a.py)",
           "SoftmaxModel.forward (task3a.py)", "SoftmaxModel.backward (task3a.py)",
           "cross_entropy_loss (task3a.py)", "calculate_accuracy (task3.py)")


@functools.lru_cache(maxsize=None)
def problem(block: str):
    """None if the block is right on its tiny input, else 'block: what is wrong'."""
    check, _ = BLOCKS[block]
    try:
        check()
    except Exception as error:  # noqa: BLE001 - what is wrong, reported
        first_line = next((line for line in str(error).splitlines() if line.strip()), "")
        what = first_line if isinstance(error, AssertionError) and first_line else \
            f"raises {type(error).__name__}: {first_line}"
        return f"{block}: {what}"
    return None


def wrong(blocks=tuple(BLOCKS)) -> list:
    """['block: what is wrong (fix test first)'] for the wrong ones among blocks."""
    return [f"{problem(block)} (fix {BLOCKS[block][1]} first)"
            for block in blocks if problem(block)]


def skip_if_wrong(blocks, what: str) -> None:
    """Skip the calling test while one of blocks is wrong; `what` says what it checks."""
    for block in blocks:
        if problem(block):
            pytest.skip(f"{what}: not checked while {block} is wrong; fix "
                        f"{BLOCKS[block][1]} first")
