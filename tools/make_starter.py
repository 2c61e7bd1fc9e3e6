"""Build the starter code that students receive from this solution: build/starter/ and
build/starter.zip (`make starter`).

The starter is this project with the solution taken out. STUBS below is the one list of
what a student writes; each entry names a function, found in its file by the syntax tree
(not by line numbers), so a function that moved or was renamed stops the build with a
message saying so. A whole-function stub keeps the signature, the docstring and the
checks at its start and the asserts at its end, and replaces the rest with
`# TODO implement this function (Task 2a)` and a placeholder of the right type. A partial
stub replaces named statements of a function (by their first line) with TODO comments.

The report's derived facts (tools/report_answers.py) are stubs too, and the helpers
only they use (REMOVED) are left out. The other files in COPIED are copied byte for
byte; the student's versions of the README (tools/starter/README.md), the Makefile (ours
up to its course-staff section), the report notebook (each answer replaced by a prompt)
and the tests are made here: tests/test_subtasks.py with its plugin, tests/expected.npz
(the numbers this solution gives on small fixed inputs) and tests/stubs.json (a hash of
each stub, so `make check` can say "not started"). Our other tests stay out: they use
reference formulas (tests/reference.py) that would show the solution.

    .venv/bin/python tools/make_starter.py [--output build/starter]
"""
import argparse
import ast
import json
import os
import re
import shutil
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


@dataclass(frozen=True)
class Stub:
    """What a student writes: the function `function` of `path` (whole, with
    `placeholder` as its stand-in body), or only the statements of it that start with
    the keys of `statements`, each replaced by its TODO comment."""
    path: str
    function: str
    task: str
    placeholder: str = ""
    statements: tuple = ()  # ((first line of the statement, TODO comment), ...)
    todo: str = ""  # the comment of a whole-function stub, if not the usual TODO line
    whole_body: bool = False  # the docstring and checks go too


EARLY_STOPPING = (
    "# TODO (Task 2d): early stopping. If val_loss is lower than best_val_loss, keep it,\n"
    "# a copy of the weights (best_w) and the step (self.best_step), and set num_worse\n"
    "# to 0; otherwise count the validation in num_worse. The loops below stop once\n"
    "# num_worse reaches patience.")
BEST_WEIGHTS = "# TODO (Task 2d): give the model the weights of the lowest validation loss"
SHUFFLE = ("# TODO (Task 2e): when shuffle is True, shuffle the dataset here: make indices a\n"
           "# new random order of the rows (with rng if it is given, else np.random)")

STUBS = (
    Stub("task2a.py", "pre_process_images", "2a", "return X"),
    Stub("task2a.py", "cross_entropy_loss", "2a", "return 0.0"),
    Stub("task2a.py", "BinaryModel.forward", "2a", "return np.zeros((X.shape[0], 1))"),
    Stub("task2a.py", "BinaryModel.backward", "2a", "self.grad = np.zeros_like(self.w)"),
    Stub("task2.py", "calculate_accuracy", "2c", "accuracy = 0.0\nreturn accuracy"),
    Stub("task2.py", "LogisticTrainer.train_step", "2b", "loss = 0.0\nreturn loss"),
    Stub("trainer.py", "BaseTrainer.train", "2d", statements=(
        ("if val_loss < best_val_loss:", EARLY_STOPPING),
        ("self.model.w = best_w", BEST_WEIGHTS))),
    Stub("utils.py", "batch_loader", "2e", statements=(("if shuffle:", SHUFFLE),)),
    Stub("task3a.py", "cross_entropy_loss", "3a", "return 0.0"),
    Stub("task3a.py", "SoftmaxModel.forward", "3a",
         "return np.zeros((X.shape[0], self.num_outputs))"),
    Stub("task3a.py", "SoftmaxModel.backward", "3a and 4b", "self.grad = np.zeros_like(self.w)"),
    Stub("task3a.py", "one_hot_encode", "3a", "return np.zeros((len(Y), num_classes))"),
    Stub("task3.py", "calculate_accuracy", "3c", "accuracy = 0.0\nreturn accuracy"),
    Stub("task3.py", "SoftmaxTrainer.train_step", "3b", "loss = 0.0\nreturn loss"),
    Stub("task4.py", "weight_images", "4b", "return np.zeros((w.shape[1], 28, 28))"),
    # The report's derived facts (gaps, trends, spike counts) are answers too
    *(Stub("tools/report_answers.py", f"facts_task{n}", tasks, "return {}", whole_body=True,
           todo=(f"# Optional (Task {tasks}): numbers you derive from the results for your "
                 f"answers, returned in a dict; the notebook knows it as f{n}"))
      for n, tasks in ((2, "2d and 2e"), (3, "3d"), (4, "4b-4e"))),
)
# Helpers of the report's facts that would outline the answers: left out of the starter
REMOVED = {"tools/report_answers.py": ("batch_balance", "MILD_GAP", "sampling_noise", "trend",
                                        "run4", "SAME_RUN_KEYS", "SETTING_NAMES", "setting")}

