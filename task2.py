"""Task 2: logistic regression (digit 2 vs 3) with mini-batch gradient descent.

Trains without shuffling (tasks 2b-2d) and with shuffling (task 2e), both with
early stopping, prints the final numbers and writes figures/task2*.png and
results/task2.json.
"""
import matplotlib.pyplot as plt
import numpy as np

import utils
from task2a import BinaryModel, cross_entropy_loss, pre_process_images
from trainer import BaseTrainer, print_summary


def binary_accuracy(targets: np.ndarray, outputs: np.ndarray) -> float:
    """The accuracy rule of task 2: the fraction of rows where (output >= 0.5)
    equals the target. targets: [N, 1] in {0, 1}; outputs: [N, 1] probabilities."""
    utils.check_same_shape(targets, outputs)
    utils.check_binary_targets(targets)
    utils.check_probabilities(outputs)
    return float(np.mean((outputs >= 0.5) == (targets == 1)))


def calculate_accuracy(X: np.ndarray, targets: np.ndarray, model: BinaryModel) -> float:
    """Binary classification accuracy of model on X [N, 785] with targets [N, 1]."""
    return binary_accuracy(targets, model.forward(X))


class LogisticTrainer(BaseTrainer):
    """Mini-batch gradient descent for BinaryModel (targets [N, 1] in {0, 1})."""

    def check_targets(self, Y: np.ndarray, name: str) -> None:
        """Binary targets: every entry 0 or 1."""
        utils.check_binary_targets(Y, name)

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray) -> float:
        """Forward, backward and one gradient descent update on a batch.

        X_batch: [batch size, 785], Y_batch: [batch size, 1].
        Returns the batch loss at the weights before the update.
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
        """(loss, accuracy) on a whole set X [N, 785], Y [N, 1], one forward pass."""
        outputs = self.model.forward(X)
        return cross_entropy_loss(Y, outputs), binary_accuracy(Y, outputs)


def train_logistic(X_train, Y_train, X_val, Y_val, shuffle_dataset: bool, seed: int,
                   hyperparameters: dict, num_epochs: int = None, progress_position: int = 0):
    """Train a fresh BinaryModel (the data as for LogisticTrainer).

    num_epochs overrides hyperparameters["num_epochs"]; hyperparameters
    ["early_stopping_patience"] None trains all epochs. Returns
    (summary dict, train_history, val_history).
    """
    hp = hyperparameters
    trainer = LogisticTrainer(
        BinaryModel(), hp["learning_rate"], hp["batch_size"], shuffle_dataset,
        X_train, Y_train, X_val, Y_val, early_stopping_patience=hp["early_stopping_patience"],
        seed=seed, progress_label=f"task 2, shuffle={shuffle_dataset}, seed {seed}",
        progress_position=progress_position)
    train_history, val_history = trainer.train(num_epochs or hp["num_epochs"])
    return trainer.summary(), train_history, val_history


def mean_abs_change(history: dict, steps) -> float:
    """Mean |difference| between consecutive values of a {step: value} history,
    over the given steps (in order): how spiky the curve is there."""
    values = np.array([history[step] for step in steps], dtype=np.float64)
    return float(np.mean(np.abs(np.diff(values))))


def main(argv=None):
    """Tasks 2b-2e: train without and with shuffling; write figures and results."""
    args = utils.script_args(__doc__.splitlines()[0], argv)
    results_path = args.results_dir / "task2.json"
    # No results file while the figures are being rewritten: an interrupted run leaves
    # none behind, so neither make nor the report can pair old numbers with new figures.
    results_path.unlink(missing_ok=True)
    # Hyperparameters (as given in the assignment)
    hyperparameters = dict(num_epochs=500, learning_rate=0.05, batch_size=128,
                           early_stopping_patience=10, seed=0)
    num_shuffle_seeds = 10  # task 2e: shuffled runs with seeds seed..seed+9
    warm_up_epochs = 2      # task 2e: spikes are measured after these epochs
    category1, category2 = 2, 3
    if args.max_epochs:  # test-only: shorter runs
        hyperparameters["num_epochs"] = args.max_epochs

    X_train, Y_train, X_val, Y_val = utils.load_binary_dataset(category1, category2)
    X_train, X_val = pre_process_images(X_train), pre_process_images(X_val)
    data = (X_train, Y_train, X_val, Y_val)
    seeds = list(range(hyperparameters["seed"], hyperparameters["seed"] + num_shuffle_seeds))

    # Tasks 2b-2d without shuffling, and the same with shuffling for each seed.
    jobs = [dict(shuffle_dataset=False, seed=hyperparameters["seed"])]
    jobs += [dict(shuffle_dataset=True, seed=seed) for seed in seeds]
    runs = utils.run_parallel(train_logistic,
                              [dict(job, hyperparameters=hyperparameters) for job in jobs],
                              shared=data, num_workers=args.workers)
    (run, train_history, val_history), (run_s, _, _) = runs[0], runs[1]
    print_summary("no shuffle", run)
    print_summary(f"shuffle, seed {seeds[0]}", run_s)
    seed_study = {"seeds": seeds,
                  "stop_epochs": [r[0]["stop_epoch"] for r in runs[1:]],
                  "best_steps": [r[0]["best_step"] for r in runs[1:]],
                  "final_val_accuracy": [r[0]["final_val_accuracy"] for r in runs[1:]]}
    print(f"[shuffle] Early-stop epoch index over seeds {seeds}: {seed_study['stop_epochs']} "
          f"(median {np.median(seed_study['stop_epochs']):g})")

    # Task 2e: how spiky is the validation accuracy? Each shuffled run is compared
    # with the run without shuffling over the steps both have, after the warm-up.
    steps_per_epoch = run["steps_per_epoch"]
    warm_up_step = warm_up_epochs * steps_per_epoch
    pairs = []
    for seed, (run_seed, _, val_seed) in zip(seeds, runs[1:]):
        steps = [step for step in val_seed["accuracy"]
                 if warm_up_step <= step <= min(run["stop_step"], run_seed["stop_step"])]
        if len(steps) < 2:
            continue  # a run too short to measure (only with a test's --max-epochs)
        pairs.append(dict(seed=seed, first_step=steps[0], last_step=steps[-1],
                          num_validations=len(steps),
                          no_shuffle=mean_abs_change(val_history["accuracy"], steps),
                          shuffle=mean_abs_change(val_seed["accuracy"], steps)))
    ratios = [pair["no_shuffle"] / pair["shuffle"] for pair in pairs if pair["shuffle"] > 0]
    # Where the run without shuffling drops, and which fixed batch came just before.
    steps = [step for step in val_history["accuracy"] if step >= warm_up_step]
    values = np.array([val_history["accuracy"][step] for step in steps])
    order = np.argsort(values[:-1] - values[1:])[::-1][:5]  # the largest drops
    twos = Y_train[:steps_per_epoch * hyperparameters["batch_size"], 0].reshape(
        steps_per_epoch, hyperparameters["batch_size"]).mean(axis=1)  # share of 2s per batch
    drops = [dict(step=steps[i + 1], drop=float(values[i] - values[i + 1]),
                  batch_index=steps[i + 1] % steps_per_epoch,
                  share_of_twos=float(twos[steps[i + 1] % steps_per_epoch])) for i in order]
    spike_study = dict(
        warm_up_epochs=warm_up_epochs, validation_every=max(1, steps_per_epoch // 5),
        pairs=pairs, ratio_median=float(np.median(ratios)) if ratios else None,
        ratio_min=min(ratios, default=None), ratio_max=max(ratios, default=None),
        seeds_less_spiky=int(sum(r > 1 for r in ratios)),
        largest_drops_no_shuffle=drops, share_of_twos_overall=float(Y_train.mean()),
        share_of_twos_batches=[float(twos.min()), float(twos.max())])
    if ratios:
        print(f"[2e] mean |change| of the validation accuracy after epoch {warm_up_epochs}, "
              f"no shuffle / shuffle over the same steps: median {np.median(ratios):.2f} over "
              f"{len(ratios)} seeds ({min(ratios):.2f} to {max(ratios):.2f})")
    # For the figure: the shuffled run with the first seed, for as many epochs as
    # the run without shuffling and without early stopping, so both span the same steps.
    full_length = dict(hyperparameters, early_stopping_patience=None)
    _, _, val_history_s = train_logistic(*data, shuffle_dataset=True, seed=seeds[0],
                                         hyperparameters=full_length,
                                         num_epochs=run["epochs_trained"])

    # Tasks 2b and 2c: loss and accuracy of the run without shuffling
    loss_path, accuracy_path = utils.plot_run(
        train_history, val_history, run["best_step"], steps_per_epoch,
        ("Task 2b: logistic regression (2 vs 3), no shuffling",
         "Task 2c: logistic regression (2 vs 3), no shuffling"),
        loss_ylim=(0, 0.2), accuracy_ylim=(0.93, 0.99),
        loss_path=args.figures_dir / "task2b_loss.png",
        accuracy_path=args.figures_dir / "task2c_accuracy.png")
    figures = {"task2b": loss_path, "task2c": accuracy_path}

    # Task 2e: validation accuracy with and without shuffling, the same steps
    fig, ax = plt.subplots(figsize=(10, 4.6))
    utils.plot_loss(val_history["accuracy"], "without shuffling", ax=ax, color="tab:red")
    utils.plot_loss(val_history_s["accuracy"], f"with shuffling (seed {seeds[0]})", ax=ax,
                    color="tab:blue")
    ax.axvspan(0, warm_up_step, color="grey", alpha=0.12, label="warm-up (not measured)")
    ax.set(ylim=(0.93, 0.99), xlabel="Number of gradient steps", ylabel="Validation accuracy",
           title="Task 2e: validation accuracy with and without shuffling")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    figures["task2e"] = utils.save_figure(fig, args.figures_dir / "task2e_shuffle.png")

    results = dict(
        hyperparameters=hyperparameters,
        shapes=utils.split_shapes(X_train, Y_train, X_val, Y_val),
        runs={"no_shuffle": run, "shuffle": run_s},
        shuffle_seed_study=seed_study,
        spike_study=spike_study,
        figures=utils.figure_record(figures),
    )
    utils.write_json(results_path, results)
    utils.show_or_close(args.show)
    return results


if __name__ == "__main__":
    main()
