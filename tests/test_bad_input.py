"""Bad inputs to the public functions fail loudly, with a message that names
both what was expected and what was given; tiny data sets train; shuffled
training is reproducible from its seed.

The trainers here train the tests' own models (tests/reference.py): a mistake in
BinaryModel or SoftmaxModel fails the models' tests (and their bad-input cases
below), not these tests of the training loop."""
import re
import warnings

import numpy as np
import pytest

import reference
import script_tools
import task2
import task3
import utils
from task2 import LogisticTrainer
from task2a import BinaryModel, pre_process_images
from task2a import cross_entropy_loss as binary_loss
from task3 import SoftmaxTrainer
from task3a import SoftmaxModel, one_hot_encode
from task3a import cross_entropy_loss as softmax_loss
from reference import ReferenceBinaryModel, ReferenceSoftmaxModel
from trainer import TrainingDiverged


def inputs(num_rows, num_columns=785):
    X = np.linspace(-1.0, 1.0, num_rows * num_columns).reshape(num_rows, num_columns)
    X[:, -1] = 1.0
    return X


def half(num_rows, num_outputs=1):
    """Valid outputs [num_rows, num_outputs]: 0.5 for one output, else 1/num_outputs each."""
    return np.full((num_rows, num_outputs), 1.0 / max(num_outputs, 2))


def binary_targets(num_rows):
    return (np.arange(num_rows) % 2).reshape(-1, 1)


def one_hot(num_rows):
    return reference.one_hot(np.arange(num_rows) % 10)  # the tests' own, not one_hot_encode


def logistic_trainer(X_train=None, Y_train=None, learning_rate=0.1, batch_size=2, **kwargs):
    """A LogisticTrainer on 10 training and 4 validation rows unless told otherwise."""
    X_train = inputs(10) if X_train is None else X_train
    Y_train = binary_targets(10) if Y_train is None else Y_train
    return LogisticTrainer(ReferenceBinaryModel(), learning_rate, batch_size, False, X_train,
                           Y_train, inputs(4), binary_targets(4), **kwargs)


def softmax_trainer(X_val=None, Y_val=None, batch_size=2):
    X_val = inputs(4) if X_val is None else X_val
    Y_val = one_hot(4) if Y_val is None else Y_val
    return SoftmaxTrainer(ReferenceSoftmaxModel(0.0), 0.1, batch_size, True, inputs(10),
                          one_hot(10), X_val, Y_val)


def case(id, call, error, match):
    return pytest.param(call, error, match, id=id)


