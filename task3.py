"""Task 3: softmax regression on all ten MNIST digits, with mini-batch gradient descent,
shuffling and early stopping.

Writes figures/task3b_loss.png, figures/task3c_accuracy.png, results/task3.json, and
results/task3_run.npz (the trained model, which task4.py reuses for lambda = 0).
"""
import checks  # noqa: F401 -- first: it names a missing package and how to install it

import matplotlib.pyplot as plt
import numpy as np

import script_tools
import utils
from task2a import pre_process_images
from task3a import SoftmaxModel, cross_entropy_loss, gradient_approximation_test, \
    one_hot_encode
from trainer import BaseTrainer

# The files whose code computes a softmax run: task 4 reuses task 3's saved run only if
# these, the settings, the data and the libraries are the same (script_tools.fingerprint)
RUN_SOURCES = ("task2a.py", "task3a.py", "task3.py", "trainer.py", "utils.py", "checks.py",
               "script_tools.py")


def calculate_accuracy(X: np.ndarray, targets: np.ndarray, model: SoftmaxModel) -> float:
    """The share of images the model classifies right: the predicted class is the
    largest output.

    Args:
        X: pre-processed images [N, 785]; targets: one-hot [N, 10]; model: a SoftmaxModel
    Returns:
        the accuracy, a float in [0, 1]
    """
    outputs = model.forward(X)
    assert targets.shape == outputs.shape, \
        f"targets {targets.shape} and outputs {outputs.shape} must have one shape"
    predictions = outputs.argmax(axis=1)
    return float(np.mean(predictions == targets.argmax(axis=1)))


