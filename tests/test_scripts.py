"""The task scripts end to end on the real data, shortened with --max-epochs: every
figure written (a PNG whose SHA-256 the results file records), the results file
complete, strict JSON, and the same numbers as the printed summary. Task 4 reuses
task 3's saved run only when it is the same run; --workers does not change a number.
Also the two plotting functions, checked against the data they were given.

The scripts run once, in the background (tests/task_scripts_runner.py, started by
tests/conftest.py); the tests here read their outputs.
"""
import hashlib
import json
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

import task2
import task2a
import task3
import task3a
import task4
import utils
from task_scripts_runner import TASK2_EPOCHS, nudged, tampered_copy

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TASK2_FIGURES = {"task2b": "task2b_loss.png", "task2c": "task2c_accuracy.png",
                 "task2e": "task2e_shuffle.png"}
TASK3_FIGURES = {"task3b": "task3b_loss.png", "task3c": "task3c_accuracy.png"}
TASK4_FIGURES = {"task4b": "task4b_weights.png", "task4c": "task4c_val_accuracy.png",
                 "task4e": "task4e_weight_norm.png"}
SUMMARY_KEYS = {"shuffle", "final_train_loss", "final_val_loss", "final_train_accuracy",
                "final_val_accuracy", "early_stopped", "stop_epoch", "epochs_trained",
                "stop_step", "best_step", "num_steps", "steps_per_epoch", "weight_norm_sq"}


# ------------------------------------------------------------------ the runs
class Run:
    """One run of a script's main() by tests/task_scripts_runner.py: its folders, what
    main() returned, the results file as read back and everything main() printed."""

    def __init__(self, folder: Path, script: str):
        self.folder = folder
        self.results_dir, self.figures_dir = folder / "results", folder / "figures"
        if (folder / "error.txt").exists():
            pytest.fail(f"{script}.main() in {folder} raised:\n{(folder / 'error.txt').read_text()}"
                        f"\nafter printing:\n{(folder / 'stdout.txt').read_text()}")
        self.stdout = (folder / "stdout.txt").read_text()
        self.returned = json.loads((folder / "returned.json").read_text())
        self.json_path = self.results_dir / f"{script}.json"
        self.json = strict_json(self.json_path)


def strict_json(path: Path):
    """Parse a results file, refusing NaN and Infinity (not JSON, whatever Python allows)."""
    def refuse(constant):
        raise AssertionError(f"{path} holds {constant}")
    return json.loads(path.read_text(), parse_constant=refuse)


def without_figure_paths(results: dict) -> dict:
    """The results with each figure reduced to its SHA-256 (the folders differ)."""
    return dict(results, figures={key: entry["sha256"]
                                  for key, entry in results["figures"].items()})


@pytest.fixture(scope="module")
def task2_run(task_scripts):
    return Run(task_scripts / "task2", "task2")


@pytest.fixture(scope="module")
def task2_run_two_workers(task_scripts):
    return Run(task_scripts / "task2_two_workers", "task2")


@pytest.fixture(scope="module")
def task3_run(task_scripts):
    return Run(task_scripts / "task3", "task3")


@pytest.fixture(scope="module")
def task4_reusing(task_scripts):
    """Task 4 next to a copy of task 3's saved run, with the same settings."""
    return Run(task_scripts / "task4_reusing", "task4")


@pytest.fixture(scope="module")
def task4_fresh(task_scripts):
    """Task 4 next to a copy of task 3's saved run with one weight changed."""
    return Run(task_scripts / "task4_fresh", "task4")


# ------------------------------------------------------------------ checks shared by the scripts
def check_outputs(run: Run, figure_names: dict) -> None:
    """Figures written, non-empty PNGs, their SHA-256 recorded; the results file is
    what main() returned; both announced on stdout."""
    assert run.json == json.loads(json.dumps(run.returned))
    record = run.json["figures"]
    assert set(record) == set(figure_names)
    for key, name in figure_names.items():
        path = Path(record[key]["path"])
        assert path == run.figures_dir / name
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
        assert record[key]["sha256"] == hashlib.sha256(data).hexdigest()
        height, width = plt.imread(path).shape[:2]
        assert height > 300 and width > 600
        assert f"Saved figure {path}" in run.stdout
    assert f"Saved results {run.json_path}" in run.stdout
    assert sorted(p.name for p in run.figures_dir.iterdir()) == sorted(figure_names.values())