# Copied byte for byte (the stubbed files above are added to these)
COPIED = ("mnist.py", "checks.py", "script_tools.py", "create_submission_zip.py",
          "requirements.txt", "pytest.ini", ".gitignore", "tools/build_report.py",
          "tools/report_filter.lua", "tests/test_subtasks.py", "tests/subtasks.py",
          "tests/expect.py")
STAFF_SECTION = "# ---- Course staff only"  # the Makefile's lines from here on stay out

STARTER_CONFTEST = '''\
"""The tests of your code: `make check` (one line per subtask) or `make test`."""
import checks  # noqa: F401 -- first: it names a missing package and how to install it

# The autograder's option (--subtasks, `make check`) and its expected numbers
from subtasks import expected, pytest_addoption, pytest_configure  # noqa: E402,F401
'''

# The prompts that replace our answers in the report notebook, by section
PROMPTS = {
    "1a": "Derive the gradient of the logistic regression cost $C^n(w)$ of one example with "
          "respect to $w_i$, and show that it is $-(y^n - \\hat{y}^n) x_i^n$.",
    "1b": "Derive the gradient of the multi-class cross-entropy $C^n(w)$ of one example with "
          "respect to $w_{kj}$, and show that it is $-x_j^n (y_k^n - \\hat{y}_k^n)$.",
    "2a": "Optional: a few lines on your pre-processing and on the result of the gradient "
          "approximation test.",
    "2d": "After how many epochs does early stopping end the training? Say how you count "
          "the epochs, and which weights the model keeps.",
    "2e": "Compare the validation accuracy with and without shuffling (Figure 2e): where "
          "are the spikes, and why does shuffling make fewer of them?",
    "3a": "Optional: a few lines on your one-hot encoding, softmax and loss, and on the "
          "gradient approximation test.",
    "3d": "Does the model of Tasks 3b and 3c overfit? Answer from your curves and final "
          "numbers.",
    "4a": "Derive $\\partial J / \\partial w$ for $J(w) = C(w) + \\lambda \\lVert w "
          "\\rVert^2$, with $C$ the cross-entropy of Task 1b.",
    "4b": "Why are the weights of the model with $\\lambda = 1$ less noisy than those with "
          "$\\lambda = 0$?",
    "4d": "The validation accuracy is lower with regularization (Figure 4c). Why do you "
          "think that is?",
    "4e": "What happens to $\\lVert w \\rVert^2$ as $\\lambda$ grows (Figure 4e), and why?",
}
CAPTION = "**Figure {key}.** *Your caption: what the figure shows, and the settings of the run.*"


class StarterError(Exception):
    """The solution does not match STUBS; the message says what to update."""


# ------------------------------------------------------------------ finding functions
def find_function(tree: ast.Module, qualname: str, path: str):
    """The FunctionDef of qualname ('BinaryModel.forward') in tree, or StarterError."""
    node = tree
    for part in qualname.split("."):
        node = next((child for child in getattr(node, "body", []) if isinstance(
            child, (ast.FunctionDef, ast.ClassDef)) and child.name == part), None)
        if node is None:
            raise StarterError(
                f"{path} has no function {qualname} (it moved or was renamed?): update STUBS "
                f"in tools/make_starter.py")
    return node


def is_check(statement) -> bool:
    """An assert, or a call of a checks.* function: kept at the start of a stub."""
    return isinstance(statement, ast.Assert) or (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Attribute)
        and isinstance(statement.value.func.value, ast.Name)
        and statement.value.func.value.id == "checks")


