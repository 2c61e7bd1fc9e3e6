"""What the task scripts need beyond the starter code: the command line, one BLAS
thread, result and figure files (atomic, with their SHA-256), the summary of a run,
task 3's saved run for task 4 (waited for while task 3 runs next to task 4 under `make`),
and independent runs in parallel processes.

The graded code (task2a.py, task3a.py, trainer.py, the trainers in task2.py and
task3.py) does not depend on this module; the scripts' main() functions do.
"""
import argparse
import atexit
import contextlib
import ctypes
import fcntl
import hashlib
import json
import multiprocessing
import os
import pickle
import secrets
import select
import signal
import sys
import threading
import traceback
import zipfile
from pathlib import Path

import numpy as np
import tqdm

import mnist

# matplotlib and utils (which imports it) are imported where they are used: a process
# that only runs jobs in parallel starts in a third of the time

ROOT = Path(__file__).resolve().parent  # results/ and figures/ go here by default
tqdm.tqdm.monitor_interval = 0  # no tqdm monitor thread: workers are forked


# ----------------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------------
def parse_args(description: str, argv=None, parallel: bool = True) -> argparse.Namespace:
    """Parse a task script's options; --help, unknown options and unusable values end the
    script here, before any work. Then set the process up for a reproducible run (see
    one_blas_thread) and stop-signal handling (see handle_stop_signals)."""
    title, _, details = description.strip().partition("\n\n")
    parser = argparse.ArgumentParser(
        description=title.replace("\n", " "), epilog=details or None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", type=Path, default=ROOT / "results",
                        help="folder for the results JSON (default: results/ next to the code)")
    parser.add_argument("--figures-dir", type=Path, default=ROOT / "figures",
                        help="folder for the PNG figures (default: figures/ next to the code)")
    parser.add_argument("--show", action="store_true",
                        help="also open the figures in windows (needs a display)")
    if parallel:
        parser.add_argument("--workers", type=int, default=None,
                            help="processes for the independent runs (default: one per CPU; "
                                 "the numbers do not depend on it)")
    parser.add_argument("--max-epochs", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("max_epochs", "workers"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    for option in ("results_dir", "figures_dir"):  # a folder that cannot be made fails now,
        problem = folder_problem(getattr(args, option))  # not after the training
        if problem:
            parser.error(f"--{option.replace('_', '-')} {getattr(args, option)}: cannot make "
                         f"this folder: {problem}")
    if args.show and not can_show():
        parser.error("--show needs a display, and this session has none (no DISPLAY or "
                     f"WAYLAND_DISPLAY). Run without --show: the figures go to {args.figures_dir}")
    for folder in (args.results_dir, args.figures_dir):  # only once every check passed
        folder.mkdir(parents=True, exist_ok=True)
    handle_stop_signals()
    announce_running(args.results_dir, Path(sys._getframe(1).f_code.co_filename).stem)
    if not args.show:
        import matplotlib
        matplotlib.use("Agg")
    one_blas_thread()
    set_plot_style()
    return args


def folder_problem(folder: Path):
    """Why `folder` cannot be used or made for the outputs, or None if it can."""
    if folder.exists():
        return None if folder.is_dir() else "a file has its name"
    parent = folder.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is a file"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"no permission to write in {parent}"
    return None


def can_show() -> bool:
    """Whether matplotlib can open a window here."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def one_blas_thread() -> None:
    """Run NumPy's BLAS on one thread in this process (and the workers it forks). The
    rounding of a matrix product depends on how many threads share it; on one thread a
    run gives the same numbers every time on this machine, whatever the worker count.
    (Other machines may pick another BLAS kernel, with other roundings.)"""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # not in every course set-up: run on, but say what it costs
        print("Note: threadpoolctl is not installed, so NumPy's BLAS may run on several "
              "threads and the last digits of the results may vary from run to run "
              "(pip install threadpoolctl)", file=sys.stderr)
        return
    threadpool_limits(limits=1, user_api="blas")


def set_plot_style() -> None:
    """Larger fonts, so the figures stay readable when scaled to a page width."""
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 12, "axes.titlesize": 14, "axes.labelsize": 13,
                         "legend.fontsize": 11, "xtick.labelsize": 11, "ytick.labelsize": 11})


def finish_plot(best_step, ylabel: str, yscale: str, title: str) -> None:
    """The common parts of the training figures: the y scale (a log or logit scale shows
    every point, the first steps included), a dashed line at best_step (whose weights
    the model keeps), labels, a legend below the axes and a grid."""
    import matplotlib.pyplot as plt
    plt.yscale(yscale)
    if yscale == "logit":  # plain ticks, more of them near 1
        low, high = plt.ylim()
        ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97,
                             0.98, 0.99, 0.995, 0.998, 0.999) if low <= t <= high]
        plt.yticks(ticks, [f"{t:g}" for t in ticks])
        plt.gca().yaxis.set_minor_formatter(plt.NullFormatter())
    if best_step is not None:
        plt.axvline(best_step, color="black", linestyle="--", linewidth=1.4,
                    label=f"lowest validation loss (step {best_step}, weights kept)")
    plt.xlabel("Number of gradient steps")
    plt.ylabel(ylabel)
    plt.title(title)
    plt.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    plt.grid(alpha=0.3)


def show_or_close(show: bool) -> None:
    """Open the figures in windows if asked (blocks until closed), else close them."""
    import matplotlib.pyplot as plt
    if show:
        plt.show()
    plt.close("all")


# ----------------------------------------------------------------------------
# Result and figure files
# ----------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_file(path, mode: str = "w"):
    """Open a temporary file next to `path` for writing; when the block ends without
    an error it replaces `path`, else it is deleted. So an interrupted run never leaves
    a half-written figure or results file. Creates the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"  # named before it exists,
    try:                                                             # so a stop at any moment
        with open(tmp, mode.replace("w", "x")) as file:              # leaves no temp file
            yield file
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_figure(fig, path) -> Path:
    """Save a figure as PNG, atomically (see atomic_file)."""
    with atomic_file(path, "wb") as file:
        fig.savefig(file, format="png", dpi=150, bbox_inches="tight",
                    metadata={"Software": None})
    print(f"Saved figure {path}")
    return Path(path)


def sha256_of(path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def figure_record(paths: dict) -> dict:
    """{key: path} -> {key: {"path": str, "sha256": hex}}: what a results file stores
    about the figures its script wrote, so the report can tell they belong to it. Paths
    inside the project are stored relative to it."""
    def shown(path):
        path = Path(path).resolve()
        return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    return {key: {"path": shown(path), "sha256": sha256_of(path)}
            for key, path in paths.items()}


def _non_finite(data, key="the data"):
    """(key path, value) of the first NaN or infinite float in nested dicts and lists,
    or None."""
    if isinstance(data, float) and not np.isfinite(data):
        return key, data
    items = (data.items() if isinstance(data, dict)
             else enumerate(data) if isinstance(data, (list, tuple)) else ())
    for name, value in items:
        found = _non_finite(value, str(name) if key == "the data" else f"{key}.{name}")
        if found is not None:
            return found
    return None


def write_json(path, data) -> Path:
    """Write data as JSON, atomically (see atomic_file). NaN and infinities raise
    ValueError naming the file and the key: they are no valid JSON for other readers."""
    where = _non_finite(data)
    if where is not None:
        key, value = where
        raise ValueError(f"cannot write {path}: {key} is not JSON compliant: {value}")
    with atomic_file(path, "w") as file:
        json.dump(data, file, indent=2, allow_nan=False)
        file.write("\n")
    print(f"Saved results {path}")
    return Path(path)


def split_shapes(X_train, Y_train, X_val, Y_val) -> dict:
    """The four array shapes as JSON-ready lists, for the results files."""
    return dict(X_train=list(X_train.shape), Y_train=list(Y_train.shape),
                X_val=list(X_val.shape), Y_val=list(Y_val.shape))


# ----------------------------------------------------------------------------
# The summary of a run
# ----------------------------------------------------------------------------
def run_summary(trainer, cross_entropy_loss, calculate_accuracy) -> dict:
    """Where a finished trainer stopped, the losses and accuracies of its kept weights on
    the whole training and validation sets, and ||w||^2: one entry of a results file."""
    if trainer.stop_epoch is None:
        raise RuntimeError("run_summary needs a trained model: call trainer.train() first")
    model = trainer.model
    summary = dict(shuffle=bool(trainer.shuffle_dataset))
    for name, X, Y in (("train", trainer.X_train, trainer.Y_train),
                       ("val", trainer.X_val, trainer.Y_val)):
        summary[f"final_{name}_loss"] = cross_entropy_loss(Y, model.forward(X))
    for name, X, Y in (("train", trainer.X_train, trainer.Y_train),
                       ("val", trainer.X_val, trainer.Y_val)):
        summary[f"final_{name}_accuracy"] = float(calculate_accuracy(X, Y, model))
    return dict(summary, early_stopped=bool(trainer.early_stopped),
                stop_epoch=trainer.stop_epoch, epochs_trained=trainer.stop_epoch + 1,
                stop_step=trainer.stop_step, best_step=trainer.best_step,
                num_steps=trainer.num_steps, steps_per_epoch=trainer.num_steps_per_epoch,
                weight_norm_sq=float(np.sum(model.w ** 2)))


def print_summary(name: str, run: dict) -> None:
    """Print where a run stopped and its final numbers (a run_summary() dict)."""
    how = "Early stopping kicked in" if run["early_stopped"] else "Training ran to the end"
    print(f"[{name}] {how} in epoch index {run['stop_epoch']} (epoch {run['epochs_trained']}),"
          f" global step {run['stop_step']}; lowest validation loss at step {run['best_step']}")
    print(f"[{name}] Final train loss: {run['final_train_loss']:.6f}, "
          f"validation loss: {run['final_val_loss']:.6f}")
    print(f"[{name}] Train accuracy: {run['final_train_accuracy']:.4f}, "
          f"validation accuracy: {run['final_val_accuracy']:.4f}")


# ----------------------------------------------------------------------------
# Task 3's run, saved for task 4
# ----------------------------------------------------------------------------
def fingerprint(settings: dict, source_files) -> str:
    """SHA-256 over everything a seeded run depends on: its settings, the source code
    that computes it, the data (the MNIST MD5s that mnist.load checks) and the numerical
    libraries (NumPy, its BLAS and the CPU kernel BLAS chose)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = list  # the BLAS is unknown: the key still holds the rest
    blas = [{key: info.get(key) for key in ("internal_api", "version", "architecture")}
            for info in threadpool_info() if info.get("user_api") == "blas"]
    digest = hashlib.sha256(json.dumps(
        [settings, mnist.MD5, np.__version__, blas, sys.version], sort_keys=True,
        default=str).encode())
    for name in sorted(source_files):
        digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes())
    return digest.hexdigest()


def save_run(path, key: str, w, run: dict, val_history: dict) -> None:
    """Save a finished run (weights, summary, validation history) under its fingerprint
    `key`, atomically, so that task 4 can reuse it instead of training it again. The file
    is named after the script that saves it (task3_run.npz: task3.py), which from now on
    no longer counts as running for load_run: its run is out."""
    path = Path(path)
    with atomic_file(path, "wb") as file:
        np.savez(file, fingerprint=key, w=w, run=json.dumps(run), val_history=json.dumps(
            {kind: list(history.items()) for kind, history in val_history.items()}))
    lock = _RUNNING.pop(_running_file(path.parent, _maker(path)), None)
    if lock is not None:
        os.close(lock)


def load_run(path, key: str, reproduce):
    """The run save_run saved under fingerprint `key`: (w, summary, val_history), or
    None if there is none, it has another fingerprint, or reproduce(w) does not give
    back its saved (validation loss, validation accuracy) exactly. While the script that
    saves it runs in another process (task3.py next to task4.py under `make`), wait for
    it to save its run or end, then look again."""
    path = Path(path)
    saved = _saved_run(path, key, reproduce)
    if saved is None and _other_runs(path.parent, _maker(path), wait=True):
        saved = _saved_run(path, key, reproduce)
    return saved


def run_expected(path) -> bool:
    """Whether a run is saved at `path`, or its script runs next to this one and will
    save it there (see load_run)."""
    path = Path(path)
    return path.exists() or _other_runs(path.parent, _maker(path))


def _saved_run(path, key: str, reproduce):
    try:
        with np.load(path) as saved:
            if str(saved["fingerprint"]) != key:
                return None
            w, run = saved["w"], json.loads(str(saved["run"]))
            val_history = {kind: {int(step): value for step, value in pairs}
                           for kind, pairs in json.loads(str(saved["val_history"])).items()}
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile):
        return None  # missing, truncated or foreign: not a run to reuse
    try:
        if reproduce(w) != (run["final_val_loss"], run["final_val_accuracy"]):
            return None
    except (ValueError, AssertionError):
        return None  # weights of another shape
    return w, run, val_history


# ----------------------------------------------------------------------------
# Scripts side by side (`make` runs tasks 2, 3 and 4 at once): who runs where
# ----------------------------------------------------------------------------
_RUNNING = {}  # lock file -> its descriptor, held while this process runs that script


def _maker(run_path: Path) -> str:
    """The script that saves a run file: task3_run.npz -> task3."""
    return run_path.name.rsplit("_run", 1)[0]


def _running_file(folder: Path, script: str) -> Path:
    return Path(folder) / f".{script}.running"


def announce_running(folder, script: str) -> None:
    """Hold a shared lock on folder/.<script>.running while this process lives: other
    scripts writing into the same folder see that it runs (see load_run). The kernel
    drops the lock when the process ends, however it ends."""
    path = _running_file(folder, script)
    if path in _RUNNING:  # main() called again in this process
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    _RUNNING[path] = descriptor


def _other_runs(folder, script: str, wait: bool = False) -> bool:
    """Whether another process runs `script` in `folder`; with wait, wait until it no
    longer does (Ctrl-C and SIGTERM still stop the wait)."""
    path = _running_file(folder, script)
    if path in _RUNNING or not path.exists():
        return False  # this process is that script, or it never ran here
    descriptor = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        if wait:
            print(f"Waiting for {script}.py, which runs next to this script, to save its run",
                  flush=True)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        return True
    finally:
        os.close(descriptor)


# ----------------------------------------------------------------------------
# Independent runs side by side, and a clean stop on Ctrl-C or SIGTERM
# ----------------------------------------------------------------------------
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
# Linux only: workers are tied to their parent by prctl (elsewhere runs are sequential)
_prctl = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


class Stopped(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


def _ignore_stop_signals() -> None:  # also at exit: the script's work is done
    for stop_signal in _STOP_SIGNALS:
        signal.signal(stop_signal, signal.SIG_IGN)


def _on_stop_signal(signum, frame):
    """The first stop signal raises in the script's code; later ones, and any after the
    script's code has ended (the process is exiting anyway), are ignored."""
    _ignore_stop_signals()
    while frame is not None and frame.f_globals.get("__name__") != "__main__":
        frame = frame.f_back
    if frame is not None:
        raise KeyboardInterrupt() if signum == signal.SIGINT else Stopped()


def _stopped_hook(kind, error, tb):
    """Uncaught Ctrl-C or SIGTERM: one line, atexit, end by that signal (status 130/143)."""
    if not issubclass(kind, KeyboardInterrupt):
        return sys.__excepthook__(kind, error, tb)
    signum, how = ((signal.SIGTERM, "SIGTERM") if issubclass(kind, Stopped)
                   else (signal.SIGINT, "Ctrl-C (SIGINT)"))
    with contextlib.suppress(BaseException):
        script = os.path.basename(sys.argv[0]) or "python"
        print(f"{script}: stopped by {how} before it finished", file=sys.stderr, flush=True)
        atexit._run_exitfuncs()
        sys.stdout.flush()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # only if the signal is blocked


def handle_stop_signals() -> None:
    """Call once, early in a script: SIGTERM raises Stopped (a KeyboardInterrupt), so
    `finally` and `except BaseException` cleanups run as for Ctrl-C; an uncaught
    stop prints one line instead of a traceback and ends the process by its signal."""
    if threading.current_thread() is threading.main_thread():
        for stop_signal in _STOP_SIGNALS:
            signal.signal(stop_signal, _on_stop_signal)
        sys.excepthook = _stopped_hook
        atexit.unregister(_ignore_stop_signals)
        atexit.register(_ignore_stop_signals)


def _run_in_worker(function, shared, job, line, write_fd, parent_pid, lock):
    """In the forked child: run one job, send the pickled (True, result) or
    (False, error, traceback text) to the parent, os._exit. Never returns."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the parent ...
        if os.getppid() != parent_pid:  # ... even if it died before prctl
            os._exit(1)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        tqdm.tqdm.set_lock(lock)
        try:
            data = pickle.dumps((True, function(*shared, **job, progress_position=line)))
        except BaseException as error:
            tb = traceback.format_exc()
            try:
                data = pickle.dumps((False, error, tb))
                pickle.loads(data)  # some errors pickle, but cannot be rebuilt
            except Exception:
                data = pickle.dumps((False, RuntimeError(f"{type(error).__name__}: {error}"), tb))
        status = 0
    finally:
        for stream in (sys.stdout, sys.stderr):  # first: once the result is sent, we are reaped
            with contextlib.suppress(BaseException):
                stream.flush()
        with contextlib.suppress(BaseException), open(write_fd, "wb") as pipe:
            pipe.write(data)  # (no data: the parent reports a worker without a result)
        os._exit(status)  # no atexit handlers, no second flush of inherited buffers


@contextlib.contextmanager
def _stop_signals_held():
    """Ctrl-C and SIGTERM wait until the block is done (no other thread runs)."""
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _outcome(index: int, pid: int, data: bytes):
    """Reap a worker that closed its pipe; return its result or raise its error."""
    exit_code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    try:
        outcome = pickle.loads(data)
    except Exception:
        raise RuntimeError(f"job {index}: worker ended with {exit_code}, no result") from None
    if not outcome[0]:
        outcome[1].add_note(f"\nJob {index} failed in worker process {pid}:\n{outcome[2]}")
        raise outcome[1]
    return outcome[1]


def run_parallel(function, jobs: list, shared: tuple = (), num_workers: int = None) -> list:
    """[function(*shared, **job, progress_position=line) for job in jobs], in job order,
    computed in up to num_workers forked processes (default: one per CPU); `line` is
    the worker's progress bar line. `shared` reaches the workers without a copy. The
    first error, Ctrl-C or SIGTERM kills every worker before it reaches the caller."""
    jobs = list(jobs)
    num_workers = min(len(jobs), num_workers or os.cpu_count() or 1)
    if num_workers <= 1 or _prctl is None:
        return [function(*shared, **job, progress_position=0) for job in jobs]
    if threading.active_count() > 1:
        names = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        raise RuntimeError(f"run_parallel will not fork while other threads run: {names}")
    lock = multiprocessing.get_context("fork").RLock()  # for the workers' progress bars
    results, running, free_lines = [None] * len(jobs), {}, set(range(num_workers))
    next_job, parent_pid = 0, os.getpid()
    try:
        while next_job < len(jobs) or running:
            while next_job < len(jobs) and len(running) < num_workers:
                sys.stdout.flush()  # else the worker would print the buffer again
                sys.stderr.flush()
                line = min(free_lines)
                with _stop_signals_held():  # until the new worker is on record
                    read_fd, write_fd = os.pipe()
                    pid = os.fork()
                    if pid == 0:
                        _run_in_worker(function, shared, jobs[next_job], line, write_fd,
                                       parent_pid, lock)
                    os.close(write_fd)
                    running[read_fd] = (next_job, pid, line, [])
                    free_lines.remove(line)
                    next_job += 1
            for read_fd in select.select(list(running), [], [])[0]:
                chunk = os.read(read_fd, 1 << 20)
                if chunk:
                    running[read_fd][3].append(chunk)
                    continue
                index, pid, line, chunks = running.pop(read_fd)
                os.close(read_fd)
                free_lines.add(line)
                results[index] = _outcome(index, pid, b"".join(chunks))
    finally:
        with _stop_signals_held():  # kill and reap every worker still running
            for _, pid, _, _ in running.values():
                os.kill(pid, signal.SIGKILL)  # not reaped yet, so the pid is still ours
            for read_fd, (_, pid, _, _) in running.items():
                os.waitpid(pid, 0)
                os.close(read_fd)
    return results


def run_side_by_side(*calls, num_workers: int = None) -> list:
    """[call() for call in calls], each call in a process of its own (see run_parallel)."""
    return run_parallel(lambda call, progress_position: call(), [dict(call=c) for c in calls],
                        num_workers=num_workers)
