"""script_tools.run_parallel and handle_stop_signals: results in job order, in other
processes; the first error stops every worker; Ctrl-C, SIGTERM or a killed parent
leave no worker behind, and a stopped script prints one line, no traceback."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import script_tools
from script_tools import run_parallel

REPO = Path(__file__).resolve().parent.parent


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def read_pids(path: Path) -> list:
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def later_jobs_finish_first(delay, index, progress_position):
    """Job i sleeps (3 - i) * delay: with two workers job 1 finishes before job 0."""
    time.sleep(delay * (3 - index))
    return index, os.getpid(), progress_position


def test_results_come_in_job_order_from_other_processes():
    jobs = [dict(index=i) for i in range(4)]
    results = run_parallel(later_jobs_finish_first, jobs, shared=(0.05,), num_workers=2)
    assert [index for index, _, _ in results] == [0, 1, 2, 3]
    processes = {pid for _, pid, _ in results}
    assert len(processes) >= 2 and os.getpid() not in processes
    assert {line for _, _, line in results} == {0, 1}  # one progress line per worker


def test_one_worker_runs_in_this_process():
    results = run_parallel(later_jobs_finish_first, [dict(index=3), dict(index=2)],
                           shared=(0.0,), num_workers=1)
    assert results == [(3, os.getpid(), 0), (2, os.getpid(), 0)]


def fail_or_sleep(pid_file, num_jobs, fail, progress_position):
    """Record this worker's pid; the failing job waits until the others run."""
    with open(pid_file, "a") as file:
        file.write(f"{os.getpid()}\n")
    if fail:
        wait_until(lambda: len(read_pids(Path(pid_file))) == num_jobs)
        raise ValueError("job 0 failed on purpose")
    time.sleep(30)


@pytest.mark.parametrize("num_workers", [1, 2])
def test_the_first_error_stops_the_others_and_reaches_the_caller(tmp_path, num_workers):
    pid_file = tmp_path / "pids"
    jobs = [dict(fail=True)] + [dict(fail=False)] * (num_workers - 1)
    started = time.monotonic()
    with pytest.raises(ValueError, match="job 0 failed on purpose") as error:
        run_parallel(fail_or_sleep, jobs, shared=(pid_file, len(jobs)), num_workers=num_workers)
    assert time.monotonic() - started < 20  # liveness only: the other job sleeps 30 s
    assert not any(alive(pid) for pid in read_pids(pid_file) if pid != os.getpid())
    if num_workers > 1:  # the worker's traceback comes along as a note
        note = "\n".join(error.value.__notes__)
        assert "Traceback" in note and "in fail_or_sleep" in note and "job 0 failed" in note


def send_myself(signal_name, progress_position):
    os.kill(os.getpid(), getattr(signal, signal_name))
    time.sleep(0.05)  # time for a Python handler to run
    return "survived"


def test_workers_leave_ctrl_c_to_the_parent():
    try:
        results = run_parallel(send_myself, [dict(signal_name="SIGINT")] * 2, num_workers=2)
    except KeyboardInterrupt:
        pytest.fail("a worker raised KeyboardInterrupt")
    assert results == ["survived"] * 2


def test_a_worker_that_dies_without_a_result_is_an_error():
    with pytest.raises(RuntimeError, match=r"job 1: worker ended with -9, no result"):
        run_parallel(send_myself, [dict(signal_name="SIGCONT"), dict(signal_name="SIGKILL")],
                     num_workers=2)


def test_no_fork_while_another_thread_runs():
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="still-running")
    thread.start()
    try:
        with pytest.raises(RuntimeError, match="still-running"):
            run_parallel(later_jobs_finish_first, [dict(index=0), dict(index=1)],
                         shared=(0.0,), num_workers=2)
    finally:
        release.set()
        thread.join()


STOPPABLE_SCRIPT = """
import os, sys, time
from script_tools import handle_stop_signals, run_parallel

def job(pid_file, index, progress_position):
    with open(pid_file, "a") as file:
        file.write(f"{os.getpid()}\\n")
    time.sleep(30)

def main():
    handle_stop_signals()
    run_parallel(job, [dict(index=i) for i in range(4)], shared=(sys.argv[1],),
                 num_workers=2)
    print("finished")

if __name__ == "__main__":
    main()
"""


@pytest.mark.parametrize("how", ["SIGTERM to the parent", "SIGINT to the group",
                                 "SIGKILL to the parent"])