def indented(text: str, indent: str) -> list:
    """text's lines, each with indent and a newline; a comment of several lines is
    re-wrapped to fit in 99 columns at that indent."""
    lines = text.splitlines()
    if all(line.startswith("# ") for line in lines):
        words = " ".join(line[2:] for line in lines)
        lines = ["# " + line for line in textwrap.wrap(words, 97 - len(indent))]
    return [indent + line + "\n" for line in lines]


def stub_span(node) -> tuple:
    """(i, j): node.body[i:j] is what a whole-function stub replaces, the statements
    between the docstring and checks at the start and the asserts at the end."""
    body, i = node.body, 0
    if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                    ast.Constant):
        i = 1  # the docstring
    while i < len(body) and is_check(body[i]):
        i += 1
    j = len(body)
    while j > i and isinstance(body[j - 1], ast.Assert):
        j -= 1
    return i, j


def regions(source: str, stub: Stub) -> list:
    """[(first line, last line (1-based, inclusive), replacement lines)] of one stub."""
    lines = source.splitlines(keepends=True)
    node = find_function(ast.parse(source), stub.function, stub.path)
    name = f"{stub.path}: {stub.function}"
    if not stub.statements:
        body = node.body
        i, j = (0, len(body)) if stub.whole_body else stub_span(node)
        if i == j:
            raise StarterError(f"{name} has nothing to stub besides its docstring and checks")
        first = body[i - 1].end_lineno + 1 if i else body[0].lineno
        indent = re.match(r"\s*", lines[body[i].lineno - 1]).group()
        todo = stub.todo or f"# TODO implement this function (Task {stub.task})"
        return [(first, body[j - 1].end_lineno,
                 indented(todo, indent) + indented(stub.placeholder, indent))]
    found = []
    for start, todo in stub.statements:
        matches = [s for s in ast.walk(node) if isinstance(s, ast.stmt) and s is not node
                   and lines[s.lineno - 1].strip().startswith(start)]
        if len(matches) != 1:
            raise StarterError(f"{name} has {len(matches)} statements starting with "
                               f"{start!r}, expected one: update STUBS in tools/make_starter.py")
        statement = matches[0]
        first = statement.lineno
        while lines[first - 2].strip().startswith("#"):  # its comment goes with it
            first -= 1
        indent = re.match(r"\s*", lines[statement.lineno - 1]).group()
        found.append((first, statement.end_lineno, indented(todo, indent)))
    return found


def stub_source(source: str, stubs) -> tuple:
    """(the starter's text of a file, [(stub text, solution text)] in file order)."""
    lines = source.splitlines(keepends=True)
    found = sorted(r for stub in stubs for r in regions(source, stub))
    blocks, out, position = [], [], 0
    for first, last, replacement in found:
        if first - 1 < position:
            raise StarterError(f"two stubs overlap at line {first}")
        out += lines[position:first - 1] + replacement
        blocks.append(("".join(replacement), "".join(lines[first - 1:last])))
        position = last
    return "".join(out + lines[position:]), blocks


def put_back(starter: str, blocks) -> str:
    """The starter's text of a file with the solution's blocks back in place of the
    stubs (the inverse of stub_source); StarterError if a stub is not where expected."""
    position = 0
    for stub, original in blocks:
        at = starter.find(stub, position)
        if at < 0:
            raise StarterError(f"stub not found: {stub.splitlines()[0].strip()}")
        starter = starter[:at] + original + starter[at + len(stub):]
        position = at + len(original)
    return starter


def remove_names(source: str, names, path: str) -> str:
    """source without its top-level functions and constants named in names (with the
    comment lines just above each and the blank lines after it)."""
    lines = source.splitlines(keepends=True)
    nodes = [node for node in ast.parse(source).body
             if getattr(node, "name", None) in names or any(
                 getattr(target, "id", None) in names for target in getattr(node, "targets", ()))]
    missing = set(names) - {getattr(n, "name", None) or n.targets[0].id for n in nodes}
    if missing:
        raise StarterError(f"{path} has no top-level {', '.join(sorted(missing))}: update "
                           "REMOVED in tools/make_starter.py")
    for node in sorted(nodes, key=lambda n: n.lineno, reverse=True):
        first = node.lineno - len(getattr(node, "decorator_list", []))
        while first > 1 and lines[first - 2].startswith("#"):
            first -= 1
        last = node.end_lineno
        while last < len(lines) and not lines[last].strip():
            last += 1
        del lines[first - 1:last]
    return "".join(lines)


