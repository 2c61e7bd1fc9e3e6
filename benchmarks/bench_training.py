"""How much does the trainer cost on top of the bare NumPy work it has to do?

    .venv/bin/python benchmarks/bench_training.py [--repeats 5] [--epochs 3]
                                                  [--threads 1] [--full]

Measures, in one process with one BLAS thread setting:

* trainer: seconds per softmax epoch (its validations included) of the real
  ``task3.SoftmaxTrainer`` on ``task3.load_data()`` (lr 0.01, batch 128,
  shuffled, early stopping that never triggers): the median over ``--repeats``
  runs of ``train(num_epochs=E)`` divided by E, after one warm-up run;
* minimal: the same work written as a bare NumPy loop below: the same shuffled
  batches, forward, gradient, update and batch loss, and at the same global
  steps one forward pass over the validation set (loss and accuracy) and one
  over the training set (accuracy). No input checks, no dictionaries;
* their ratio (trainer / minimal), which should stay <= RATIO_TARGET.

The two are timed alternately (trainer, minimal, trainer, ...) so a change of
machine load hits both. Before timing, the minimal loop is checked to compute
the same validation losses as the trainer, bit for bit.

With ``--full`` it also times ``task2.py``, ``task3.py`` and ``task4.py`` run one
after the other as subprocesses writing into a temporary folder.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RATIO_TARGET = 1.15
LEARNING_RATE = 0.01
BATCH_SIZE = 128
SEED = 0
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed runs of each loop (default 5), after one warm-up")
    parser.add_argument("--epochs", type=int, default=3,
                        help="epochs per timed run (default 3)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads for both loops and the --full scripts (default 1)")
    parser.add_argument("--full", action="store_true",
                        help="also time task2.py, task3.py and task4.py as subprocesses")
    args = parser.parse_args(argv)
    for name in ("repeats", "epochs", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    return args


def pin_threads(num_threads: int) -> dict:
    """Fix the BLAS thread count. Must run before numpy is first imported: the
    BLAS libraries read these variables once, when they load."""
    if "numpy" in sys.modules:
        raise RuntimeError("pin_threads must run before numpy is imported")
    for name in THREAD_VARIABLES:
        os.environ[name] = str(num_threads)
    return {name: os.environ[name] for name in THREAD_VARIABLES}


def minimal_training(X, Y, X_val, Y_val, labels, labels_val, num_epochs, seed=SEED,
                     learning_rate=LEARNING_RATE, batch_size=BATCH_SIZE):
    """The floor: softmax regression by mini-batch SGD with the trainer's schedule.

    X [N, I], Y one-hot [N, K]; labels [N] and labels_val [M] are the class
    indices (computed once by the caller). Returns (w, batch losses,
    validation losses, train accuracies, validation accuracies).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    w = np.zeros((X.shape[1], Y.shape[1]))
    num_rows = X.shape[0]
    num_batches = num_rows // batch_size
    every = max(1, num_batches // 5)
    batch_losses, val_losses, train_accuracies, val_accuracies = [], [], [], []
    step = 0
    for _ in range(num_epochs):
        order = rng.permutation(num_rows)
        for i in range(num_batches):
            idx = order[i * batch_size:(i + 1) * batch_size]
            xb, yb = X[idx], Y[idx]
            z = xb @ w
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            w -= learning_rate * (xb.T @ (p - yb) / batch_size)
            batch_losses.append(-np.sum(yb * np.log(p)) / batch_size)
            if step % every == 0:
                z = X_val @ w
                p = np.exp(z - z.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                val_losses.append(-np.sum(Y_val * np.log(p)) / Y_val.shape[0])
                val_accuracies.append(np.mean(p.argmax(axis=1) == labels_val))
                z = X @ w
                p = np.exp(z - z.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                train_accuracies.append(np.mean(p.argmax(axis=1) == labels))
            step += 1
    return w, batch_losses, val_losses, train_accuracies, val_accuracies


def trainer_training(data, num_epochs, seed=SEED):
    """The real trainer on the real data: a fresh model and trainer, then train()."""
    from task3 import SoftmaxTrainer
    from task3a import SoftmaxModel

    X, Y, X_val, Y_val = data
    trainer = SoftmaxTrainer(SoftmaxModel(0.0), LEARNING_RATE, BATCH_SIZE, True, X, Y,
                             X_val, Y_val, early_stopping_patience=10 ** 9, seed=seed)
    train_history, val_history = trainer.train(num_epochs)
    if trainer.early_stopped:
        raise RuntimeError("early stopping triggered: the benchmark would time less work")
    return train_history, val_history


def check_same_work(data, labels, labels_val) -> None:
    """Both loops must produce the same histories (one epoch), or the comparison
    measures different work."""
    import numpy as np

    train_history, val_history = trainer_training(data, 1)
    _, batch_losses, val_losses, train_acc, val_acc = minimal_training(
        *data, labels, labels_val, 1)
    pairs = {"batch loss": (list(train_history["loss"].values()), batch_losses),
             "validation loss": (list(val_history["loss"].values()), val_losses),
             "train accuracy": (list(train_history["accuracy"].values()), train_acc),
             "validation accuracy": (list(val_history["accuracy"].values()), val_acc)}
    for name, (ours, floor) in pairs.items():
        if len(ours) != len(floor) or not np.array_equal(ours, floor):
            raise RuntimeError(f"the minimal loop computes a different {name} history "
                               f"than the trainer: {ours[:3]}... vs {floor[:3]}...")
    print(f"same work: {len(batch_losses)} steps and {len(val_losses)} validations per "
          f"epoch, histories bit-identical")


def time_once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_epochs(repeats: int, num_epochs: int) -> dict:
    """Seconds per epoch of the trainer and the minimal loop, timed alternately."""
    import task3

    data = task3.load_data()
    labels, labels_val = data[1].argmax(axis=1), data[3].argmax(axis=1)
    check_same_work(data, labels, labels_val)

    def run_trainer():
        trainer_training(data, num_epochs)

    def run_minimal():
        minimal_training(*data, labels, labels_val, num_epochs)

    run_trainer()  # warm-up: caches, page faults, lazy imports
    run_minimal()
    times = {"trainer": [], "minimal": []}
    for _ in range(repeats):
        times["trainer"].append(time_once(run_trainer) / num_epochs)
        times["minimal"].append(time_once(run_minimal) / num_epochs)
    return times


def bench_full(env: dict) -> dict:
    """Wall time of each task script run as a subprocess, outputs in a temp folder."""
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="bench_training_") as tmp:
        for script in ("task2.py", "task3.py", "task4.py"):
            cmd = [sys.executable, script, "--results-dir", str(Path(tmp) / "results"),
                   "--figures-dir", str(Path(tmp) / "figures")]
            start = time.perf_counter()
            done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
            seconds[script] = time.perf_counter() - start
            if done.returncode != 0:
                raise RuntimeError(f"{script} failed with exit code {done.returncode}:\n"
                                   f"{done.stderr[-2000:]}")
    return seconds


def main(argv=None):
    args = parse_args(argv)
    pinned = pin_threads(args.threads)
    sys.path.insert(0, str(REPO))
    import numpy as np

    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, BLAS threads {args.threads} "
          f"({', '.join(sorted(pinned))})")
    print(f"softmax regression on the full MNIST split, lr {LEARNING_RATE}, batch "
          f"{BATCH_SIZE}, shuffled; {args.repeats} runs x {args.epochs} epochs each")
    times = bench_epochs(args.repeats, args.epochs)
    median = {name: statistics.median(values) for name, values in times.items()}
    best = {name: min(values) for name, values in times.items()}
    for name in ("trainer", "minimal"):
        print(f"{name:8s} seconds per epoch: median {median[name]:.4f}, min {best[name]:.4f}"
              f"  (runs: {', '.join(f'{t:.4f}' for t in times[name])})")
    ratio = median["trainer"] / median["minimal"]
    paired = statistics.median(t / m for t, m in zip(times["trainer"], times["minimal"]))
    print(f"ratio trainer/minimal: {ratio:.3f} (of the medians), {paired:.3f} (median of "
          f"the back-to-back pairs), {best['trainer'] / best['minimal']:.3f} (of the minima); "
          f"target <= {RATIO_TARGET}")
    print(f"ratio_ok: {'yes' if ratio <= RATIO_TARGET else 'no'}")

    if args.full:
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(REPO))
        seconds = bench_full(env)
        for script, value in seconds.items():
            print(f"full: {script} {value:.1f} s")
        print(f"full: task2.py + task3.py + task4.py {sum(seconds.values()):.1f} s")


if __name__ == "__main__":
    main()
