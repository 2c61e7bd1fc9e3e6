"""Stress loop on the real task scripts: Ctrl-C (SIGINT to the process group, as a
terminal sends it) or SIGTERM (to the script alone, as an IDE's stop button or `kill`)
at a random moment of task2.py or task4.py, which train in forked worker processes, or
of `make tasks` (--scripts make: tasks 2, 3 and 4 side by side, in a copy of the project).

    .venv/bin/python benchmarks/stress_task_scripts.py [--iterations 20] [--seed 0]
        [--scripts task2.py task4.py make] [--max-delay 8]

Checked for every run: the script and every process of its session are gone within 1 s
of the signal; a stopped script that had started its work (it printed the data shapes)
ends by that signal with exactly one line on stderr (under make: one per script stopped,
and make's own) and no traceback; no temporary file is
left in its results or figures folder; a results file, if any, is complete JSON whose
figures match their recorded SHA-256. Exits 1 if a check failed. Not part of make test.
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
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import copy_tree  # noqa: E402
from stress_signals import GONE_WITHIN, session_processes  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MESSAGE = {signal.SIGINT: "stopped by Ctrl-C (SIGINT) before it finished",
           signal.SIGTERM: "stopped by SIGTERM before it finished"}


def one_run(script: str, folder: Path, signum: int, delay: float, tree: Path) -> dict:
    """Start the script with its outputs in `folder` (`make tasks` in `tree`, with its
    outputs there), signal it after `delay` s, check."""
    stdout, stderr = folder / "stdout", folder / "stderr"
    command = [sys.executable, str(REPO / script), "--results-dir", str(folder / "results"),
               "--figures-dir", str(folder / "figures")]
    env = dict(os.environ)
    if script == "make":
        command, folder = ["make", "tasks"], tree
        env = {k: v for k, v in env.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        subprocess.run(["rm", "-rf", "results", "figures"], cwd=tree, check=True)
    with open(stdout, "w") as out, open(stderr, "w") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, start_new_session=True,
                                   cwd=folder, env=env)
    time.sleep(delay)
    started = script == "make" or "Train shape" in stdout.read_text()
    sent = time.monotonic()
    if signum == signal.SIGINT:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signum)
    while (process.poll() is None or session_processes(process.pid)) \
            and time.monotonic() - sent < 10:
        time.sleep(0.005)
    gone_after = time.monotonic() - sent
    leftovers = session_processes(process.pid)
    if leftovers:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    errors = stderr.read_text().splitlines()
    if script == "make":  # every script's own line, make's lines apart
        errors = sorted({line for line in errors if not line.startswith("make: ***")})
    finished = process.returncode == 0
    problems = []
    if gone_after > GONE_WITHIN or leftovers:
        problems.append(f"processes left {gone_after:.2f} s after the signal: {leftovers}")
    if finished and errors:
        problems.append(f"finished, but wrote to stderr: {errors[-3:]}")
    if not finished and started and (process.returncode != -signum or not errors or any(
            line != f"{line.split(':')[0]}: {MESSAGE[signum]}" for line in errors)):
        problems.append(f"status {process.returncode} (expected {-signum}), stderr {errors[-3:]}")
    temporary = [p.name for p in folder.glob("*/.*.tmp")]
    if temporary:
        problems.append(f"temporary files left: {temporary}")
    for path in folder.glob("results/*.json"):
        try:
            figures = json.loads(path.read_text())["figures"]
            for record in figures.values():
                if hashlib.sha256((folder / record["path"]).read_bytes()).hexdigest() \
                        != record["sha256"]:
                    problems.append(f"{record['path']} does not match {path.name}")
        except (ValueError, KeyError, OSError) as error:
            problems.append(f"{path.name} is incomplete: {error}")
    return dict(finished=finished, started=started, gone_after=gone_after, problems=problems,
                traceback=any("Traceback" in line for line in errors))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scripts", nargs="+", default=["task2.py", "task4.py"])
    parser.add_argument("--max-delay", type=float, default=8.0,
                        help="the signal comes after 0.5 to this many seconds")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    runs = []
    with tempfile.TemporaryDirectory(prefix="stress_task_scripts.") as temporary:
        tree = Path(temporary) / "tree"
        if "make" in args.scripts:
            copy_tree(REPO, tree)
        for iteration in range(args.iterations):
            script = args.scripts[iteration % len(args.scripts)]
            signum = (signal.SIGINT, signal.SIGTERM)[(iteration // len(args.scripts)) % 2]
            delay = rng.uniform(0.5, args.max_delay)
            folder = Path(temporary) / f"run{iteration}"
            folder.mkdir()
            run = one_run(script, folder, signum, delay, tree)
            run.update(script=script, signal=signal.Signals(signum).name, delay=delay)
            runs.append(run)
            print(f"run {iteration:3}: {script} {run['signal']:7} after {delay:4.1f} s: "
                  + ("finished first" if run["finished"] else
                     f"stopped, all gone in {run['gone_after']:.3f} s"
                     + ("" if run["started"] else " (before its work began)"))
                  + (": " + "; ".join(run["problems"]) if run["problems"] else ""), flush=True)
    failed = sum(bool(run["problems"]) for run in runs)
    stopped = [run for run in runs if not run["finished"]]
    print(f"\n{len(stopped)} of {len(runs)} runs stopped by the signal; slowest 'all gone' "
          f"{max((r['gone_after'] for r in stopped), default=0):.3f} s; tracebacks after the "
          f"work began: {sum(r['traceback'] and r['started'] for r in runs)}; "
          f"{failed} runs failed a check")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
