"""BaseTrainer: the mini-batch gradient descent loop of tasks 2, 3 and 4, with
validation every fifth of an epoch and early stopping."""
import sys

import numpy as np
from tqdm import tqdm

import checks
import utils


class TrainingDiverged(FloatingPointError):
    """The loss or the weights stopped being finite numbers during training."""


class BaseTrainer:
    """Mini-batch gradient descent for a model; subclasses write train_step and
    validation_step for their model and loss."""

    def __init__(self, model, learning_rate: float, batch_size: int, shuffle_dataset: bool,
                 X_train: np.ndarray, Y_train: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray,
                 early_stopping_patience: int = 10, seed: int = 0, progress_label: str = None,
                 progress_position: int = 0) -> None:
        """
        Args:
            model: holds its weights in model.w [I, K]; forward(X) -> [N, K],
                backward(X, outputs, targets) sets model.grad.
            learning_rate: the step size; batch_size: rows per gradient step;
            shuffle_dataset: a new random order of the training set every epoch.
            X_train: [N, I] pre-processed images, Y_train: [N, K] targets;
                X_val: [M, I], Y_val: [M, K]. Checked here, once.
            early_stopping_patience: stop after this many validations in a row
                without a lower validation loss (None: never stop early).
            seed: seeds the shuffling, so a run can be repeated exactly.
            progress_label, progress_position: the progress bar's text and line.
        """
        checks.check_training_data(model, learning_rate, batch_size,
                                   X_train, Y_train, X_val, Y_val)
        if early_stopping_patience is not None:
            checks.check_positive(early_stopping_patience, "early_stopping_patience",
                                  integer=True)
        self.model = model
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.shuffle_dataset = shuffle_dataset
        self.X_train, self.Y_train = X_train, Y_train
        self.X_val, self.Y_val = X_val, Y_val
        self.early_stopping_patience = early_stopping_patience
        self.rng = np.random.default_rng(seed)
        self.progress_label = progress_label or type(self).__name__
        self.progress_position = progress_position
        self.num_steps_per_epoch = X_train.shape[0] // batch_size
        # Where the last train() stopped (global steps count from 0, epochs too)
        self.early_stopped, self.stop_epoch, self.stop_step = False, None, None
        self.best_step, self.num_steps = None, 0

    def validation_step(self):
        """Returns (validation loss, train accuracy, validation accuracy)."""
        raise NotImplementedError

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray) -> float:
        """One gradient descent step on a batch; returns the batch loss."""
        raise NotImplementedError

    def train(self, num_epochs: int):
        """Train for up to num_epochs epochs, validating every fifth of an epoch.

        Training stops early after `early_stopping_patience` validations in a row
        without a lower validation loss. At the end the model gets back the weights of
        the lowest validation loss. Raises TrainingDiverged when the loss or the weights
        overflow (the model then keeps the weights it had at that moment).

        Returns:
            train_history: {"loss": {step: batch loss}, "accuracy": {step: accuracy}}
            val_history: {"loss": {step: loss}, "accuracy": {step: accuracy}}
        """
        checks.check_positive(num_epochs, "num_epochs", integer=True)
        num_steps_per_val = max(1, self.num_steps_per_epoch // 5)
        train_history = dict(loss={}, accuracy={})
        val_history = dict(loss={}, accuracy={})
        best_val_loss, best_w, num_worse = np.inf, self.model.w.copy(), 0
        patience = self.early_stopping_patience or np.inf
        global_step, epoch = 0, 0
        epochs = tqdm(range(num_epochs), self.progress_label, unit="epoch", leave=False,
                      position=self.progress_position, disable=not sys.stderr.isatty())
        try:  # numpy raises on overflow and NaN inside: a diverging run stops at once
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                for epoch in epochs:
                    for X_batch, Y_batch in utils.batch_loader(
                            self.X_train, self.Y_train, self.batch_size,
                            shuffle=self.shuffle_dataset, rng=self.rng):
                        loss = self.train_step(X_batch, Y_batch)
                        train_history["loss"][global_step] = self._finite(loss, "batch loss")
                        if global_step % num_steps_per_val == 0:
                            val_loss, accuracy_train, accuracy_val = self.validation_step()
                            self._finite(np.sum(self.model.w ** 2), "squared norm of w")
                            val_history["loss"][global_step] = self._finite(val_loss,
                                                                            "validation loss")
                            train_history["accuracy"][global_step] = accuracy_train
                            val_history["accuracy"][global_step] = accuracy_val
                            epochs.set_postfix(val_loss=f"{val_loss:.4f}", refresh=False)
                            if val_loss < best_val_loss:
                                best_val_loss, best_w, num_worse = val_loss, self.model.w.copy(), 0
                                self.best_step = global_step
                            else:
                                num_worse += 1
                        global_step += 1
                        if num_worse >= patience:
                            break
                    if num_worse >= patience:
                        break
        except FloatingPointError as error:
            raise TrainingDiverged(
                f"Training diverged at global step {global_step} (epoch index {epoch}): "
                f"{error}, with learning rate {self.learning_rate:g}. Try a smaller learning "
                f"rate, for example {self.learning_rate / 10:g}; if that diverges too, look "
                f"for a log(0) or a division by zero in forward or cross_entropy_loss.") from None
        finally:
            epochs.close()
        self.early_stopped = num_worse >= patience
        self.stop_epoch, self.stop_step, self.num_steps = epoch, global_step - 1, global_step
        self.model.w = best_w
        return train_history, val_history

    @staticmethod
    def _finite(value: float, what: str) -> float:
        """value, if it is a finite number; else raise FloatingPointError."""
        if not np.isfinite(value):
            raise FloatingPointError(f"the {what} became {value}")
        return value
