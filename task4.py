"""Task 4: L2 regularization of softmax regression.

4b: the weights as images for lambda = 0 and lambda = 1; 4c: the validation accuracy for
lambda = 1, 0.1, 0.01 and 0.001; 4e: the squared norm ||w||^2 of the kept weights against
lambda. Writes figures/task4b_weights.png, figures/task4c_val_accuracy.png,
figures/task4e_weight_norm.png and results/task4.json.
"""
import checks  # noqa: F401 -- first: it names a missing package and how to install it

import matplotlib.pyplot as plt
import numpy as np

import script_tools
import utils
from task3 import RUN_SOURCES, load_data, reproduce, train_softmax


def weight_images(w: np.ndarray) -> np.ndarray:
    """Weights [785, 10] -> ten 28x28 images [10, 28, 28] (the bias row left out)."""
    assert w.ndim == 2 and w.shape[0] == 785, \
        f"expected w of shape [785, num classes], got {w.shape}"
    return w[:-1].T.reshape(-1, 28, 28)


def plot_weights(weights: dict, path):
    """The ten digit weight images of each model in {lambda: w [785, 10]}: two rows of
    five per model, each model with its own symmetric grey scale (mid-grey is 0, white
    positive, black negative) and colour bar."""
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
    return script_tools.save_figure(fig, path)


def main(argv=None):
    """Tasks 4b, 4c and 4e: one model per lambda; write figures and results."""
    # Hyperparameters (the assignment's, as in task 3)
    num_epochs = 500
    learning_rate = 0.01
    batch_size = 128
    shuffle_dataset = True
    early_stopping_patience = 10
    seed = 0
    lambdas_4b = [0.0, 1.0]
    lambdas_4c = [1.0, 0.1, 0.01, 0.001]

    args = script_tools.parse_args(__doc__, argv)
    results_path = args.results_dir / "task4.json"
    results_path.unlink(missing_ok=True)  # an interrupted run leaves no results behind
    if args.max_epochs:  # tests only: shorter runs
        num_epochs = args.max_epochs
    hyperparameters = dict(learning_rate=learning_rate, batch_size=batch_size,
                           num_epochs=num_epochs, early_stopping_patience=early_stopping_patience,
                           seed=seed, shuffle=shuffle_dataset)

    data = load_data()
    X_val, Y_val = data[2], data[3]
    lambdas = list(dict.fromkeys(lambdas_4b + lambdas_4c))  # each lambda trained once
    # lambda = 0 is task 3's model: reuse task 3's saved run if it is provably the same
    # one. Under make, task 3 may still be training it: then it comes last (load_run
    # waits for it) and the other lambdas train meanwhile.
    run_file = args.results_dir / "task3_run.npz"
    reuse = 0.0 in lambdas and script_tools.run_expected(run_file)
    # Weaker regularization trains longer: those runs start first, so that the processes
    # finish at about the same time (the order changes no number)
    to_train = sorted(v for v in lambdas if not (v == 0.0 and reuse))
    print(f"Training softmax regression with lambda = {', '.join(f'{v:g}' for v in to_train)}")
    jobs = [dict(l2_reg_lambda=v, hyperparameters=hyperparameters) for v in to_train]
    trained = dict(zip(to_train, script_tools.run_parallel(
        train_softmax, jobs, shared=data, num_workers=args.workers)))
    if reuse:
        settings = dict(hyperparameters, l2_reg_lambda=0.0)
        saved = script_tools.load_run(run_file, script_tools.fingerprint(settings, RUN_SOURCES),
                                      lambda w: reproduce(w, 0.0, X_val, Y_val))
        if saved is not None:
            trained[0.0] = (saved[0], saved[1], None, saved[2])
            print("lambda = 0: reusing the run of task 3 (same code, settings, data and "
                  "libraries; its weights reproduce its validation loss)")
        else:  # another run of task 3's (other code or settings): train lambda = 0 here
            print("Training softmax regression with lambda = 0")
            trained[0.0] = train_softmax(*data, 0.0, hyperparameters)
    runs, weights, val_accuracy = {}, {}, {}
    for l2_reg_lambda in lambdas:
        w, run, _, val_history = trained[l2_reg_lambda]
        runs[repr(float(l2_reg_lambda))], weights[l2_reg_lambda] = run, w
        val_accuracy[l2_reg_lambda] = val_history["accuracy"]
        print(f"lambda = {l2_reg_lambda:g}: validation accuracy {run['final_val_accuracy']:.4f}, "
              f"stopped in epoch index {run['stop_epoch']}, ||w||^2 = {run['weight_norm_sq']:.3f}")

    # Task 4b: the weights as images
    figures = {"task4b": plot_weights({lam: weights[lam] for lam in lambdas_4b},
                                      args.figures_dir / "task4b_weights.png")}

    # Task 4c: validation accuracy for each lambda, over lambda = 0 for reference
    plt.figure(figsize=(10, 4.8))
    if 0.0 in val_accuracy:
        utils.plot_loss(val_accuracy[0.0], "$\\lambda$ = 0 (no regularization)", color="0.6",
                        linewidth=5, alpha=0.6, zorder=1)
    for l2_reg_lambda in lambdas_4c:
        utils.plot_loss(val_accuracy[l2_reg_lambda], f"$\\lambda$ = {l2_reg_lambda:g}",
                        linewidth=1.4, zorder=2)
    script_tools.finish_plot(None, "Validation accuracy (logit scale)", "logit",
                             "Task 4c: validation accuracy for different L2 strengths")
    figures["task4c"] = script_tools.save_figure(plt.gcf(),
                                                 args.figures_dir / "task4c_val_accuracy.png")

    # Task 4e: the squared L2 norm of the kept weights
    norms = [runs[repr(float(lam))]["weight_norm_sq"] for lam in lambdas_4c]
    plt.figure(figsize=(10, 4.2))
    plt.plot(lambdas_4c, norms, "o-")
    for lam, norm in zip(lambdas_4c, norms):
        label = f"{norm:#.3g}".rstrip(".")  # three digits, as in the report: 24.0, 0.362
        plt.annotate(label, (lam, norm), textcoords="offset points", xytext=(8, 4))
    plt.xscale("log")
    plt.yscale("log")
    plt.margins(x=0.12, y=0.2)
    plt.xticks(lambdas_4c, [f"{lam:g}" for lam in lambdas_4c])
    plt.xlabel("$\\lambda$ (log scale)")
    plt.ylabel("$\\|w\\|^2$ of the kept weights (log scale)")
    plt.title("Task 4e: squared L2 norm of the weights against $\\lambda$")
    plt.grid(alpha=0.3)
    figures["task4e"] = script_tools.save_figure(plt.gcf(),
                                                 args.figures_dir / "task4e_weight_norm.png")

    # How much each run's validation accuracy moves by itself near its end, over the
    # window early stopping watched: a difference between two lambdas below this is noise
    window = early_stopping_patience + 1
    swing = {repr(float(lam)): float(np.ptp(list(history.values())[-window:]))
             for lam, history in val_accuracy.items()}
    results = dict(hyperparameters=hyperparameters, lambdas_4b=lambdas_4b,
                   lambdas_4c=lambdas_4c, runs=runs,
                   val_accuracy_swing=dict(last_validations=window, by_lambda=swing),
                   figures=script_tools.figure_record(figures))
    script_tools.write_json(results_path, results)
    script_tools.show_or_close(args.show)
    return results


if __name__ == "__main__":
    main()
