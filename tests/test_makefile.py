"""The Makefile reruns a task script exactly when a file it imports changes: its lists of
prerequisites must be the script's local imports, direct and indirect."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from create_submission_zip import local_imports

REPO = Path(__file__).resolve().parents[1]


def make_variables() -> dict:
    """The `NAME := value` lines of the Makefile, with $(NAME) references expanded."""
    variables = {}
    for line in (REPO / "Makefile").read_text().splitlines():
        match = re.match(r"^([A-Z0-9_]+)\s*:=\s*(.*)$", line)
        if match:
            value = re.sub(r"\$\(([A-Z0-9_]+)\)", lambda m: variables.get(m[1], m[0]),
                           match[2])
            variables[match[1]] = value
    return variables


def imported_closure(script: str) -> set:
    """The script and every local module it imports, directly or through others."""
    seen, todo = set(), [script]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(local_imports(REPO / name))
    return seen


@pytest.mark.parametrize("variable, script", [("TASK2", "task2.py"), ("TASK3", "task3.py"),
                                              ("TASK4", "task4.py")])
def test_makefile_prerequisites_are_what_the_script_imports(variable, script):
    listed = set(make_variables()[variable].split())
    imported = imported_closure(script)
    assert listed == imported, (
        f"Makefile {variable} should list exactly the files {script} imports: "
        f"missing {sorted(imported - listed)}, not imported {sorted(listed - imported)}. "
        f"Edit the line `{variable} := ...` of the Makefile, so that a change of these files "
        f"reruns {script}")


def make_database(*goals) -> str:
    """What `make -pn GOALS` prints: the rules and variables as make reads them."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "-pn", *goals], cwd=REPO, env=env, capture_output=True,
                          text=True).stdout


def test_report_runs_the_task_scripts_side_by_side():
    """make report: tasks 2, 3 and 4 at once (task 4 waits for task 3's saved run in
    script_tools.load_run, not in the Makefile); make clean report: clean first, in order."""
    database = make_database("report")
    task4 = next(line for line in database.splitlines() if line.startswith("results/task4.json:"))
    assert "results/task3.json" not in task4
    assert re.search(r"^MAKEFLAGS = .* -j3 ", database, re.MULTILINE)
    assert not re.search(r"^MAKEFLAGS = .* -j", make_database("clean", "report"), re.MULTILINE)
