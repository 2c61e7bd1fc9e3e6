"""Tasks 2, 3 and 4 end to end: the working tree against an older git revision.

    .venv/bin/python benchmarks/bench_training.py --against [REV] [--rounds 3]
    make bench-e2e [REV=8478308]

REV defaults to 8478308, the main branch before the graded code took the course
starter's shape. Both sides run ``python task2.py; python task3.py; python
task4.py`` as a user would, with only --results-dir and --figures-dir (each round
into fresh temporary folders): the same Python (this one), the environment as it
is. No BLAS thread limit is set here: each revision sets its own (both pin BLAS
to one thread; 8478308 adds its own threads for the large products and the
training accuracy, the new code has none). The sides alternate (new, old, new,
old, ...). Reported: the median seconds of each script and of the total, the
ratio new / old (target <= RATIO_TARGET, exit status 1 above it), the CPU
seconds, the peak memory of each run, and the key numbers of the results files
of both sides, which must agree.

The revision is checked out with ``git worktree add`` into a temporary folder,
with data/ linked to this tree's; the working tree is copied (its top-level
files, as they are now) so that edits made during the benchmark do not reach it.
Both are removed at the end, also after Ctrl-C or an error.

Peak memory of a run: the process tree (the script and its worker processes) is
sampled every SAMPLE_SECONDS from /proc: the sum of RSS (counts pages shared
by forked workers once per process: an upper bound) and the sum of PSS (shares
them out); os.wait4 adds the exact largest RSS of any single process.
"""
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ("task2.py", "task3.py", "task4.py")
RATIO_TARGET = 1.2         # new / old total seconds: the new code at most 20% slower
MEMORY_TARGET = 1.5e9      # bytes, peak of each run (sum of RSS over the process tree)
ACCURACY_TOLERANCE = 0.003
SAMPLE_SECONDS = 0.2  # a sample costs ~2 ms of CPU; 1% of a core


# ----------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------
def cpu_description() -> str:
    """'AMD EPYC (family 25, model 17; AVX-512), 2 CPUs, 23.4 GB RAM' from /proc."""
    info = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
        memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
        ram = f", {int(memory) * 1024 / 1e9:.1f} GB RAM"
    except (OSError, StopIteration):
        return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    flags = info.get("flags", "").split()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return (f"{info.get('model name', platform.machine())} (family {info.get('cpu family', '?')}, "
            f"model {info.get('model', '?')}; {vector}), {os.cpu_count()} CPUs{ram}")


