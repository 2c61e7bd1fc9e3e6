"""Property-based tests (hypothesis) of the numerical building blocks.

Every example is small, so the whole file runs in a few seconds: the models
always take [N, 785] inputs, hence N stays tiny, and the gradient checks
compare a random subset of the weights only (central differences computed here,
tests/reference.py). Inputs are pre-processed with the tests' own formula.

A property of a model's outputs assumes that forward returns the right shape, and for
the softmax rows that sum to 1: each test checks that first, on one fixed small input
(assert_binary_forward_shape, assert_softmax_rows_sum_to_one), so a mistake there gets
its own message, not a random example.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import reference
from expect import assert_all
import task2
import task2a
import task3
import task3a
import utils
from reference import one_hot
from task2a import BinaryModel
from task3a import SoftmaxModel

FAST = settings(max_examples=25, deadline=None)
SEEDS = st.integers(0, 2 ** 32 - 1)
NUM_INPUTS = 785   # 784 pixels and the bias
NUM_CLASSES = 10


def random_inputs(rng, num_rows):
    """Small stand-in for pre-processed images: [num_rows, 785] in [-1, 1], last column 1."""
    X = rng.uniform(-1.0, 1.0, size=(num_rows, NUM_INPUTS))
    X[:, -1] = 1.0
    return X


def random_images(rng, num_rows):
    """Raw uint8 images [num_rows, 784], pre-processed to [num_rows, 785]."""
    return reference.pre_process(rng.integers(0, 256, size=(num_rows, 784), dtype=np.uint8))


def huge_weights(rng, shape):
    """Weights of size 1e3 with random signs: every output saturates."""
    return 1e3 * rng.choice([-1.0, 1.0], size=shape)


def probability_rows(num_classes):
    """Rows of probabilities [N, num_classes]: random ones and exact one-hot rows."""
    random_row = hnp.arrays(np.float64, num_classes, elements=st.floats(0.0, 1.0)).filter(
        lambda row: row.sum() > 0).map(lambda row: row / row.sum())
    one_hot_row = st.integers(0, num_classes - 1).map(lambda k: np.eye(num_classes)[k])
    return st.lists(random_row | one_hot_row, min_size=1, max_size=6).map(np.array)


# ------------------------------------------------------------------ checked first
def assert_binary_forward_shape():
    """BinaryModel.forward returns one column: y_hat of shape [N, 1]."""
    __tracebackhide__ = True
    X = random_inputs(np.random.default_rng(0), 3)
    shape = np.shape(BinaryModel().forward(X))
    assert shape == (3, 1), (
        f"BinaryModel.forward must return shape [N, 1] (one column: y_hat), got {shape} "
        f"for N = 3")


def assert_softmax_rows_sum_to_one():
    """SoftmaxModel.forward at small weights: [N, 10], each row summing to 1."""
    __tracebackhide__ = True
    rng = np.random.default_rng(0)
    model = SoftmaxModel(0.0)
    model.w = rng.normal(scale=0.01, size=model.w.shape)
    p = model.forward(random_inputs(rng, 3))
    assert np.shape(p) == (3, NUM_CLASSES), (
        f"SoftmaxModel.forward must return shape [N, 10], got {np.shape(p)} for N = 3")
    sums = p.sum(axis=1)
    rows_sum_to_one = bool(np.allclose(sums, 1.0, rtol=0, atol=1e-12))
    assert rows_sum_to_one, (
        f"SoftmaxModel.forward: each row must sum to 1, got row sums {sums.round(6).tolist()} "
        f"at small weights: softmax must normalise each row (axis=1, the 10 classes of an "
        f"image), not each column (axis=0, the images of the batch)")


def forward_without_overflow(model, X, what: str):
    """model.forward(X), failing with a message that names the overflow if numpy meets one."""
    __tracebackhide__ = True
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            return model.forward(X)
        except FloatingPointError as error:
            problem = str(error)
    pytest.fail(f"{type(model).__name__}.forward overflows for {what} ({problem}): "
                + ("subtract each row's largest logit before the exp"
                   if isinstance(model, SoftmaxModel) else
                   "compute the sigmoid so that no exp overflows (e.g. with exp(-|z|) only)"),
                pytrace=False)


def assert_probability_rows(p, what: str):
    """Every entry finite and in [0, 1], every row summing to 1."""
    __tracebackhide__ = True
    assert_all(np.isfinite(p) & (p >= 0) & (p <= 1), f"SoftmaxModel.forward must give "
               f"probabilities for {what}: subtract each row's largest logit before the exp",
               p)
    sums = p.sum(axis=1)
    assert_all(np.abs(sums - 1) <= 1e-12, f"SoftmaxModel.forward: each row must sum to 1 "
               f"for {what}", sums)


# ------------------------------------------------------------------ softmax
def test_softmax_rows_sum_to_one_for_large_logits():
    """SoftmaxModel.forward on inputs X with X @ w = z (padded to 10 classes with -1e3)."""
    assert_softmax_rows_sum_to_one()
    softmax_rows_sum_to_one_for_large_logits()


@FAST
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
                  elements=st.floats(-1e3, 1e3)))
def softmax_rows_sum_to_one_for_large_logits(z):
    z = np.hstack([z[:, :10], np.full((len(z), max(0, 10 - z.shape[1])), -1e3)])
    model = SoftmaxModel(0.0)
    model.w[:10] = np.eye(10)
    X = np.zeros((len(z), NUM_INPUTS))
    X[:, :10] = z
    p = forward_without_overflow(model, X, "logits up to 1e3")
    assert_probability_rows(p, "logits up to 1e3")


def test_softmax_model_with_huge_weights_gives_probability_rows():
    assert_softmax_rows_sum_to_one()
    softmax_model_with_huge_weights_gives_probability_rows()


@FAST
@given(SEEDS, st.integers(1, 8))
def softmax_model_with_huge_weights_gives_probability_rows(seed, num_rows):
    rng = np.random.default_rng(seed)
    model = SoftmaxModel(0.0)
    model.w = huge_weights(rng, model.w.shape)
    p = forward_without_overflow(model, random_images(rng, num_rows), "weights of size 1e3")
    assert_probability_rows(p, "weights of size 1e3")


# ------------------------------------------------------------------ sigmoid
def test_sigmoid_is_finite_bounded_and_symmetric():
    """BinaryModel.forward on inputs X with X @ w = z (w picks the first column)."""
    assert_binary_forward_shape()
    sigmoid_is_finite_bounded_and_symmetric()


@FAST
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=12),
                  elements=st.floats(allow_nan=False, allow_infinity=False)))
def sigmoid_is_finite_bounded_and_symmetric(z):
    z = z.reshape(-1, 1)
    model = BinaryModel()
    model.w[0, 0] = 1.0

    def sigmoid(values):
        X = np.zeros((len(values), NUM_INPUTS))
        X[:, :1] = values
        return forward_without_overflow(model, X, "any X @ w")

    s = sigmoid(z)
    assert_all(np.isfinite(s) & (s >= 0) & (s <= 1), "BinaryModel.forward must stay a "
               "probability for any X @ w", s)
    difference = np.abs(sigmoid(-z) - (1.0 - s))
    assert_all(difference <= 1e-12, "BinaryModel.forward: sigmoid(-z) must be 1 - sigmoid(z) "
               "(the difference is shown)", difference)


# ------------------------------------------------------------------ losses
@FAST
@given(st.data())
def test_binary_cross_entropy_is_finite_and_non_negative(data):
    num_rows = data.draw(st.integers(1, 8))
    outputs = data.draw(hnp.arrays(np.float64, (num_rows, 1),
                                   elements=st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0)))
    targets = data.draw(hnp.arrays(np.int64, (num_rows, 1), elements=st.integers(0, 1)))
    loss = task2a.cross_entropy_loss(targets, outputs)
    assert np.isfinite(loss) and loss >= 0, (
        f"task2a.cross_entropy_loss must be finite and >= 0 also for outputs of exactly 0 "
        f"or 1, got {loss}")


@FAST
@given(st.data())
def test_multiclass_cross_entropy_is_finite_and_non_negative(data):
    outputs = data.draw(probability_rows(NUM_CLASSES))
    labels = data.draw(hnp.arrays(np.int64, len(outputs), elements=st.integers(0, 9)))
    loss = task3a.cross_entropy_loss(one_hot(labels, NUM_CLASSES), outputs)
    assert np.isfinite(loss) and loss >= 0, (
        f"task3a.cross_entropy_loss must be finite and >= 0 also for outputs of exactly 0, "
        f"got {loss}")


# ------------------------------------------------------------------ gradients
def check_gradient_subset(model, X, Y, cost, rng, num_weights=12):
    """Compare model.backward with central differences of cost() on a random
    subset of the weights (always including one bias weight)."""
    __tracebackhide__ = True
    rows = np.append(rng.integers(0, NUM_INPUTS - 1, size=num_weights - 1), NUM_INPUTS - 1)
    cols = rng.integers(0, model.w.shape[1], size=num_weights)
    rows, cols = np.unique(np.stack([rows, cols]), axis=1)  # no weight twice
    selected = model.w[rows, cols].copy()
    numerical = reference.central_differences(cost, model.w, zip(rows, cols), epsilon=1e-3)
    model.w[rows, cols] = selected
    model.backward(X, model.forward(X), Y)
    analytical = model.grad[rows, cols]
    bad = ~np.isclose(analytical, numerical, rtol=1e-5, atol=1e-7)
    if bad.any():
        i = int(np.argmax(bad))
        name = type(model).__name__
        task, own_test = (("task2a", "test_backward_is_batch_mean_of_eq6 and "
                           "test_cross_entropy_by_hand in tests/test_task2.py")
                          if name == "BinaryModel" else
                          ("task3a", "test_backward_is_batch_mean_of_eq13_plus_l2 and "
                           "test_cross_entropy_by_hand_and_at_zero in tests/test_task3.py"))
        cost_name = (f"{task}.cross_entropy_loss" if name == "BinaryModel" else
                     f"{task}.cross_entropy_loss + lambda ||w||^2")
        raise AssertionError(
            f"The gradient of {name}.backward disagrees with central differences of "
            f"{cost_name}: at w[{rows[i]}, {cols[i]}] backward gives {analytical[i]:.6g}, "
            f"the differences {numerical[i]:.6g} ({int(bad.sum())} of {bad.size} weights "
            f"checked differ). {name}.backward or {task}.cross_entropy_loss is wrong: "
            f"{own_test} say which.")


@FAST
@given(SEEDS, st.integers(1, 5), st.floats(0.0, 0.1))
def binary_gradient_matches_numerical_gradient(seed, num_rows, scale):
    rng = np.random.default_rng(seed)
    X = random_inputs(rng, num_rows)
    Y = rng.integers(0, 2, size=(num_rows, 1))
    model = BinaryModel()
    model.w = rng.normal(scale=scale, size=model.w.shape)
    check_gradient_subset(model, X, Y, lambda: task2a.cross_entropy_loss(Y, model.forward(X)),
                          rng)


def test_binary_gradient_matches_numerical_gradient():
    assert_binary_forward_shape()
    binary_gradient_matches_numerical_gradient()


def test_softmax_gradient_matches_numerical_gradient():
    assert_softmax_rows_sum_to_one()
    softmax_gradient_matches_numerical_gradient()


@FAST
@given(SEEDS, st.integers(1, 5), st.floats(0.0, 0.1), st.floats(0.0, 1.0))
def softmax_gradient_matches_numerical_gradient(seed, num_rows, scale, l2_reg_lambda):
    rng = np.random.default_rng(seed)
    X = random_inputs(rng, num_rows)
    Y = one_hot(rng.integers(0, NUM_CLASSES, size=num_rows), NUM_CLASSES)
    model = SoftmaxModel(l2_reg_lambda)
    model.w = rng.normal(scale=scale, size=model.w.shape)

    def cost():
        return (task3a.cross_entropy_loss(Y, model.forward(X))
                + model.l2_reg_lambda * np.sum(model.w ** 2))

    check_gradient_subset(model, X, Y, cost, rng)


# ------------------------------------------------------------------ saturation
def test_binary_model_stays_finite_with_huge_weights():
    assert_binary_forward_shape()
    binary_model_stays_finite_with_huge_weights()


@FAST
@given(SEEDS, st.integers(1, 8))
def binary_model_stays_finite_with_huge_weights(seed, num_rows):
    rng = np.random.default_rng(seed)
    X = random_images(rng, num_rows)
    Y = rng.integers(0, 2, size=(num_rows, 1))
    model = BinaryModel()
    model.w = huge_weights(rng, model.w.shape)
    outputs = forward_without_overflow(model, X, "weights of size 1e3")
    assert_all(np.isfinite(outputs), "BinaryModel.forward gives NaN or inf for weights of "
               "size 1e3", outputs)
    model.backward(X, outputs, Y)
    assert_all(np.isfinite(model.grad), "BinaryModel.backward gives NaN or inf for weights "
               "of size 1e3", model.grad)
    loss = task2a.cross_entropy_loss(Y, outputs)
    assert np.isfinite(loss) and loss >= 0, (
        f"task2a.cross_entropy_loss must be finite and >= 0 for saturated outputs, got {loss}")
    accuracy = task2.calculate_accuracy(X, Y, model)
    assert 0 <= accuracy <= 1, f"task2.calculate_accuracy must be in [0, 1], got {accuracy}"


def test_softmax_model_stays_finite_with_huge_weights():
    assert_softmax_rows_sum_to_one()
    softmax_model_stays_finite_with_huge_weights()


@FAST
@given(SEEDS, st.integers(1, 8), st.floats(0.0, 1.0))
def softmax_model_stays_finite_with_huge_weights(seed, num_rows, l2_reg_lambda):
    rng = np.random.default_rng(seed)
    X = random_images(rng, num_rows)
    Y = one_hot(rng.integers(0, NUM_CLASSES, size=num_rows), NUM_CLASSES)
    model = SoftmaxModel(l2_reg_lambda)
    model.w = huge_weights(rng, model.w.shape)
    outputs = forward_without_overflow(model, X, "weights of size 1e3")
    assert_probability_rows(outputs, "weights of size 1e3")
    model.backward(X, outputs, Y)
    assert_all(np.isfinite(model.grad), "SoftmaxModel.backward gives NaN or inf for "
               "weights of size 1e3", model.grad)
    loss = task3a.cross_entropy_loss(Y, outputs)
    assert np.isfinite(loss) and loss >= 0, (
        f"task3a.cross_entropy_loss must be finite and >= 0 for saturated outputs, got {loss}")
    accuracy = task3.calculate_accuracy(X, Y, model)
    assert 0 <= accuracy <= 1, f"task3.calculate_accuracy must be in [0, 1], got {accuracy}"


# ------------------------------------------------------------------ batch_loader
def loader_indices(num_rows, batch_size, drop_last, seed):
    """Run one shuffled epoch over X = Y = row numbers; return the batches' row
    numbers, after checking that every X row is still paired with its Y row."""
    X = np.arange(num_rows).reshape(-1, 1)
    Y = 10 * X
    batches = []
    for X_batch, Y_batch in utils.batch_loader(X, Y, batch_size, shuffle=True,
                                               drop_last=drop_last,
                                               rng=np.random.default_rng(seed)):
        np.testing.assert_array_equal(Y_batch, 10 * X_batch)
        batches.append(X_batch[:, 0].tolist())
    return batches


@FAST
@given(st.integers(1, 60), st.integers(1, 70), SEEDS)
def test_batch_loader_without_drop_last_yields_every_row_once(num_rows, batch_size, seed):
    batches = loader_indices(num_rows, batch_size, False, seed)
    assert sorted(sum(batches, [])) == list(range(num_rows))
    assert len(batches) == -(-num_rows // batch_size)
    assert all(len(b) == batch_size for b in batches[:-1])


@FAST
@given(st.data(), SEEDS)
def test_batch_loader_with_drop_last_yields_full_batches_of_distinct_rows(data, seed):
    num_rows = data.draw(st.integers(1, 60))
    batch_size = data.draw(st.integers(1, num_rows))
    batches = loader_indices(num_rows, batch_size, True, seed)
    assert len(batches) == num_rows // batch_size
    assert all(len(b) == batch_size for b in batches)
    rows = sum(batches, [])
    assert len(set(rows)) == len(rows) and set(rows) <= set(range(num_rows))
