"""The course kit (tools/make_starter.py): the starter made from this solution, and its
autograder (`make check`, tests/test_subtasks.py).

The starter is built once into a temporary folder. Round trip: with our bodies put back
it is our tree, and with our graded files copied in every subtask passes. Typical
mistakes planted into the filled-in starter each fail their own subtask, with a message
naming the function and the fault, and no other subtask. Nothing of the solution's
bodies is in the starter.
"""
import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_starter  # noqa: E402

GRADED = ("task2a.py", "task2.py", "task3a.py", "task3.py", "task4.py", "trainer.py",
          "utils.py")
ROW = re.compile(r"^  Task (?P<name>.+?) +(?P<status>pass|FAIL|not started|not finished)"
                 r":? *(?P<message>.*)$")

# (what a student got wrong, the subtask it must fail, words its message must hold,
#  [(file, our text, the mistake)])
MISTAKES = {
    "loss-summed": ("2a loss", ["cross_entropy_loss (task2a.py)", "sums"], [(
        "task2a.py", "float(-np.mean(targets * log_p + (1.0 - targets) * log_not_p))",
        "float(-np.sum(targets * log_p + (1.0 - targets) * log_not_p))")]),
    "softmax-loss-summed": ("3a loss", ["cross_entropy_loss (task3a.py)", "sums"], [(
        "task3a.py", "float(-np.sum(targets * log_p) / targets.shape[0])",
        "float(-np.sum(targets * log_p))")]),
    "wrong-sign": ("2a backward", ["BinaryModel.backward", "sign"], [(
        "task2a.py", "X.T @ (outputs - targets)", "X.T @ (targets - outputs)")]),
    "softmax-wrong-sign": ("3a forward/backward", ["SoftmaxModel.backward", "sign"], [(
        "task3a.py", "X.T @ (outputs - targets)", "X.T @ (targets - outputs)")]),
    "missing-1/N": ("2a backward", ["BinaryModel.backward", "divide by N"], [(
        "task2a.py", "X.T @ (outputs - targets) / X.shape[0]", "X.T @ (outputs - targets)")]),
    "softmax-missing-1/N": ("3a forward/backward", ["SoftmaxModel.backward", "divide by N"], [(
        "task3a.py", "X.T @ (outputs - targets) / X.shape[0]", "X.T @ (outputs - targets)")]),
    "missing-L2": ("4a/4b L2 gradient", ["SoftmaxModel.backward", "L2 term is missing"], [(
        "task3a.py", "        self.grad += 2 * self.l2_reg_lambda * self.w\n", "")]),
    "L2-without-2": ("4a/4b L2 gradient", ["SoftmaxModel.backward", "2 lambda w"], [(
        "task3a.py", "self.grad += 2 * self.l2_reg_lambda * self.w",
        "self.grad += self.l2_reg_lambda * self.w")]),
    "divide-by-255": ("2a pre-processing", ["pre_process_images", "255"], [(
        "task2a.py", "X.astype(np.float64) / 127.5 - 1.0", "X.astype(np.float64) / 255.0")]),
    "missing-bias": ("2a pre-processing", ["pre_process_images", "bias"], [(
        "task2a.py", "return np.concatenate([X, bias], axis=1)", "return X")]),
    "softmax-axis-0": ("3a forward/backward", ["SoftmaxModel.forward", "axis=1"], [(
        "task3a.py", "exp_z / exp_z.sum(axis=1, keepdims=True)",
        "exp_z / exp_z.sum(axis=0, keepdims=True)")]),
    "no-max-shift": ("3a forward/backward", ["SoftmaxModel.forward", "largest logit"], [(
        "task3a.py", "np.exp(z - z.max(axis=1, keepdims=True))", "np.exp(z)")]),
    "forward-shape-N": ("2a forward", ["BinaryModel.forward", "[N, 1]"], [(
        "task2a.py", "return np.exp(-np.logaddexp(0.0, -z))",
        "return np.exp(-np.logaddexp(0.0, -z))[:, 0]")]),
    "one-hot-off-by-one": ("3a one-hot", ["one_hot_encode", "label - 1"], [(
        "task3a.py", "encoded[np.arange(Y.shape[0]), Y] = 1",
        "encoded[np.arange(Y.shape[0]), Y - 1] = 1")]),
    "no-shuffle": ("2e shuffling", ["batch_loader", "original order"], [(
        "utils.py", "indices = rng.permutation(len(X)) if rng is not None else "
        "np.random.permutation(len(X))", "indices = np.arange(len(X))")]),
    "early-stopping-off-by-one": ("2d early stopping", ["BaseTrainer.train", "must stop after 10"],
                                  [("trainer.py", "if num_worse >= patience:\n",
                                    "if num_worse > patience:\n")]),
    "keeps-last-weights": ("2d early stopping", ["BaseTrainer.train", "last step"], [(
        "trainer.py", "        self.model.w = best_w\n", "")]),
    "accuracy-threshold-reversed": ("2c accuracy", ["calculate_accuracy (task2.py)"], [(
        "task2.py", "predictions = outputs >= 0.5", "predictions = outputs < 0.5")]),
    "shuffle-ignores-rng": ("2e shuffling", ["batch_loader", "rng"], [(
        "utils.py", "indices = rng.permutation(len(X)) if rng is not None else "
        "np.random.permutation(len(X))", "np.random.shuffle(indices)")]),
    "patience-count-never-reset": ("2d early stopping", ["BaseTrainer.train", "starts again"], [(
        "trainer.py", "best_val_loss, best_w, num_worse = val_loss, self.model.w.copy(), 0",
        "best_val_loss, best_w = val_loss, self.model.w.copy()")]),
    "best-weights-not-copied": ("2d early stopping", ["BaseTrainer.train", "a copy"], [(
        "trainer.py", "best_val_loss, best_w, num_worse = val_loss, self.model.w.copy(), 0",
        "best_val_loss, best_w, num_worse = val_loss, self.model.w, 0")]),
    "early-stop-returns": ("2d early stopping", ["BaseTrainer.train", "break, not return"], [(
        "trainer.py", "                        if num_worse >= patience:\n"
        "                            break\n                    if num_worse >= patience:\n"
        "                        break\n", "                        if num_worse >= patience:\n"
        "                            return train_history, val_history\n")]),
    "pre-process-float32": ("2a pre-processing", ["pre_process_images", "float64"], [(
        "task2a.py", "X.astype(np.float64) / 127.5", "X.astype(np.float32) / 127.5")]),
    "accuracy-threshold-strict": ("2c accuracy", ["calculate_accuracy (task2.py)", "0.5 or more"],
                                  [("task2.py", "outputs >= 0.5", "outputs > 0.5")]),
    "step-uphill": ("3b/3c training step and accuracy", ["SoftmaxTrainer.train_step", "w = w -"],
                    [("task3.py", "self.model.w - self.learning_rate * self.model.grad",
                      "self.model.w + self.learning_rate * self.model.grad")]),
}


