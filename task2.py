"""Task 2: logistic regression (digit 2 vs 3) with mini-batch gradient descent.

Trains without shuffling (tasks 2b-2d) and with shuffling (task 2e), both with
early stopping, prints the final numbers and writes figures/task2*.png and
results/task2.json.
"""
import matplotlib.pyplot as plt
import numpy as np

import utils
from task2a import BinaryModel, cross_entropy_loss, pre_process_images
from trainer import BaseTrainer


def binary_accuracy(targets: np.ndarray, outputs: np.ndarray) -> float:
    """Fraction of rows where (output >= 0.5) equals the target.

    targets: [N, 1] in {0, 1}; outputs: [N, 1] probabilities.
    """
    utils.check_same_shape(targets, outputs)
    return float(np.mean((outputs >= 0.5) == (targets == 1)))


def calculate_accuracy(X: np.ndarray, targets: np.ndarray, model: BinaryModel) -> float:
    """Binary classification accuracy of model on X [N, 785] with targets [N, 1]."""
    return binary_accuracy(targets, model.forward(X))


class LogisticTrainer(BaseTrainer):
    """Mini-batch gradient descent for BinaryModel; task 3 reuses it with
    another loss and accuracy."""

    loss_fn = staticmethod(cross_entropy_loss)   # (targets, outputs) -> float
    accuracy_fn = staticmethod(binary_accuracy)  # (targets, outputs) -> float

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray) -> float:
        """Forward, backward and one gradient descent update on a batch.

        X_batch: [batch size, 785], Y_batch: [batch size, num outputs].
        Returns the batch loss (computed before the update).
        """
        outputs = self.model.forward(X_batch)
        self.model.backward(X_batch, outputs, Y_batch)
        self.model.w -= self.learning_rate * self.model.grad
        self.model.zero_grad()
        return self.loss_fn(Y_batch, outputs)

    def validation_step(self):
        """Loss and accuracy on the whole validation set and accuracy on the
        whole training set, with one forward pass over each.

        Returns (validation loss, train accuracy, validation accuracy).
        """
        outputs_val = self.model.forward(self.X_val)
        accuracy_train = self.accuracy_fn(self.Y_train, self.model.forward(self.X_train))
        return (self.loss_fn(self.Y_val, outputs_val), accuracy_train,
                self.accuracy_fn(self.Y_val, outputs_val))

    def summary(self) -> dict:
        """Final losses and accuracies on the whole sets with the kept weights,
        where training stopped, and ||w||^2: one results-JSON entry."""
        outputs_train = self.model.forward(self.X_train)
        outputs_val = self.model.forward(self.X_val)
        return dict(
            shuffle=bool(self.shuffle_dataset),
            l2_reg_lambda=float(getattr(self.model, "l2_reg_lambda", 0.0)),
            final_train_loss=self.loss_fn(self.Y_train, outputs_train),
            final_val_loss=self.loss_fn(self.Y_val, outputs_val),
            final_train_accuracy=self.accuracy_fn(self.Y_train, outputs_train),
            final_val_accuracy=self.accuracy_fn(self.Y_val, outputs_val),
            early_stopped=bool(self.early_stopped),
            stop_epoch=int(self.stop_epoch),
            epochs_trained=int(self.stop_epoch) + 1,
            stop_step=int(self.stop_step),
            best_step=int(self.best_step),
            num_steps=int(self.num_steps),
            weight_norm_sq=float(np.sum(self.model.w ** 2)),
        )


def print_summary(name: str, run: dict) -> None:
    """Print where a run stopped and its final numbers."""
    how = "Early stopping kicked in" if run["early_stopped"] else "Training ran to the end"
    print(f"[{name}] {how} in epoch index {run['stop_epoch']} (epoch {run['epochs_trained']}),"
          f" global step {run['stop_step']}; lowest validation loss at step {run['best_step']}")
    print(f"[{name}] Final train loss: {run['final_train_loss']:.6f}, "
          f"validation loss: {run['final_val_loss']:.6f}")
    print(f"[{name}] Train accuracy: {run['final_train_accuracy']:.4f}, "
          f"validation accuracy: {run['final_val_accuracy']:.4f}")


def mean_abs_change(history: dict, num_points: int) -> float:
    """Mean |difference| between consecutive values of a {step: value} history,
    over its first num_points entries: how spiky the curve is."""
    values = np.fromiter(history.values(), dtype=np.float64)[:num_points]
    return float(np.mean(np.abs(np.diff(values))))


