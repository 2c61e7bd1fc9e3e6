"""The pytest plugin behind `make check`: the tests of tests/test_subtasks.py grouped by
subtask, one line each (pass, FAIL with the first failing test's message, or not
started), a count, and a non-zero exit status while anything is not passing.

A test says what it checks with `@pytest.mark.subtask("2a loss",
"task2a.py:cross_entropy_loss")`. A function is "not started" while its syntax tree is
still the one the starter shipped (tests/stubs.json holds a hash of each stub), so
comments and blank lines do not count as a start. Without --subtasks the tests run as
ordinary pytest tests (`make test`).
"""
import ast
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def pytest_addoption(parser):
    parser.addoption("--subtasks", action="store_true",
                     help="print one line per subtask of the assignment (make check)")


def pytest_configure(config):
    config.addinivalue_line("markers", "subtask(name, function): the subtask a test "
                            "belongs to and the function (file.py:Class.method) it checks")
    if config.getoption("subtasks"):
        config.pluginmanager.register(SubtaskTable(config), "subtask-table")


def function_hash(source: str, qualname: str):
    """A hash of the syntax tree of `qualname` (e.g. 'BinaryModel.forward') in the Python
    source `source`, or None if it does not parse or has no such function."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    node = tree
    for part in qualname.split("."):
        node = next((child for child in node.body if isinstance(
            child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and child.name == part), None)
        if node is None:
            return None
    return hashlib.sha256(ast.dump(node, include_attributes=False).encode()).hexdigest()


def untouched(function: str, stubs: dict) -> bool:
    """Whether function ('task2a.py:BinaryModel.forward') is still the shipped stub."""
    if function not in stubs:
        return False
    path, qualname = function.split(":")
    try:
        source = (ROOT / path).read_text(encoding="utf-8")
    except OSError:
        return False
    return function_hash(source, qualname) == stubs[function]


@pytest.fixture(scope="session")
def expected():
    """The expected numbers: tests/expected.npz in the starter; in the solution's own
    tree, computed from the solution by the starter's generator."""
    path = TESTS / "expected.npz"
    if path.exists():
        with np.load(path) as data:
            return {key: data[key] for key in data.files}
    sys.path.insert(0, str(ROOT / "tools"))
    import make_starter
    return make_starter.expected_data()


def first_line(message: str) -> str:
    """The first non-empty line of a message, without pytest's 'assert ...' tail."""
    for line in str(message).splitlines():
        line = line.strip()
        if line and not line.startswith("assert "):
            return line
    return ""


class SubtaskTable:
    """Collects each test's outcome by subtask and prints the table at the end."""

    def __init__(self, config):
        self.config = config
        path = TESTS / "stubs.json"
        self.stubs = json.loads(path.read_text()) if path.exists() else {}
        self.rows = {}  # subtask -> {"functions": [...], "stubs": set, "failure": str}
        # The table is the output: no dots, no tracebacks, no summary of pytest's own
        config.option.tbstyle, config.option.reportchars = "no", ""

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report, config):
        """No progress letters: the table says it all."""
        return (report.outcome if report.when == "call" or not report.passed else ""), "", ""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config, items):
        for item in items:
            marker = item.get_closest_marker("subtask")
            if marker is None:
                continue
            name, function = marker.args
            row = self.rows.setdefault(name, dict(functions=[], stubs=set(), failure=None))
            if function not in row["functions"]:
                row["functions"].append(function)
            if untouched(function, self.stubs):
                row["stubs"].add(function)
                item.add_marker(pytest.mark.skip(reason=f"not started: {function}"))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        marker = item.get_closest_marker("subtask")
        if marker is None or report.skipped:
            return
        row = self.rows[marker.args[0]]
        if report.failed and row["failure"] is None:
            error = call.excinfo.value if call.excinfo else None
            if isinstance(error, AssertionError):
                row["failure"] = first_line(error) or "an assertion failed"
            elif error is not None:
                where = next((entry for entry in reversed(call.excinfo.traceback)
                              if Path(str(entry.path)).parent == ROOT), None)
                at = f" ({Path(str(where.path)).name} line {where.lineno + 1})" if where else ""
                row["failure"] = (f"{marker.args[1].split(':')[1]} raises "
                                  f"{type(error).__name__}: {first_line(error)}{at}")
            else:
                row["failure"] = "failed"

    def pytest_terminal_summary(self, terminalreporter):
        write = terminalreporter.write_line
        width = max(map(len, self.rows), default=10)
        counts = dict(passed=0, failed=0, incomplete=0, not_started=0)
        write("")
        for name, row in self.rows.items():
            label = f"Task {name.ljust(width)}"
            if row["failure"]:
                counts["failed"] += 1
                write(f"  {label}  FAIL  {row['failure']}", red=True)
            elif row["stubs"] and len(row["stubs"]) == len(row["functions"]):
                counts["not_started"] += 1
                write(f"  {label}  not started: " + ", ".join(
                    f.replace(":", " ") for f in row["functions"]), yellow=True)
            elif row["stubs"]:
                counts["incomplete"] += 1
                write(f"  {label}  not finished: still the stub: " + ", ".join(
                    f.replace(":", " ") for f in sorted(row["stubs"])), yellow=True)
            else:
                counts["passed"] += 1
                write(f"  {label}  pass", green=True)
        parts = [f"{counts['passed']} of {len(self.rows)} subtasks pass"]
        parts += [f"{counts[key]} {text}" for key, text in (
            ("failed", "fail"), ("incomplete", "not finished"), ("not_started", "not started"))
            if counts[key]]
        write("")
        write(", ".join(parts) + ("" if counts["passed"] == len(self.rows) else
                                  ". Fix them in this order; `make test` shows the details."))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if any(row["failure"] or row["stubs"] for row in self.rows.values()):
            session.exitstatus = 1