def test_a_stopped_script_leaves_no_worker_and_one_line(tmp_path, how):
    script, pid_file = tmp_path / "stoppable.py", tmp_path / "pids"
    script.write_text(textwrap.dedent(STOPPABLE_SCRIPT))
    process = subprocess.Popen([sys.executable, str(script), str(pid_file)], cwd=tmp_path,
                               env=dict(os.environ, PYTHONPATH=str(REPO)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        assert wait_until(lambda: len(read_pids(pid_file)) == 2), "the workers never started"
        signum = getattr(signal, how.split()[0])
        if "group" in how:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)
        stdout, stderr = process.communicate(timeout=5)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    workers = read_pids(pid_file)
    assert wait_until(lambda: not any(alive(pid) for pid in workers)), "a worker lives on"
    assert process.returncode == -signum  # the shell shows 128 + signum: 130, 143 (137)
    assert stdout == ""
    if signum != signal.SIGKILL:
        assert stderr.splitlines() == [f"stoppable.py: stopped by "
                                       f"{'Ctrl-C (SIGINT)' if 'INT' in how else 'SIGTERM'} "
                                       f"before it finished"]


PRINTING_SCRIPT = """
import atexit
import script_tools
from script_tools import run_parallel

def job(index, progress_position):
    print(f"job {index}")

atexit.register(print, "atexit")
print("before")  # still in the buffer (stdout is a pipe) when the workers fork
run_parallel(job, [dict(index=i) for i in range(3)], num_workers=2)
"""


def test_output_appears_once_and_workers_skip_atexit(tmp_path):
    script = tmp_path / "printing.py"
    script.write_text(PRINTING_SCRIPT)
    finished = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=30)
    assert finished.returncode == 0 and finished.stderr == ""
    # Counted, not compared line by line: the processes share one pipe, and under load
    # their writes may interleave
    counts = {text: finished.stdout.count(text)
              for text in ("atexit", "before", "job 0", "job 1", "job 2")}
    assert counts == dict.fromkeys(counts, 1), \
        f"each line must appear once (the workers must not repeat the parent's buffer or " \
        f"run its atexit handlers), got {finished.stdout!r}"


# ------------------------------------------------------------------ scripts side by side
MAKER_SCRIPT = """
import sys, time
from pathlib import Path
import numpy as np
import script_tools
folder = Path(sys.argv[1])
script_tools.announce_running(folder, "task3")  # as parse_args does in task3.py
print("running", flush=True)
while not (folder / "waiting").exists():  # until load_run in the test waits
    time.sleep(0.01)
time.sleep(0.2)
script_tools.save_run(folder / "task3_run.npz", "key", np.ones((2, 2)),
                      dict(final_val_loss=0.5, final_val_accuracy=0.9), dict(loss={0: 1.0}))
time.sleep(30)  # saved: no longer counts as running, whatever it does next
"""


def test_load_run_waits_for_the_script_that_saves_the_run(tmp_path, capsys, monkeypatch):
    """task4.py next to a running task3.py (make runs them side by side): load_run waits
    until task 3 has saved its run, and returns it."""
    script = tmp_path / "maker.py"
    script.write_text(MAKER_SCRIPT)
    maker = subprocess.Popen([sys.executable, str(script), str(tmp_path)],
                             env=dict(os.environ, PYTHONPATH=str(REPO)),
                             stdout=subprocess.PIPE, text=True)
    try:
        assert maker.stdout.readline() == "running\n"
        assert script_tools.run_expected(tmp_path / "task3_run.npz"), \
            "a run that a running task3.py will save is expected"
        printed = []
        monkeypatch.setattr("builtins.print", lambda *args, **kwargs: (
            printed.append(" ".join(map(str, args))),
            (tmp_path / "waiting").write_text("")))
        loaded = script_tools.load_run(tmp_path / "task3_run.npz", "key",
                                       lambda w: (0.5, 0.9))
        assert loaded is not None and loaded[1]["final_val_accuracy"] == 0.9
        assert printed == ["Waiting for task3.py, which runs next to this script, to save "
                           "its run"]
    finally:
        maker.kill()
        maker.wait()


def test_load_run_does_not_wait_without_a_running_maker(tmp_path):
    """No task3.py runs (or it ended): a missing run is None at once; and this process,
    if it is the maker itself, never waits for itself."""
    path = tmp_path / "task3_run.npz"
    (tmp_path / ".task3.running").write_text("")  # left by a task 3 that ended
    assert not script_tools.run_expected(path)
    assert script_tools.load_run(path, "key", lambda w: (0.5, 0.9)) is None
    script_tools.announce_running(tmp_path, "task3")
    try:
        assert not script_tools.run_expected(path)  # not from itself
        assert script_tools.load_run(path, "key", lambda w: (0.5, 0.9)) is None
        path.write_bytes(b"")
        assert script_tools.run_expected(path), "a saved file is expected (load_run checks it)"
    finally:
        os.close(script_tools._RUNNING.pop(tmp_path / ".task3.running"))
