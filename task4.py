"""Task 4: L2 regularization of softmax regression.

4b: weight images for lambda = 0 and lambda = 1; 4c: validation accuracy for
lambda in 1, 0.1, 0.01, 0.001; 4e: ||w||^2 after training against lambda.
Writes figures/task4*.png and results/task4.json.
"""
import matplotlib.pyplot as plt
import numpy as np

import utils
from task3 import HYPERPARAMETERS, load_data, train_softmax


def weight_images(w: np.ndarray) -> np.ndarray:
    """Weights [785, 10] -> ten 28x28 images [10, 28, 28] (the bias row left out)."""
    if not isinstance(w, np.ndarray) or w.ndim != 2 or w.shape[0] != 785:
        got = w.shape if isinstance(w, np.ndarray) else type(w).__name__
        raise ValueError(f"w must have shape [785, num classes], got {got}")
    return w[:-1].T.reshape(-1, 28, 28)


def plot_weights(weights: dict, path):
    """One row of ten digit weight images per {lambda: w [785, 10]}; each row has
    its own symmetric grey scale (mid-grey is 0), shown by its colour bar."""
    fig, axes = plt.subplots(len(weights), 10, figsize=(11, 1.25 * len(weights) + 0.5),
                             squeeze=False, constrained_layout=True)
    for row, (l2_reg_lambda, w) in zip(axes, weights.items()):
        images = weight_images(w)
        vmax = np.abs(images).max()
        for digit, ax in enumerate(row):
            im = ax.imshow(images[digit], cmap="gray", vmin=-vmax, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if l2_reg_lambda == next(iter(weights)):
                ax.set_title(str(digit))
        row[0].set_ylabel(f"$\\lambda$ = {l2_reg_lambda:g}")
        fig.colorbar(im, ax=list(row), shrink=0.9, pad=0.01)
    fig.suptitle("Task 4b: weights per digit class (bias left out)")
    return utils.save_figure(fig, path)


def main(argv=None):
    """Tasks 4b, 4c and 4e: one model per lambda; write figures and results."""
    args = utils.script_args(__doc__.splitlines()[0], argv)
    hyperparameters = dict(HYPERPARAMETERS)
    lambdas_4b = [0.0, 1.0]
    lambdas_4c = [1.0, 0.1, 0.01, 0.001]

    X_train, Y_train, X_val, Y_val = load_data()
    runs, weights, val_accuracy = {}, {}, {}
    for l2_reg_lambda in dict.fromkeys(lambdas_4b + lambdas_4c):  # each lambda trained once
        print(f"Training softmax regression with lambda = {l2_reg_lambda}")
        model, run, _, val_history = train_softmax(
            l2_reg_lambda, X_train, Y_train, X_val, Y_val, hyperparameters)
        key = repr(float(l2_reg_lambda))
        runs[key], weights[l2_reg_lambda] = run, model.w
        val_accuracy[l2_reg_lambda] = val_history["accuracy"]
        print(f"  validation accuracy {run['final_val_accuracy']:.4f}, stopped in epoch "
              f"index {run['stop_epoch']}, ||w||^2 = {run['weight_norm_sq']:.3f}")

    # Task 4b: weight images
    figures = {"task4b": plot_weights({lam: weights[lam] for lam in lambdas_4b},
                                      args.figures_dir / "task4b_weights.png")}

    # Task 4c: validation accuracy per lambda
    fig, ax = plt.subplots(figsize=(10, 6))
    for l2_reg_lambda in lambdas_4c:
        utils.plot_loss(val_accuracy[l2_reg_lambda], f"$\\lambda$ = {l2_reg_lambda}", ax=ax)
    if 0.0 in val_accuracy:
        steps, acc = zip(*val_accuracy[0.0].items())
        ax.plot(steps, acc, color="grey", linestyle="--", linewidth=1,
                label="$\\lambda$ = 0 (reference, task 3)")
    ax.set(ylim=(0.70, 0.95), xlabel="Number of gradient steps", ylabel="Validation accuracy",
           title="Task 4c: validation accuracy for different L2 strengths")
    ax.legend()
    ax.grid(alpha=0.3)
    figures["task4c"] = utils.save_figure(fig, args.figures_dir / "task4c_val_accuracy.png")

    # Task 4e: squared L2 norm of the weights after training
    norms = [runs[repr(float(lam))]["weight_norm_sq"] for lam in lambdas_4c]
    fig, ax = plt.subplots(figsize=(10, 6))
    ax.plot(lambdas_4c, norms, "o-")
    for lam, norm in zip(lambdas_4c, norms):
        ax.annotate(f"{norm:.3g}", (lam, norm), textcoords="offset points", xytext=(6, 6))
    ax.set_xscale("log")
    ax.margins(x=0.08, y=0.08)
    ax.set_xticks(lambdas_4c, [str(lam) for lam in lambdas_4c])
    ax.set(xlabel="$\\lambda$ (log scale)", ylabel="$\\|w\\|^2$ after training",
           title="Task 4e: squared L2 norm of the weights against $\\lambda$")
    ax.grid(alpha=0.3)
    figures["task4e"] = utils.save_figure(fig, args.figures_dir / "task4e_weight_norm.png")

    results = dict(hyperparameters=hyperparameters, lambdas_4b=lambdas_4b,
                   lambdas_4c=lambdas_4c, runs=runs,
                   figures={k: str(v) for k, v in figures.items()})
    utils.write_json(args.results_dir / "task4.json", results)
    utils.show_or_close(args.show)
    return results


if __name__ == "__main__":
    main()