def stubbed_files(root: Path = ROOT) -> dict:
    """{path: (solution text, starter text, blocks)} for every file with stubs; blocks
    are the (stub, solution) pairs that put_back swaps (not the REMOVED names)."""
    files = {}
    for path in dict.fromkeys(stub.path for stub in STUBS):
        source = (root / path).read_text(encoding="utf-8")
        starter, blocks = stub_source(source, [s for s in STUBS if s.path == path])
        if path in REMOVED:
            starter = remove_names(starter, REMOVED[path], path)
        files[path] = (source, starter, blocks)
    return files


# ------------------------------------------------------------------ expected numbers
def expected_data() -> dict:
    """The numbers tests/test_subtasks.py expects, computed by this solution on small
    fixed inputs (a few real images, seeded random weights)."""
    import mnist
    import task2
    import task2a
    import task3
    import task3a
    import task4
    import test_subtasks

    rng = np.random.default_rng(2024)
    images = np.concatenate([mnist.load()[0][:4], np.zeros((1, 784), np.uint8),
                             np.full((1, 784), 255, np.uint8)])
    X = task2a.pre_process_images(images)
    data = dict(images=images, pre_processed=X, X=X)
    # Task 2
    targets = np.array([[1], [0], [1], [0], [1], [1]])
    model = task2a.BinaryModel()
    data["w1"] = model.w = rng.normal(scale=0.05, size=(785, 1))
    # backward gets the outputs of forward at the same weights, as in training
    data["binary_forward"] = outputs = model.forward(X)
    data.update(binary_targets=targets, binary_outputs=outputs,
                binary_loss=np.float64(task2a.cross_entropy_loss(targets, outputs)))
    model.backward(X, outputs, targets)
    data["binary_grad"] = model.grad
    data["w1_large"] = model.w = data["w1"] * 2000
    data["binary_forward_large"] = model.forward(X)
    acc_outputs = np.array([[0.9], [0.1], [0.7], [0.3], [0.5], [0.49], [0.8], [0.2]])
    acc_targets = np.array([[1], [0], [1], [0], [1], [1], [0], [1]])  # 5 of 8 right
    data.update(binary_acc_outputs=acc_outputs, binary_acc_targets=acc_targets,
                binary_accuracy=np.float64(task2.calculate_accuracy(
                    np.zeros((8, 785)), acc_targets, test_subtasks.FakeModel(
                        np.zeros((785, 1)), [acc_outputs]))))
    # a lower loss after three that were not, then ten that are not (one equal to it)
    losses = [5.0, 4.0, 3.0, 3.5, 3.0, 3.2, 2.9, 3.1, 3.3, 2.9, 3.4, 2.95, 3.6, 3.05, 3.7,
              3.2, 3.8, 3.9]
    trainer, _, val_history = test_subtasks.scripted_run(losses, 50)
    data.update(es_val_losses=np.array(losses), es_num_validations=len(val_history["loss"]),
                es_best_step=trainer.best_step, es_stop_epoch=trainer.stop_epoch)
    # Task 3
    labels = np.array([[3], [0], [9], [1], [7], [2], [5]])
    data.update(labels=labels, one_hot=task3a.one_hot_encode(labels, 10))
    model = task3a.SoftmaxModel(0.0)
    data["w10"] = model.w = rng.normal(scale=0.05, size=(785, 10))
    targets = task3a.one_hot_encode(labels[:6], 10)
    outputs = model.forward(X)
    data.update(softmax_targets=targets, softmax_outputs=outputs,
                softmax_loss=np.float64(task3a.cross_entropy_loss(targets, outputs)),
                softmax_forward=outputs)
    model.backward(X, outputs, targets)
    data["softmax_grad"] = model.grad
    model.w = data["w10_large"] = data["w10"] * 2000
    data["softmax_forward_large"] = model.forward(X)
    acc_outputs = np.roll(targets, 1, axis=0) * 0.6 + 0.04  # rows 0 and 4 agree
    acc_outputs[[0, 4]] = targets[[0, 4]] * 0.6 + 0.04
    data.update(softmax_acc_outputs=acc_outputs, softmax_accuracy=np.float64(
        task3.calculate_accuracy(np.zeros((6, 785)), targets, test_subtasks.FakeModel(
            np.zeros((785, 10)), [acc_outputs]))))
    grads = []
    for value in (0.5, 0.0):
        model = task3a.SoftmaxModel(value)
        model.w = data["w10"].copy()
        model.backward(X, outputs, targets)
        grads.append(model.grad)
    data.update(l2_lambda=np.float64(0.5), l2_term=grads[0] - grads[1],
                weight_images=task4.weight_images(data["w10"]))
    return {key: np.asarray(value) for key, value in data.items()}


