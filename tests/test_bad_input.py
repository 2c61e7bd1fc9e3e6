"""Bad inputs to the public functions fail loudly, with a message that names
both what was expected and what was given; tiny data sets train; shuffled
training is reproducible from its seed."""
import numpy as np
import pytest

import utils
from task2 import LogisticTrainer
from task2a import BinaryModel, pre_process_images
from task2a import cross_entropy_loss as binary_loss
from task3 import SoftmaxTrainer
from task3a import SoftmaxModel, one_hot_encode
from task3a import cross_entropy_loss as softmax_loss


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
    return one_hot_encode(np.arange(num_rows) % 10, 10)


def logistic_trainer(X_train=None, Y_train=None, learning_rate=0.1, batch_size=2, **kwargs):
    """A LogisticTrainer on 10 training and 4 validation rows unless told otherwise."""
    X_train = inputs(10) if X_train is None else X_train
    Y_train = binary_targets(10) if Y_train is None else Y_train
    return LogisticTrainer(BinaryModel(), learning_rate, batch_size, False, X_train, Y_train,
                           inputs(4), binary_targets(4), **kwargs)


def softmax_trainer(X_val=None, Y_val=None, batch_size=2):
    X_val = inputs(4) if X_val is None else X_val
    Y_val = one_hot(4) if Y_val is None else Y_val
    return SoftmaxTrainer(SoftmaxModel(0.0), 0.1, batch_size, True, inputs(10), one_hot(10),
                          X_val, Y_val)


def case(id, call, error, match):
    return pytest.param(call, error, match, id=id)


# Each message must name the expected value and the given one; `match` is a regex.
BAD_INPUTS = [
    # wrong number of columns
    case("binary-forward-784-columns", lambda: BinaryModel().forward(inputs(3, 784)),
         ValueError, r"\[N, 785\], got \(3, 784\)"),
    case("binary-backward-784-columns",
         lambda: BinaryModel().backward(inputs(3, 784), half(3), binary_targets(3)),
         ValueError, r"\[N, 785\], got \(3, 784\)"),
    case("softmax-forward-784-columns", lambda: SoftmaxModel(0.0).forward(inputs(3, 784)),
         ValueError, r"\[N, 785\], got \(3, 784\)"),
    case("softmax-backward-784-columns",
         lambda: SoftmaxModel(0.0).backward(inputs(3, 784), half(3, 10), one_hot(3)),
         ValueError, r"\[N, 785\], got \(3, 784\)"),
    case("pre_process-785-columns",
         lambda: pre_process_images(np.zeros((3, 785), dtype=np.uint8)),
         ValueError, r"\[N, 784\], got \(3, 785\)"),
    # targets whose shape does not match the outputs
    case("binary-loss-targets-shape", lambda: binary_loss(np.zeros((3, 2)), half(3)),
         ValueError, r"targets shape \(3, 2\) does not match outputs shape \(3, 1\)"),
    case("binary-loss-targets-1d", lambda: binary_loss(np.zeros(3), half(3)),
         ValueError, r"targets must be a 2-D array .*, got \(3,\)"),
    case("softmax-loss-targets-shape", lambda: softmax_loss(one_hot(4)[:, :9], half(4, 10)),
         ValueError, r"targets shape \(4, 9\) does not match outputs shape \(4, 10\)"),
    case("binary-backward-targets-shape",
         lambda: BinaryModel().backward(inputs(3), half(3), binary_targets(4)),
         ValueError, r"targets shape \(4, 1\) does not match outputs shape \(3, 1\)"),
    case("softmax-backward-targets-shape",
         lambda: SoftmaxModel(0.0).backward(inputs(3), half(3, 10), one_hot(3)[:, :9]),
         ValueError, r"targets shape \(3, 9\) does not match outputs shape \(3, 10\)"),
    # labels for one_hot_encode
    case("one_hot-label-too-large", lambda: one_hot_encode(np.array([[1], [10]]), 10),
         ValueError, r"0\.\.9, got 10"),
    case("one_hot-label-negative", lambda: one_hot_encode(np.array([3, -1]), 10),
         ValueError, r"0\.\.9, got -1"),
    case("one_hot-label-fraction", lambda: one_hot_encode(np.array([1.0, 2.5]), 10),
         ValueError, r"integers, got 2\.5"),
    case("one_hot-label-text", lambda: one_hot_encode(np.array(["3"]), 10),
         ValueError, r"integers, got dtype <U1"),
    # X and Y of different lengths
    case("batch_loader-lengths",
         lambda: list(utils.batch_loader(inputs(10), binary_targets(9), 2)),
         ValueError, r"same number of rows, got 10 and 9"),
    case("logistic-trainer-train-lengths",
         lambda: logistic_trainer(Y_train=binary_targets(9)),
         ValueError, r"X_train and Y_train .*same number of rows, got 10 and 9"),
    case("softmax-trainer-val-lengths", lambda: softmax_trainer(Y_val=one_hot(3)),
         ValueError, r"X_val and Y_val .*same number of rows, got 4 and 3"),
    # empty batches
    case("binary-forward-empty", lambda: BinaryModel().forward(inputs(0)),
         ValueError, r"\(0, 785\).*expected at least one row"),
    case("softmax-forward-empty", lambda: SoftmaxModel(0.0).forward(inputs(0)),
         ValueError, r"\(0, 785\).*expected at least one row"),
    case("binary-loss-empty", lambda: binary_loss(np.zeros((0, 1)), np.zeros((0, 1))),
         ValueError, r"\(0, 1\), expected at least one row"),
    case("softmax-loss-empty", lambda: softmax_loss(np.zeros((0, 10)), np.zeros((0, 10))),
         ValueError, r"\(0, 10\), expected at least one row"),
    # a batch larger than the data set
    case("trainer-batch-larger-than-data", lambda: logistic_trainer(batch_size=11),
         ValueError, r"batch_size \(11\) is larger than the data set \(10 rows\)"),
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
         TypeError, r"numpy array of shape \[N, 784\], got list"),
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
    Y = labels.reshape(-1, 1) if kind == "logistic" else one_hot_encode(labels, 10)
    return X, Y


def make_trainer(kind, X, Y, shuffle, seed, batch_size, patience=1000):
    model = BinaryModel() if kind == "logistic" else SoftmaxModel(0.01)
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
    assert np.all(np.isfinite(list(val_history["loss"].values())))
    assert trainer.num_steps == 6 and trainer.stop_step == 5
    summary = trainer.summary()
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
    assert train_c["loss"] != train_a["loss"]
    assert not np.array_equal(w_c, w_a)
