"""Task 4: L2 regularization of softmax regression.

4b: weight images for lambda = 0 and lambda = 1; 4c: validation accuracy for
lambda in 1, 0.1, 0.01, 0.001; 4e: ||w||^2 after training against lambda.
Writes figures/task4*.png and results/task4.json.
"""
import matplotlib.pyplot as plt
import numpy as np

import utils
from task3 import HYPERPARAMETERS, load_data, load_run, train_softmax


def weight_images(w: np.ndarray) -> np.ndarray:
    """Weights [785, 10] -> ten 28x28 images [10, 28, 28] (the bias row left out)."""
    if not isinstance(w, np.ndarray) or w.ndim != 2 or w.shape[0] != 785:
        got = w.shape if isinstance(w, np.ndarray) else type(w).__name__
        raise ValueError(f"w must have shape [785, num classes], got {got}")
    return w[:-1].T.reshape(-1, 28, 28)


def plot_weights(weights: dict, path):
    """The ten digit weight images of each model in {lambda: w [785, 10]}: two rows
    of five per model, each model with its own symmetric grey scale (mid-grey is
    0, white positive, black negative) and colour bar."""
    fig = plt.figure(figsize=(10, 4.4 * len(weights)), constrained_layout=True)
    for panel, (l2_reg_lambda, w) in zip(fig.subfigures(len(weights), 1, squeeze=False)[:, 0],
                                         weights.items()):
        images = weight_images(w)
        vmax = np.abs(images).max()
        axes = panel.subplots(2, 5)
        for digit, ax in enumerate(axes.flat):
            im = ax.imshow(images[digit], cmap="gray", vmin=-vmax, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"digit {digit}")
        panel.colorbar(im, ax=axes, shrink=0.85, pad=0.02, label="weight")
        panel.suptitle(f"$\\lambda$ = {l2_reg_lambda:g}", fontsize=15)
    return utils.save_figure(fig, path)


def main(argv=None):
    """Tasks 4b, 4c and 4e: one model per lambda; write figures and results."""
    args = utils.script_args(__doc__.splitlines()[0], argv)
    results_path = args.results_dir / "task4.json"
    # No results file while the figures are being rewritten: an interrupted run leaves
    # none behind, so neither make nor the report can pair old numbers with new figures.
    results_path.unlink(missing_ok=True)
    hyperparameters = dict(HYPERPARAMETERS)
    lambdas_4b = [0.0, 1.0]
    lambdas_4c = [1.0, 0.1, 0.01, 0.001]
    if args.max_epochs:  # test-only: shorter runs
        hyperparameters["num_epochs"] = args.max_epochs

    data = load_data()
    lambdas = list(dict.fromkeys(lambdas_4b + lambdas_4c))  # each lambda trained once
    # lambda = 0 is the model of task 3: reuse its run if it is provably the same.
    reused = {}
    saved = load_run(args.results_dir / "task3_run.npz",
                     dict(hyperparameters, l2_reg_lambda=0.0), *data)
    if saved is not None:
        reused[0.0] = (saved[0], saved[1], None, saved[2])
        print("lambda = 0: reusing the run of task 3 (same code, settings, data and "
              "libraries; its weights reproduce its validation loss)")
    # Weaker regularization trains longer: start those runs first, so that the
    # processes finish at about the same time. (The order changes no number.)
    to_train = sorted(v for v in lambdas if v not in reused)
    print(f"Training softmax regression with lambda = {', '.join(f'{v:g}' for v in to_train)}")
    trained = dict(zip(to_train, utils.run_parallel(
        train_softmax, [dict(l2_reg_lambda=v, hyperparameters=hyperparameters) for v in to_train],
        shared=data, num_workers=args.workers)))
    trained.update(reused)
    runs, weights, val_accuracy = {}, {}, {}
    for l2_reg_lambda in lambdas:
        w, run, _, val_history = trained[l2_reg_lambda]
        runs[repr(float(l2_reg_lambda))], weights[l2_reg_lambda] = run, w
        val_accuracy[l2_reg_lambda] = val_history["accuracy"]
        print(f"lambda = {l2_reg_lambda:g}: validation accuracy {run['final_val_accuracy']:.4f}, "
              f"stopped in epoch index {run['stop_epoch']}, ||w||^2 = {run['weight_norm_sq']:.3f}")

    # Task 4b: weight images
    figures = {"task4b": plot_weights({lam: weights[lam] for lam in lambdas_4b},
                                      args.figures_dir / "task4b_weights.png")}

    # Task 4c: validation accuracy per lambda, and lambda = 0 for reference
    fig, ax = plt.subplots(figsize=(10, 4.8))
    for l2_reg_lambda in lambdas_4c:
        utils.plot_loss(val_accuracy[l2_reg_lambda], f"$\\lambda$ = {l2_reg_lambda:g}", ax=ax,
                        linewidth=1.4)
    utils.plot_loss(val_accuracy[0.0], "$\\lambda$ = 0 (no regularization)", ax=ax,
                    color="black", linestyle=(0, (4, 3)), linewidth=1.2, zorder=3)
    ax.set(ylim=(0.70, 0.95), xlabel="Number of gradient steps", ylabel="Validation accuracy",
           title="Task 4c: validation accuracy for different L2 strengths")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    figures["task4c"] = utils.save_figure(fig, args.figures_dir / "task4c_val_accuracy.png")

    # Task 4e: squared L2 norm of the weights after training
    norms = [runs[repr(float(lam))]["weight_norm_sq"] for lam in lambdas_4c]
    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.plot(lambdas_4c, norms, "o-")
    for lam, norm in zip(lambdas_4c, norms):
        ax.annotate(f"{norm:.3g}", (lam, norm), textcoords="offset points", xytext=(6, 6))
    ax.set_xscale("log")
    ax.margins(x=0.08, y=0.12)
    ax.set_xticks(lambdas_4c, [f"{lam:g}" for lam in lambdas_4c])
    ax.set(xlabel="$\\lambda$ (log scale)", ylabel="$\\|w\\|^2$ after training",
           title="Task 4e: squared L2 norm of the weights against $\\lambda$")
    ax.grid(alpha=0.3)
    figures["task4e"] = utils.save_figure(fig, args.figures_dir / "task4e_weight_norm.png")

    # How much the validation accuracy of one run moves by itself near its end: over
    # the last validations, the window early stopping watched. A difference between
    # two lambdas smaller than this is noise, not an effect.
    window = hyperparameters["early_stopping_patience"] + 1
    swing = {repr(float(lam)): float(np.ptp(list(history.values())[-window:]))
             for lam, history in val_accuracy.items()}
    results = dict(hyperparameters=hyperparameters, lambdas_4b=lambdas_4b,
                   lambdas_4c=lambdas_4c, runs=runs,
                   val_accuracy_swing=dict(last_validations=window, by_lambda=swing),
                   figures=utils.figure_record(figures))
    utils.write_json(results_path, results)
    utils.show_or_close(args.show)
    return results


if __name__ == "__main__":
    main()
