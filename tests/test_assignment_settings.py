"""The assignment's hyperparameters, in one place.

The assignment fixes the learning rate, batch size, number of epochs, early-stopping
patience and the L2 strengths of each task. These tests read the values written in
each script's main() and compare them with the assignment's. While you experiment
(task 2e invites you to try other batch sizes, for example) these tests fail, and
only these: every other test reads the values the script actually used from its
results file. Set the values back before handing in.
"""
import ast
import inspect

import pytest

import task2
import task3
import task4

# (script, variable in main(), the assignment's value, the subtask that fixes it)
ASSIGNMENT = [
    (task2, "learning_rate", 0.05, "task 2"),
    (task2, "batch_size", 128, "task 2"),
    (task2, "num_epochs", 500, "task 2"),
    (task2, "early_stopping_patience", 10, "task 2"),
    (task3, "learning_rate", 0.01, "task 3"),
    (task3, "batch_size", 128, "task 3"),
    (task3, "num_epochs", 500, "task 3"),
    (task3, "early_stopping_patience", 10, "task 3"),
    (task3, "l2_reg_lambda", 0.0, "task 3"),
    (task3, "shuffle_dataset", True, "task 3"),
    (task4, "learning_rate", 0.01, "task 4"),
    (task4, "batch_size", 128, "task 4"),
    (task4, "num_epochs", 500, "task 4"),
    (task4, "early_stopping_patience", 10, "task 4"),
    (task4, "shuffle_dataset", True, "task 4"),
    (task4, "lambdas_4b", [0.0, 1.0], "task 4b"),
    (task4, "lambdas_4c", [1.0, 0.1, 0.01, 0.001], "task 4c"),
]


def assigned_in_main(module) -> dict:
    """{name: value} of the plain `name = <literal>` lines in module.main(), the first
    assignment of each name (a later `num_epochs = args.max_epochs` is the tests' own
    shortcut and not a literal)."""
    found = {}
    for node in ast.walk(ast.parse(inspect.getsource(module.main))):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            found.setdefault(node.targets[0].id, value)
    return found


@pytest.mark.parametrize("module, name, value, task", [
    pytest.param(*row, id=f"{row[0].__name__}-{row[1]}") for row in ASSIGNMENT])
def test_hyperparameters_are_the_assignments(module, name, value, task):
    script = f"{module.__name__}.py"
    settings = assigned_in_main(module)
    if name not in settings:
        pytest.fail(f"{script}: main() has no line `{name} = ...` with a plain value; the "
                    f"assignment fixes {name} = {value!r} for {task}. (This test reads the "
                    f"hyperparameters from main(); keep them there as plain assignments.)",
                    pytrace=False)
    if settings[name] != value or isinstance(settings[name], bool) != isinstance(value, bool):
        pytest.fail(f"the assignment fixes {name} = {value!r} for {task}; you changed it to "
                    f"{settings[name]!r} in {script} (main): set it back before handing in, or "
                    f"ignore this failure while experimenting (no other test depends on it)",
                    pytrace=False)


def test_the_settings_test_reads_main(monkeypatch):
    """The reader finds literal assignments, and only in main()."""
    source = ("def main():\n    batch_size = 64\n    learning_rate = 1e-3\n"
              "    num_epochs = 500\n    if args:\n        num_epochs = args.max_epochs\n"
              "    lambdas = [1.0, 0.1]\n")
    monkeypatch.setattr(inspect, "getsource", lambda function: source)
    assert assigned_in_main(task2) == dict(batch_size=64, learning_rate=1e-3, num_epochs=500,
                                           lambdas=[1.0, 0.1])
