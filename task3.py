"""Task 3: softmax regression on all ten MNIST digits with mini-batch gradient
descent, shuffling and early stopping.

Writes figures/task3b_loss.png, figures/task3c_accuracy.png and results/task3.json.
"""
import json
import zipfile

import numpy as np

import utils
from task2a import pre_process_images
from task3a import SoftmaxModel, cross_entropy_loss, one_hot_encode
from trainer import BaseTrainer, print_summary

# Hyperparameters of tasks 3 and 4 (as given in the assignment)
HYPERPARAMETERS = dict(learning_rate=0.01, batch_size=128, num_epochs=500,
                       early_stopping_patience=10, seed=0, shuffle=True)


def multiclass_accuracy(targets: np.ndarray, outputs: np.ndarray) -> float:
    """The accuracy rule of task 3: the fraction of rows whose largest output is
    the target class. targets: one-hot [N, K]; outputs: probabilities [N, K]."""
    utils.check_same_shape(targets, outputs)
    utils.check_one_hot(targets)
    utils.check_probabilities(outputs)
    return float(np.mean(outputs.argmax(axis=1) == targets.argmax(axis=1)))


def calculate_accuracy(X: np.ndarray, targets: np.ndarray, model: SoftmaxModel) -> float:
    """Multi-class accuracy of model on X [N, 785] with one-hot targets [N, 10]."""
    return multiclass_accuracy(targets, model.forward(X))


class SoftmaxTrainer(BaseTrainer):
    """Mini-batch gradient descent for SoftmaxModel (one-hot targets [N, 10])."""

    def check_targets(self, Y: np.ndarray, name: str) -> None:
        """One-hot targets: one 1 per row, zeros elsewhere."""
        utils.check_one_hot(Y, name)

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray) -> float:
        """Forward, backward (with the L2 term) and one gradient descent update.

        X_batch: [batch size, 785], Y_batch: one-hot [batch size, 10].
        Returns the batch cross-entropy (without the L2 term) at the weights
        before the update.
        """
        outputs = self.model.forward(X_batch)
        self.model.backward(X_batch, outputs, Y_batch)
        self.model.w -= self.learning_rate * self.model.grad
        self.model.zero_grad()
        return cross_entropy_loss(Y_batch, outputs)

    def validation_step(self):
        """Loss and accuracy on the whole validation set and accuracy on the whole
        training set, with one forward pass over each.

        Returns (validation loss, train accuracy, validation accuracy).
        """
        loss_val, accuracy_val = self.evaluate(self.X_val, self.Y_val)
        # The training accuracy decides nothing, so training goes on while it is
        # computed on a copy of the current weights (see BaseTrainer.in_background).
        accuracy_train = self.in_background(calculate_accuracy, self.X_train, self.Y_train)
        return loss_val, accuracy_train, accuracy_val

    def evaluate(self, X: np.ndarray, Y: np.ndarray):
        """(cross-entropy, accuracy) on a whole set X [N, 785], Y [N, 10]."""
        outputs = self.model.forward(X)
        return cross_entropy_loss(Y, outputs), multiclass_accuracy(Y, outputs)


def load_data():
    """The full MNIST split, pre-processed and one-hot encoded:
    X_train [20000, 785], Y_train [20000, 10], X_val [10000, 785], Y_val [10000, 10]."""
    X_train, Y_train, X_val, Y_val = utils.load_full_mnist()
    return (pre_process_images(X_train), one_hot_encode(Y_train, 10),
            pre_process_images(X_val), one_hot_encode(Y_val, 10))


def train_softmax(X_train, Y_train, X_val, Y_val, l2_reg_lambda: float,
                  hyperparameters: dict = HYPERPARAMETERS, progress_position: int = 0):
    """Train a fresh SoftmaxModel with the given L2 strength (the data as for
    SoftmaxTrainer). Returns (w [785, 10], summary dict, train_history, val_history)."""
    hp = hyperparameters
    model = SoftmaxModel(l2_reg_lambda)
    trainer = SoftmaxTrainer(model, hp["learning_rate"], hp["batch_size"], hp["shuffle"],
                             X_train, Y_train, X_val, Y_val,
                             early_stopping_patience=hp["early_stopping_patience"],
                             seed=hp["seed"], progress_label=f"softmax, lambda {l2_reg_lambda:g}",
                             progress_position=progress_position)
    train_history, val_history = trainer.train(hp["num_epochs"])
    summary = dict(trainer.summary(), l2_reg_lambda=float(l2_reg_lambda))
    return model.w, summary, train_history, val_history


