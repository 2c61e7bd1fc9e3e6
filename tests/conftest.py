"""Shared fixtures: the real MNIST subsets, pre-processed once per test session, and
the task scripts' runs on the real data (started in the background).

The data fixtures are pre-processed and one-hot encoded with the tests' own formulas
(tests/reference.py), not with pre_process_images and one_hot_encode: a mistake in
those two functions fails their own tests (tests/test_task2.py, tests/test_task3.py)
instead of every test that uses the data."""
import checks  # noqa: F401 -- first: it names a missing package and how to install it

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

if importlib.util.find_spec("hypothesis") is None:  # the tests' own package
    sys.exit(f"hypothesis not installed for {sys.executable}. In the project: run `make "
             "setup` and `make test` (or: .venv/bin/python -m pytest); elsewhere: "
             f"{sys.executable} -m pip install hypothesis")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import Phase, settings  # noqa: E402

import reference  # noqa: E402
import utils  # noqa: E402
# The autograder's option (--subtasks, `make check`) and its expected numbers
from subtasks import expected, pytest_addoption, pytest_configure  # noqa: E402,F401

# Property tests draw the same examples on every run, so a run is repeatable. No
# explain phase: the lines it lists as "always and only run by failing test cases" are
# numpy's printing of the failure, not a clue.
settings.register_profile("repeatable", derandomize=True, deadline=None, database=None,
                          phases=[phase for phase in Phase if phase is not Phase.explain])
settings.load_profile("repeatable")


@pytest.fixture(scope="session")
def binary_data():
    """Real 2-vs-3 data: X_train [4005, 785], Y_train [4005, 1], X_val [2042, 785], Y_val [2042, 1]."""
    X_train, Y_train, X_val, Y_val = utils.load_binary_dataset(2, 3, verbose=False)
    return reference.pre_process(X_train), Y_train, reference.pre_process(X_val), Y_val


@pytest.fixture(scope="session")
def full_data():
    """Real 10-class data: X_train [20000, 785], one-hot Y_train [20000, 10], X_val, Y_val."""
    X_train, Y_train, X_val, Y_val = utils.load_full_mnist(verbose=False)
    return (reference.pre_process(X_train), reference.one_hot(Y_train),
            reference.pre_process(X_val), reference.one_hot(Y_val))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# ------------------------------------------------------------------ the task scripts
# tests/test_scripts.py checks the outputs of the task scripts' main() on the real data.
# Their training runs in a background process (tests/task_scripts_runner.py), started
# as soon as the collected tests need it, so it overlaps with the rest of the suite.
RUNNER = Path(__file__).resolve().parent / "task_scripts_runner.py"
_BACKGROUND = {}  # "process", "folder": the runner, once started


def _start_task_scripts():
    if not _BACKGROUND:
        folder = Path(tempfile.mkdtemp(prefix="task-scripts-"))
        log = open(folder / "runner.log", "w")
        # RuntimeWarnings are errors there too, as in the suite (pytest.ini)
        process = subprocess.Popen([sys.executable, "-W", "error::RuntimeWarning", str(RUNNER),
                                    str(folder)],
                                   cwd=RUNNER.parents[1], stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # its pool workers with it
        log.close()
        _BACKGROUND.update(process=process, folder=folder)
    return _BACKGROUND


def _stop(process):
    """End the runner and the worker processes it started (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _needs_task_scripts(item) -> bool:
    return "task_scripts" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(session, config, items):
    """The tests that wait for the background runs go last (in their order), so that
    every other test runs while the task scripts train."""
    items[:] = ([item for item in items if not _needs_task_scripts(item)]
                + [item for item in items if _needs_task_scripts(item)])


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    if any(_needs_task_scripts(item) for item in session.items):
        _start_task_scripts()


def pytest_sessionfinish(session):
    if _BACKGROUND:
        process = _BACKGROUND["process"]
        if process.poll() is None:  # the tests that wanted it did not run (-x, Ctrl-C)
            _stop(process)
        process.wait()
        shutil.rmtree(_BACKGROUND["folder"], ignore_errors=True)


@pytest.fixture(scope="session")
def task_scripts():
    """The folder with one sub-folder per run of tests/task_scripts_runner.py, once
    every run is over."""
    background = _start_task_scripts()
    process, folder = background["process"], background["folder"]
    try:
        process.wait(timeout=600)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise
    log = (folder / "runner.log").read_text()
    assert process.returncode == 0 and (folder / "done").exists(), (
        f"tests/task_scripts_runner.py failed (exit status {process.returncode}):\n{log}")
    return folder