# Each message must name the expected value and the given one; `match` is a regex.
BAD_INPUTS = [
    # wrong number of columns
    # (forward and backward: the starter's shape asserts)
    case("binary-forward-784-columns", lambda: BinaryModel().forward(inputs(3, 784)),
         AssertionError, r"\[batch size, 785\] \(pre-processed\), got \(3, 784\)"),
    case("binary-backward-784-columns",
         lambda: BinaryModel().backward(inputs(3, 784), half(3), binary_targets(3)),
         AssertionError, r"X of shape \[3, 785\] like targets, got \(3, 784\)"),
    case("softmax-forward-784-columns", lambda: SoftmaxModel(0.0).forward(inputs(3, 784)),
         AssertionError, r"\[batch size, 785\] \(pre-processed\), got \(3, 784\)"),
    case("softmax-backward-784-columns",
         lambda: SoftmaxModel(0.0).backward(inputs(3, 784), half(3, 10), one_hot(3)),
         AssertionError, r"X of shape \[3, 785\] like targets, got \(3, 784\)"),
    case("pre_process-785-columns",
         lambda: pre_process_images(np.zeros((3, 785), dtype=np.uint8)),
         ValueError, r"\[N, 784\] .*, got \(3, 785\)"),
    # targets whose shape does not match the outputs
    case("binary-loss-targets-shape", lambda: binary_loss(np.zeros((3, 2)), half(3)),
         AssertionError, r"targets \(3, 2\) and outputs \(3, 1\) must have one shape"),
    case("binary-loss-targets-1d", lambda: binary_loss(np.zeros(3), half(3)),
         AssertionError, r"targets \(3,\) and outputs \(3, 1\) must have one shape"),
    case("softmax-loss-targets-shape", lambda: softmax_loss(one_hot(4)[:, :9], half(4, 10)),
         AssertionError, r"targets \(4, 9\) and outputs \(4, 10\) must have one shape"),
    case("binary-backward-targets-shape",
         lambda: BinaryModel().backward(inputs(3), half(3), binary_targets(4)),
         AssertionError, r"outputs \(3, 1\) and targets \(4, 1\) must have one shape"),
    case("softmax-backward-targets-shape",
         lambda: SoftmaxModel(0.0).backward(inputs(3), half(3, 10), one_hot(3)[:, :9]),
         AssertionError, r"outputs \(3, 10\) and targets \(3, 9\) must have one shape"),
    # labels for one_hot_encode
    case("one_hot-label-too-large", lambda: one_hot_encode(np.array([[1], [10]]), 10),
         ValueError, r"0\.\.9, got 10"),
    case("one_hot-label-negative", lambda: one_hot_encode(np.array([3, -1]), 10),
         ValueError, r"0\.\.9, got -1"),
    case("one_hot-label-fraction", lambda: one_hot_encode(np.array([1.0, 2.5]), 10),
         ValueError, r"integers in 0\.\.9, got 2\.5"),
    case("one_hot-label-text", lambda: one_hot_encode(np.array(["3"]), 10),
         ValueError, r"integer labels, .*dtype <U1"),
    # X and Y of different lengths
    case("batch_loader-lengths",
         lambda: list(utils.batch_loader(inputs(10), binary_targets(9), 2)),
         ValueError, r"same number of rows, got 10 and 9"),
    case("logistic-trainer-train-lengths",
         lambda: logistic_trainer(Y_train=binary_targets(9)),
         ValueError, r"X_train and Y_train .*same number of rows, got 10 and 9"),
    case("softmax-trainer-val-lengths", lambda: softmax_trainer(Y_val=one_hot(3)),
         ValueError, r"X_val and Y_val .*same number of rows, got 4 and 3"),
    # empty data (refused where it enters: the trainer and the losses; forward itself
    # has only the starter's shape assert)
    case("logistic-trainer-empty",
         lambda: logistic_trainer(X_train=inputs(0), Y_train=binary_targets(0)),
         ValueError, r"X_train is empty \(shape \(0, 785\)\): expected at least one row"),
    case("softmax-trainer-empty", lambda: softmax_trainer(X_val=inputs(0), Y_val=one_hot(0)),
         ValueError, r"X_val is empty \(shape \(0, 785\)\): expected at least one row"),
    case("binary-loss-empty", lambda: binary_loss(np.zeros((0, 1)), np.zeros((0, 1))),
         ValueError, r"outputs is empty \(shape \(0, 1\)\): expected at least one row"),
    case("softmax-loss-empty", lambda: softmax_loss(np.zeros((0, 10)), np.zeros((0, 10))),
         ValueError, r"outputs is empty \(shape \(0, 10\)\): expected at least one row"),
    # a batch larger than the data set
    case("trainer-batch-larger-than-data", lambda: logistic_trainer(batch_size=11),
         ValueError, r"batch_size \(11\) is larger than the training set \(10 rows\)"),
    case("batch_loader-batch-larger-than-data",
         lambda: list(utils.batch_loader(inputs(10), binary_targets(10), 11)),
         ValueError, r"batch_size \(11\) is larger than the data set \(10 rows\)"),
    # learning rate, batch size, number of epochs, L2 strength
    case("learning-rate-0", lambda: logistic_trainer(learning_rate=0),
         ValueError, r"learning_rate must be a finite number > 0, got 0"),
    case("learning-rate-negative", lambda: logistic_trainer(learning_rate=-0.5),
         ValueError, r"learning_rate must be a finite number > 0, got -0\.5"),
    case("batch-size-0", lambda: logistic_trainer(batch_size=0),
         ValueError, r"batch_size must be an integer > 0, got 0"),
    case("batch-size-negative", lambda: logistic_trainer(batch_size=-1),
         ValueError, r"batch_size must be an integer > 0, got -1"),
    case("batch-size-fraction", lambda: logistic_trainer(batch_size=2.5),
         ValueError, r"batch_size must be an integer > 0, got 2\.5"),
    case("batch-size-bool", lambda: logistic_trainer(batch_size=True),
         ValueError, r"batch_size must be an integer > 0, got True"),
    case("batch_loader-batch-size-0",
         lambda: list(utils.batch_loader(inputs(10), binary_targets(10), 0)),
         ValueError, r"batch_size must be an integer > 0, got 0"),
    case("num-epochs-0", lambda: logistic_trainer().train(0),
         ValueError, r"num_epochs must be an integer > 0, got 0"),
    case("num-epochs-negative", lambda: logistic_trainer().train(-3),
         ValueError, r"num_epochs must be an integer > 0, got -3"),
    case("num-epochs-fraction", lambda: logistic_trainer().train(1.5),
         ValueError, r"num_epochs must be an integer > 0, got 1\.5"),
    case("l2-lambda-negative", lambda: SoftmaxModel(-0.1),
         ValueError, r"l2_reg_lambda must be a finite number >= 0, got -0\.1"),
    # pixels outside [0, 255]
    case("pixels-above-255", lambda: pre_process_images(np.full((2, 784), 256)),
         ValueError, r"\[0, 255\], got range \[256, 256\]"),
    case("pixels-negative", lambda: pre_process_images(np.full((2, 784), -1.0)),
         ValueError, r"\[0, 255\], got range \[-1\.0, -1\.0\]"),
    case("pixels-not-an-array", lambda: pre_process_images([[0] * 784]),
         TypeError, r"numpy array of shape \[N, 784\] .*, got list"),
]