# ------------------------------------------------------------------ the other files
def student_notebook(path: Path) -> str:
    """report.ipynb with each answer replaced by a prompt: the set-up, the headings and
    the figures stay; a derivation becomes an empty answer cell under its heading."""
    import nbformat
    notebook = nbformat.read(path, as_version=4)
    cells, section = [], None
    for cell in notebook.cells:
        source = cell.source
        heading = re.match(r"## Task (\w+)", source)
        if heading:
            section = heading.group(1)
        if cell.cell_type == "markdown" and heading and source.strip() != heading.group(0):
            cell.source = heading.group(0)  # a derivation: the heading, then the answer cell
            cells += [cell, nbformat.v4.new_markdown_cell(f"*{prompt(section)}*")]
            continue
        if cell.cell_type == "code" and source.startswith("%%answer"):
            cell.source = f"%%answer\n*{prompt(section)}*"
        elif cell.cell_type == "code" and source.startswith("%%figure"):
            directive = source.splitlines()[0]
            cell.source = f"{directive}\n{CAPTION.format(key=directive.split()[-1][4:])}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    notebook.cells = cells
    for index, cell in enumerate(notebook.cells):  # ids that say nothing of the solution
        cell.id = f"cell-{index:02d}"
    return nbformat.writes(notebook)


def prompt(section: str) -> str:
    if section not in PROMPTS:
        raise StarterError(f"report.ipynb: the answer of Task {section} has no prompt in "
                           "PROMPTS of tools/make_starter.py")
    return PROMPTS[section]


def student_makefile(text: str) -> str:
    """Our Makefile without its course-staff section."""
    if STAFF_SECTION not in text:
        raise StarterError(f"Makefile has no line starting with {STAFF_SECTION!r}")
    return text[:text.index(STAFF_SECTION)].rstrip("\n") + "\n"


def build(output: Path) -> dict:
    """Write the starter into output (emptied first); return {path: text or bytes}."""
    files = {path: starter for path, (_, starter, _) in stubbed_files().items()}
    for path in COPIED:
        files[path] = (ROOT / path).read_bytes()
    files["Makefile"] = student_makefile((ROOT / "Makefile").read_text())
    files["README.md"] = (HERE / "starter" / "README.md").read_bytes()
    files["report.ipynb"] = student_notebook(ROOT / "report.ipynb")
    files["tests/conftest.py"] = STARTER_CONFTEST
    sys.path.insert(0, str(ROOT / "tests"))
    from subtasks import function_hash
    files["tests/stubs.json"] = json.dumps(
        {f"{stub.path}:{stub.function}": function_hash(files[stub.path], stub.function)
         for stub in STUBS if stub.path.startswith(("task", "trainer", "utils"))},
        indent=1) + "\n"
    if output.exists():
        shutil.rmtree(output)
    for path, content in files.items():
        target = output / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_bytes(content)
    np.savez_compressed(output / "tests" / "expected.npz", **expected_data())
    return files


def write_zip(folder: Path, path: Path, prefix: str = "assignment1") -> None:
    """folder as a zip with fixed dates (the same files give the same zip)."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{prefix}/{file.relative_to(folder).as_posix()}",
                                   date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, file.read_bytes())
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the student starter from this "
                                     "solution: the folder and a zip of it.")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "starter",
                        help="the starter's folder (default: build/starter); the zip goes "
                             "next to it")
    args = parser.parse_args(argv)
    try:
        build(args.output)
    except StarterError as error:
        sys.exit(f"make_starter: {error}")
    write_zip(args.output, args.output.with_suffix(".zip"))
    graded = [stub for stub in STUBS if not stub.path.startswith("tools/")]
    print(f"Wrote {args.output}/ and {args.output.with_suffix('.zip')}: {len(graded)} "
          f"stubs for students, {len(STUBS) - len(graded)} of the report's facts; check it "
          "with `make check` inside")


if __name__ == "__main__":
    main()
