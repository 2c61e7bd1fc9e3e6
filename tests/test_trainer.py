"""BaseTrainer (validation schedule, early stopping, best weights) and batch_loader."""
import numpy as np
import pytest

import utils
from trainer import BaseTrainer


class StepModel:
    """A stand-in model whose weights record the global step: w = [[step]]."""

    def __init__(self):
        self.w = np.zeros((1, 1))


class ScriptedTrainer(BaseTrainer):
    """Validation losses come from a script; each train step sets w to the step."""

    def __init__(self, val_losses, num_rows=50, batch_size=2, **kwargs):
        X = np.zeros((num_rows, 1))
        super().__init__(StepModel(), 0.1, batch_size, False, X, X, X[:3], X[:3], **kwargs)
        self.val_losses = list(val_losses)
        self.validations = 0
        self.step = 0

    def train_step(self, X_batch, Y_batch):
        self.model.w[...] = self.step
        self.step += 1
        return 0.0

    def validation_step(self):
        loss = self.val_losses[min(self.validations, len(self.val_losses) - 1)]
        self.validations += 1
        return loss, 0.0, 0.0


def test_stops_after_exactly_ten_non_improving_validations():
    losses = [5.0, 4.0, 3.0] + [3.5, 3.0, 4.0, 3.2, 3.9, 3.0, 3.1, 3.3, 3.4, 3.6] + [0.1]
    trainer = ScriptedTrainer(losses)  # 25 batches per epoch -> validate every 5 steps
    train_history, val_history = trainer.train(num_epochs=100)
    assert trainer.early_stopped
    assert trainer.validations == 13            # the 0.1 is never reached
    assert list(val_history["loss"]) == [5 * i for i in range(13)]
    assert trainer.stop_step == 60 and trainer.num_steps == 61
    assert trainer.stop_epoch == 2              # steps 50..74 are epoch index 2
    assert trainer.best_step == 10 and val_history["loss"][10] == 3.0
    assert trainer.model.w[0, 0] == 10, (       # weights of the best validation restored
        f"BaseTrainer.train must give the model back the weights of the lowest validation "
        f"loss (those after step 10); it has those after step {trainer.model.w[0, 0]:g}")
    assert len(train_history["loss"]) == 61


def test_an_equal_loss_is_not_an_improvement():
    trainer = ScriptedTrainer([1.0] * 20)
    trainer.train(num_epochs=100)
    assert trainer.early_stopped and trainer.validations == 11 and trainer.best_step == 0


def test_improvement_resets_the_count():
    losses = [5.0] + [6.0] * 9 + [4.0] + [6.0] * 10
    trainer = ScriptedTrainer(losses)
    trainer.train(num_epochs=100)
    assert trainer.validations == 21 and trainer.best_step == 50
    assert trainer.model.w[0, 0] == 50, (
        f"BaseTrainer.train must give the model back the weights of the lowest validation "
        f"loss (those after step 50); it has those after step {trainer.model.w[0, 0]:g}")


def test_runs_to_the_end_without_early_stop():
    trainer = ScriptedTrainer(list(np.linspace(10, 1, 1000)))
    trainer.train(num_epochs=3)
    assert not trainer.early_stopped
    assert trainer.stop_epoch == 2 and trainer.num_steps == 75
    assert trainer.model.w[0, 0] == trainer.best_step == 70  # last validation was best


def test_tiny_data_validates_every_step():
    trainer = ScriptedTrainer([3.0, 2.0, 1.0], num_rows=6, batch_size=2)  # 3 batches
    _, val_history = trainer.train(num_epochs=2)
    assert list(val_history["loss"]) == list(range(6))


def test_patience_is_configurable():
    trainer = ScriptedTrainer([1.0] * 20, early_stopping_patience=3)
    trainer.train(num_epochs=100)
    assert trainer.validations == 4


# ---------------------------------------------------------------- batch_loader
def _indices(batches):
    return [X[:, 0].astype(int).tolist() for X, _ in batches]


def test_batch_loader_in_order_without_shuffle():
    X = np.arange(10).reshape(-1, 1)
    batches = _indices(utils.batch_loader(X, X, 3, shuffle=False))
    assert batches == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]          # drop_last by default
    batches = _indices(utils.batch_loader(X, X, 3, shuffle=False, drop_last=False))
    assert batches[-1] == [9]


def test_batch_loader_shuffle_is_a_permutation_and_keeps_pairs():
    X = np.arange(100).reshape(-1, 1)
    Y = X * 10
    rng = np.random.default_rng(0)
    seen = []
    for X_batch, Y_batch in utils.batch_loader(X, Y, 7, shuffle=True, drop_last=False, rng=rng):
        np.testing.assert_array_equal(Y_batch, X_batch * 10)
        seen.extend(X_batch[:, 0].tolist())
    assert sorted(seen) == list(range(100)) and seen != list(range(100))


def test_batch_loader_new_order_each_epoch():
    X = np.arange(64).reshape(-1, 1)
    rng = np.random.default_rng(0)
    epoch1 = _indices(utils.batch_loader(X, X, 8, shuffle=True, rng=rng))
    epoch2 = _indices(utils.batch_loader(X, X, 8, shuffle=True, rng=rng))
    assert epoch1 != epoch2, \
        "utils.batch_loader must draw a new order from rng in every epoch, not reuse one"
    assert sorted(sum(epoch1, [])) == sorted(sum(epoch2, [])) == list(range(64))


def test_batch_loader_rejects_different_lengths():
    with pytest.raises(ValueError, match="same number of rows, got 10 and 9"):
        list(utils.batch_loader(np.zeros((10, 2)), np.zeros((9, 1)), 2))


def test_trainer_rejects_bad_settings():
    X = np.zeros((10, 1))
    with pytest.raises(ValueError, match=r"batch_size \(11\) is larger than the training set"):
        BaseTrainer(StepModel(), 0.1, 11, False, X, X, X, X)
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0, got 0"):
        BaseTrainer(StepModel(), 0, 2, False, X, X, X, X)