def check_summary(summary: dict, steps_per_epoch: int, validate_every: int,
                  max_epochs: int) -> None:
    """A run summary against the rules of the trainer, worked out here."""
    assert set(summary) >= SUMMARY_KEYS
    assert summary["steps_per_epoch"] == steps_per_epoch
    assert summary["epochs_trained"] == summary["stop_epoch"] + 1 <= max_epochs
    assert summary["num_steps"] == summary["stop_step"] + 1
    assert summary["stop_epoch"] == summary["stop_step"] // steps_per_epoch
    if not summary["early_stopped"]:
        assert summary["num_steps"] == max_epochs * steps_per_epoch
    assert summary["best_step"] % validate_every == 0
    assert 0 <= summary["best_step"] <= summary["stop_step"]
    for key in ("final_train_accuracy", "final_val_accuracy"):
        assert 0 <= summary[key] <= 1
    assert summary["final_train_loss"] > 0 and summary["final_val_loss"] > 0
    assert summary["weight_norm_sq"] > 0


def check_printed_summary(stdout: str, name: str, summary: dict) -> None:
    """The three lines of trainer.print_summary agree with the summary, to the digits
    printed."""
    tag = re.escape(f"[{name}]")
    match = re.search(tag + r" (Early stopping kicked in|Training ran to the end) in epoch index "
                      r"(\d+) \(epoch (\d+)\), global step (\d+); lowest validation loss at step "
                      r"(\d+)", stdout)
    assert match, f"no summary line for {name} in:\n{stdout}"
    assert (match[1] == "Early stopping kicked in") == summary["early_stopped"]
    assert tuple(map(int, match.groups()[1:])) == (
        summary["stop_epoch"], summary["epochs_trained"], summary["stop_step"],
        summary["best_step"])
    losses = re.search(tag + r" Final train loss: ([\d.]+), validation loss: ([\d.]+)", stdout)
    assert float(losses[1]) == pytest.approx(summary["final_train_loss"], abs=5.1e-7)
    assert float(losses[2]) == pytest.approx(summary["final_val_loss"], abs=5.1e-7)
    accuracies = re.search(tag + r" Train accuracy: ([\d.]+), validation accuracy: ([\d.]+)",
                           stdout)
    assert float(accuracies[1]) == pytest.approx(summary["final_train_accuracy"], abs=5.1e-5)
    assert float(accuracies[2]) == pytest.approx(summary["final_val_accuracy"], abs=5.1e-5)


# ------------------------------------------------------------------ task 2
def test_task2_writes_its_figures_and_complete_results(task2_run):
    check_outputs(task2_run, TASK2_FIGURES)
    results = task2_run.json
    assert results["hyperparameters"] == dict(num_epochs=TASK2_EPOCHS, learning_rate=0.05,
                                              batch_size=128, early_stopping_patience=10, seed=0)
    assert results["shapes"] == dict(X_train=[4005, 785], Y_train=[4005, 1],
                                     X_val=[2042, 785], Y_val=[2042, 1])
    runs = results["runs"]
    assert runs["no_shuffle"]["shuffle"] is False and runs["shuffle"]["shuffle"] is True
    for run in runs.values():
        # 4005 // 128 = 31 steps per epoch, validation every 31 // 5 = 6 steps
        check_summary(run, steps_per_epoch=31, validate_every=6, max_epochs=TASK2_EPOCHS)
        assert run["final_val_accuracy"] > 0.95  # 2 against 3 is easy: chance is ~0.5
    check_printed_summary(task2_run.stdout, "no shuffle", runs["no_shuffle"])
    check_printed_summary(task2_run.stdout, "shuffle, seed 0", runs["shuffle"])


