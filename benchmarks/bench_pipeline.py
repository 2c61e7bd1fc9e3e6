"""How close does `make report` come to what the cores allow for tasks 2-4?

    .venv/bin/python benchmarks/bench_pipeline.py [--rounds 1] [--tree DIR] [--compare DIR]

Each round copies the project's tracked files (as they are now, or those of --tree) to
a temporary folder, with .venv and data/ linked, and runs `make tasks` there from clean,
as `make clean && make report` runs them. Measured: the wall time, and the CPU seconds
of every process it started (user + system). The packing limit is those CPU seconds over
the cores: no schedule of these runs on this machine can finish sooner. Target (exit
status 1 if missed): wall time <= 1.15 x packing limit, median over the rounds.

The results files of the last round are compared with --compare (default: the
project's results/, if there): every number, integers exactly and floats to 1e-9.
"""
import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

TARGET = 1.15


def copy_tree(source: Path, dest: Path) -> None:
    """The tracked files of source (as they are on disk), .venv and data/ linked."""
    files = subprocess.run(["git", "ls-files"], cwd=source, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    for name in files:
        if (source / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, dest / name)
    for name in (".venv", "data"):
        (dest / name).symlink_to(common.REPO / name, target_is_directory=True)


def one_round(tree: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(  # .venv is linked: never remade; not `make bench`'s make flags
        ["make", "--no-print-directory", "-o", ".venv/.installed", "tasks"], cwd=tree, env=env,
        capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"make tasks failed in {tree}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dict(wall=wall, cpu=cpu, waited="Waiting for task3.py" in done.stdout)


def numbers(data, path=""):
    """{key path: number} of a results file, without the figures' paths and hashes."""
    if isinstance(data, dict):
        return {k: v for key, value in data.items() if key != "figures"
                for k, v in numbers(value, f"{path}.{key}").items()}
    if isinstance(data, list):
        return {k: v for i, value in enumerate(data)
                for k, v in numbers(value, f"{path}[{i}]").items()}
    return {path: data} if isinstance(data, (int, float)) else {}


def compare(results: Path, reference: Path) -> None:
    differ, count = [], 0
    for name in ("task2.json", "task3.json", "task4.json"):
        ours = numbers(json.loads((results / name).read_text()))
        theirs = numbers(json.loads((reference / name).read_text()))
        count += len(theirs)
        differ += [f"{name}{key}: {ours.get(key)} against {value}"
                   for key, value in theirs.items()
                   if not (type(ours.get(key)) is type(value) and (
                       ours[key] == value if not isinstance(value, float)
                       else math.isclose(ours[key], value, rel_tol=1e-9, abs_tol=1e-12)))]
    print(f"results against {reference}: {count} numbers, "
          + ("all identical (floats to 1e-9)" if not differ else
             f"{len(differ)} differ:\n  " + "\n  ".join(differ[:20])))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--tree", type=Path, default=common.REPO,
                        help="the git work tree to time (default: this one)")
    parser.add_argument("--compare", type=Path, default=common.REPO / "results")
    args = parser.parse_args(argv)
    print(f"machine: {common.cpu_line()}")
    cores = os.cpu_count()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as folder:
        tree = Path(folder) / "tree"
        copy_tree(args.tree.resolve(), tree)
        for i in range(args.rounds):
            shutil.rmtree(tree / "results", ignore_errors=True)
            shutil.rmtree(tree / "figures", ignore_errors=True)
            with common.OthersWatch() as others:
                rounds.append(one_round(tree))
            r = rounds[-1]
            print(f"round {i + 1}: make tasks {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, packing "
                  f"limit {r['cpu'] / cores:.1f} s, ratio {r['wall'] / (r['cpu'] / cores):.3f}"
                  f"{'' if r['waited'] else ' (task 4 did not wait for task 3)'}; {others.line()}",
                  flush=True)
        if (args.compare / "task4.json").exists():
            compare(tree / "results", args.compare)
    wall = statistics.median(r["wall"] for r in rounds)
    limit = statistics.median(r["cpu"] for r in rounds) / cores
    ratio = wall / limit
    print(f"make tasks from clean: {wall:.1f} s wall; packing limit {limit:.1f} s (CPU seconds "
          f"over {cores} cores); ratio {ratio:.3f}   target <= {TARGET}: "
          f"{'met' if ratio <= TARGET else 'MISSED'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