# Other ways to write a function right: each must pass every subtask
ALTERNATIVES = {
    "naive-sigmoid": [("task2a.py", "np.exp(-np.logaddexp(0.0, -z))", "1 / (1 + np.exp(-z))")],
    "backward-calls-forward": [("task2a.py", "X.T @ (outputs - targets) / X.shape[0]",
                                "X.T @ (self.forward(X) - targets) / X.shape[0]")],
    "one-hot-by-eye": [("task3a.py", "    encoded = np.zeros((Y.shape[0], num_classes))\n"
                        "    encoded[np.arange(Y.shape[0]), Y] = 1\n    return encoded\n",
                        "    return np.eye(num_classes)[Y]\n")],
    "shuffle-in-place": [("utils.py", "indices = rng.permutation(len(X)) if rng is not None "
                          "else np.random.permutation(len(X))",
                          "(rng or np.random).shuffle(indices)")],
    "update-in-place": [("task2.py", "self.model.w = self.model.w - self.learning_rate * "
                         "self.model.grad", "self.model.w -= self.learning_rate * self.model.grad")],
}


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    """The starter, built from this tree (tests/expected.npz made from our code)."""
    folder = tmp_path_factory.mktemp("kit") / "starter"
    make_starter.build(folder)
    return folder


def table(output: str) -> dict:
    """{subtask: (status, message)} of the autograder's output."""
    return {m["name"]: (m["status"], m["message"]) for m in map(ROW.match,
            output.splitlines()) if m}