@pytest.mark.parametrize("call, error, match", BAD_INPUTS)
def test_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------ tiny data sets
def synthetic(kind, num_rows, seed=0):
    """Random [num_rows, 785] inputs (ones column) with binary or one-hot targets."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(num_rows, 785))
    X[:, -1] = 1.0
    labels = rng.integers(0, 2 if kind == "logistic" else 10, size=num_rows)
    Y = labels.reshape(-1, 1) if kind == "logistic" else reference.one_hot(labels)
    return X, Y


def make_trainer(kind, X, Y, shuffle, seed, batch_size, patience=1000):
    model = ReferenceBinaryModel() if kind == "logistic" else ReferenceSoftmaxModel(0.01)
    trainer_class = LogisticTrainer if kind == "logistic" else SoftmaxTrainer
    return trainer_class(model, 0.05, batch_size, shuffle, X, Y, X[:5], Y[:5],
                         early_stopping_patience=patience, seed=seed)


@pytest.mark.parametrize("kind", ["logistic", "softmax"])
def test_data_set_of_three_batches_validates_every_step(kind):
    batch_size = 4
    X, Y = synthetic(kind, 3 * batch_size + 1)  # three full batches and one spare row
    trainer = make_trainer(kind, X, Y, shuffle=True, seed=0, batch_size=batch_size)
    train_history, val_history = trainer.train(num_epochs=2)
    steps = list(range(6))
    assert list(train_history["loss"]) == steps
    assert list(train_history["accuracy"]) == steps
    assert list(val_history["loss"]) == steps and list(val_history["accuracy"]) == steps
    assert np.isfinite(list(val_history["loss"].values())).all(), (
        f"validation losses must be finite, got {list(val_history['loss'].values())}")
    assert trainer.num_steps == 6 and trainer.stop_step == 5
    module = task2 if kind == "logistic" else task3
    summary = script_tools.run_summary(trainer, module.cross_entropy_loss,
                                       module.calculate_accuracy)
    assert summary["epochs_trained"] == 2 and 0 <= summary["final_val_accuracy"] <= 1


# ------------------------------------------------------------------ reproducibility
def shuffled_run(kind, seed):
    X, Y = synthetic(kind, 48)
    trainer = make_trainer(kind, X, Y, shuffle=True, seed=seed, batch_size=8)
    train_history, val_history = trainer.train(num_epochs=3)
    return train_history, val_history, trainer.model.w


@pytest.mark.parametrize("kind", ["logistic", "softmax"])
def test_shuffled_training_is_reproducible_from_its_seed(kind):
    train_a, val_a, w_a = shuffled_run(kind, seed=7)
    train_b, val_b, w_b = shuffled_run(kind, seed=7)
    assert train_a == train_b and val_a == val_b
    np.testing.assert_array_equal(w_a, w_b)

    train_c, val_c, w_c = shuffled_run(kind, seed=8)
    assert train_c["loss"] != train_a["loss"], (
        "training with seed 8 gave the batch losses of seed 7: the shuffled order must be "
        "drawn from the trainer's random generator (seeded with `seed`), every epoch anew")
    assert not np.array_equal(w_c, w_a)


# ------------------------------------------------------------------ no silent wrong number
# One row per bad value: the error, and a regex that must find the argument's name,
# the bad value and where it is (the index of the entry, for arrays).
def with_entry(array, index, value):
    array = np.array(array, dtype=np.float64)
    array[index] = value
    return array


def images(index=None, value=None):
    X = np.full((3, 784), 128.0)
    if index is not None:
        X[index] = value
    return X


def logistic_trainer_with(**data):
    """A LogisticTrainer on 10 training and 4 validation rows, with `data` replaced."""
    arrays = dict(X_train=inputs(10), Y_train=binary_targets(10), X_val=inputs(4),
                  Y_val=binary_targets(4))
    arrays.update(data)
    return LogisticTrainer(ReferenceBinaryModel(), 0.1, 2, False, *arrays.values())


def softmax_trainer_with(**data):
    arrays = dict(X_train=inputs(10), Y_train=one_hot(10), X_val=inputs(4), Y_val=one_hot(4))
    arrays.update(data)
    return SoftmaxTrainer(ReferenceSoftmaxModel(0.0), 0.1, 2, True, *arrays.values())


def two_ones_in_row(num_rows, row):
    Y = one_hot(num_rows)
    Y[row, (np.argmax(Y[row]) + 1) % 10] = 1.0
    return Y


NO_SILENT_WRONG_NUMBER = [
    # a NaN or infinite pixel
    case("pre_process-nan-pixel", lambda: pre_process_images(images((1, 7), np.nan)),
         ValueError, r"X \(images\) must be finite, got nan at index \(1, 7\)"),
    case("pre_process-inf-pixel", lambda: pre_process_images(images((2, 0), np.inf)),
         ValueError, r"X \(images\) must be finite, got inf at index \(2, 0\)"),
    case("pre_process-minus-inf-pixel", lambda: pre_process_images(images((0, 783), -np.inf)),
         ValueError, r"X \(images\) must be finite, got -inf at index \(0, 783\)"),
    # binary targets of 2
    case("binary-loss-target-2", lambda: binary_loss(np.array([[1], [2], [0]]), half(3)),
         ValueError, r"targets must be binary labels \(entries 0 or 1\), got 2 at index \(1, 0\)"),
    case("logistic-trainer-Y_train-2",
         lambda: logistic_trainer_with(Y_train=with_entry(binary_targets(10), (6, 0), 2)),
         ValueError,
         r"Y_train must be binary labels \(entries 0 or 1\), got 2\.0 at index \(6, 0\)"),
    case("logistic-trainer-Y_val-2",
         lambda: logistic_trainer_with(Y_val=np.array([[0], [1], [2], [1]])),
         ValueError, r"Y_val must be binary labels \(entries 0 or 1\), got 2 at index \(2, 0\)"),
    # a probability of 1.5 or NaN
    case("binary-loss-probability-1.5",
         lambda: binary_loss(binary_targets(3), with_entry(half(3), (2, 0), 1.5)),
         ValueError, r"outputs must be probabilities in \[0, 1\], got 1\.5 at index \(2, 0\)"),
    case("binary-loss-probability-nan",
         lambda: binary_loss(binary_targets(3), with_entry(half(3), (1, 0), np.nan)),
         ValueError, r"outputs must be finite, got nan at index \(1, 0\)"),
    case("softmax-loss-probability-1.5",
         lambda: softmax_loss(one_hot(3), with_entry(half(3, 10), (1, 4), 1.5)),
         ValueError, r"outputs must be probabilities in \[0, 1\], got 1\.5 at index \(1, 4\)"),
    case("softmax-loss-probability-nan",
         lambda: softmax_loss(one_hot(3), with_entry(half(3, 10), (2, 9), np.nan)),
         ValueError, r"outputs must be finite, got nan at index \(2, 9\)"),
    # targets that are not one-hot
    case("softmax-loss-two-ones", lambda: softmax_loss(two_ones_in_row(4, 2), half(4, 10)),
         ValueError, r"targets must be one-hot \(exactly one 1 per row\), got 2 ones in row 2"),
    case("softmax-loss-no-one",
         lambda: softmax_loss(with_entry(one_hot(4), (1, 1), 0.0), half(4, 10)),
         ValueError, r"targets must be one-hot \(exactly one 1 per row\), got 0 ones in row 1"),
    case("softmax-loss-half", lambda: softmax_loss(with_entry(one_hot(4), (3, 3), 0.5),
                                                   half(4, 10)),
         ValueError, r"targets must be one-hot \(entries 0 or 1\), got 0\.5 at index \(3, 3\)"),
    case("softmax-loss-labels-not-encoded",
         lambda: softmax_loss(np.array([[3], [1]]), half(2, 10)),
         AssertionError, r"targets \(2, 1\) and outputs \(2, 10\) must have one shape"),
    case("softmax-trainer-Y_train-two-ones",
         lambda: softmax_trainer_with(Y_train=two_ones_in_row(10, 8)),
         ValueError, r"Y_train must be one-hot \(exactly one 1 per row\), got 2 ones in row 8"),
    case("softmax-trainer-Y_train-labels",
         lambda: softmax_trainer_with(Y_train=np.arange(10).reshape(-1, 1)),
         ValueError, r"Y_train must have shape \[N, 10\] .*, got \(10, 1\)"),
    # learning rate, lambda and patience that are not numbers in range
    case("learning-rate-inf", lambda: logistic_trainer(learning_rate=np.inf),
         ValueError, r"learning_rate must be a finite number > 0, got inf"),
    case("learning-rate-nan", lambda: logistic_trainer(learning_rate=float("nan")),
         ValueError, r"learning_rate must be a finite number > 0, got nan"),
    case("l2-lambda-inf", lambda: SoftmaxModel(float("inf")),
         ValueError, r"l2_reg_lambda must be a finite number >= 0, got inf"),
    case("l2-lambda-nan", lambda: SoftmaxModel(np.nan),
         ValueError, r"l2_reg_lambda must be a finite number >= 0, got nan"),
    case("patience-0", lambda: logistic_trainer(early_stopping_patience=0),
         ValueError, r"early_stopping_patience must be an integer > 0, got 0"),
    case("patience-negative", lambda: logistic_trainer(early_stopping_patience=-2),
         ValueError, r"early_stopping_patience must be an integer > 0, got -2"),
    case("patience-fraction", lambda: logistic_trainer(early_stopping_patience=2.5),
         ValueError, r"early_stopping_patience must be an integer > 0, got 2\.5"),
    # NaN in the validation data: refused when the trainer is built, before any step
    case("logistic-trainer-X_val-nan",
         lambda: logistic_trainer_with(X_val=with_entry(inputs(4), (3, 100), np.nan)),
         ValueError, r"X_val must be finite, got nan at index \(3, 100\)"),
    case("logistic-trainer-Y_val-nan",
         lambda: logistic_trainer_with(Y_val=with_entry(binary_targets(4), (1, 0), np.nan)),
         ValueError, r"Y_val must be binary labels \(entries 0 or 1\), got nan at index \(1, 0\)"),
    case("softmax-trainer-X_val-inf",
         lambda: softmax_trainer_with(X_val=with_entry(inputs(4), (0, 5), np.inf)),
         ValueError, r"X_val must be finite, got inf at index \(0, 5\)"),
    case("softmax-trainer-Y_val-nan",
         lambda: softmax_trainer_with(Y_val=with_entry(one_hot(4), (2, 2), np.nan)),
         ValueError, r"Y_val must be one-hot \(entries 0 or 1\), got nan at index \(2, 2\)"),
    case("softmax-trainer-X_train-nan",
         lambda: softmax_trainer_with(X_train=with_entry(inputs(10), (9, 784), np.nan)),
         ValueError, r"X_train must be finite, got nan at index \(9, 784\)"),
    # classes that are not digits
    case("load_binary_dataset-booleans", lambda: utils.load_binary_dataset(True, False),
         ValueError, r"classes must be digits 0\.\.9, got True"),
    case("load_binary_dataset-ten", lambda: utils.load_binary_dataset(2, 10),
         ValueError, r"classes must be digits 0\.\.9, got 10"),
]


@pytest.mark.parametrize("call, error, match", NO_SILENT_WRONG_NUMBER)
def test_no_silent_wrong_number(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bad_validation_data_fails_before_the_first_step(monkeypatch):
    """The trainer is refused at construction: no step, not even a forward pass, runs."""
    calls = []
    monkeypatch.setattr(ReferenceBinaryModel, "forward", lambda self, X: calls.append(X))
    with pytest.raises(ValueError, match=r"X_val must be finite"):
        logistic_trainer_with(X_val=with_entry(inputs(4), (0, 0), np.nan))
    assert calls == []


# ------------------------------------------------------------------ divergence
class CountingSoftmaxTrainer(SoftmaxTrainer):
    def train_step(self, X_batch, Y_batch):
        self.steps_started = getattr(self, "steps_started", 0) + 1
        return super().train_step(X_batch, Y_batch)


DIVERGED = (r"Training diverged at global step (\d+) \(epoch index (\d+)\).*"
            r"learning rate {lr}\. Try a smaller learning rate, for example {smaller};")


@pytest.mark.parametrize("learning_rate, l2_reg_lambda, lr_text, smaller", [
    (1e300, 1.0, r"1e\+300", r"1e\+299"),  # overflows in the first steps
    (10.0, 0.5, r"10", r"1"),              # |w| grows 9-fold per step: overflows after ~300
])
def test_overflowing_training_raises_training_diverged(learning_rate, l2_reg_lambda, lr_text,
                                                       smaller):
    """The message names the step, its epoch and the learning rate, and suggests a
    smaller one; no RuntimeWarning escapes on the way."""
    X, Y = synthetic("softmax", 40)  # 5 batches of 8 per epoch
    trainer = CountingSoftmaxTrainer(ReferenceSoftmaxModel(l2_reg_lambda), learning_rate, 8,
                                     True, X, Y, X[:5], Y[:5], early_stopping_patience=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(TrainingDiverged,
                           match=DIVERGED.format(lr=lr_text, smaller=smaller)) as info:
            trainer.train(num_epochs=500)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    step, epoch = map(int, re.search(r"step (\d+) \(epoch index (\d+)\)", str(info.value)).groups())
    assert trainer.steps_started == step + 1   # the step named is the one that failed
    assert epoch == step // 5


@pytest.mark.parametrize("kind, data", [("logistic", "synthetic"), ("softmax", "synthetic"),
                                        ("logistic", "real")])
def test_absurd_learning_rate_raises_training_diverged(kind, data, request):
    """Learning rate 1e300 without L2: nothing overflows inside a step (the loss is
    clipped, the outputs saturate), but the weights reach ~1e300: a diverged run,
    not a result."""
    if data == "real":
        X, Y, X_val, Y_val = request.getfixturevalue("binary_data")
    else:
        X, Y = synthetic(kind, 40)
        X_val, Y_val = X[:5], Y[:5]
    model = ReferenceBinaryModel() if kind == "logistic" else ReferenceSoftmaxModel(0.0)
    trainer_class = LogisticTrainer if kind == "logistic" else SoftmaxTrainer
    trainer = trainer_class(model, 1e300, 8, True, X, Y, X_val, Y_val)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(TrainingDiverged, match=DIVERGED.format(lr=r"1e\+300",
                                                                   smaller=r"1e\+299")):
            trainer.train(num_epochs=20)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


# ------------------------------------------------------------------ results files
@pytest.mark.parametrize("value, text", [(float("nan"), "nan"), (float("inf"), "inf"),
                                         (-np.inf, "-inf")])
def test_results_json_refuses_nan_and_infinity(tmp_path, value, text):
    """No NaN or Infinity in a results file (no valid JSON): write_json raises and
    leaves neither the file nor a temporary file behind."""
    path = tmp_path / "results" / "task9.json"
    with pytest.raises(ValueError, match=rf"not JSON compliant: {text}"):
        script_tools.write_json(path, {"runs": {"a": {"final_val_loss": value}}})
    assert not path.parent.exists() or list(path.parent.iterdir()) == []


def test_results_json_error_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "task9.json"
    with pytest.raises(ValueError) as info:
        script_tools.write_json(path, {"runs": {"a": {"final_val_loss": float("nan")}}})
    message = str(info.value)
    assert "task9.json" in message and "final_val_loss" in message and "nan" in message


def test_runtime_warnings_are_errors_in_the_suite(pytestconfig):
    """A NaN or overflow that numpy only warns about fails the test it happens in
    (pytest.ini); the task scripts' background runs use the same filter (conftest.py)."""
    assert "error::RuntimeWarning" in pytestconfig.getini("filterwarnings")
    with pytest.raises(RuntimeWarning, match="overflow"):
        np.exp(np.array([1000.0]))