def main(argv=None):
    """Tasks 2b-2e: train without and with shuffling; write figures and results."""
    args = utils.script_args(__doc__.splitlines()[0], argv)
    # Hyperparameters (as given in the assignment)
    num_epochs = 500
    learning_rate = 0.05
    batch_size = 128
    early_stopping_patience = 10
    seed = 0
    num_shuffle_seeds = 10  # task 2e: shuffled runs with seeds seed..seed+9
    category1, category2 = 2, 3

    X_train, Y_train, X_val, Y_val = utils.load_binary_dataset(category1, category2)
    X_train, X_val = pre_process_images(X_train), pre_process_images(X_val)
    steps_per_epoch = len(X_train) // batch_size  # training curves: one point per epoch

    def train(shuffle_dataset: bool, seed: int = seed):
        """A fresh BinaryModel trained on the data above -> (summary, histories)."""
        model = BinaryModel()
        trainer = LogisticTrainer(model, learning_rate, batch_size, shuffle_dataset,
                                  X_train, Y_train, X_val, Y_val,
                                  early_stopping_patience=early_stopping_patience, seed=seed)
        train_history, val_history = trainer.train(num_epochs)
        return trainer.summary(), train_history, val_history

    run, train_history, val_history = train(shuffle_dataset=False)
    print_summary("no shuffle", run)
    run_s, train_history_s, val_history_s = train(shuffle_dataset=True)
    print_summary("shuffle", run_s)
    # With shuffling, where early stopping kicks in depends on the random order:
    # repeat the shuffled run with other seeds to show the spread.
    seed_study = {"seeds": [], "stop_epochs": [], "final_val_accuracy": []}
    for other_seed in range(seed, seed + num_shuffle_seeds):
        other = run_s if other_seed == seed else train(True, other_seed)[0]
        seed_study["seeds"].append(other_seed)
        seed_study["stop_epochs"].append(other["stop_epoch"])
        seed_study["final_val_accuracy"].append(other["final_val_accuracy"])
    print(f"[shuffle] Early-stop epoch index over seeds {seed_study['seeds']}: "
          f"{seed_study['stop_epochs']} (median {np.median(seed_study['stop_epochs']):g})")

    # Tasks 2b and 2c: loss and accuracy of the run without shuffling
    loss_path, accuracy_path = utils.plot_run(
        train_history, val_history, run["best_step"], steps_per_epoch,
        ("Task 2b: logistic regression (2 vs 3), no shuffling",
         "Task 2c: logistic regression (2 vs 3), no shuffling"),
        loss_ylim=(0, 0.2), accuracy_ylim=(0.93, 0.99),
        loss_path=args.figures_dir / "task2b_loss.png",
        accuracy_path=args.figures_dir / "task2c_accuracy.png")
    figures = {"task2b": loss_path, "task2c": accuracy_path}

    # Task 2e: with and without shuffling
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(10, 10), sharex=True)
    utils.plot_loss(train_history["loss"], "Training loss, no shuffle",
                    npoints_to_average=steps_per_epoch, plot_variance=False, ax=ax_loss)
    utils.plot_loss(train_history_s["loss"], "Training loss, shuffle",
                    npoints_to_average=steps_per_epoch, plot_variance=False, ax=ax_loss)
    ax_loss.set(ylim=(0, 0.2), ylabel="Cross-entropy loss",
                title="Task 2e: training loss with and without shuffling")
    utils.plot_loss(val_history["accuracy"], "Validation accuracy, no shuffle", ax=ax_acc)
    utils.plot_loss(val_history_s["accuracy"], "Validation accuracy, shuffle", ax=ax_acc)
    ax_acc.set(ylim=(0.93, 0.99), xlabel="Number of gradient steps", ylabel="Accuracy",
               title="Task 2e: validation accuracy with and without shuffling")
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    figures["task2e"] = utils.save_figure(fig, args.figures_dir / "task2e_shuffle.png")

    shared = min(len(val_history["accuracy"]), len(val_history_s["accuracy"]))
    results = dict(
        hyperparameters=dict(learning_rate=learning_rate, batch_size=batch_size,
                             num_epochs=num_epochs,
                             early_stopping_patience=early_stopping_patience, seed=seed),
        shapes=utils.split_shapes(X_train, Y_train, X_val, Y_val),
        runs={"no_shuffle": run, "shuffle": run_s},
        shuffle_seed_study=seed_study,
        val_accuracy_jitter={"no_shuffle": mean_abs_change(val_history["accuracy"], shared),
                             "shuffle": mean_abs_change(val_history_s["accuracy"], shared)},
        figures={k: str(v) for k, v in figures.items()},
    )
    utils.write_json(args.results_dir / "task2.json", results)
    utils.show_or_close(args.show)
    return results


if __name__ == "__main__":
    main()
