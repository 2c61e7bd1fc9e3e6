"""Does Ctrl-C or SIGTERM at a random moment leave a process or a half-written file behind?

    .venv/bin/python benchmarks/stress_signals.py [--targets run_parallel] [--iterations 50]
        [--seed 0] [--max-delay 2] [--writer named]

Targets, taken in turn: run_parallel (the default, `make stress`: a small script that
calls handle_stop_signals() and then, in two phases, run_parallel with 2-6 jobs of random
lengths and result sizes up to 8 MB on 2-4 workers, writing each phase's file atomically),
task2.py, task4.py (the real scripts, outputs in a temporary folder) and make (`make tasks`
in a copy of the project: three scripts side by side). Each run starts in its own session;
after a random 0-max_delay s comes Ctrl-C (SIGINT to the process group, as a terminal
sends it) or SIGTERM (to the parent alone, as `kill PID` or an IDE's stop button),
alternately. Checked:
  - the parent and every process of its session are gone within 1 s of the signal;
  - stopped after its work began: death by that signal (status 130 / 143) and on stderr one
    line per script, '<script>: stopped by ... before it finished', no traceback (make's
    own lines aside); finished first: status 0, nothing on stderr. A signal before the
    work began meets Python's defaults: status and stderr are then not checked;
  - no temporary file is left, and every output present is complete (a run_parallel
    phase file ends with END; a results file's figures match their SHA-256).
--writer mkstemp makes the run_parallel script create its temporary file with
tempfile.mkstemp before its `try` (as script_tools.atomic_file once did): a signal inside
mkstemp then leaves the file behind, which this loop should catch.
Exits 1 if a check failed. Not part of the test suite.
"""
import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import common
from bench_pipeline import copy_tree

GONE_WITHIN = 1.0  # seconds from the signal to the last process gone
MESSAGE = {signal.SIGINT: "stopped by Ctrl-C (SIGINT) before it finished",
           signal.SIGTERM: "stopped by SIGTERM before it finished"}

SCRIPT = textwrap.dedent('''
    from script_tools import handle_stop_signals, run_parallel
    handle_stop_signals()  # as early as possible: before this, Python's defaults apply
    import hashlib, os, random, sys, tempfile, time
    open(os.path.join(sys.argv[1], "ready"), "w").close()

    def job(seconds, size, progress_position):
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
            results = run_parallel(job, jobs, num_workers=rng.randint(2, 4))
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


def start(target: str, folder: Path, tree: Path, seed: int, writer: str):
    """(command, working folder, environment, folder of its outputs) of a run."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    if target == "make":
        subprocess.run(["rm", "-rf", "results", "figures"], cwd=tree, check=True)
        return ["make", "tasks"], tree, env, tree
    if target == "run_parallel":
        (folder / "stoppable.py").write_text(SCRIPT)
        env["PYTHONPATH"] = str(tree)  # the copy of the code: edits meanwhile do not count
        return ([sys.executable, "stoppable.py", str(folder), str(seed), writer], folder, env,
                folder)
    return ([sys.executable, str(tree / target), "--results-dir", str(folder / "results"),
             "--figures-dir", str(folder / "figures")], folder, env, folder)


def one_run(target: str, folder: Path, tree: Path, signum: int, delay: float, seed: int,
            writer: str) -> dict:
    """Start the target, signal it after `delay` seconds, check what it leaves."""
    command, cwd, env, outputs = start(target, folder, tree, seed, writer)
    stdout, stderr = folder / "stdout", folder / "stderr"
    with open(stdout, "w") as out, open(stderr, "w") as err:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err,
                                   start_new_session=True)
    time.sleep(delay)
    started = {"make": True, "run_parallel": (folder / "ready").exists()}.get(
        target, "Train shape" in stdout.read_text())  # a script: its data is loaded
    sent = time.monotonic()
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)
    else:
        os.kill(process.pid, signum)
    while (process.poll() is None or session_processes(process.pid)) \
            and time.monotonic() - sent < 10:
        time.sleep(0.002)
    gone_after = time.monotonic() - sent
    leftovers = session_processes(process.pid)
    if process.poll() is None or leftovers:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    errors = [line for line in stderr.read_text().splitlines()
              if not line.startswith("make: ***")]
    finished = process.returncode == 0
    problems = []
    if gone_after > GONE_WITHIN or leftovers:
        problems.append(f"processes left {gone_after:.2f} s after the signal: {leftovers}")
    if finished and errors:
        problems.append(f"finished, but wrote to stderr: {errors[-3:]}")
    if not finished and started and (process.returncode != -signum or not errors or any(
            line != f"{line.split(':')[0]}: {MESSAGE[signum]}" for line in errors)):
        problems.append(f"status {process.returncode} (expected {-signum}), stderr {errors[-3:]}")
    temporary = [p.name for pattern in (".*.tmp", "*/.*.tmp") for p in outputs.glob(pattern)]
    if temporary:
        problems.append(f"temporary files left: {temporary}")
    for path in outputs.glob("phase*.txt"):
        lines = path.read_text().splitlines()
        if not lines or lines[-1] != "END" or not all(len(line) == 64 for line in lines[:-1]):
            problems.append(f"{path.name} is incomplete")
    for path in outputs.glob("results/*.json"):
        try:
            for record in json.loads(path.read_text())["figures"].values():
                if hashlib.sha256((outputs / record["path"]).read_bytes()).hexdigest() \
                        != record["sha256"]:
                    problems.append(f"{record['path']} does not match {path.name}")
        except (ValueError, KeyError, OSError) as error:
            problems.append(f"{path.name} is incomplete: {error}")
    return dict(finished=finished, started=started, gone_after=gone_after, problems=problems,
                traceback=any("Traceback" in line for line in errors))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=["run_parallel"],
                        choices=["run_parallel", "task2.py", "task4.py", "make"])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-delay", type=float, default=2.0,
                        help="the signal comes after 0 to this many seconds (default 2)")
    parser.add_argument("--writer", choices=["named", "mkstemp"], default="named",
                        help="how the run_parallel script creates its temporary file")
    args = parser.parse_args()
    rng, runs = random.Random(args.seed), []
    with tempfile.TemporaryDirectory(prefix="stress_signals.") as temporary:
        tree = Path(temporary) / "tree"
        copy_tree(common.REPO, tree)
        for iteration in range(args.iterations):
            target = args.targets[iteration % len(args.targets)]
            signum = (signal.SIGINT, signal.SIGTERM)[(iteration // len(args.targets)) % 2]
            delay = rng.uniform(0, args.max_delay)
            folder = Path(temporary) / f"run{iteration}"
            folder.mkdir()
            run = one_run(target, folder, tree, signum, delay, rng.randrange(10**9), args.writer)
            runs.append(run)
            print(f"run {iteration:3}: {target} {signal.Signals(signum).name:7} after "
                  f"{delay:4.2f} s: " + ("finished first" if run["finished"] else
                                         f"stopped, all gone in {run['gone_after']:.3f} s"
                                         + ("" if run["started"] else " (before its work)"))
                  + (": " + "; ".join(run["problems"]) if run["problems"] else ""), flush=True)
    failed = sum(bool(run["problems"]) for run in runs)
    stopped = [run for run in runs if not run["finished"]]
    print(f"\n{len(stopped)} of {len(runs)} runs stopped by the signal "
          f"({sum(r['started'] for r in stopped)} after their work began); slowest 'all gone' "
          f"{max((r['gone_after'] for r in stopped), default=0):.3f} s; tracebacks after the "
          f"work began: {sum(r['traceback'] and r['started'] for r in runs)}; "
          f"{failed} runs failed a check")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