def test_task2_seed_study(task2_run):
    """Ten shuffled runs, seeds 0..9; the first is the shuffled run of the results, and
    the seeds matter (the runs are not all the same)."""
    study, shuffled = task2_run.json["shuffle_seed_study"], task2_run.json["runs"]["shuffle"]
    assert study["seeds"] == list(range(10))
    for key in ("stop_epochs", "best_steps", "final_val_accuracy"):
        assert len(study[key]) == 10
    assert study["stop_epochs"][0] == shuffled["stop_epoch"]
    assert study["best_steps"][0] == shuffled["best_step"]
    assert study["final_val_accuracy"][0] == shuffled["final_val_accuracy"]
    assert all(0 <= epoch < TASK2_EPOCHS for epoch in study["stop_epochs"])
    assert all(step % 6 == 0 for step in study["best_steps"])
    assert len(set(study["final_val_accuracy"])) > 1
    printed = re.search(r"\[shuffle\] Early-stop epoch index over seeds \[([\d, ]+)\]: "
                        r"\[([\d, ]+)\]", task2_run.stdout)
    assert [int(s) for s in printed[1].split(",")] == study["seeds"]
    assert [int(s) for s in printed[2].split(",")] == study["stop_epochs"]


def test_task2_spike_study(task2_run):
    """Each seed compared with the run without shuffling over the validations after
    the two warm-up epochs (step 62) that both runs reached."""
    study, runs = task2_run.json["spike_study"], task2_run.json["runs"]
    assert study["warm_up_epochs"] == 2 and study["validation_every"] == 6
    assert [pair["seed"] for pair in study["pairs"]] == list(range(10))
    for pair in study["pairs"]:
        assert 62 <= pair["first_step"] <= pair["last_step"] <= runs["no_shuffle"]["stop_step"]
        assert pair["first_step"] % 6 == 0 and pair["last_step"] % 6 == 0
        assert pair["num_validations"] == (pair["last_step"] - pair["first_step"]) // 6 + 1
        assert pair["no_shuffle"] >= 0 and pair["shuffle"] >= 0
    ratios = [pair["no_shuffle"] / pair["shuffle"] for pair in study["pairs"]]
    assert study["ratio_median"] == pytest.approx(float(np.median(ratios)), rel=1e-12)
    assert (study["ratio_min"], study["ratio_max"]) == (min(ratios), max(ratios))
    assert study["seeds_less_spiky"] == sum(r > 1 for r in ratios)
    # digit 2 is target 1: the share of 2s among the training images, counted here
    labels = utils.load_binary_dataset(2, 3, verbose=False)[1]
    assert study["share_of_twos_overall"] == pytest.approx(labels.mean(), rel=1e-12)
    printed = re.search(r"\[2e\].*median ([\d.]+) over 10 seeds \(([\d.]+) to ([\d.]+)\)",
                        task2_run.stdout)
    assert float(printed[1]) == pytest.approx(study["ratio_median"], abs=0.0051)
    assert float(printed[2]) == pytest.approx(study["ratio_min"], abs=0.0051)
    assert float(printed[3]) == pytest.approx(study["ratio_max"], abs=0.0051)


def test_task2_same_results_with_one_and_two_workers(task2_run, task2_run_two_workers):
    check_outputs(task2_run_two_workers, TASK2_FIGURES)
    assert without_figure_paths(task2_run_two_workers.json) == without_figure_paths(
        task2_run.json)


def test_task2_runs_with_one_epoch(tmp_path):
    task2.main(["--max-epochs", "1", "--workers", "1", "--results-dir", str(tmp_path),
                "--figures-dir", str(tmp_path)])


def test_task2a_main_sanity_checks(capsys):
    task2a.main()
    out = capsys.readouterr().out
    assert "Train shape: X: (4005, 784), Y: (4005, 1)" in out
    assert re.search(r"Gradient check 1 passed .*\n.*Gradient check 2 passed", out)


