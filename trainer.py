"""BaseTrainer: the mini-batch gradient descent loop shared by tasks 2, 3 and 4,
with validation every 20% of an epoch, early stopping, and the summary of a run."""
import copy
import sys
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from tqdm import tqdm

import utils


class TrainingDiverged(FloatingPointError):
    """The loss or the weights became NaN or infinite during training."""


class BaseTrainer:
    """Trains `model` (which holds its weights in `model.w`) with mini-batch SGD.

    Subclasses implement `train_step`, `validation_step` and `evaluate`, and may
    check their targets in `check_targets`.

    BLAS runs on one thread (set when utils is imported): the rounding of a product
    depends on how many threads share it, and one thread gives the same numbers on
    every machine. Independent runs go to parallel processes instead
    (utils.run_parallel).
    """

    def __init__(self, model, learning_rate: float, batch_size: int, shuffle_dataset: bool,
                 X_train: np.ndarray, Y_train: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray,
                 early_stopping_patience: int = 10, seed: int = 0,
                 progress_label: str = None, progress_position: int = 0) -> None:
        """
        Args:
            model: has `w` [I, K], forward(X) -> [N, K], backward(X, outputs, targets).
            X_train: [N, I] pre-processed images, Y_train: [N, K] targets.
            X_val: [M, I], Y_val: [M, K].
            early_stopping_patience: stop after this many validations in a row
                without a lower validation loss (None: train every epoch, but still
                keep the weights of the lowest validation loss).
            seed: seeds the shuffling, so a run can be repeated exactly.
            progress_label, progress_position: the progress bar's text and line
                (parallel runs each get their own line).
        The data are checked here, once: finite inputs and valid targets.
        """
        utils.check_positive(learning_rate, "learning_rate")
        if early_stopping_patience is not None:
            utils.check_positive(early_stopping_patience, "early_stopping_patience",
                                 integer=True)
        num_inputs, num_outputs = model.w.shape
        for x_name, X, y_name, Y in (("X_train", X_train, "Y_train", Y_train),
                                     ("X_val", X_val, "Y_val", Y_val)):
            utils.check_matrix(X, num_inputs, x_name)
            utils.check_matrix(Y, num_outputs, y_name)
            utils.check_same_length(X, Y, x_name, y_name)
            utils.check_finite(X, x_name)
            self.check_targets(Y, y_name)
        self.num_steps_per_epoch = utils.num_batches(len(X_train), batch_size, drop_last=True)
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
        # Filled in by train():
        self.early_stopped = False
        self.stop_epoch = None   # 0-based index of the epoch in which training ended
        self.stop_step = None    # global step of the last gradient step
        self.best_step = None    # global step with the lowest validation loss
        self.best_val_loss = np.inf
        self.num_steps = 0
        self._background = None  # inside train(): the thread for in_background()

    def check_targets(self, Y: np.ndarray, name: str) -> None:
        """Raise ValueError for targets the loss cannot use (default: any non-finite)."""
        utils.check_finite(Y, name)

    def in_background(self, function, X: np.ndarray, Y: np.ndarray):
        """function(X, Y, model) -> float, for a number that decides nothing while
        training runs (the accuracy on the whole training set). Inside train() it is
        computed on a copy of the current model in a background thread while the
        training steps go on, and train() collects it; the numbers are the same as
        when computed at once, which is what happens outside train()."""
        if self._background is None:
            return function(X, Y, self.model)
        snapshot = copy.copy(self.model)
        snapshot.w = self.model.w.copy()
        return self._background.submit(function, X, Y, snapshot)

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray) -> float:
        """One gradient step on a batch ([B, I], [B, K]); returns the batch loss
        at the weights before the step."""
        raise NotImplementedError

    def validation_step(self):
        """Returns (validation loss, train accuracy, validation accuracy), each on
        the whole set."""
        raise NotImplementedError

    def evaluate(self, X: np.ndarray, Y: np.ndarray):
        """Returns (loss, accuracy) of the model on a whole set X [N, I], Y [N, K]."""
        raise NotImplementedError

    def train(self, num_epochs: int):
        """Train for up to num_epochs epochs, validating every 20% of an epoch.

        Training stops early once the validation loss has not improved for
        `early_stopping_patience` validations in a row; the model then holds the
        weights of the lowest validation loss seen. Raises TrainingDiverged if the
        loss or the weights stop being finite.

        Returns:
            train_history: {"loss": {step: batch loss}, "accuracy": {step: train accuracy}}
            val_history: {"loss": {step: val loss}, "accuracy": {step: val accuracy}}
        """
        utils.check_positive(num_epochs, "num_epochs", integer=True)
        num_steps_per_val = max(1, self.num_steps_per_epoch // 5)
        train_history = dict(loss={}, accuracy={})
        val_history = dict(loss={}, accuracy={})
        best_w = self.model.w.copy()
        self.best_val_loss, self.best_step = np.inf, None
        self.early_stopped = False
        since_best = 0
        global_step = 0
        epochs = tqdm(range(num_epochs), desc=self.progress_label, unit="epoch",
                      position=self.progress_position, disable=not sys.stderr.isatty(),
                      leave=False, dynamic_ncols=True)
        epoch = 0
        self._background = ThreadPoolExecutor(1, thread_name_prefix="train-accuracy")
        try:
            with utils.values_checked_once(), \
                    np.errstate(over="raise", invalid="raise", divide="raise"):
                for epoch in epochs:
                    self.stop_epoch = epoch
                    for X_batch, Y_batch in utils.batch_loader(
                            self.X_train, self.Y_train, self.batch_size,
                            shuffle=self.shuffle_dataset, drop_last=True, rng=self.rng):
                        loss = self.train_step(X_batch, Y_batch)
                        self._check_finite(loss, "batch loss", global_step, epoch)
                        train_history["loss"][global_step] = loss
                        if global_step % num_steps_per_val == 0:
                            val_loss, accuracy_train, accuracy_val = self.validation_step()
                            self._check_finite(val_loss, "validation loss", global_step, epoch)
                            self._check_weights(global_step, epoch)
                            train_history["accuracy"][global_step] = accuracy_train
                            val_history["loss"][global_step] = val_loss
                            val_history["accuracy"][global_step] = accuracy_val
                            if val_loss < self.best_val_loss:
                                self.best_val_loss, self.best_step = val_loss, global_step
                                best_w = self.model.w.copy()
                                since_best = 0
                            else:
                                since_best += 1
                                patience = self.early_stopping_patience
                                self.early_stopped = (patience is not None
                                                      and since_best >= patience)
                            epochs.set_postfix(val_loss=f"{val_loss:.4f}",
                                               best=f"{self.best_val_loss:.4f}", refresh=False)
                        global_step += 1
                        if self.early_stopped:
                            break
                    if self.early_stopped:
                        break
                train_history["accuracy"] = {
                    step: value.result() if isinstance(value, Future) else value
                    for step, value in train_history["accuracy"].items()}
        except FloatingPointError as error:  # numpy's overflow or NaN inside a step
            if isinstance(error, TrainingDiverged):
                raise
            raise self._diverged(f"a computation failed ({error})", global_step, epoch) from None
        finally:
            self._background.shutdown(wait=True, cancel_futures=True)
            self._background = None
            epochs.close()
        self.stop_step = global_step - 1
        self.num_steps = global_step
        self.model.w = best_w
        return train_history, val_history

    def _check_finite(self, value: float, what: str, step: int, epoch: int) -> None:
        """Per step, one scalar: stop a run that has diverged. (NaN or infinite
        weights cannot arise unnoticed: numpy raises on overflow inside train().)"""
        if not np.isfinite(value):
            raise self._diverged(f"the {what} became {value}", step, epoch)

    def _check_weights(self, step: int, epoch: int) -> None:
        """At each validation: weights so large that ||w||^2 overflows have diverged."""
        try:
            np.sum(self.model.w ** 2)
        except FloatingPointError:
            largest = float(np.max(np.abs(self.model.w)))
            raise self._diverged(f"the weights grew to {largest:.3g}, so large that ||w||^2 "
                                 "overflows", step, epoch) from None

    def _diverged(self, what: str, step: int, epoch: int) -> TrainingDiverged:
        return TrainingDiverged(
            f"Training diverged at global step {step} (epoch index {epoch}): {what}, with "
            f"learning rate {self.learning_rate:g}. Try a smaller learning rate "
            f"(for example {self.learning_rate / 10:g}), or weaker regularization.")

    def summary(self) -> dict:
        """Where training stopped, the final losses and accuracies on the whole sets
        with the kept weights, and ||w||^2: one entry of a results JSON."""
        if self.stop_step is None:
            raise RuntimeError("summary() needs a finished run: call train() first")
        train_loss, train_accuracy = self.evaluate(self.X_train, self.Y_train)
        val_loss, val_accuracy = self.evaluate(self.X_val, self.Y_val)
        return dict(
            shuffle=bool(self.shuffle_dataset),
            final_train_loss=float(train_loss),
            final_val_loss=float(val_loss),
            final_train_accuracy=float(train_accuracy),
            final_val_accuracy=float(val_accuracy),
            early_stopped=bool(self.early_stopped),
            stop_epoch=int(self.stop_epoch),
            epochs_trained=int(self.stop_epoch) + 1,
            stop_step=int(self.stop_step),
            best_step=int(self.best_step),
            num_steps=int(self.num_steps),
            steps_per_epoch=int(self.num_steps_per_epoch),
            weight_norm_sq=float(np.sum(self.model.w ** 2)),
        )


def print_summary(name: str, run: dict) -> None:
    """Print where a run stopped and its final numbers (a summary() dict)."""
    how = "Early stopping kicked in" if run["early_stopped"] else "Training ran to the end"
    print(f"[{name}] {how} in epoch index {run['stop_epoch']} (epoch {run['epochs_trained']}),"
          f" global step {run['stop_step']}; lowest validation loss at step {run['best_step']}")
    print(f"[{name}] Final train loss: {run['final_train_loss']:.6f}, "
          f"validation loss: {run['final_val_loss']:.6f}")
    print(f"[{name}] Train accuracy: {run['final_train_accuracy']:.4f}, "
          f"validation accuracy: {run['final_val_accuracy']:.4f}")
