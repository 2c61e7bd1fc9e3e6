"""Task 2: logistic regression (digit 2 against digit 3) with mini-batch gradient descent.

Trains without shuffling (tasks 2b-2d) and with shuffling (task 2e, ten seeds), both
with early stopping, and prints the final numbers. Writes figures/task2b_loss.png,
figures/task2c_accuracy.png, figures/task2e_shuffle.png and results/task2.json.
"""
import checks  # noqa: F401 -- first: it names a missing package and how to install it

import math

import matplotlib.pyplot as plt
import numpy as np

import script_tools
import utils
from task2a import BinaryModel, cross_entropy_loss, gradient_approximation_test, \
    pre_process_images
from trainer import BaseTrainer


def calculate_accuracy(X: np.ndarray, targets: np.ndarray, model: BinaryModel) -> float:
    """The share of images the model classifies right: an output of at least 0.5
    predicts target 1.

    Args:
        X: pre-processed images [N, 785]; targets: 0/1 labels [N, 1]; model: a BinaryModel
    Returns:
        the accuracy, a float in [0, 1]
    """
    outputs = model.forward(X)
    assert targets.shape == outputs.shape, \
        f"targets {targets.shape} and outputs {outputs.shape} must have one shape"
    predictions = outputs >= 0.5
    return float(np.mean(predictions == (targets == 1)))


class LogisticTrainer(BaseTrainer):
    """BaseTrainer's loop for a BinaryModel: targets [N, 1] in {0, 1}."""

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray) -> float:
        """Forward, backward and one gradient descent step on a batch.

        Args:
            X_batch: [batch size, 785], Y_batch: [batch size, 1]
        Returns:
            the batch's mean cross-entropy, at the weights before the step
        """
        outputs = self.model.forward(X_batch)
        self.model.backward(X_batch, outputs, Y_batch)
        self.model.w = self.model.w - self.learning_rate * self.model.grad
        self.model.zero_grad()
        return cross_entropy_loss(Y_batch, outputs)

    def validation_step(self):
        """Loss on the validation set, accuracy on the training and validation sets.
        Returns: (loss_val, accuracy_train, accuracy_val)
        """
        outputs_val = self.model.forward(self.X_val)
        loss_val = cross_entropy_loss(self.Y_val, outputs_val)
        accuracy_train = calculate_accuracy(self.X_train, self.Y_train, self.model)
        accuracy_val = calculate_accuracy(self.X_val, self.Y_val, self.model)
        return loss_val, accuracy_train, accuracy_val


def train_logistic(X_train, Y_train, X_val, Y_val, shuffle_dataset: bool, seed: int,
                   hyperparameters: dict, num_epochs: int = None, progress_position: int = 0):
    """Train a new BinaryModel; returns (run summary, train_history, val_history).
    num_epochs overrides hyperparameters["num_epochs"]; an early_stopping_patience of
    None trains every epoch."""
    hp = hyperparameters
    trainer = LogisticTrainer(
        BinaryModel(), hp["learning_rate"], hp["batch_size"], shuffle_dataset,
        X_train, Y_train, X_val, Y_val, early_stopping_patience=hp["early_stopping_patience"],
        seed=seed, progress_label=f"task 2, shuffle={shuffle_dataset}, seed {seed}",
        progress_position=progress_position)
    train_history, val_history = trainer.train(num_epochs or hp["num_epochs"])
    run = script_tools.run_summary(trainer, cross_entropy_loss, calculate_accuracy)
    return run, train_history, val_history


def check_gradients(X: np.ndarray, Y: np.ndarray) -> list:
    """Task 2a's gradient check on real images X [N, 785], Y [N, 1], at zero and at random
    weights (small ones: beyond |w^T x| ~ 30, 1 - sigmoid loses its digits). Raises
    AssertionError if it fails; returns what the results file records."""
    model, rng, checked = BinaryModel(), np.random.default_rng(1), []
    for weights in ("zero", "random"):
        if weights == "random":
            model.w = rng.normal(scale=0.1, size=model.w.shape)
        largest = gradient_approximation_test(model, X, Y)
        checked.append(dict(weights=weights, num_images=len(X), max_difference=largest,
                            tolerance=1e-6))
    print(f"Gradient checks passed on {len(X)} images (largest difference "
          f"{max(c['max_difference'] for c in checked):.2e})")
    return checked