# The files whose code computes a softmax run: a saved run is reused only if these,
# the settings, the data and the libraries are the same (utils.fingerprint).
RUN_SOURCES = ("task2a.py", "task3a.py", "task3.py", "trainer.py", "utils.py")


def save_run(path, hyperparameters: dict, w, run: dict, val_history: dict) -> None:
    """Save a finished run (weights, summary, validation history) with its fingerprint,
    atomically, so task 4 can reuse it instead of training the same model again."""
    with utils.atomic_file(path, "wb") as file:
        np.savez(file, fingerprint=utils.fingerprint(hyperparameters, RUN_SOURCES), w=w,
                 run=json.dumps(run), val_history=json.dumps(
                     {kind: list(h.items()) for kind, h in val_history.items()}))


def load_run(path, hyperparameters: dict, X_train, Y_train, X_val, Y_val):
    """The run saved by save_run, if it is the one train_softmax would compute now:
    (w, summary, val_history), else None. Checked twice: the fingerprint must match,
    and the saved weights must reproduce the saved validation loss and accuracy."""
    try:
        with np.load(path) as saved:
            if str(saved["fingerprint"]) != utils.fingerprint(hyperparameters, RUN_SOURCES):
                return None
            w, run = saved["w"], json.loads(str(saved["run"]))
            val_history = {kind: {int(step): value for step, value in pairs}
                           for kind, pairs in json.loads(str(saved["val_history"])).items()}
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile):
        return None  # missing, truncated or foreign: not a run to reuse
    if w.shape != (X_train.shape[1], Y_train.shape[1]) or w.dtype != np.float64:
        return None
    model = SoftmaxModel(hyperparameters["l2_reg_lambda"])
    model.w = w
    outputs = model.forward(X_val)  # as SoftmaxTrainer.evaluate computes them
    val_loss = cross_entropy_loss(Y_val, outputs)
    val_accuracy = multiclass_accuracy(Y_val, outputs)
    if (val_loss, val_accuracy) != (run["final_val_loss"], run["final_val_accuracy"]):
        return None
    return w, run, val_history


def main(argv=None):
    """Tasks 3b-3d: train softmax regression; write figures and results."""
    args = utils.script_args(__doc__.splitlines()[0], argv)
    results_path = args.results_dir / "task3.json"
    # No results file while the figures are being rewritten: an interrupted run leaves
    # none behind, so neither make nor the report can pair old numbers with new figures.
    results_path.unlink(missing_ok=True)
    hyperparameters = dict(HYPERPARAMETERS, l2_reg_lambda=0.0)
    if args.max_epochs:  # test-only: a shorter run
        hyperparameters["num_epochs"] = args.max_epochs

    X_train, Y_train, X_val, Y_val = load_data()
    w, run, train_history, val_history = train_softmax(
        X_train, Y_train, X_val, Y_val, hyperparameters["l2_reg_lambda"], hyperparameters)
    print_summary("softmax", run)
    save_run(args.results_dir / "task3_run.npz", hyperparameters, w, run, val_history)

    # Tasks 3b and 3c: loss and accuracy
    loss_path, accuracy_path = utils.plot_run(
        train_history, val_history, run["best_step"], run["steps_per_epoch"],
        ("Task 3b: softmax regression, 10 digits", "Task 3c: softmax regression, 10 digits"),
        loss_ylim=(0.2, 0.6), accuracy_ylim=(0.85, 0.95),
        loss_path=args.figures_dir / "task3b_loss.png",
        accuracy_path=args.figures_dir / "task3c_accuracy.png")

    results = dict(
        hyperparameters=hyperparameters,
        shapes=utils.split_shapes(X_train, Y_train, X_val, Y_val),
        run=run,
        train_val_accuracy_gap=run["final_train_accuracy"] - run["final_val_accuracy"],
        train_val_loss_gap=run["final_val_loss"] - run["final_train_loss"],
        figures=utils.figure_record({"task3b": loss_path, "task3c": accuracy_path}),
    )
    utils.write_json(results_path, results)
    utils.show_or_close(args.show)
    return results


if __name__ == "__main__":
    main()
