"""The Makefile reruns a task script exactly when a file it imports changes: its lists of
prerequisites must be the script's local imports, direct and indirect."""
import re
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