def mean_abs_change(history: dict, steps) -> float:
    """Mean |difference| between consecutive values of a {step: value} history over
    the given steps (in order): how spiky the curve is there."""
    values = np.array([history[step] for step in steps], dtype=np.float64)
    return float(np.mean(np.abs(np.diff(values))))


def spike_study(run, val_history, shuffled_runs, seeds, Y_train, batch_size, warm_up_epochs):
    """Task 2e: is the validation accuracy spikier without shuffling? Each shuffled run
    is compared with the run without shuffling over the validations both have after the
    warm-up; and the largest drops without shuffling are located in the fixed batch order.
    The share of 2s of every fixed batch lets the report rank the batch before a drop.
    Runs too short to measure give empty lists and None."""
    steps_per_epoch = run["steps_per_epoch"]
    every = max(1, steps_per_epoch // 5)
    warm_up_step = warm_up_epochs * steps_per_epoch
    pairs = []
    for seed, (run_seed, _, val_seed) in zip(seeds, shuffled_runs):
        steps = [step for step in val_seed["accuracy"]
                 if warm_up_step <= step <= min(run["stop_step"], run_seed["stop_step"])]
        if len(steps) >= 2:
            pairs.append(dict(seed=seed, first_step=steps[0], last_step=steps[-1],
                              num_validations=len(steps),
                              no_shuffle=mean_abs_change(val_history["accuracy"], steps),
                              shuffle=mean_abs_change(val_seed["accuracy"], steps)))
    ratios = [pair["no_shuffle"] / pair["shuffle"] for pair in pairs if pair["shuffle"] > 0]
    # The five largest drops without shuffling, and the fixed batch that came just before
    steps = [step for step in val_history["accuracy"] if step >= warm_up_step]
    values = np.array([val_history["accuracy"][step] for step in steps])
    largest = np.argsort(values[:-1] - values[1:])[::-1][:5]
    twos = Y_train[:steps_per_epoch * batch_size, 0].reshape(
        steps_per_epoch, batch_size).mean(axis=1)  # the share of 2s in each fixed batch
    drops = [dict(step=steps[i + 1], drop=float(values[i] - values[i + 1]),
                  batch_index=steps[i + 1] % steps_per_epoch,
                  share_of_twos=float(twos[steps[i + 1] % steps_per_epoch]))
             for i in largest if values[i] > values[i + 1]]
    return dict(
        warm_up_epochs=warm_up_epochs, validation_every=every,
        drop_period_steps=math.lcm(every, steps_per_epoch),
        pairs=pairs, ratio_median=float(np.median(ratios)) if ratios else None,
        ratio_min=min(ratios, default=None), ratio_max=max(ratios, default=None),
        seeds_less_spiky=int(sum(r > 1 for r in ratios)),
        largest_drops_no_shuffle=drops, share_of_twos_overall=float(Y_train.mean()),
        share_of_twos_batches=[float(twos.min()), float(twos.max())],
        share_of_twos_each_batch=[float(share) for share in twos])


def main(argv=None):
    """Tasks 2b-2e: train without and with shuffling; write figures and results."""
    # Hyperparameters (the assignment's)
    num_epochs = 500
    learning_rate = 0.05
    batch_size = 128
    early_stopping_patience = 10
    seed = 0                # shuffled runs use the seeds seed, seed + 1, ...
    num_shuffle_seeds = 10  # task 2e: how many shuffled runs
    warm_up_epochs = 2      # task 2e: spikes are measured after these epochs
    category1, category2 = 2, 3

    args = script_tools.parse_args(__doc__, argv)
    results_path = args.results_dir / "task2.json"
    results_path.unlink(missing_ok=True)  # an interrupted run leaves no results behind
    if args.max_epochs:  # tests only: shorter runs
        num_epochs = args.max_epochs
    hyperparameters = dict(num_epochs=num_epochs, learning_rate=learning_rate,
                           batch_size=batch_size, early_stopping_patience=early_stopping_patience,
                           seed=seed)

    X_train, Y_train, X_val, Y_val = utils.load_binary_dataset(category1, category2)
    X_train, X_val = pre_process_images(X_train), pre_process_images(X_val)
    gradient_checks = check_gradients(X_train[:100], Y_train[:100])

    # Tasks 2b-2d without shuffling, and task 2e with shuffling for each seed: independent
    # runs, trained side by side in processes of their own
    seeds = list(range(seed, seed + num_shuffle_seeds))
    jobs = [dict(shuffle_dataset=False, seed=seed)]
    jobs += [dict(shuffle_dataset=True, seed=s) for s in seeds]
    data = (X_train, Y_train, X_val, Y_val)
    runs = script_tools.run_parallel(
        train_logistic, [dict(job, hyperparameters=hyperparameters) for job in jobs],
        shared=data, num_workers=args.workers)
    (run, train_history, val_history), shuffled_runs = runs[0], runs[1:]
    script_tools.print_summary("no shuffle", run)
    script_tools.print_summary(f"shuffle, seed {seeds[0]}", shuffled_runs[0][0])
    seed_study = dict(seeds=seeds, stop_epochs=[r["stop_epoch"] for r, _, _ in shuffled_runs],
                      early_stopped=[r["early_stopped"] for r, _, _ in shuffled_runs],
                      best_steps=[r["best_step"] for r, _, _ in shuffled_runs],
                      final_val_accuracy=[r["final_val_accuracy"] for r, _, _ in shuffled_runs])
    print(f"[shuffle] Stop epoch index over seeds {seeds}: {seed_study['stop_epochs']}")
    spikes = spike_study(run, val_history, shuffled_runs, seeds, Y_train, batch_size,
                         warm_up_epochs)
    if spikes["ratio_median"] is not None:
        print(f"[2e] validation accuracy change per validation, no shuffle / shuffle: median "
              f"{spikes['ratio_median']:.2f} over {len(spikes['pairs'])} seeds")
    # For Figure 2e: a shuffled run as long as the one without shuffling (no early stop)
    _, _, val_history_shuffled = train_logistic(
        *data, shuffle_dataset=True, seed=seeds[0], num_epochs=run["epochs_trained"],
        hyperparameters=dict(hyperparameters, early_stopping_patience=None))

    # Task 2b: the loss; task 2c: the accuracy
    plt.figure(figsize=(10, 4.6))
    utils.plot_loss(train_history["loss"], "training loss of each batch", color="tab:blue",
                    alpha=0.45, linewidth=0.6)
    utils.plot_loss(train_history["loss"], "training loss", plot_variance=False, color="navy",
                    npoints_to_average=run["steps_per_epoch"], linewidth=2)
    utils.plot_loss(val_history["loss"], "validation loss", color="tab:orange", linewidth=1.6)
    script_tools.finish_plot(run["best_step"], "Cross-entropy loss (log scale)", "log",
                             "Task 2b: logistic regression (2 vs 3), no shuffling")
    figures = {"task2b": script_tools.save_figure(plt.gcf(),
                                                   args.figures_dir / "task2b_loss.png")}

    plt.figure(figsize=(10, 4.6))
    utils.plot_loss(train_history["accuracy"], "training accuracy", color="tab:blue")
    utils.plot_loss(val_history["accuracy"], "validation accuracy", color="tab:orange")
    script_tools.finish_plot(run["best_step"], "Accuracy (logit scale)", "logit",
                             "Task 2c: logistic regression (2 vs 3), no shuffling")
    figures["task2c"] = script_tools.save_figure(plt.gcf(),
                                                    args.figures_dir / "task2c_accuracy.png")

    # Task 2e: validation accuracy with and without shuffling, over the same steps
    plt.figure(figsize=(10, 4.6))
    utils.plot_loss(val_history["accuracy"], "without shuffling", color="tab:red")
    utils.plot_loss(val_history_shuffled["accuracy"], f"with shuffling (seed {seeds[0]})",
                    color="tab:blue")
    plt.axvspan(0, warm_up_epochs * run["steps_per_epoch"], color="grey", alpha=0.12,
                label="warm-up (not measured)")
    script_tools.finish_plot(None, "Validation accuracy (logit scale)", "logit",
                "Task 2e: validation accuracy with and without shuffling")
    figures["task2e"] = script_tools.save_figure(plt.gcf(),
                                                 args.figures_dir / "task2e_shuffle.png")

    results = dict(
        hyperparameters=hyperparameters,
        shapes=script_tools.split_shapes(X_train, Y_train, X_val, Y_val),
        gradient_checks=gradient_checks,
        runs={"no_shuffle": run, "shuffle": shuffled_runs[0][0]},
        shuffle_seed_study=seed_study,
        spike_study=spikes,
        figures=script_tools.figure_record(figures),
    )
    script_tools.write_json(results_path, results)
    script_tools.show_or_close(args.show)
    return results


if __name__ == "__main__":
    main()
