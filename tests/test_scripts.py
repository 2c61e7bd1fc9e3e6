"""The task scripts end to end on the real data, shortened with --max-epochs: every
figure written (a PNG whose SHA-256 the results file records), the results file
complete, strict JSON, and the same numbers as the printed summary. Task 4 reuses
task 3's saved run only when it is the same run; --workers does not change a number.
Also the two plotting functions, checked against the data they were given.

The scripts run once, in the background (tests/task_scripts_runner.py, started by
tests/conftest.py); the tests here read their outputs. If a script raised, one test
(test_every_task_script_runs) fails with its error and names the function of yours
that is wrong, when one is; the tests of that script's outputs are then skipped. They
are skipped too while one of your functions that the script uses gives wrong results on
a tiny input (tests/building_blocks.py): the reason names it and the test to fix first.
The hyperparameters are read from each results file, never assumed: changing them
fails tests/test_assignment_settings.py only.
"""
import hashlib
import json
import math
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

import building_blocks
import script_tools
import task2
import task2a
import task3
import task3a
import task4
import utils
from task_scripts_runner import RUNS, TASK2_EPOCHS, nudged, tampered_copy

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
            pytest.skip(f"{script}.main() raised: test_every_task_script_runs reports it")
        building_blocks.skip_if_wrong(
            building_blocks.BINARY if script == "task2" else building_blocks.SOFTMAX,
            f"what {script}.main() wrote")
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


def test_every_task_script_runs(task_scripts):
    """Each run of tests/task_scripts_runner.py finished without an error. If one
    raised: which of your building blocks are wrong (checked on a tiny input,
    tests/building_blocks.py) - usually the place to start - and each run's error."""
    failed = {name: task_scripts / name for name in RUNS
              if (task_scripts / name / "error.txt").exists()}
    if failed:
        wrong = building_blocks.wrong()
        lines = [f"{len(failed)} of the {len(RUNS)} task script runs raised an error "
                 f"({', '.join(failed)})."]
        if wrong:
            lines += ["These functions of yours give wrong results on a tiny input; their "
                      "own tests say more:", *(f"  - {line}" for line in wrong)]
        lines += ["The errors:", *(f"  - {name} ({RUNS[name][0]}.main()): "
                                  f"{(folder / 'error_line.txt').read_text()}"
                                  for name, folder in failed.items())]
        first_name, first_folder = next(iter(failed.items()))
        lines += ["", f"The traceback of run {first_name}:",
                  (first_folder / "error.txt").read_text()]
        pytest.fail("\n".join(lines), pytrace=False)


def hyperparameters_of(run: "Run") -> dict:
    return run.json["hyperparameters"]


