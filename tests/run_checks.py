"""Run the autograder (`make check`) in many starter folders from one process, for
tests/test_starter.py: the imports every run shares (pytest, NumPy, matplotlib) are
done once, and each run is a forked child that imports the folder's own code afresh.

    python tests/run_checks.py FOLDER...

Writes FOLDER/check.out (the run's output) and FOLDER/check.status (its exit status).
"""
import os
import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
import matplotlib  # noqa: E402 -- not this folder's modules: each run imports its own

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402,F401 -- imported once, before the forks
import numpy  # noqa: E402,F401
import pytest  # noqa: E402
import tqdm  # noqa: E402,F401

ARGS = ["-qq", "-p", "no:cacheprovider", "--subtasks", "tests/test_subtasks.py"]


def run(folder: str) -> int:
    """In a forked child: the autograder in folder, its output to folder/check.out."""
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        os.chdir(folder)
        with open("check.out", "w") as out:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.stderr = sys.stdout
            status = int(pytest.main(ARGS))
        with open("check.status", "w") as file:
            file.write(str(status))
    finally:
        sys.stdout.flush()
        os._exit(status)


def main(folders, workers=os.cpu_count() or 1):
    running = set()
    for folder in folders:
        if len(running) >= workers:
            running.discard(os.wait()[0])
        running.add(run(folder))
    while running:
        running.discard(os.wait()[0])


if __name__ == "__main__":
    main(sys.argv[1:])
