"""Task 2: pre-processing, the logistic model, its loss, accuracy, the gradient
check on real images, and the end-to-end run on the real data."""
import numpy as np
import pytest

import utils
from task2 import LogisticTrainer, binary_accuracy, calculate_accuracy
from task2a import (BinaryModel, cross_entropy_loss, gradient_approximation_test,
                    pre_process_images, sigmoid)


def test_binary_dataset_shapes_and_targets():
    X_train, Y_train, X_val, Y_val = utils.load_binary_dataset(2, 3, verbose=False)
    assert X_train.shape == (4005, 784) and Y_train.shape == (4005, 1)
    assert X_val.shape == (2042, 784) and Y_val.shape == (2042, 1)
    assert X_train.dtype == np.uint8
    assert set(np.unique(Y_train)) == {0, 1}
    # target 1 is the first class (digit 2): count the 2s among the first 20000 labels
    import mnist
    labels = mnist.load()[1][:20000]
    assert Y_train.sum() == np.sum(labels == 2)
    assert len(Y_train) - Y_train.sum() == np.sum(labels == 3)


def test_full_mnist_split():
    X_train, Y_train, X_val, Y_val = utils.load_full_mnist(verbose=False)
    assert X_train.shape == (20000, 784) and Y_train.shape == (20000, 1)
    assert X_val.shape == (10000, 784) and Y_val.shape == (10000, 1)
    assert set(np.unique(Y_train)) == set(range(10))


def test_pre_process_range_shape_and_bias():
    X = np.array([[0] * 784, [255] * 784, list(range(0, 256, 1)) * 3 + [0] * 16], dtype=np.uint8)
    out = pre_process_images(X)
    assert out.shape == (3, 785) and out.dtype == np.float64
    np.testing.assert_array_equal(out[:, -1], 1.0)
    np.testing.assert_array_equal(out[0, :-1], -1.0)
    np.testing.assert_array_equal(out[1, :-1], 1.0)
    np.testing.assert_allclose(out[2, :256], np.arange(256) / 127.5 - 1)


def test_pre_process_real_images(binary_data):
    X_train = binary_data[0]
    assert X_train.shape == (4005, 785)
    assert X_train[:, :-1].min() == -1.0 and X_train[:, :-1].max() == 1.0
    np.testing.assert_array_equal(X_train[:, -1], 1.0)


def test_pre_process_rejects_wrong_columns():
    with pytest.raises(ValueError, match=r"\[N, 784\].*\(2, 785\)"):
        pre_process_images(np.zeros((2, 785)))


def test_zero_weights_give_one_half(binary_data):
    model = BinaryModel()
    assert model.w.shape == (785, 1) and not model.w.any()
    outputs = model.forward(binary_data[0])
    assert outputs.shape == (4005, 1)
    np.testing.assert_array_equal(outputs, 0.5)


def test_sigmoid_values_and_extremes():
    z = np.array([-1e4, -40.0, -1.0, 0.0, 1.0, 40.0, 1e4])
    s = sigmoid(z)
    np.testing.assert_allclose(s[2:5], 1 / (1 + np.exp(-z[2:5])))
    assert s[0] == 0.0 and s[-1] == 1.0 and np.all(np.isfinite(s))
    np.testing.assert_allclose(s[1], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-12)


def test_cross_entropy_by_hand():
    targets = np.array([[1.0], [0.0], [1.0]])
    outputs = np.array([[0.9], [0.2], [0.5]])
    expected = -(np.log(0.9) + np.log(0.8) + np.log(0.5)) / 3
    assert cross_entropy_loss(targets, outputs) == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_finite_at_zero_and_one():
    targets = np.array([[1.0], [0.0], [1.0], [0.0]])
    right = np.array([[1.0], [0.0], [1.0], [0.0]])
    wrong = 1.0 - right
    assert cross_entropy_loss(targets, right) == 0.0
    loss = cross_entropy_loss(targets, wrong)
    assert np.isfinite(loss) and loss > 700  # -log(smallest positive float) ~ 708


@pytest.mark.parametrize("scale", [0.0, 0.01, 0.1])
def test_gradient_check_real_images(binary_data, scale):
    """Analytic gradient against central differences on 100 real images, at zero
    and at random weights."""
    X, Y = binary_data[0][:100], binary_data[1][:100]
    model = BinaryModel()
    model.w = np.random.default_rng(7).normal(scale=scale, size=model.w.shape)
    assert gradient_approximation_test(model, X, Y) < 1e-6


def test_gradient_check_catches_a_wrong_gradient(binary_data):
    """The check must fail for a backward pass with a wrong sign."""
    X, Y = binary_data[0][:20], binary_data[1][:20]

    class WrongSign(BinaryModel):
        def backward(self, X, outputs, targets):
            super().backward(X, outputs, targets)
            self.grad = -self.grad

    model = WrongSign()
    model.w = np.random.default_rng(0).normal(scale=0.05, size=model.w.shape)
    with pytest.raises(AssertionError, match="Gradient check failed"):
        gradient_approximation_test(model, X, Y)


def test_backward_is_batch_mean_of_eq6(rng):
    X = np.hstack([rng.uniform(-1, 1, size=(5, 784)), np.ones((5, 1))])
    Y = rng.integers(0, 2, size=(5, 1)).astype(float)
    model = BinaryModel()
    model.w = rng.normal(scale=0.05, size=(785, 1))
    outputs = model.forward(X)
    model.backward(X, outputs, Y)
    per_example = [-(Y[n, 0] - outputs[n, 0]) * X[n] for n in range(5)]
    np.testing.assert_allclose(model.grad[:, 0], np.mean(per_example, axis=0), rtol=1e-12)
    model.zero_grad()
    assert model.grad is None


def test_accuracy_threshold_is_one_half():
    targets = np.array([[1], [0], [1], [0]])
    outputs = np.array([[0.5], [0.49], [0.2], [0.51]])
    assert binary_accuracy(targets, outputs) == 0.5


def test_calculate_accuracy_uses_the_model(binary_data):
    X_val, Y_val = binary_data[2], binary_data[3]
    model = BinaryModel()
    # zero weights: every output is 0.5 -> predicted 1 (digit 2) for all
    assert calculate_accuracy(X_val, Y_val, model) == pytest.approx(Y_val.mean())


def test_end_to_end_early_stop_epoch(binary_data):
    """The deterministic run on the real data stops in epoch index 33 (the 34th),
    at about 0.976 train and 0.979 validation accuracy, as seen on the real data."""
    model = BinaryModel()
    trainer = LogisticTrainer(model, 0.05, 128, False, *binary_data)
    train_history, val_history = trainer.train(500)
    run = trainer.summary()
    assert run["early_stopped"] and run["stop_epoch"] == 33 and run["stop_step"] == 1038
    assert run["final_train_accuracy"] == pytest.approx(0.976, abs=0.002)
    assert run["final_val_accuracy"] == pytest.approx(0.979, abs=0.002)
    # validation every 31 // 5 = 6 steps, starting at step 0
    assert list(val_history["loss"])[:3] == [0, 6, 12]
    assert len(train_history["loss"]) == run["num_steps"] == 1039
    # the model holds the weights of the lowest validation loss
    assert run["final_val_loss"] == pytest.approx(min(val_history["loss"].values()), rel=1e-12)
    assert val_history["loss"][run["best_step"]] == min(val_history["loss"].values())