def schedule(num_train: int, batch_size: int):
    """(steps per epoch, validation every this many steps), as the trainer works it out."""
    steps_per_epoch = num_train // batch_size
    return steps_per_epoch, max(1, steps_per_epoch // 5)


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
    hp = hyperparameters_of(task2_run)
    assert set(hp) == {"num_epochs", "learning_rate", "batch_size", "early_stopping_patience",
                       "seed"}
    assert hp["num_epochs"] == TASK2_EPOCHS  # the tests' --max-epochs
    steps_per_epoch, every = schedule(4005, hp["batch_size"])
    assert results["shapes"] == dict(X_train=[4005, 785], Y_train=[4005, 1],
                                     X_val=[2042, 785], Y_val=[2042, 1])
    runs = results["runs"]
    assert runs["no_shuffle"]["shuffle"] is False and runs["shuffle"]["shuffle"] is True
    for run in runs.values():
        # 4005 // 128 = 31 steps per epoch, validation every 31 // 5 = 6 steps (batch 128)
        check_summary(run, steps_per_epoch, every, max_epochs=TASK2_EPOCHS)
        assert run["final_val_accuracy"] > 0.95, (  # 2 against 3 is easy: chance is ~0.5
            f"task2.main(): {TASK2_EPOCHS} epochs of logistic regression (2 vs 3) must reach "
            f"a validation accuracy above 0.95, got {run['final_val_accuracy']:.4f}")
    check_printed_summary(task2_run.stdout, "no shuffle", runs["no_shuffle"])
    check_printed_summary(task2_run.stdout, "shuffle, seed 0", runs["shuffle"])
    # task 2a's gradient check on 100 real images, at zero and at random weights
    assert [c["weights"] for c in results["gradient_checks"]] == ["zero", "random"]
    for check in results["gradient_checks"]:
        assert check["num_images"] == 100
        assert 0 <= check["max_difference"] <= check["tolerance"] == 1e-6


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
    every = schedule(4005, hyperparameters_of(task2_run)["batch_size"])[1]
    assert all(step % every == 0 for step in study["best_steps"])
    assert len(set(study["final_val_accuracy"])) > 1
    printed = re.search(r"\[shuffle\] Stop epoch index over seeds \[([\d, ]+)\]: "
                        r"\[([\d, ]+)\]", task2_run.stdout)
    assert [int(s) for s in printed[1].split(",")] == study["seeds"]
    assert [int(s) for s in printed[2].split(",")] == study["stop_epochs"]


def test_task2_spike_study(task2_run):
    """Each seed compared with the run without shuffling over the validations after
    the warm-up epochs (2 epochs: step 62 with batch size 128) that both runs reached."""
    study, runs = task2_run.json["spike_study"], task2_run.json["runs"]
    steps_per_epoch, every = schedule(4005, hyperparameters_of(task2_run)["batch_size"])
    warm_up_step = study["warm_up_epochs"] * steps_per_epoch
    assert study["warm_up_epochs"] < TASK2_EPOCHS and study["validation_every"] == every
    assert study["drop_period_steps"] == math.lcm(every, steps_per_epoch)
    assert [pair["seed"] for pair in study["pairs"]] == task2_run.json[
        "shuffle_seed_study"]["seeds"]
    for pair in study["pairs"]:
        assert warm_up_step <= pair["first_step"] <= pair["last_step"] <= runs[
            "no_shuffle"]["stop_step"]
        assert pair["first_step"] % every == 0 and pair["last_step"] % every == 0
        assert pair["num_validations"] == (pair["last_step"] - pair["first_step"]) // every + 1
        assert pair["no_shuffle"] >= 0 and pair["shuffle"] >= 0
    ratios = [pair["no_shuffle"] / pair["shuffle"] for pair in study["pairs"]]
    assert study["ratio_median"] == pytest.approx(float(np.median(ratios)), rel=1e-12)
    assert (study["ratio_min"], study["ratio_max"]) == (min(ratios), max(ratios))
    assert study["seeds_less_spiky"] == sum(r > 1 for r in ratios)
    # digit 2 is target 1: the share of 2s among the training images, counted here
    labels = utils.load_binary_dataset(2, 3, verbose=False)[1]
    assert study["share_of_twos_overall"] == pytest.approx(labels.mean(), rel=1e-12)
    # and in each fixed batch, in the order without shuffling
    batch_size = hyperparameters_of(task2_run)["batch_size"]
    per_batch = labels[:steps_per_epoch * batch_size, 0].reshape(steps_per_epoch, -1).mean(axis=1)
    assert study["share_of_twos_each_batch"] == pytest.approx(per_batch.tolist(), rel=1e-12)
    assert study["share_of_twos_batches"] == [min(per_batch), max(per_batch)]
    for drop in study["largest_drops_no_shuffle"]:
        assert drop["step"] >= warm_up_step and drop["drop"] > 0
        assert drop["batch_index"] == drop["step"] % steps_per_epoch
        assert drop["share_of_twos"] == study["share_of_twos_each_batch"][drop["batch_index"]]
    printed = re.search(r"\[2e\].*median ([\d.]+) over (\d+) seeds", task2_run.stdout)
    assert float(printed[1]) == pytest.approx(study["ratio_median"], abs=0.0051)
    assert int(printed[2]) == len(study["pairs"])


def test_task2_same_results_with_one_and_two_workers(task2_run, task2_run_two_workers):
    check_outputs(task2_run_two_workers, TASK2_FIGURES)
    assert without_figure_paths(task2_run_two_workers.json) == without_figure_paths(
        task2_run.json)


def test_task2_spike_study_of_runs_too_short_to_measure():
    """Runs that end before the warm-up (task2.main with one epoch): no pairs to compare
    and no ratio, but no error either."""
    steps_per_epoch = 31
    run = dict(steps_per_epoch=steps_per_epoch, stop_step=30)
    history = dict(accuracy={step: 0.9 + 0.001 * step for step in range(0, 31, 6)})
    shuffled = [(dict(run), None, history)] * 2
    Y_train = (np.arange(4005) % 3 == 0).reshape(-1, 1).astype(np.int64)
    study = task2.spike_study(run, history, shuffled, [0, 1], Y_train, 128, warm_up_epochs=2)
    assert study["pairs"] == [] and study["ratio_median"] is None
    assert study["ratio_min"] is None and study["ratio_max"] is None
    assert study["largest_drops_no_shuffle"] == [] and study["seeds_less_spiky"] == 0
    assert study["validation_every"] == 6 and study["drop_period_steps"] == 186
    assert study["share_of_twos_overall"] == pytest.approx(Y_train.mean())
    assert len(study["share_of_twos_each_batch"]) == steps_per_epoch


def test_task2a_main_sanity_checks(task_scripts):
    if (task_scripts / "task2a" / "error.txt").exists():
        pytest.skip("task2a.main() raised: test_every_task_script_runs reports it")
    out = (task_scripts / "task2a" / "stdout.txt").read_text()
    assert "Train shape: X: (4005, 784), Y: (4005, 1)" in out
    assert re.search(r"Gradient check 1 passed .*\n.*Gradient check 2 passed", out)


# ------------------------------------------------------------------ task 3
def test_task3_writes_its_figures_and_complete_results(task3_run):
    check_outputs(task3_run, TASK3_FIGURES)
    results = task3_run.json
    hp = hyperparameters_of(task3_run)
    assert set(hp) == {"learning_rate", "batch_size", "num_epochs", "early_stopping_patience",
                       "seed", "shuffle", "l2_reg_lambda"}
    assert hp["num_epochs"] == 1  # the tests' --max-epochs
    assert results["shapes"] == dict(X_train=[20000, 785], Y_train=[20000, 10],
                                     X_val=[10000, 785], Y_val=[10000, 10])
    run = results["run"]
    # 20000 // 128 = 156 steps per epoch, validation every 156 // 5 = 31 steps (batch 128)
    check_summary(run, *schedule(20000, hp["batch_size"]), max_epochs=1)
    assert run["shuffle"] is hp["shuffle"] and run["l2_reg_lambda"] == hp["l2_reg_lambda"]
    assert run["final_val_accuracy"] > 0.8, (  # one epoch of softmax regression; chance is 0.1
        f"task3.main(): one epoch of softmax regression must reach a validation accuracy "
        f"above 0.8, got {run['final_val_accuracy']:.4f}")
    assert results["train_val_accuracy_gap"] == pytest.approx(
        run["final_train_accuracy"] - run["final_val_accuracy"], abs=1e-15)
    assert results["train_val_loss_gap"] == pytest.approx(
        run["final_val_loss"] - run["final_train_loss"], abs=1e-15)
    check_printed_summary(task3_run.stdout, "softmax", run)
    # task 3a's gradient check on 100 real images at random weights, lambda 0 and 0.1
    assert [c["l2_reg_lambda"] for c in results["gradient_checks"]] == [0.0, 0.1]
    for check in results["gradient_checks"]:
        assert check["num_images"] == 100 and check["weights"] == "random"
        assert 0 <= check["max_difference"] <= check["tolerance"] == 1e-6
    assert (task3_run.results_dir / "task3_run.npz").stat().st_size > 0


def test_task3a_main_sanity_checks(task_scripts):
    """task3a.main, run with a sampled gradient check (the full one takes ~13 s)."""
    if (task_scripts / "task3a" / "error.txt").exists():
        pytest.skip("task3a.main() raised: test_every_task_script_runs reports it")
    out = (task_scripts / "task3a" / "stdout.txt").read_text()
    assert "Train shape: X: (20000, 784), Y: (20000, 1)" in out
    for l2_reg_lambda in ("0.0", "0.1"):
        for i in (1, 2):
            assert f"Gradient check {i} with lambda = {l2_reg_lambda} passed" in out


# ------------------------------------------------------------------ task 4
def test_task4_trains_every_lambda_and_writes_complete_results(task4_fresh, task3_run):
    check_outputs(task4_fresh, TASK4_FIGURES)
    results = task4_fresh.json
    hp = hyperparameters_of(task4_fresh)
    assert set(hp) == {"learning_rate", "batch_size", "num_epochs", "early_stopping_patience",
                       "seed", "shuffle"}
    assert hp["num_epochs"] == 1  # the tests' --max-epochs
    lambdas = results["lambdas_4b"] + results["lambdas_4c"]
    runs = results["runs"]
    assert set(runs) == {repr(float(lam)) for lam in lambdas}
    for key, run in runs.items():
        assert run["l2_reg_lambda"] == float(key)
        check_summary(run, *schedule(20000, hp["batch_size"]), max_epochs=1)
        printed = re.search(rf"lambda = {float(key):g}: validation accuracy ([\d.]+), stopped in "
                            rf"epoch index (\d+), \|\|w\|\|\^2 = ([\d.]+)", task4_fresh.stdout)
        assert float(printed[1]) == pytest.approx(run["final_val_accuracy"], abs=5.1e-5)
        assert int(printed[2]) == run["stop_epoch"]
        assert float(printed[3]) == pytest.approx(run["weight_norm_sq"], abs=5.1e-4)
    # Stronger L2, smaller weights; and at lambda = 1 the accuracy visibly suffers.
    by_lambda = sorted(runs.values(), key=lambda run: run["l2_reg_lambda"])
    norms = [run["weight_norm_sq"] for run in by_lambda]
    assert norms == sorted(norms, reverse=True) and len(set(norms)) == len(runs)
    if "1.0" in runs and "0.001" in runs:
        assert runs["1.0"]["final_val_accuracy"] < runs["0.001"]["final_val_accuracy"] - 0.02
    swing = results["val_accuracy_swing"]
    assert swing["last_validations"] == hp["early_stopping_patience"] + 1
    assert set(swing["by_lambda"]) == set(runs)
    assert all(0 <= value <= 1 for value in swing["by_lambda"].values())


def same_settings(task4_run, task3_run) -> bool:
    """Whether task 4's lambda = 0 model is task 3's model (the same hyperparameters)."""
    task3_hp = hyperparameters_of(task3_run)
    return task3_hp["l2_reg_lambda"] == 0.0 and hyperparameters_of(task4_run) == {
        k: v for k, v in task3_hp.items() if k != "l2_reg_lambda"}


def trained_line(lambdas) -> str:
    return "Training softmax regression with lambda = " + ", ".join(
        f"{lam:g}" for lam in sorted(set(lambdas))) + "\n"


def test_task4_retrains_lambda_0_next_to_a_tampered_run(task4_fresh, task3_run):
    """The saved run had one weight changed: not reused, trained again, and then (with
    task 3's settings) the lambda = 0 run is task 3's run, number for number."""
    results = task4_fresh.json
    assert "lambda = 0: reusing" not in task4_fresh.stdout
    lambdas = results["lambdas_4b"] + results["lambdas_4c"]
    assert trained_line([lam for lam in lambdas if lam != 0]) in task4_fresh.stdout
    assert trained_line([0]) in task4_fresh.stdout  # after the others: a run was saved
    if same_settings(task4_fresh, task3_run):
        assert results["runs"]["0.0"] == task3_run.json["run"]


def test_task4_reuses_task3s_run_with_identical_results(task4_reusing, task4_fresh, task3_run):
    """With task 3's settings task 4 reuses task 3's saved run for lambda = 0, and its
    results are those of training it again; with other settings it trains it."""
    check_outputs(task4_reusing, TASK4_FIGURES)
    results = task4_reusing.json
    lambdas = results["lambdas_4b"] + results["lambdas_4c"]
    if same_settings(task4_reusing, task3_run):
        assert "lambda = 0: reusing the run of task 3" in task4_reusing.stdout
        assert trained_line([lam for lam in lambdas if lam != 0]) in task4_reusing.stdout
    else:
        assert "lambda = 0: reusing" not in task4_reusing.stdout
        assert trained_line([lam for lam in lambdas if lam != 0]) in task4_reusing.stdout
        assert trained_line([0]) in task4_reusing.stdout
    assert without_figure_paths(task4_reusing.json) == without_figure_paths(task4_fresh.json)


# ------------------------------------------------------------------ script_tools.load_run
def load_run(path, settings, X_val, Y_val):
    """script_tools.load_run as task4.main calls it for task 3's saved run."""
    key = script_tools.fingerprint(settings, task3.RUN_SOURCES)
    return script_tools.load_run(path, key, lambda w: task3.reproduce(
        w, settings["l2_reg_lambda"], X_val, Y_val))


@pytest.fixture(scope="module")
def saved_run(task3_run):
    return task3_run.results_dir / "task3_run.npz", task3_run.json


@pytest.fixture(scope="module")
def val_data():
    """The validation split as task 3 trained with it: through your pre_process_images
    and one_hot_encode (load_run compares the loss of the saved weights on it)."""
    building_blocks.skip_if_wrong(building_blocks.SOFTMAX, "task 4's reuse of a saved run")
    _, _, X_val, Y_val = utils.load_full_mnist(verbose=False)
    return task2a.pre_process_images(X_val), task3a.one_hot_encode(Y_val, 10)


def test_load_run_returns_the_saved_run(saved_run, val_data):
    path, results = saved_run
    loaded = load_run(path, results["hyperparameters"], *val_data)
    assert loaded is not None
    w, run, val_history = loaded
    assert w.shape == (785, 10) and run == results["run"]
    assert sorted(val_history) == ["accuracy", "loss"]
    steps_per_epoch, every = schedule(20000, results["hyperparameters"]["batch_size"])
    assert list(val_history["loss"]) == list(range(0, steps_per_epoch, every))  # 1 epoch
    assert val_history["loss"][run["best_step"]] == pytest.approx(run["final_val_loss"],
                                                                  rel=1e-12)


# Each setting changed from the value the run was saved with (whatever that is)
OTHER_SETTINGS = {
    "num_epochs": lambda v: v + 1, "learning_rate": lambda v: v * 2,
    "l2_reg_lambda": lambda v: v + 0.1, "seed": lambda v: v + 1, "shuffle": lambda v: not v,
    "batch_size": lambda v: v // 2, "early_stopping_patience": lambda v: None}


@pytest.mark.parametrize("name", OTHER_SETTINGS)
def test_load_run_refuses_other_settings(saved_run, val_data, name):
    path, results = saved_run
    settings = dict(results["hyperparameters"])
    settings[name] = OTHER_SETTINGS[name](settings[name])
    assert load_run(path, settings, *val_data) is None


def test_load_run_refuses_changed_or_stale_files(saved_run, val_data, tmp_path):
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
        assert load_run(case_path, results["hyperparameters"], *val_data) is None, what


def test_load_run_refuses_a_truncated_file(saved_run, val_data, tmp_path):
    path, results = saved_run
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:1000])
    assert load_run(truncated, results["hyperparameters"], *val_data) is None


