"""Stress loop for script_tools.run_parallel and handle_stop_signals: Ctrl-C (SIGINT to the process group) or SIGTERM (to
the parent alone) at a random moment of a script that uses run_parallel.

    .venv/bin/python benchmarks/stress_signals.py [--iterations 50] [--seed 0]

Each iteration starts a fresh script (in its own session) that calls
handle_stop_signals() and then, in two phases, run_parallel with 2-6 jobs of random
lengths (each returns up to 8 MB, so some signals land while results are sent or
unpickled) on 2-4 workers, and writes each phase's results file atomically (a
temporary file written in pieces, os.replace at the end, deleted on BaseException).
After 0-2 s the signal goes out, alternating SIGINT and SIGTERM. Checked:
  - the parent and every process of its session are gone within 1 s of the signal;
  - stopped: status 130 / 143 (death by that signal, as Python does for Ctrl-C) and
    exactly one line on stderr, no traceback; finished first: status 0, stderr empty;
  - no temporary file left behind, and every results file present is complete.
A signal that comes before the script's handle_stop_signals() has run (interpreter
start, imports) meets Python's defaults: a KeyboardInterrupt traceback or a silent
death by SIGTERM; for those runs status and stderr are counted, not checked.
--writer mkstemp creates the temporary file with tempfile.mkstemp before the `try`
(as script_tools.atomic_file once did): a signal inside mkstemp then leaves the file behind.
Prints a table; exits 1 if any check failed. Not part of the test suite.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GONE_WITHIN = 1.0  # seconds from the signal to the last process gone

SCRIPT = textwrap.dedent('''
    from script_tools import handle_stop_signals, run_parallel
    handle_stop_signals()  # as early as possible: before this, Python's defaults apply
    import hashlib, os, random, sys, tempfile, time
    open(os.path.join(sys.argv[1], "ready"), "w").close()

    def job(out_dir, seconds, size, progress_position):
        with open(os.path.join(out_dir, "pids"), "a") as file:
            file.write(f"{os.getpid()}\\n")
        time.sleep(seconds)
        return random.Random(size).randbytes(size)

    def write_atomically(path, pieces):
        """Write in pieces to a temporary file, os.replace it over `path` at the end;
        delete it on any exception. WRITER "named": the name is chosen first and the
        file created inside the try; "mkstemp": created by tempfile.mkstemp before it."""
        if WRITER == "named":
            tmp = os.path.join(os.path.dirname(path), f".out.{os.getpid()}.{time.time_ns()}.tmp")
        else:
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".out.", suffix=".tmp")
        try:
            with (open(tmp, "x") if WRITER == "named" else os.fdopen(fd, "w")) as file:
                for piece in pieces:
                    file.write(piece)
                    file.flush()
                    time.sleep(0.01)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def main():
        out_dir, rng = sys.argv[1], random.Random(int(sys.argv[2]))
        for phase in range(2):
            jobs = [dict(seconds=rng.uniform(0, 0.4), size=rng.choice([10, 10**6, 8 * 10**6]))
                    for _ in range(rng.randint(2, 6))]
            results = run_parallel(job, jobs, shared=(out_dir,), num_workers=rng.randint(2, 4))
            lines = [hashlib.sha256(result).hexdigest() + "\\n" for result in results]
            write_atomically(os.path.join(out_dir, f"phase{phase}.txt"), lines + ["END\\n"])
        print("finished")

    WRITER = sys.argv[3]
    if __name__ == "__main__":
        main()
''')


def session_processes(sid: int) -> list:
    """Pids of the live (not zombie) processes of a session."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            pids.append(int(stat.parent.name))
    return pids


