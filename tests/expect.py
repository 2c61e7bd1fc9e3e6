"""Assertions for arrays whose failure message starts with what is wrong, in the terms
of the function under test, followed by where and by how much: one entry, never a
whole array (np.testing prints its own header first and then both arrays)."""
import numpy as np


def _index(bad: np.ndarray):
    """The index of the first True entry of bad, as a tuple of ints (or () for 0-d)."""
    if bad.ndim == 0:
        return ()
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))


def assert_close(actual, desired, message: str, rtol: float = 1e-7, atol: float = 0.0):
    """Raise AssertionError(message + where) unless actual and desired have one shape
    and |actual - desired| <= atol + rtol |desired| everywhere (NaN equals NaN, as in
    np.testing.assert_allclose)."""
    __tracebackhide__ = True
    actual, desired = np.asarray(actual), np.asarray(desired)
    if actual.shape != desired.shape:
        raise AssertionError(f"{message}\n(got shape {actual.shape}, expected {desired.shape})")
    bad = ~np.isclose(actual, desired, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        index = _index(bad)
        where = f" at index {index}" if index else ""
        raise AssertionError(
            f"{message}\n({int(bad.sum())} of {bad.size} entries differ; the first{where}: "
            f"got {actual[index].item()!r}, expected {desired[index].item()!r})")


def assert_all(condition, message: str, values=None):
    """Raise AssertionError(message) unless every entry of condition is True; with
    values, the message ends with the first value where it is False."""
    __tracebackhide__ = True
    condition = np.asarray(condition)
    if not condition.all():
        if values is not None:
            index = _index(~condition)
            where = f" at index {index}" if index else ""
            message += f"\n(the first{where}: {np.asarray(values)[index].item()!r})"
        raise AssertionError(message)


def gradient_fault(grad, data_term, num_rows: int, l2_term=None) -> str:
    """What a wrong gradient most likely got wrong, in a sentence ('' if no guess fits):
    grad against the right data term (the batch mean) and L2 term (2 lambda w)."""
    grad, data_term = np.asarray(grad), np.asarray(data_term)
    l2_term = np.zeros_like(data_term) if l2_term is None else np.asarray(l2_term)
    if grad.shape != data_term.shape:
        return ""
    guesses = [
        (-(data_term + l2_term), "the sign is wrong: the data term is -1/N sum_n (y_n - "
                                 "y_hat_n) x_n = X^T (y_hat - y) / N, not X^T (y - y_hat) / N"),
        (-data_term + l2_term, "the data term has the wrong sign: it is -1/N sum_n (y_n - "
                               "y_hat_n) x_n = X^T (y_hat - y) / N"),
        (num_rows * data_term + l2_term, "the data term is summed over the batch: divide it "
                                         "by N, the batch size"),
        (data_term, "the L2 term 2 lambda w is missing"),
        (data_term + l2_term / 2, "the L2 term must be 2 lambda w, not lambda w"),
    ]
    for candidate, sentence in guesses:
        if np.allclose(grad, candidate, rtol=1e-9, atol=1e-12) and not np.allclose(
                candidate, data_term + l2_term, rtol=1e-9, atol=1e-12):
            return sentence
    return ""


def overflow_of(function, *args):
    """(result, None) if function(*args) runs without a float overflow, division by zero
    or NaN; (None, numpy's message) if it raises one."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            return function(*args), None
        except FloatingPointError as error:
            return None, str(error)