# ------------------------------------------------------------------ task 3
def test_task3_writes_its_figures_and_complete_results(task3_run):
    check_outputs(task3_run, TASK3_FIGURES)
    results = task3_run.json
    assert results["hyperparameters"] == dict(learning_rate=0.01, batch_size=128, num_epochs=1,
                                              early_stopping_patience=10, seed=0, shuffle=True,
                                              l2_reg_lambda=0.0)
    assert results["shapes"] == dict(X_train=[20000, 785], Y_train=[20000, 10],
                                     X_val=[10000, 785], Y_val=[10000, 10])
    run = results["run"]
    # 20000 // 128 = 156 steps per epoch, validation every 156 // 5 = 31 steps
    check_summary(run, steps_per_epoch=156, validate_every=31, max_epochs=1)
    assert run["shuffle"] is True and run["l2_reg_lambda"] == 0.0
    assert run["final_val_accuracy"] > 0.8  # one epoch of softmax regression; chance is 0.1
    assert results["train_val_accuracy_gap"] == pytest.approx(
        run["final_train_accuracy"] - run["final_val_accuracy"], abs=1e-15)
    assert results["train_val_loss_gap"] == pytest.approx(
        run["final_val_loss"] - run["final_train_loss"], abs=1e-15)
    check_printed_summary(task3_run.stdout, "softmax", run)
    assert (task3_run.results_dir / "task3_run.npz").stat().st_size > 0


def sampled_gradient_check(model, X, Y):
    """Central differences of J = C + lambda ||w||^2, computed here, on 40 random
    weights and the ten bias weights (the full check of task3a.main takes ~13 s)."""
    rng = np.random.default_rng(0)
    weights = list(zip(rng.integers(0, 784, 40), rng.integers(0, 10, 40)))
    weights += [(784, k) for k in range(10)]

    def cost():
        z = X @ model.w
        log_p = z - z.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        return -np.mean(np.sum(Y * log_p, axis=1)) + model.l2_reg_lambda * np.sum(model.w ** 2)

    model.backward(X, model.forward(X), Y)
    worst = 0.0
    for r, c in weights:
        original = model.w[r, c]
        model.w[r, c] = original + 1e-4
        plus = cost()
        model.w[r, c] = original - 1e-4
        minus = cost()
        model.w[r, c] = original
        worst = max(worst, abs((plus - minus) / 2e-4 - model.grad[r, c]))
    assert worst < 1e-6
    return worst


def test_task3a_main_sanity_checks(monkeypatch, capsys):
    monkeypatch.setattr(task3a, "gradient_approximation_test", sampled_gradient_check)
    task3a.main()
    out = capsys.readouterr().out
    assert "Train shape: X: (20000, 784), Y: (20000, 1)" in out
    for l2_reg_lambda in ("0.0", "0.1"):
        for i in (1, 2):
            assert f"Gradient check {i} with lambda = {l2_reg_lambda} passed" in out


# ------------------------------------------------------------------ task 4
def test_task4_trains_every_lambda_and_writes_complete_results(task4_fresh, task3_run):
    check_outputs(task4_fresh, TASK4_FIGURES)
    results = task4_fresh.json
    expected_hp = {k: v for k, v in task3_run.json["hyperparameters"].items()
                   if k != "l2_reg_lambda"}
    assert results["hyperparameters"] == expected_hp
    assert results["lambdas_4b"] == [0.0, 1.0]
    assert results["lambdas_4c"] == [1.0, 0.1, 0.01, 0.001]
    runs = results["runs"]
    assert set(runs) == {"0.0", "1.0", "0.1", "0.01", "0.001"}
    for key, run in runs.items():
        assert run["l2_reg_lambda"] == float(key)
        check_summary(run, steps_per_epoch=156, validate_every=31, max_epochs=1)
        printed = re.search(rf"lambda = {float(key):g}: validation accuracy ([\d.]+), stopped in "
                            rf"epoch index (\d+), \|\|w\|\|\^2 = ([\d.]+)", task4_fresh.stdout)
        assert float(printed[1]) == pytest.approx(run["final_val_accuracy"], abs=5.1e-5)
        assert int(printed[2]) == run["stop_epoch"]
        assert float(printed[3]) == pytest.approx(run["weight_norm_sq"], abs=5.1e-4)
    # Stronger L2, smaller weights; and at lambda = 1 the accuracy visibly suffers.
    by_lambda = sorted(runs.values(), key=lambda run: run["l2_reg_lambda"])
    norms = [run["weight_norm_sq"] for run in by_lambda]
    assert norms == sorted(norms, reverse=True) and len(set(norms)) == 5
    assert runs["1.0"]["final_val_accuracy"] < runs["0.001"]["final_val_accuracy"] - 0.02
    swing = results["val_accuracy_swing"]
    assert swing["last_validations"] == 11 and set(swing["by_lambda"]) == set(runs)
    assert all(0 <= value <= 1 for value in swing["by_lambda"].values())