def machine_report() -> list:
    """Lines on the CPU, numpy and the BLAS as the task scripts will find them."""
    probe = ("import json, sys, numpy, threadpoolctl; print(json.dumps([numpy.__version__, "
             "sys.version.split()[0], [i for i in threadpoolctl.threadpool_info() "
             "if i.get('user_api') == 'blas']]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=REPO)
    lines = [f"machine: {cpu_description()}, {platform.system()} {platform.release()}"]
    if done.returncode == 0:
        numpy_version, python, blas = json.loads(done.stdout)
        lines.append(f"python {python}, numpy {numpy_version}, " + ", ".join(
            f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')} kernels, "
            f"{b.get('num_threads')} threads by default)" for b in blas))
    set_variables = [f"{name}={os.environ[name]}" for name in (
        "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS") if name in os.environ]
    lines.append("BLAS thread variables: " + (", ".join(set_variables) or
                                              "none set (the libraries' defaults)"))
    return lines


# ----------------------------------------------------------------------------
# Running a script and watching its memory
# ----------------------------------------------------------------------------
def _children_map() -> dict:
    """{parent pid: [child pids]} for every process now (from /proc/*/stat)."""
    children = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _tree_memory(root: int) -> tuple:
    """(sum of RSS, sum of PSS) in bytes over root and all its descendants."""
    children = _children_map()
    pids, rss, pss = [root], 0, 0
    while pids:
        pid = pids.pop()
        pids += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return rss, pss


class MemorySampler(threading.Thread):
    """Samples the memory of a process tree until stop(); keeps the peaks."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.peak_rss, self.peak_pss = root, 0, 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            rss, pss = _tree_memory(self.root)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self):
        self._stop_event.set()
        self.join()


_RUNNING = {"process": None}  # the script now running, stopped by cleanup on Ctrl-C


def run_script(tree: Path, script: str, out_dir: Path) -> dict:
    """Run one task script in `tree` with its outputs in out_dir; returns seconds and
    peak memory. Raises RuntimeError with the end of its output if it fails."""
    log = out_dir / f"{script}.log"
    cmd = [sys.executable, script, "--results-dir", str(out_dir / "results"),
           "--figures-dir", str(out_dir / "figures")]
    env = dict(os.environ, MPLBACKEND="Agg")
    with open(log, "wb") as output:
        start = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=tree, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        _RUNNING["process"] = process
        sampler = MemorySampler(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
        _RUNNING["process"] = None
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{script} in {tree} failed with exit code {process.returncode}:\n"
                           f"{tail}")
    # ru_maxrss (kB on Linux) of wait4: the largest RSS of the script or any of
    # its waited-for descendants.
    largest = usage.ru_maxrss * 1024
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": max(sampler.peak_rss, largest), "pss": sampler.peak_pss,
            "largest": largest}


def run_side(tree: Path, out_dir: Path) -> dict:
    """The three scripts one after the other; {script: measurements}."""
    out_dir.mkdir(parents=True)
    return {script: run_script(tree, script, out_dir) for script in SCRIPTS}


# ----------------------------------------------------------------------------
# The results files
# ----------------------------------------------------------------------------
def key_numbers(results_dir: Path) -> dict:
    """The numbers both revisions must agree on, from their results JSONs."""
    task2 = json.loads((results_dir / "task2.json").read_text())
    task3 = json.loads((results_dir / "task3.json").read_text())
    task4 = json.loads((results_dir / "task4.json").read_text())
    no_shuffle = task2["runs"]["no_shuffle"]
    numbers = {f"task 2 no shuffle: {key}": (no_shuffle[key], "exact")
               for key in ("stop_epoch", "stop_step", "best_step")}
    for key in ("final_train_accuracy", "final_val_accuracy"):
        numbers[f"task 3: {key}"] = (task3["run"][key], "close")
    numbers["task 3: stop_epoch"] = (task3["run"]["stop_epoch"], "info")
    for lam in sorted(task4["runs"], key=float):
        numbers[f"task 4 lambda {float(lam):g}: final_val_accuracy"] = (
            task4["runs"][lam]["final_val_accuracy"], "close")
    return numbers


def compare_results(new: dict, old: dict) -> tuple:
    """Table lines and whether every checked number agrees."""
    width = max(len(name) for name in new | old)
    lines, ok = [f"  {'':{width}s}  {'new':>8s}  {'old':>8s}"], True
    for name in dict.fromkeys(list(new) + list(old)):
        if name not in new or name not in old:
            lines.append(f"  {name:{width}s}  only in {'new' if name in new else 'old'}")
            ok = False
            continue
        (a, rule), (b, _) = new[name], old[name]
        if rule == "exact":
            good, verdict = a == b, "equal" if a == b else "DIFFERENT"
        elif rule == "close":
            diff = abs(a - b)
            good = diff <= ACCURACY_TOLERANCE
            verdict = ("equal" if a == b else f"|diff| {diff:.4f}") + (
                "" if good else f" > {ACCURACY_TOLERANCE}: DIFFERENT")
        else:
            good, verdict = True, "(not checked)"
        ok &= good
        lines.append(f"  {name:{width}s}  {format_number(a):>8s}  {format_number(b):>8s}  "
                     f"{verdict}")
    return lines, ok


def format_number(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


# ----------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------
def git(*args, check=True, strip=True) -> str:
    out = subprocess.run(["git", *args], cwd=REPO, check=check, capture_output=True,
                         text=True).stdout
    return out.strip() if strip else out


def snapshot_working_tree(dest: Path) -> str:
    """Copy the top-level files of the working tree (tracked ones, as they are on
    disk now) to dest; returns a description ('HEAD abc1234 + changes in ...')."""
    dest.mkdir(parents=True)
    for name in git("ls-files").splitlines():
        if "/" not in name and (REPO / name).is_file():
            shutil.copy2(REPO / name, dest / name)
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no",
                                        strip=False).splitlines() if "/" not in line[3:]]
    head = git("rev-parse", "--short", "HEAD")
    return f"HEAD {head}" + (f" + uncommitted changes in {', '.join(changed)}" if changed
                             else "")


def link_data(tree: Path) -> None:
    """data/ of the tree -> this repository's data/ (the cached, verified MNIST)."""
    target = tree / "data"
    if target.exists() or target.is_symlink():
        shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
    target.symlink_to(REPO / "data", target_is_directory=True)


def seconds(run: dict, script: str = None) -> float:
    """One script's seconds in a round's run, or with script None the total."""
    return run[script]["seconds"] if script else sum(run[s]["seconds"] for s in SCRIPTS)


def report(sides: dict, labels: dict, rounds: int) -> bool:
    """Print the timings, memory and results; returns whether every target is met."""
    new, old = sides["new"], sides["old"]
    print(f"\nseconds, median of {rounds} alternating rounds (each round in brackets):")
    print(f"  {'':10s} {'new':>7s} {'old':>7s} {'new/old':>8s}")
    for script in SCRIPTS + (None,):
        a = statistics.median(seconds(r, script) for r in new)
        b = statistics.median(seconds(r, script) for r in old)
        each = {side: ", ".join(f"{seconds(r, script):.1f}" for r in sides[side])
                for side in sides}
        print(f"  {script or 'total':10s} {a:7.1f} {b:7.1f} {a / b:8.3f}   "
              f"new [{each['new']}], old [{each['old']}]")
    ratio = (statistics.median(seconds(r) for r in new)
             / statistics.median(seconds(r) for r in old))
    paired = [seconds(a) / seconds(b) for a, b in zip(new, old)]
    speed_ok = ratio <= RATIO_TARGET
    print(f"ratio new/old of the total: {ratio:.3f} (round by round: "
          f"{', '.join(f'{p:.3f}' for p in paired)}); target <= {RATIO_TARGET}: "
          f"{'met' if speed_ok else 'MISSED'}")
    if rounds < 3:
        print(f"  (only {rounds} round{'s' if rounds > 1 else ''}: a check that the bench "
              f"runs, not a measurement; use 3 or more)")
    cpu = {side: statistics.median(sum(r[s]["cpu"] for s in SCRIPTS) for r in sides[side])
           for side in sides}
    print(f"CPU seconds (user + system, the process trees), median total: new "
          f"{cpu['new']:.1f}, old {cpu['old']:.1f}, new/old {cpu['new'] / cpu['old']:.3f}")

    print("\npeak memory of a run, the largest over its rounds (GB): process tree RSS "
          "sum (upper bound) / PSS sum / largest single process")
    memory_ok = True
    for side in ("new", "old"):
        parts = []
        for script in SCRIPTS:
            rss = max(r[script]["rss"] for r in sides[side])
            pss = max(r[script]["pss"] for r in sides[side])
            largest = max(r[script]["largest"] for r in sides[side])
            parts.append(f"{script} {rss / 1e9:.2f}/{pss / 1e9:.2f}/{largest / 1e9:.2f}")
        peak = max(r[s]["rss"] for r in sides[side] for s in SCRIPTS)
        if side == "new":
            memory_ok = peak < MEMORY_TARGET
        print(f"  {side}: {', '.join(parts)}; peak {peak / 1e9:.2f} GB"
              + (f"; target < {MEMORY_TARGET / 1e9:g} GB: {'met' if memory_ok else 'MISSED'}"
                 if side == "new" else ""))

    print("\nkey numbers of the results files (last round), new vs old:")
    numbers = {side: [key_numbers(r["_dir"] / "results") for r in sides[side]]
               for side in sides}
    lines, same_ok = compare_results(numbers["new"][-1], numbers["old"][-1])
    print("\n".join(lines))
    for side in ("new", "old"):
        varying = [name for name in numbers[side][0]
                   if any(n.get(name) != numbers[side][0][name] for n in numbers[side][1:])]
        print(f"  {side} ({labels[side]}): " + ("the same numbers in every round" if not varying
              else f"numbers vary between rounds: {', '.join(varying)}"))
    print(f"results agree (equal; accuracies within {ACCURACY_TOLERANCE}): "
          f"{'yes' if same_ok else 'NO'}")
    return speed_ok and memory_ok and same_ok


def _interrupt(signum, frame):
    """SIGTERM: stop as Ctrl-C does, so the clean-up below runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def bench_against(rev: str, rounds: int) -> int:
    """Time the working tree against revision rev; returns the exit status."""
    commit = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if not commit:
        print(f"error: {rev!r} is not a commit of this repository", file=sys.stderr)
        return 2
    if not (REPO / "data" / "mnist.npz").exists() and not os.environ.get("MNIST_DATA_DIR"):
        print("error: no data/mnist.npz: run `make data` first", file=sys.stderr)
        return 2
    for line in machine_report():
        print(line)
    tmp = Path(tempfile.mkdtemp(prefix="bench_e2e_"))
    old_tree, new_tree = tmp / "old", tmp / "new"
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    worktree_added = False
    try:
        labels = {"new": f"working tree, {snapshot_working_tree(new_tree)}"}
        git("worktree", "add", "--detach", str(old_tree), commit)
        worktree_added = True
        subject = git("log", "-1", "--format=%h %s", commit)
        labels["old"] = f"{rev}: " + (subject if len(subject) <= 60 else subject[:57] + "...")
        link_data(new_tree)
        link_data(old_tree)
        print(f"new: {labels['new']}\nold: {labels['old']}")
        print(f"{rounds} rounds, new and old alternating, each side task2.py, task3.py, "
              f"task4.py one after the other; outputs in {tmp}")
        sides = {"new": [], "old": []}
        for i in range(rounds):
            for side, tree in (("new", new_tree), ("old", old_tree)):
                load = os.getloadavg()[0]
                out_dir = tmp / "out" / f"{side}{i}"
                runs = run_side(tree, out_dir)
                runs["_dir"] = out_dir
                sides[side].append(runs)
                print(f"  round {i + 1} {side}: " + ", ".join(
                    f"{s} {runs[s]['seconds']:.1f} s" for s in SCRIPTS)
                    + f"; total {sum(runs[s]['seconds'] for s in SCRIPTS):.1f} s "
                      f"(load before {load:.2f})", flush=True)
        return 0 if report(sides, labels, rounds) else 1
    finally:
        process = _RUNNING["process"]
        if process is not None and process.returncode is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the session started for it
            except ProcessLookupError:
                pass
            process.wait()
        if worktree_added:
            git("worktree", "remove", "--force", str(old_tree), check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        git("worktree", "prune", check=False)
        signal.signal(signal.SIGTERM, previous_term)