class SoftmaxTrainer(BaseTrainer):
    """BaseTrainer's loop for a SoftmaxModel: one-hot targets [N, 10]."""

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray) -> float:
        """Forward, backward (with the L2 term) and one gradient descent step on a batch.

        Args:
            X_batch: [batch size, 785], Y_batch: one-hot [batch size, 10]
        Returns:
            cross-entropy (without the L2 term) on the batch, at the weights before the step
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


def load_data():
    """The full MNIST split, pre-processed and one-hot encoded: X_train [20000, 785],
    Y_train [20000, 10], X_val [10000, 785], Y_val [10000, 10]."""
    X_train, Y_train, X_val, Y_val = utils.load_full_mnist()
    return (pre_process_images(X_train), one_hot_encode(Y_train, 10),
            pre_process_images(X_val), one_hot_encode(Y_val, 10))


def train_softmax(X_train, Y_train, X_val, Y_val, l2_reg_lambda: float,
                  hyperparameters: dict, progress_position: int = 0):
    """Train a new SoftmaxModel with L2 strength l2_reg_lambda.
    Returns (w [785, 10], run summary, train_history, val_history)."""
    hp = hyperparameters
    model = SoftmaxModel(l2_reg_lambda)
    trainer = SoftmaxTrainer(model, hp["learning_rate"], hp["batch_size"], hp["shuffle"],
                             X_train, Y_train, X_val, Y_val,
                             early_stopping_patience=hp["early_stopping_patience"],
                             seed=hp["seed"], progress_label=f"softmax, lambda {l2_reg_lambda:g}",
                             progress_position=progress_position)
    train_history, val_history = trainer.train(hp["num_epochs"])
    run = script_tools.run_summary(trainer, cross_entropy_loss, calculate_accuracy)
    return model.w, dict(run, l2_reg_lambda=float(l2_reg_lambda)), train_history, val_history


def reproduce(w: np.ndarray, l2_reg_lambda: float, X_val, Y_val):
    """(validation loss, validation accuracy) of the weights w, as run_summary computes
    them: how a saved run proves that its weights are the ones it describes."""
    model = SoftmaxModel(l2_reg_lambda)
    model.w = w
    return cross_entropy_loss(Y_val, model.forward(X_val)), calculate_accuracy(X_val, Y_val, model)


def check_gradients(X: np.ndarray, Y: np.ndarray) -> list:
    """Task 3a's gradient check on real images X [N, 785], Y [N, 10], at random weights,
    with and without L2. Raises AssertionError if it fails; returns what the results
    file records."""
    rng, checked = np.random.default_rng(1), []
    for l2_reg_lambda in (0.0, 0.1):
        model = SoftmaxModel(l2_reg_lambda)
        model.w = rng.standard_normal(model.w.shape)
        largest = gradient_approximation_test(model, X, Y)
        checked.append(dict(weights="random", l2_reg_lambda=l2_reg_lambda, num_images=len(X),
                            max_difference=largest, tolerance=1e-6))
    print(f"Gradient checks passed on {len(X)} images (largest difference "
          f"{max(c['max_difference'] for c in checked):.2e})")
    return checked


def main(argv=None):
    """Tasks 3b-3d: train softmax regression; write figures and results."""
    # Hyperparameters (the assignment's)
    num_epochs = 500
    learning_rate = 0.01
    batch_size = 128
    l2_reg_lambda = 0.0
    shuffle_dataset = True
    early_stopping_patience = 10
    seed = 0

    args = script_tools.parse_args(__doc__, argv)
    results_path = args.results_dir / "task3.json"
    results_path.unlink(missing_ok=True)  # an interrupted run leaves no results behind
    if args.max_epochs:  # tests only: a shorter run
        num_epochs = args.max_epochs
    hyperparameters = dict(learning_rate=learning_rate, batch_size=batch_size,
                           num_epochs=num_epochs, early_stopping_patience=early_stopping_patience,
                           seed=seed, shuffle=shuffle_dataset, l2_reg_lambda=l2_reg_lambda)
    code = script_tools.fingerprint(hyperparameters, RUN_SOURCES)  # the code that trains

    X_train, Y_train, X_val, Y_val = load_data()
    # Task 3a's gradient check and the training are independent: side by side
    gradient_checks, (w, run, train_history, val_history) = script_tools.run_side_by_side(
        lambda: check_gradients(X_train[:100], Y_train[:100]),
        lambda: train_softmax(X_train, Y_train, X_val, Y_val, l2_reg_lambda, hyperparameters),
        num_workers=args.workers)
    script_tools.print_summary("softmax", run)
    run_path = args.results_dir / "task3_run.npz"
    if code == script_tools.fingerprint(hyperparameters, RUN_SOURCES):
        script_tools.save_run(run_path, code, w, run, val_history)
    else:  # a file changed while training: this run is of neither version
        run_path.unlink(missing_ok=True)
        print("The code changed during training: the run is not saved for task 4")

    # Task 3b: the loss; task 3c: the accuracy
    plt.figure(figsize=(10, 4.6))
    utils.plot_loss(train_history["loss"], "training loss of each batch", color="tab:blue",
                    alpha=0.45, linewidth=0.6)
    utils.plot_loss(train_history["loss"], "training loss", plot_variance=False, color="navy",
                    npoints_to_average=run["steps_per_epoch"], linewidth=2)
    utils.plot_loss(val_history["loss"], "validation loss", color="tab:orange", linewidth=1.6)
    script_tools.finish_plot(run["best_step"], "Cross-entropy loss (log scale)", "log",
                             "Task 3b: softmax regression, 10 digits")
    figures = {"task3b": script_tools.save_figure(plt.gcf(),
                                                   args.figures_dir / "task3b_loss.png")}

    plt.figure(figsize=(10, 4.6))
    utils.plot_loss(train_history["accuracy"], "training accuracy", color="tab:blue")
    utils.plot_loss(val_history["accuracy"], "validation accuracy", color="tab:orange")
    script_tools.finish_plot(run["best_step"], "Accuracy (logit scale)", "logit",
                             "Task 3c: softmax regression, 10 digits")
    figures["task3c"] = script_tools.save_figure(plt.gcf(),
                                                    args.figures_dir / "task3c_accuracy.png")

    results = dict(
        hyperparameters=hyperparameters,
        shapes=script_tools.split_shapes(X_train, Y_train, X_val, Y_val),
        gradient_checks=gradient_checks,
        run=run,
        train_val_accuracy_gap=run["final_train_accuracy"] - run["final_val_accuracy"],
        train_val_loss_gap=run["final_val_loss"] - run["final_train_loss"],
        figures=script_tools.figure_record(figures),
    )
    script_tools.write_json(results_path, results)
    script_tools.show_or_close(args.show)
    return results


if __name__ == "__main__":
    main()
