"""Tests for report.ipynb: structure of the committed notebook, and a full run of it
against a small synthetic results tree (so the numbers in the text are provably read
from results/*.json and not typed in)."""
import hashlib
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from matplotlib.figure import Figure
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "report.ipynb"
TITLE = "TDT4265 Assignment 1: Logistic and Softmax Regression"

# The subtasks of the assignment, in the order the report must present them.
SUBTASK_HEADINGS = [
    "Task 1a", "Task 1b",
    "Task 2a", "Task 2b", "Task 2c", "Task 2d", "Task 2e",
    "Task 3a", "Task 3b", "Task 3c", "Task 3d",
    "Task 4a", "Task 4b", "Task 4c", "Task 4d", "Task 4e",
]
# Subtasks whose section must show a figure.
FIGURE_SECTIONS = ["Task 2b", "Task 2c", "Task 2e", "Task 3b", "Task 3c",
                   "Task 4b", "Task 4c", "Task 4e"]

# Distinctive values planted in the synthetic results; none is a "real" number.
NO_SHUFFLE_STOP_EPOCH = 27
SOFTMAX_VAL_ACCURACY = 0.9123
SPIKE_RATIO_MEDIAN = 1.87
NORMS = {0.0: 873.21, 0.001: 412.34, 0.01: 95.67, 0.1: 12.345, 1.0: 1.2345}


def make_run(shuffle, l2_reg_lambda, train_loss, val_loss, train_acc, val_acc,
             stop_epoch, steps_per_epoch, weight_norm_sq, early_stopped=True):
    """One RUN entry of the results schema (trainer.BaseTrainer.summary())."""
    stop_step = (stop_epoch + 1) * steps_per_epoch - 7
    return {
        "shuffle": shuffle, "l2_reg_lambda": l2_reg_lambda,
        "final_train_loss": train_loss, "final_val_loss": val_loss,
        "final_train_accuracy": train_acc, "final_val_accuracy": val_acc,
        "early_stopped": early_stopped, "stop_epoch": stop_epoch,
        "epochs_trained": stop_epoch + 1,
        "stop_step": stop_step, "best_step": stop_step - 60, "num_steps": stop_step + 1,
        "steps_per_epoch": steps_per_epoch, "weight_norm_sq": weight_norm_sq,
    }


def spike_pair(seed, no_shuffle, shuffle):
    return {"seed": seed, "first_step": 66, "last_step": 600, "num_validations": 90,
            "no_shuffle": no_shuffle, "shuffle": shuffle}