def test_task4_retrains_lambda_0_next_to_a_tampered_run(task4_fresh, task3_run):
    """The saved run had one weight changed: not reused, trained again, and then the
    lambda = 0 run is task 3's run, number for number."""
    assert "reusing" not in task4_fresh.stdout
    assert "Training softmax regression with lambda = 0, 0.001, 0.01, 0.1, 1" in task4_fresh.stdout
    assert task4_fresh.json["runs"]["0.0"] == task3_run.json["run"]


def test_task4_reuses_task3s_run_with_identical_results(task4_reusing, task4_fresh):
    check_outputs(task4_reusing, TASK4_FIGURES)
    assert "lambda = 0: reusing the run of task 3" in task4_reusing.stdout
    assert "Training softmax regression with lambda = 0.001, 0.01, 0.1, 1\n" in task4_reusing.stdout
    assert without_figure_paths(task4_reusing.json) == without_figure_paths(task4_fresh.json)


# ------------------------------------------------------------------ task3.load_run
@pytest.fixture(scope="module")
def saved_run(task3_run):
    return task3_run.results_dir / "task3_run.npz", task3_run.json


def test_load_run_returns_the_saved_run(saved_run, full_data):
    path, results = saved_run
    loaded = task3.load_run(path, results["hyperparameters"], *full_data)
    assert loaded is not None
    w, run, val_history = loaded
    assert w.shape == (785, 10) and run == results["run"]
    assert sorted(val_history) == ["accuracy", "loss"]
    assert list(val_history["loss"]) == list(range(0, 156, 31))  # 156 steps, every 31th
    assert val_history["loss"][run["best_step"]] == pytest.approx(run["final_val_loss"],
                                                                  rel=1e-12)


@pytest.mark.parametrize("change", [dict(num_epochs=2), dict(learning_rate=0.02),
                                    dict(l2_reg_lambda=0.1), dict(seed=1), dict(shuffle=False),
                                    dict(batch_size=64), dict(early_stopping_patience=None)])
def test_load_run_refuses_other_settings(saved_run, full_data, change):
    path, results = saved_run
    assert task3.load_run(path, dict(results["hyperparameters"], **change), *full_data) is None


def test_load_run_refuses_changed_or_stale_files(saved_run, full_data, tmp_path):
    path, results = saved_run
    with np.load(path) as saved:
        w, run = saved["w"], json.loads(str(saved["run"]))
        np.savez(tmp_path / "no_w.npz", **{key: saved[key] for key in saved.files if key != "w"})
    cases = {
        "one weight changed": tampered_copy(path, tmp_path / "a.npz", w=nudged(w)),
        "another fingerprint": tampered_copy(path, tmp_path / "b.npz", fingerprint="0" * 64),
        "another loss recorded": tampered_copy(
            path, tmp_path / "c.npz",
            run=json.dumps(dict(run, final_val_loss=run["final_val_loss"] * (1 + 1e-12)))),
        "no weights": tmp_path / "no_w.npz",
        "not an npz": tmp_path / "text.npz",
        "missing": tmp_path / "missing.npz",
    }
    (tmp_path / "text.npz").write_text("not a saved run\n")
    for what, case_path in cases.items():
        assert task3.load_run(case_path, results["hyperparameters"], *full_data) is None, what


def test_load_run_refuses_a_truncated_file(saved_run, full_data, tmp_path):
    path, results = saved_run
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:1000])
    assert task3.load_run(truncated, results["hyperparameters"], *full_data) is None


@pytest.mark.parametrize("shape", [(784, 10), (0, 10)])
def test_load_run_refuses_weights_of_another_shape(saved_run, full_data, tmp_path, shape):
    path, results = saved_run
    other = tampered_copy(path, tmp_path / "other.npz", w=np.zeros(shape))
    assert task3.load_run(other, results["hyperparameters"], *full_data) is None


