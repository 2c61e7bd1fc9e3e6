"""BaseTrainer: the mini-batch gradient descent loop shared by tasks 2, 3 and 4,
with validation every 20% of an epoch and early stopping."""
import sys

import numpy as np
from tqdm import tqdm

import utils


class BaseTrainer:
    """Trains `model` (which holds its weights in `model.w`) with mini-batch SGD.

    Subclasses implement `train_step` and `validation_step`.
    """

    def __init__(self, model, learning_rate: float, batch_size: int, shuffle_dataset: bool,
                 X_train: np.ndarray, Y_train: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray,
                 early_stopping_patience: int = 10, seed: int = 0) -> None:
        """
        Args:
            model: has `w` [I, K], forward(X) -> [N, K], backward(X, outputs, targets).
            X_train: [N, I] pre-processed images, Y_train: [N, K] targets.
            X_val: [M, I], Y_val: [M, K].
            early_stopping_patience: stop after this many validations in a row
                without a lower validation loss.
            seed: seeds the shuffling, so a run can be repeated exactly.
        """
        utils.check_positive(learning_rate, "learning_rate")
        utils.check_positive(batch_size, "batch_size", integer=True)
        utils.check_positive(early_stopping_patience, "early_stopping_patience", integer=True)
        num_inputs, num_outputs = model.w.shape
        for x_name, X, y_name, Y in (("X_train", X_train, "Y_train", Y_train),
                                     ("X_val", X_val, "Y_val", Y_val)):
            utils.check_matrix(X, num_inputs, x_name)
            utils.check_matrix(Y, num_outputs, y_name)
            utils.check_same_length(X, Y, x_name, y_name)
        if batch_size > len(X_train):
            raise ValueError(f"batch_size ({batch_size}) is larger than the training set "
                             f"({len(X_train)} rows): no full batch can be drawn")
        self.model = model
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.shuffle_dataset = shuffle_dataset
        self.X_train, self.Y_train = X_train, Y_train
        self.X_val, self.Y_val = X_val, Y_val
        self.early_stopping_patience = early_stopping_patience
        self.rng = np.random.default_rng(seed)
        # Filled in by train():
        self.early_stopped = False
        self.stop_epoch = None   # 0-based index of the epoch in which training ended
        self.stop_step = None    # global step of the last gradient step
        self.best_step = None    # global step with the lowest validation loss
        self.best_val_loss = np.inf
        self.num_steps = 0

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray) -> float:
        """One gradient step on a batch ([B, I], [B, K]); returns the batch loss."""
        raise NotImplementedError

    def validation_step(self):
        """Returns (validation loss, train accuracy, validation accuracy)."""
        raise NotImplementedError

    def train(self, num_epochs: int):
        """Train for up to num_epochs epochs, validating every 20% of an epoch.

        Training stops early once the validation loss has not improved for
        `early_stopping_patience` validations in a row; the model then holds the
        weights of the lowest validation loss seen.

        Returns:
            train_history: {"loss": {step: batch loss}, "accuracy": {step: train accuracy}}
            val_history: {"loss": {step: val loss}, "accuracy": {step: val accuracy}}
        """
        utils.check_positive(num_epochs, "num_epochs", integer=True)
        num_batches_per_epoch = len(self.X_train) // self.batch_size
        num_steps_per_val = max(1, num_batches_per_epoch // 5)
        train_history = dict(loss={}, accuracy={})
        val_history = dict(loss={}, accuracy={})
        best_w = self.model.w.copy()
        self.best_val_loss, self.best_step = np.inf, None
        self.early_stopped = False
        since_best = 0
        global_step = 0
        epochs = tqdm(range(num_epochs), desc=type(self).__name__, unit="epoch",
                      disable=not sys.stderr.isatty(), leave=False)
        for epoch in epochs:
            self.stop_epoch = epoch
            for X_batch, Y_batch in utils.batch_loader(
                    self.X_train, self.Y_train, self.batch_size,
                    shuffle=self.shuffle_dataset, drop_last=True, rng=self.rng):
                train_history["loss"][global_step] = self.train_step(X_batch, Y_batch)
                if global_step % num_steps_per_val == 0:
                    val_loss, accuracy_train, accuracy_val = self.validation_step()
                    train_history["accuracy"][global_step] = accuracy_train
                    val_history["loss"][global_step] = val_loss
                    val_history["accuracy"][global_step] = accuracy_val
                    if val_loss < self.best_val_loss:
                        self.best_val_loss, self.best_step = val_loss, global_step
                        best_w = self.model.w.copy()
                        since_best = 0
                    else:
                        since_best += 1
                        self.early_stopped = since_best >= self.early_stopping_patience
                global_step += 1
                if self.early_stopped:
                    break
            if self.early_stopped:
                break
            epochs.set_postfix(val_loss=f"{self.best_val_loss:.4f}")
        epochs.close()
        self.stop_step = global_step - 1
        self.num_steps = global_step
        self.model.w = best_w
        return train_history, val_history
