"""Runs the task scripts' main() on the real data, shortened with --max-epochs, for
tests/test_scripts.py:

    python tests/task_scripts_runner.py FOLDER

tests/conftest.py starts it in a process of its own as soon as the session has
collected a test that needs it, so that the training overlaps with the rest of the
suite (the machine has two cores, the suite mostly uses one). Each run gets its
folder FOLDER/<run> with results/, figures/, stdout.txt (everything main printed),
returned.json (what main returned) or, if it raised, error.txt (the traceback) and
error_line.txt (the error in one line, and where in the project it was raised), and
FOLDER/done when all runs are over.
"""
import contextlib
import importlib
import io
import json
import re
import shutil
import sys
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

TASK2_EPOCHS = 3  # the 2e spike study measures after 2 warm-up epochs: 3 is the least
# name: (script, options); in this order (task 4 needs task 3's saved run). The
# sanity checks of task2a.main and task3a.main take no options (None).
RUNS = {
    "task2a": ("task2a", None),
    "task3a": ("task3a", None),
    "task3": ("task3", ["--max-epochs", 1, "--workers", 1]),
    # next to a copy of task 3's saved run with one weight changed: must retrain
    "task4_fresh": ("task4", ["--max-epochs", 1, "--workers", 2]),
    # next to an exact copy of task 3's saved run, same settings: may reuse it
    "task4_reusing": ("task4", ["--max-epochs", 1, "--workers", 1]),
    "task2": ("task2", ["--max-epochs", TASK2_EPOCHS, "--workers", 1]),
    "task2_two_workers": ("task2", ["--max-epochs", TASK2_EPOCHS, "--workers", 2]),
}


def sampled_gradient_check(model, X, Y):
    """For task3a.main: central differences of J = C + lambda ||w||^2, computed here, on
    40 random weights and the ten bias weights (the full check takes ~13 s). Raises
    AssertionError like the given check; returns the largest difference."""
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
        difference = abs((plus - minus) / 2e-4 - model.grad[r, c])
        assert difference < 1e-6, (
            f"Gradient check failed at weight w[{r}, {c}]: difference {difference:.3g}. "
            f"Check cross_entropy_loss, forward and backward (with the L2 term).")
        worst = max(worst, difference)
    return worst


def nudged(w: np.ndarray) -> np.ndarray:
    """w with one weight (one pixel of one class) changed by 1e-3."""
    w = w.copy()
    w[400, 3] += 1e-3
    return w


def tampered_copy(source: Path, target: Path, **changes) -> Path:
    """A copy of a saved task 3 run (an .npz) with some of its entries replaced."""
    with np.load(source) as saved:
        entries = {key: saved[key] for key in saved.files}
    entries.update(changes)
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez(target, **entries)
    return target


# The lines np.testing puts around the message it was given: not what went wrong
NUMPY_BOILERPLATE = re.compile(r"(Arrays are not|Not equal to tolerance|Mismatched elements|"
                               r"Max absolute|Max relative|x and y nan|\(shapes|ACTUAL:|DESIRED:)")


def error_line(error: BaseException) -> str:
    """The error in one line: its type and the first line of its message that says what
    is wrong, and the innermost place in the project's own files where it was raised."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    meaningful = [line for line in lines if not NUMPY_BOILERPLATE.match(line)]
    text = f"{type(error).__name__}: {(meaningful or lines or [''])[0]}".rstrip(": ")
    project = [frame for frame in traceback.extract_tb(error.__traceback__)
               if Path(frame.filename).parent == ROOT]
    if project:
        frame = project[-1]
        text += f" (in {frame.name}, {Path(frame.filename).name} line {frame.lineno})"
    return text


def run(folder: Path, script: str, options) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    try:
        module = importlib.import_module(script)
        with contextlib.redirect_stdout(out):
            if options is None:
                if script == "task3a":
                    module.gradient_approximation_test = sampled_gradient_check
                returned = module.main()
            else:
                returned = module.main([
                    "--results-dir", str(folder / "results"),
                    "--figures-dir", str(folder / "figures"), *map(str, options)])
        (folder / "returned.json").write_text(json.dumps(returned, default=str))
    except BaseException as error:  # noqa: BLE001 - reported to the tests, which fail with it
        (folder / "error.txt").write_text(traceback.format_exc())
        (folder / "error_line.txt").write_text(error_line(error))
    finally:
        (folder / "stdout.txt").write_text(out.getvalue())


def main(folder: Path) -> None:
    sys.path.insert(0, str(ROOT))
    for name, (script, options) in RUNS.items():
        saved = folder / "task3" / "results" / "task3_run.npz"
        if name == "task4_reusing" and saved.exists():
            (folder / name / "results").mkdir(parents=True)
            shutil.copy(saved, folder / name / "results" / saved.name)
        if name == "task4_fresh" and saved.exists():
            with np.load(saved) as original:
                w = original["w"]
            tampered_copy(saved, folder / name / "results" / saved.name, w=nudged(w))
        run(folder / name, script, options)
    (folder / "done").write_text("")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