# ------------------------------------------------------------------ plotting functions
@pytest.fixture
def saved_figures(monkeypatch):
    """The figures passed to utils.save_figure, kept for inspection instead of written
    (the scripts' tests check the written PNGs)."""
    figures = []

    def keep(fig, path):
        figures.append(fig)
        return Path(path)

    monkeypatch.setattr(utils, "save_figure", keep)
    yield figures
    plt.close("all")


def curves(ax):
    return [(list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()]


def test_plot_run_draws_the_histories_it_is_given(tmp_path, saved_figures):
    """4 epochs of 10 steps: the batch losses, their mean per epoch, the validations
    every 2 steps and the marked best step are all on the figures."""
    rng = np.random.default_rng(0)
    train_loss = {step: float(v) for step, v in enumerate(rng.uniform(0.1, 0.9, 40))}
    validated = range(0, 40, 2)
    train_history = dict(loss=train_loss,
                         accuracy={s: 0.5 + 0.01 * s for s in validated})
    val_history = dict(loss={s: 1.0 - 0.02 * s for s in validated},
                       accuracy={s: 0.4 + 0.01 * s for s in validated})
    paths = utils.plot_run(train_history, val_history, best_step=26, steps_per_epoch=10,
                           titles=("Loss title", "Accuracy title"), loss_ylim=(0, 1.2),
                           accuracy_ylim=(0.3, 1.0), loss_path=tmp_path / "l.png",
                           accuracy_path=tmp_path / "a.png")
    assert tuple(paths) == (tmp_path / "l.png", tmp_path / "a.png")
    loss_ax, accuracy_ax = (fig.axes[0] for fig in saved_figures)
    loss_curves, accuracy_curves = curves(loss_ax), curves(accuracy_ax)
    assert (list(range(40)), list(train_loss.values())) in loss_curves
    assert (list(validated), list(val_history["loss"].values())) in loss_curves
    epoch_means = [np.mean([train_loss[s] for s in range(10 * e, 10 * e + 10)])
                   for e in range(4)]
    assert any(len(y) == 4 and np.allclose(y, epoch_means)
               and all(10 * e <= x[e] < 10 * e + 10 for e in range(4))
               for x, y in loss_curves)
    assert (list(validated), list(train_history["accuracy"].values())) in accuracy_curves
    assert (list(validated), list(val_history["accuracy"].values())) in accuracy_curves
    for ax in (loss_ax, accuracy_ax):
        assert any(x == [26, 26] for x, _ in curves(ax))  # the best step, marked
    assert loss_ax.get_title() == "Loss title" and accuracy_ax.get_title() == "Accuracy title"
    assert loss_ax.get_ylim() == (0, 1.2) and accuracy_ax.get_ylim() == (0.3, 1.0)


def test_plot_weights_shows_each_class_column_as_a_28x28_image(tmp_path, saved_figures):
    """Image k of a model is column k of w without the bias row, pixel (r, c) being
    input 28 r + c; each model has its own grey scale, symmetric around 0 and set by
    its largest pixel weight (the bias, here huge, does not count)."""
    rng = np.random.default_rng(0)
    weights = {0.0: rng.normal(size=(785, 10)), 1.0: 0.01 * rng.normal(size=(785, 10))}
    weights[0.0][-1] = 1e6
    assert task4.plot_weights(weights, tmp_path / "w.png") == tmp_path / "w.png"
    (fig,) = saved_figures
    panels = fig.subfigs
    assert len(panels) == 2
    for panel, w in zip(panels, weights.values()):
        images = [image for ax in panel.axes for image in ax.get_images()]
        assert len(images) == 10
        vmax = np.abs(w[:784]).max()
        for k, image in enumerate(images):
            array = np.asarray(image.get_array())
            assert array.shape == (28, 28)
            assert array[3, 5] == w[28 * 3 + 5, k] and array[27, 27] == w[783, k]
            np.testing.assert_array_equal(array.ravel(), w[:784, k])
            assert image.get_clim() == pytest.approx((-vmax, vmax))