@pytest.mark.parametrize("shape", [(784, 10), (0, 10)])
def test_load_run_refuses_weights_of_another_shape(saved_run, val_data, tmp_path, shape):
    path, results = saved_run
    other = tampered_copy(path, tmp_path / "other.npz", w=np.zeros(shape))
    assert load_run(other, results["hyperparameters"], *val_data) is None


# ------------------------------------------------------------------ plotting functions
@pytest.fixture
def saved_figures(monkeypatch):
    """The figures passed to script_tools.save_figure, kept for inspection instead of written
    (the scripts' tests check the written PNGs)."""
    figures = []

    def keep(fig, path):
        figures.append(fig)
        return Path(path)

    monkeypatch.setattr(script_tools, "save_figure", keep)
    yield figures
    plt.close("all")


def curves(ax):
    return [(list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()]


def test_plot_loss_and_finish_plot_draw_what_they_are_given():
    """4 epochs of 10 steps: the batch losses, their mean per epoch, the validations
    every 2 steps; finish_plot marks the best step and sets the y scale."""
    rng = np.random.default_rng(0)
    train_loss = {step: float(v) for step, v in enumerate(rng.uniform(0.1, 0.9, 40))}
    validated = range(0, 40, 2)
    val_loss = {s: 1.0 - 0.02 * s for s in validated}
    plt.figure()
    try:
        utils.plot_loss(train_loss, "batch loss")
        utils.plot_loss(train_loss, "mean", npoints_to_average=10, plot_variance=False)
        utils.plot_loss(val_loss, "validation loss")
        script_tools.finish_plot(26, "Loss", "log", "Loss title")
        ax = plt.gca()
        drawn = curves(ax)
        assert (list(range(40)), list(train_loss.values())) in drawn
        assert (list(validated), list(val_loss.values())) in drawn
        epoch_means = [np.mean([train_loss[s] for s in range(10 * e, 10 * e + 10)])
                       for e in range(4)]
        assert any(len(y) == 4 and np.allclose(y, epoch_means)
                   and all(10 * e <= x[e] < 10 * e + 10 for e in range(4))
                   for x, y in drawn)
        assert any(x == [26, 26] for x, _ in drawn)  # the best step, marked
        assert ax.get_title() == "Loss title" and ax.get_yscale() == "log"
        assert any("step 26" in text.get_text() for text in ax.get_legend().get_texts())
    finally:
        plt.close("all")


def test_plot_loss_band_is_one_standard_deviation():
    values = {step: float(step % 2) for step in range(8)}  # 0, 1, 0, 1, ...: std 0.5
    plt.figure()
    try:
        utils.plot_loss(values, "x", npoints_to_average=4)
        (band,) = plt.gca().collections
        low, high = band.get_paths()[0].vertices[:, 1].min(), band.get_paths()[0].vertices[
            :, 1].max()
        assert (low, high) == pytest.approx((0.0, 1.0))
    finally:
        plt.close("all")


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


# ------------------------------------------------------------------ the command line
SCRIPTS = ("task2a.py", "task2.py", "task3a.py", "task3.py", "task4.py", "mnist.py",
           "create_submission_zip.py")
# Each script run in one interpreter with --help and with an unknown option: exit codes
# and what it printed (one process for all, so that the imports are paid once).
OPTIONS_PROBE = """
import contextlib, io, json, runpy, sys
found = {}
for script in sys.argv[1:]:
    for option in ("--help", "--bogus"):
        out, err = io.StringIO(), io.StringIO()
        sys.argv = [script, option]
        code = None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(script, run_name="__main__")
            except SystemExit as stop:
                code = stop.code
        found[f"{script} {option}"] = [code, out.getvalue(), err.getvalue()]
print(json.dumps(found))
"""


def test_help_and_unknown_options_end_every_script_before_any_work(tmp_path):
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[1]
    probe = subprocess.run([sys.executable, "-c", OPTIONS_PROBE, *SCRIPTS], cwd=root,
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout.splitlines()[-1])
    for script in SCRIPTS:
        code, out, _ = found[f"{script} --help"]
        assert code == 0 and out.startswith("usage:"), (script, code, out[:200])
        # what it writes (or that it writes nothing)
        assert re.search(r"[Ww]rites?\s|\.(json|png|npz|zip)\b", out), (script, out)
        code, out, err = found[f"{script} --bogus"]
        assert code == 2 and "unrecognized arguments: --bogus" in err, (script, code, err)
        assert not out, (script, out)  # nothing ran: no check, no training printed


@pytest.mark.parametrize("argv, says", [
    (["--workers", "0"], "--workers must be >= 1, got 0"),
    (["--figures-dir", "{file}"], "--figures-dir {file}: cannot make this folder"),
    (["--results-dir", "{file}/results"], "--results-dir {file}/results: cannot make"),
    (["--results-dir", "{file}/results", "--show"], "--results-dir {file}/results: cannot make"),
    (["--show"], "--show needs a display, and this session has none"),
])
def test_unusable_options_end_a_script_before_any_work(tmp_path, monkeypatch, capsys,
                                                        argv, says):
    file = tmp_path / "a_file"
    file.write_text("not a folder")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    argv = [a.format(file=file) for a in argv]
    if "--figures-dir" not in argv:
        argv += ["--figures-dir", str(tmp_path / "figures")]
    if "--results-dir" not in argv:
        argv += ["--results-dir", str(tmp_path / "results")]
    with pytest.raises(SystemExit) as stop:
        script_tools.parse_args(task2.__doc__, argv)
    assert stop.value.code == 2
    assert says.format(file=file) in capsys.readouterr().err
    assert not (tmp_path / "figures").exists() and not (tmp_path / "results").exists(), (
        "a rejected command line must not make folders")