def save_png(path, title):
    """A small line plot, written without pyplot (no global backend state)."""
    fig = Figure(figsize=(4, 3), dpi=50)
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [0.3, 0.2, 0.15])
    ax.set_title(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def write_results_tree(root):
    """Write results/task{2,3,4}.json and the figures they name under root."""
    root = Path(root)
    hp = {"learning_rate": 0.01, "batch_size": 128, "num_epochs": 500,
          "early_stopping_patience": 10, "seed": 0, "shuffle": True}
    task2 = {
        "hyperparameters": {"learning_rate": 0.05, "batch_size": 128, "num_epochs": 500,
                            "early_stopping_patience": 10, "seed": 0},
        "shapes": {"X_train": [4005, 785], "Y_train": [4005, 1],
                   "X_val": [2042, 785], "Y_val": [2042, 1]},
        "runs": {
            "no_shuffle": make_run(False, 0.0, 0.0712, 0.0661, 0.9751, 0.9788,
                                   NO_SHUFFLE_STOP_EPOCH, 31, 10.5),
            "shuffle": make_run(True, 0.0, 0.0734, 0.0689, 0.9743, 0.9779, 13, 31, 9.8),
        },
        "shuffle_seed_study": {"seeds": [0, 1, 2, 3], "stop_epochs": [13, 29, 17, 21],
                               "best_steps": [300, 800, 450, 560],
                               "final_val_accuracy": [0.9779, 0.9801, 0.9770, 0.9786]},
        "spike_study": {
            "warm_up_epochs": 2, "validation_every": 6,
            "pairs": [spike_pair(0, 0.004, 0.002), spike_pair(1, 0.0033, 0.0011),
                      spike_pair(2, 0.0035, 0.0021), spike_pair(3, 0.0031, 0.0019)],
            "ratio_median": SPIKE_RATIO_MEDIAN, "ratio_min": 1.63, "ratio_max": 3.0,
            "seeds_less_spiky": 4,
            "largest_drops_no_shuffle": [
                {"step": step, "drop": 0.03, "batch_index": 11, "share_of_twos": 0.4375}
                for step in (135, 321, 507)],
            "share_of_twos_overall": 0.4816, "share_of_twos_batches": [0.39, 0.53]},
        "figures": {"task2b": "figures/task2b_loss.png",
                    "task2c": "figures/task2c_accuracy.png",
                    "task2e": "figures/task2e_shuffle.png"},
    }
    task3 = {
        "hyperparameters": dict(hp, l2_reg_lambda=0.0),
        "shapes": {"X_train": [20000, 785], "Y_train": [20000, 10],
                   "X_val": [10000, 785], "Y_val": [10000, 10]},
        "run": make_run(True, 0.0, 0.3012, 0.3345, 0.9311, SOFTMAX_VAL_ACCURACY, 41, 156,
                        NORMS[0.0]),
        "train_val_accuracy_gap": 0.9311 - SOFTMAX_VAL_ACCURACY,
        "train_val_loss_gap": 0.3345 - 0.3012,
        "figures": {"task3b": "figures/task3b_loss.png",
                    "task3c": "figures/task3c_accuracy.png"},
    }
    accuracies = {0.0: (0.9311, SOFTMAX_VAL_ACCURACY), 0.001: (0.9290, 0.9117),
                  0.01: (0.9204, 0.9071), 0.1: (0.8972, 0.8890), 1.0: (0.8411, 0.8376)}
    task4 = {
        "hyperparameters": hp,
        "lambdas_4b": [0.0, 1.0],
        "lambdas_4c": [1.0, 0.1, 0.01, 0.001],
        "runs": {repr(float(lmbda)): make_run(True, lmbda, 0.3, 0.33, tr, va, 30, 156,
                                              NORMS[lmbda])
                 for lmbda, (tr, va) in accuracies.items()},
        "val_accuracy_swing": {"last_validations": 11,
                               "by_lambda": {"0.0": 0.0024, "0.001": 0.003, "0.01": 0.0051,
                                             "0.1": 0.0063, "1.0": 0.0635}},
        "figures": {"task4b": "figures/task4b_weights.png",
                    "task4c": "figures/task4c_val_accuracy.png",
                    "task4e": "figures/task4e_weight_norm.png"},
    }
    (root / "results").mkdir(parents=True, exist_ok=True)
    for name, results in (("task2", task2), ("task3", task3), ("task4", task4)):
        for key, rel_path in results["figures"].items():
            save_png(root / rel_path, key)
            digest = hashlib.sha256((root / rel_path).read_bytes()).hexdigest()
            results["figures"][key] = {"path": rel_path, "sha256": digest}
        (root / "results" / f"{name}.json").write_text(json.dumps(results, indent=2))
    return root


def execute(nb, cwd):
    """Run a notebook in cwd with the python3 kernel and return it."""
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def output_text(cell):
    """All Markdown, plain-text and stream output of a code cell, joined."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        data = output.get("data", {})
        parts.extend(data.get(mime, "") for mime in ("text/markdown", "text/plain"))
    return "\n".join(parts)


def markdown_headings(nb):
    """(level, text) of every Markdown heading, in notebook order."""
    headings = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"^(#+)\s+(.*?)\s*$", line)
            if match:
                headings.append((len(match.group(1)), match.group(2)))
    return headings


@pytest.fixture(scope="module")
def committed():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def executed(tmp_path_factory, committed):
    root = write_results_tree(tmp_path_factory.mktemp("report"))
    nb = nbformat.from_dict(json.loads(json.dumps(committed)))  # deep copy
    probe = nbformat.v4.new_code_cell("import sys; print('KERNEL_PREFIX=' + sys.prefix)")
    nb.cells.append(probe)
    return execute(nb, root)


def test_committed_notebook_is_valid_and_has_no_outputs(committed):
    nbformat.validate(committed)
    code_cells = [c for c in committed.cells if c.cell_type == "code"]
    assert code_cells
    for cell in code_cells:
        assert cell.outputs == []
        assert cell.execution_count is None


def test_title_metadata(committed):
    assert committed.metadata.get("title") == TITLE
    assert committed.metadata.get("kernelspec", {}).get("name") == "python3"


def test_subtask_headings_in_spec_order(committed):
    headings = markdown_headings(committed)
    assert [text for level, text in headings if level == 2] == SUBTASK_HEADINGS
    assert [text for level, text in headings if level == 1] == [
        "Task 1", "Task 2", "Task 3", "Task 4"]


def test_first_cell_loads_the_results(committed):
    first = committed.cells[0]
    assert first.cell_type == "code"
    for name in ("task2", "task3", "task4"):
        assert f'"{name}"' in first.source


def test_prose_has_no_typed_in_results(committed):
    """Measured numbers belong in code-generated output, not in the Markdown cells."""
    for cell in committed.cells:
        if cell.cell_type == "markdown":
            assert not re.search(r"\d+\.\d+", cell.source), cell.source[:200]


def test_notebook_runs_on_the_venv_kernel(executed):
    probe = output_text(executed.cells[-1])
    assert f"KERNEL_PREFIX={sys.prefix}" in probe
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error"


def test_numbers_are_read_from_the_results(executed):
    text = "\n".join(output_text(c) for c in executed.cells if c.cell_type == "code")
    # Task 2d: the planted stop epoch, both as 0-based index and as 1-based count.
    assert f"epoch index {NO_SHUFFLE_STOP_EPOCH}" in text
    assert f"{NO_SHUFFLE_STOP_EPOCH + 1}th epoch" in text
    assert "4005" in text and "20000" in text  # shapes in 2a / 3a
    assert f"{SOFTMAX_VAL_ACCURACY:.4f}" in text  # Task 3c/3d
    assert f"factor of {SPIKE_RATIO_MEDIAN:.2f} in the median" in text  # Task 2e
    assert "steps 135, 321 and 507, 186 steps apart" in text  # Task 2e: the drops
    for value in NORMS.values():  # Task 4e table
        assert f"{value:.3g}" in text
    assert "1.88 percentage points" in text  # Task 3d: train/val gap, 0.9311 - 0.9123
    assert "13, 29, 17, 21 (median 19)" in text  # Task 2d: shuffle seeds


def test_every_figure_section_shows_an_image(executed):
    images_per_section = {}
    current = None
    for cell in executed.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    current = line[3:].strip()
                    images_per_section.setdefault(current, 0)
        else:
            images_per_section[current] = images_per_section.get(current, 0) + sum(
                "image/png" in o.get("data", {}) for o in cell.get("outputs", []))
    for section in FIGURE_SECTIONS:
        assert images_per_section.get(section, 0) >= 1, section


def test_missing_results_give_a_clear_error(tmp_path, committed):
    nb = nbformat.v4.new_notebook(cells=[committed.cells[0]], metadata=committed.metadata)
    with pytest.raises(CellExecutionError) as info:
        execute(nb, tmp_path)
    message = str(info.value)
    assert "make report" in message and "python task2.py" in message


def test_unusual_results_still_render(tmp_path, committed):
    """Every branch of the text: no early stop, a noisier shuffled run, no train/val
    gap, a regularised model that beats lambda = 0 and a non-monotone norm."""
    root = write_results_tree(tmp_path)
    for name, edit in (("task2", _unusual_task2), ("task3", _unusual_task3),
                       ("task4", _unusual_task4)):
        path = root / "results" / f"{name}.json"
        results = json.loads(path.read_text())
        edit(results)
        path.write_text(json.dumps(results))
    nb = execute(nbformat.from_dict(json.loads(json.dumps(committed))), root)
    text = "\n".join(output_text(c) for c in nb.cells if c.cell_type == "code")
    assert "does not trigger" in text
    assert "larger without shuffling for 3 of the 4 seeds" in text
    assert "No clear sign of overfitting" in text
    assert "does not fall at every step" in text


def _unusual_task2(results):
    for run in results["runs"].values():
        run["early_stopped"] = False
    results["spike_study"]["seeds_less_spiky"] = 3


def _unusual_task3(results):
    results["run"]["final_train_accuracy"] = 0.90
    results["train_val_accuracy_gap"] = 0.90 - SOFTMAX_VAL_ACCURACY
    results["train_val_loss_gap"] = -0.01


def _unusual_task4(results):
    results["runs"]["0.001"]["final_val_accuracy"] = 0.95
    results["runs"]["0.001"]["final_train_accuracy"] = 0.99
    results["runs"]["0.01"]["weight_norm_sq"] = 500.0
    results["runs"]["1.0"]["weight_norm_sq"] = 0.0


@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_a_figure_from_another_run_stops_the_report(tmp_path, committed, tamper):
    """The report shows a figure only if it is the file its results JSON was written with."""
    root = write_results_tree(tmp_path)
    figure = root / "figures" / "task3c_accuracy.png"
    if tamper == "edit":
        save_png(figure, "a different run")
    else:
        figure.unlink()
    nb = nbformat.from_dict(json.loads(json.dumps(committed)))
    with pytest.raises(CellExecutionError) as info:
        execute(nb, root)
    message = str(info.value)
    assert "task3c_accuracy.png" in message and "python task3.py" in message
    if tamper == "edit":
        assert "SHA-256" in message