def check(folder: Path):
    """Run the autograder in folder: (exit status, {subtask: (status, message)}, output)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--subtasks",
         "tests/test_subtasks.py"], cwd=folder, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    return result.returncode, table(result.stdout), result.stdout + result.stderr


def check_many(folders) -> list:
    """check() in each folder, run from one process (tests/run_checks.py)."""
    subprocess.run([sys.executable, str(Path(__file__).parent / "run_checks.py"),
                    *map(str, folders)], check=True, timeout=600,
                   env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    results = []
    for folder in folders:
        output = (folder / "check.out").read_text()
        status = int((folder / "check.status").read_text() or 1) \
            if (folder / "check.status").exists() else 1
        results.append((status, table(output), output))
    return results


def filled(starter: Path, into: Path) -> Path:
    """A copy of the starter with our graded files in it."""
    shutil.copytree(starter, into)
    for name in GRADED:
        shutil.copy(ROOT / name, into / name)
    return into


def test_untouched_starter_lists_every_subtask_as_not_started(starter):
    status, rows, output = check(starter)
    assert status != 0, f"make check must exit non-zero while nothing is done:\n{output}"
    assert len(rows) >= 14 and all(s == "not started" for s, _ in rows.values()), output
    assert "0 of" in output and "not started" in output.splitlines()[-2], output


def test_our_graded_files_pass_every_subtask(starter, tmp_path):
    status, rows, output = check(filled(starter, tmp_path / "filled"))
    assert status == 0 and rows and all(s == "pass" for s, _ in rows.values()), output


def test_make_check_is_the_autograder(starter, tmp_path):
    """`make check` in the starter runs it (here on this project's Python)."""
    folder = filled(starter, tmp_path / "filled")
    venv = Path(sys.prefix)
    result = subprocess.run(["make", "-s", "check", f"VENV={venv}", "-o", f"{venv}/.installed"],
                            cwd=folder, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "subtasks pass" in result.stdout, \
        result.stdout + result.stderr


def plant(starter: Path, folder: Path, changes) -> None:
    filled(starter, folder)
    for name, old, new in changes:
        text = (folder / name).read_text()
        assert old in text, f"mistake no longer applies: {old!r} not in {name}"
        (folder / name).write_text(text.replace(old, new))


def test_each_planted_mistake_fails_its_own_subtask_only(starter, tmp_path):
    """Each mistake fails its own subtask, naming the function and the fault; each
    other right way of writing a function passes."""
    cases = {**MISTAKES, **{key: (None, [], changes) for key, changes in ALTERNATIVES.items()}}
    folders = []
    for key, (_, _, changes) in cases.items():
        folders.append(tmp_path / key.replace("/", "-"))
        plant(starter, folders[-1], changes)
    problems = []
    for (key, (subtask, words, _)), (status, rows, output) in zip(cases.items(),
                                                                  check_many(folders)):
        if subtask is None:
            if status != 0 or any(s != "pass" for s, _ in rows.values()):
                problems.append(f"{key}: a right way to write it, but it did not pass:\n{output}")
            continue
        failed = {name: message for name, (s, message) in rows.items() if s != "pass"}
        if status == 0 or list(failed) != [subtask]:
            problems.append(f"{key}: expected only {subtask!r} to fail, got "
                            f"{failed or 'nothing'}\n{output}")
        elif not all(word in failed[subtask] for word in words):
            problems.append(f"{key}: the message must name {words}, got: {failed[subtask]}")
    assert not problems, "\n".join(problems)


def test_the_starter_is_our_tree_with_the_stubs(starter):
    """Our bodies put back give our files byte for byte; the other files are ours."""
    for path, (source, _, blocks) in make_starter.stubbed_files().items():
        if path in make_starter.REMOVED:  # the report's helpers: gone, not put back
            tree = ast.parse((starter / path).read_text())
            names = {getattr(node, "name", None) for node in tree.body} | {
                target.id for node in tree.body for target in getattr(node, "targets", ())}
            assert not names & set(make_starter.REMOVED[path]), path
            continue
        text = (starter / path).read_text(encoding="utf-8")
        assert make_starter.put_back(text, blocks) == source, f"{path} differs beyond its stubs"
    for path in make_starter.COPIED:
        assert (starter / path).read_bytes() == (ROOT / path).read_bytes(), path
    ours = (ROOT / "Makefile").read_text()
    assert ours.startswith((starter / "Makefile").read_text().rstrip("\n"))
    assert "starter:" not in (starter / "Makefile").read_text()


def test_each_stub_keeps_signature_docstring_and_checks_and_names_its_task(starter):
    for stub in make_starter.STUBS:
        ours = make_starter.find_function(ast.parse((ROOT / stub.path).read_text()),
                                          stub.function, stub.path)
        source = (starter / stub.path).read_text()
        theirs = make_starter.find_function(ast.parse(source), stub.function, stub.path)
        assert ast.dump(ours.args) == ast.dump(theirs.args), stub.function
        if stub.whole_body:  # the report's facts: nothing of ours stays
            assert ast.get_docstring(theirs) is None and len(theirs.body) == 1, stub.function
            continue
        assert ast.get_docstring(ours) == ast.get_docstring(theirs), stub.function
        body = ast.get_source_segment(source, theirs)
        assert f"Task {stub.task}" in body and ("TODO" in body or stub.todo), body
        if not stub.statements:  # the checks at the start and the asserts at the end stay
            first, last = make_starter.stub_span(ours)
            tail = len(ours.body) - last
            kept = ours.body[:first] + ours.body[last:]
            theirs_kept = theirs.body[:first] + theirs.body[len(theirs.body) - tail:]
            assert list(map(ast.dump, kept)) == list(map(ast.dump, theirs_kept)), stub.function


def solution_expressions(block: str):
    """The expressions of a solution block that would give it away: the values of its
    statements and every arithmetic in them (not names, shapes or the model's API)."""
    source = textwrap.dedent(block)
    for node in ast.walk(ast.parse(source)):
        values = [getattr(node, "value", None)] if isinstance(
            node, (ast.Assign, ast.AugAssign, ast.Return, ast.Expr)) else []
        values += [node.test] if isinstance(node, ast.If) else []
        values += [node] if isinstance(node, ast.BinOp) else []
        for value in values:
            if value is None or isinstance(value, (ast.Name, ast.Constant)):
                continue
            text = re.sub(r"\s+", "", ast.unparse(value))
            if len(text) >= 10 and ".shape" not in text and not text.startswith(
                    ("self.model.", "model.forward")):
                yield text


def test_no_solution_body_is_anywhere_in_the_starter(starter):
    texts = {path: re.sub(r"\s+", "", path.read_text(encoding="utf-8", errors="ignore"))
             for path in starter.rglob("*") if path.is_file() and path.suffix != ".npz"}
    leaks, checked = [], 0
    for path, (_, _, blocks) in make_starter.stubbed_files().items():
        for _, original in blocks if not path.startswith("tools/") else ():
            for expression in solution_expressions(original):
                checked += 1
                leaks += [f"{path}: {expression} in {where.relative_to(starter)}"
                          for where, text in texts.items() if expression in text]
    assert checked >= 30 and not leaks, "\n".join(leaks)
    tests = " ".join(p.read_text() for p in (starter / "tests").glob("*.py"))
    assert not re.search(r"^\s*(import|from)\s+(reference|building_blocks)\b", tests, re.M)
    assert not (starter / "tests" / "reference.py").exists()


def test_the_student_notebook_asks_instead_of_answering(starter):
    import nbformat
    notebook = nbformat.read(starter / "report.ipynb", as_version=4)
    ours = nbformat.read(ROOT / "report.ipynb", as_version=4)
    headings = [c.source for c in notebook.cells if c.source.startswith("## Task")]
    assert headings == [re.match(r"## Task \w+", c.source).group(0) for c in ours.cells
                        if c.source.startswith("## Task")]
    answers = [c.source for c in notebook.cells if c.source.startswith("%%answer")]
    assert answers and all(s.count("\n") == 1 and s.endswith("*") for s in answers), answers
    assert not any("{{" in c.source or "{%" in c.source for c in notebook.cells[2:])
    assert notebook.cells[1].source == ours.cells[1].source  # the set-up reads the results
    figures = [c.source.splitlines()[0] for c in notebook.cells if c.source.startswith("%%fig")]
    assert figures == [c.source.splitlines()[0] for c in ours.cells
                       if c.source.startswith("%%fig")]


def test_a_stubbed_script_runs_until_the_first_check_names_what_is_missing(starter):
    result = subprocess.run([sys.executable, "task2a.py"], cwd=starter, capture_output=True,
                            text=True, timeout=120,
                            env=dict(os.environ, MNIST_DATA_DIR=str(ROOT / "data")))
    assert result.returncode != 0 and "pre-processed pixels must lie in [-1, 1]" in \
        result.stderr, result.stderr


def test_a_moved_or_renamed_function_stops_the_build_with_a_clear_message():
    source = (ROOT / "task2a.py").read_text().replace("def pre_process_images(",
                                                      "def preprocess(")
    stub = make_starter.STUBS[0]
    with pytest.raises(make_starter.StarterError, match="no function pre_process_images"):
        make_starter.stub_source(source, [stub])
    partial = next(s for s in make_starter.STUBS if s.path == "utils.py")
    source = (ROOT / "utils.py").read_text().replace("if shuffle:", "if shuffle is True:")
    with pytest.raises(make_starter.StarterError, match="0 statements starting with 'if sh"):
        make_starter.stub_source(source, [partial])