def one_run(folder: Path, signum: int, delay: float, seed: int, writer: str) -> dict:
    """Start the script, signal it after `delay` seconds, check what it leaves."""
    script, out_dir = folder / "stoppable.py", folder / "out"
    script.write_text(SCRIPT)
    out_dir.mkdir()
    with open(folder / "stdout", "w") as stdout, open(folder / "stderr", "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(script), str(out_dir), str(seed), writer],
            stdout=stdout, stderr=stderr, start_new_session=True,
            env=dict(os.environ, PYTHONPATH=str(folder.parent)))  # its copy of the code
    time.sleep(delay)
    ready = (out_dir / "ready").exists()  # handle_stop_signals() has run
    pids_file = out_dir / "pids"
    workers_started = len(pids_file.read_text().split()) if pids_file.exists() else 0
    sent = time.monotonic()
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)  # as a terminal sends Ctrl-C
    else:
        os.kill(process.pid, signum)    # as an IDE's stop button or `kill PID`
    while (process.poll() is None or session_processes(process.pid)) \
            and time.monotonic() - sent < 10:
        time.sleep(0.002)
    gone_after = time.monotonic() - sent
    leftovers = session_processes(process.pid)
    if process.poll() is None or leftovers:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    errors = (folder / "stderr").read_text().splitlines()
    finished = (folder / "stdout").read_text() == "finished\n"
    problems = []
    if gone_after > GONE_WITHIN or leftovers:
        problems.append(f"processes left after {gone_after:.2f} s: {leftovers}")
    if finished and (process.returncode != 0 or errors):
        problems.append(f"finished, but status {process.returncode}, stderr {errors}")
    name = "Ctrl-C (SIGINT)" if signum == signal.SIGINT else "SIGTERM"
    if not finished and ready and (process.returncode != -signum or errors != [
            f"stoppable.py: stopped by {name} before it finished"]):
        problems.append(f"status {process.returncode} (expected {-signum}), stderr {errors}")
    temporary = [path.name for path in out_dir.glob(".out.*")]
    if temporary:
        problems.append(f"temporary files left: {temporary}")
    for path in out_dir.glob("phase*.txt"):
        lines = path.read_text().splitlines()
        if not lines or lines[-1] != "END" or not all(len(line) == 64 for line in lines[:-1]):
            problems.append(f"{path.name} is incomplete")
    return dict(finished=finished, ready=ready, gone_after=gone_after,
                workers_started=workers_started, outputs=len(list(out_dir.glob("phase*.txt"))),
                traceback=any("Traceback" in line for line in errors), problems=problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--writer", choices=["named", "mkstemp"], default="named",
                        help="how the script creates its temporary file (see SCRIPT)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    runs = {signal.SIGINT: [], signal.SIGTERM: []}
    with tempfile.TemporaryDirectory(prefix="stress_signals.") as temporary:
        for name in ("script_tools.py", "mnist.py"):  # edits during the loop do not count
            shutil.copy(REPO / name, temporary)
        for iteration in range(args.iterations):
            signum = (signal.SIGINT, signal.SIGTERM)[iteration % 2]
            delay = rng.uniform(0, 2)
            folder = Path(temporary) / f"run{iteration}"
            folder.mkdir()
            run = one_run(folder, signum, delay, rng.randrange(10**9), args.writer)
            runs[signum].append(run)
            if run["problems"]:
                print(f"run {iteration} ({signal.Signals(signum).name} after {delay:.2f} s): "
                      + "; ".join(run["problems"]), flush=True)
    columns = ["runs", "finished", "stopped", "before handler", "before workers",
               "mid phase 1", "mid phase 2", "max gone (s)", "failed"]
    print("\nStopped runs by the moment the signal came: before handle_stop_signals() ran\n"
          "(Python's defaults apply; only 'processes gone', 'no temporary file' and 'no\n"
          "incomplete file' are checked), before the first worker, in phase 1, in phase 2.")
    print(f"{'signal':8} " + " ".join(f"{column:>{max(len(column), 6)}}" for column in columns))
    for signum, results in runs.items():
        stopped = [r for r in results if not r["finished"]]
        cells = [len(results), len(results) - len(stopped), len(stopped),
                 sum(not r["ready"] for r in stopped),
                 sum(r["ready"] and r["workers_started"] == 0 for r in stopped),
                 sum(r["ready"] and r["workers_started"] > 0 and r["outputs"] == 0
                     for r in stopped),
                 sum(r["outputs"] > 0 for r in stopped),
                 f"{max((r['gone_after'] for r in results), default=0):.3f}",
                 sum(bool(r["problems"]) for r in results)]
        print(f"{signal.Signals(signum).name:8} "
              + " ".join(f"{cell:>{max(len(column), 6)}}" for cell, column in zip(cells, columns)))
    everything = [r for results in runs.values() for r in results]
    print(f"\nTracebacks on stderr: {sum(r['traceback'] and not r['ready'] for r in everything)}"
          f" before handle_stop_signals(), {sum(r['traceback'] and r['ready'] for r in everything)}"
          f" after")
    failed = sum(bool(r["problems"]) for results in runs.values() for r in results)
    print(f"{failed} of {args.iterations} runs failed a check")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
