"""What does a softmax epoch of the plain code cost, next to anchors anyone can name?

    .venv/bin/python benchmarks/bench_epoch.py [--rounds 11] [--epochs 3]

Seconds per epoch of task 3's softmax regression (lr 0.01, batch 128, shuffled, early
stopping off; its validation every 31 steps included), in one process on one BLAS
thread, side by side in rounds (each in another order; medians, and the ratios as medians of
the ratios within a round):

* trainer: the project's task3.SoftmaxTrainer and task3a.SoftmaxModel, checks included;
* course arithmetic: the course solution's loop in bare NumPy: softmax as exp(z) / sum,
  loss -mean(sum(y log y_hat)), gradient -X.T @ (y - y_hat) / N, and per validation the
  starter's three forward passes (validation loss, then calculate_accuracy on the
  training and on the validation set);
* lean loop: the starter's work with the trainer's exact arithmetic (stable softmax,
  clamped log), no checks, no dictionaries, no progress bar. It must give the trainer's
  histories bit for bit, the course arithmetic them to 1e-9, or the bench stops;
* roofline: the larger of the memory floor (the bytes the epoch's products read over the
  bandwidth np.sum reaches) and the compute floor (their FLOPs at the rate BLAS reaches on
  the same product shapes with the data in cache). The larger one names the kind of
  machine: memory-bound or compute-bound.

Target (exit status 1 if missed): trainer <= 1.05 x course arithmetic.
"""
import argparse
import statistics
import sys
import time

import common  # noqa: F401 -- first: one BLAS thread before numpy loads

import numpy as np  # noqa: E402

import task3  # noqa: E402
from task3a import SoftmaxModel  # noqa: E402

LR, BATCH, SEED, TARGET = 0.01, 128, 0, 1.05
TINY = np.finfo(np.float64).tiny


def trainer_loop(data, epochs):
    trainer = task3.SoftmaxTrainer(SoftmaxModel(0.0), LR, BATCH, True, *data,
                                   early_stopping_patience=None, seed=SEED)
    train_history, val_history = trainer.train(epochs)
    return [list(h.values()) for h in (train_history["loss"], val_history["loss"],
                                       train_history["accuracy"], val_history["accuracy"])]


def bare_loop(data, epochs, forward, loss, gradient):
    """The trainer's schedule in bare NumPy with the given arithmetic: the same shuffled
    batches, and every num_batches // 5 steps the starter's validation_step."""
    X, Y, X_val, Y_val = data
    rng, w = np.random.default_rng(SEED), np.zeros((X.shape[1], Y.shape[1]))
    num_batches = len(X) // BATCH
    every, step = max(1, num_batches // 5), 0
    histories = [[], [], [], []]  # batch loss, validation loss, train and val accuracy
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for i in range(num_batches):
            batch = order[i * BATCH:(i + 1) * BATCH]
            xb, yb = X[batch], Y[batch]
            outputs = forward(xb, w)
            w = w - LR * gradient(xb, outputs, yb)
            histories[0].append(loss(yb, outputs))
            if step % every == 0:
                histories[1].append(loss(Y_val, forward(X_val, w)))
                histories[2].append(float(np.mean(forward(X, w).argmax(axis=1)
                                                  == Y.argmax(axis=1))))
                histories[3].append(float(np.mean(forward(X_val, w).argmax(axis=1)
                                                  == Y_val.argmax(axis=1))))
            step += 1
    return histories


def lean_forward(X, w):
    z = X @ w
    exp_z = np.exp(z - z.max(axis=1, keepdims=True))
    return exp_z / exp_z.sum(axis=1, keepdims=True)


def lean_loss(Y, outputs):
    return float(-np.sum(Y * np.log(np.maximum(outputs, TINY))) / Y.shape[0])


def lean_gradient(X, outputs, Y):
    return X.T @ (outputs - Y) / X.shape[0]  # lambda = 0: the trainer's L2 term adds 0


def course_forward(X, w):
    exp_z = np.exp(X @ w)
    return exp_z / exp_z.sum(axis=1, keepdims=True)


def course_loss(Y, outputs):
    return float(-np.mean(np.sum(Y * np.log(outputs), axis=1)))


def course_gradient(X, outputs, Y):
    return -X.T @ (Y - outputs) / X.shape[0]


LOOPS = {"trainer": trainer_loop,
         "course arithmetic": lambda d, e: bare_loop(d, e, course_forward, course_loss,
                                                     course_gradient),
         "lean loop": lambda d, e: bare_loop(d, e, lean_forward, lean_loss, lean_gradient)}


def roofline(data, validations_per_epoch, steps_per_epoch):
    """(memory floor, compute floor, GB/s, GFLOP/s) per epoch for the epoch's products:
    a batch's forward xb @ w and backward xb.T @ delta, and per validation X_val @ w
    twice and X_train @ w once."""
    X, Y, X_val, _ = data
    rows = 2 * BATCH * steps_per_epoch + validations_per_epoch * (len(X) + 2 * len(X_val))
    flops, nbytes = 2 * X.shape[1] * Y.shape[1] * rows, X.itemsize * X.shape[1] * rows
    bandwidth = max(X.nbytes / timed(lambda: np.sum(X)) for _ in range(5))
    w, block = np.zeros((X.shape[1], Y.shape[1])), X[:BATCH]  # 0.8 MB: in cache
    delta = np.ones((BATCH, Y.shape[1]))

    def products():
        for _ in range(50):
            block @ w
            block.T @ delta
    rate = 2 * 50 * 2 * BATCH * X.shape[1] * Y.shape[1] / min(timed(products) for _ in range(5))
    return nbytes / bandwidth, flops / rate, bandwidth / 1e9, rate / 1e9


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11, help="timed rounds (default 11)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed run (3)")
    args = parser.parse_args(argv)
    print(common.machine_line())
    data = task3.load_data()
    reference = trainer_loop(data, 1)
    for name, loop in LOOPS.items():  # the same work, or the comparison means nothing
        theirs = loop(data, 1)
        same = (reference == theirs if name == "lean loop" else
                all(np.allclose(a, b, rtol=1e-9, atol=0) for a, b in zip(reference, theirs)))
        if not same:
            sys.exit(f"the {name} computes other histories than the trainer")
    steps = len(reference[0])
    times = {name: [] for name in LOOPS}
    names = list(LOOPS)
    with common.OthersWatch() as others:
        for i in range(args.rounds):  # each round in another order: none always goes first
            for name in names[i % 3:] + names[:i % 3]:
                times[name].append(timed(lambda: LOOPS[name](data, args.epochs)) / args.epochs)
    median = {name: statistics.median(values) for name, values in times.items()}
    paired = {other: sorted(t / o for t, o in zip(times["trainer"], times[other]))
              for other in ("course arithmetic", "lean loop")}  # ratios within a round
    every = max(1, steps // 5)  # validations over E epochs, counted in global steps
    per_epoch = len(range(0, args.epochs * steps, every)) / args.epochs
    memory, compute, gbs, gflops = roofline(data, per_epoch, steps)
    kind = "compute-bound" if compute > memory else "memory-bound"
    print(f"softmax epoch ({steps} steps, {per_epoch:.2f} validations of "
          f"three forward passes), seconds, median of {args.rounds} rounds:")
    for name in LOOPS:
        print(f"  {name + ':':20s} {median[name]:.4f}  ({min(times[name]):.4f} .. "
              f"{max(times[name]):.4f})")
    print(f"  {'memory floor:':20s} {memory:.4f}  (the products' bytes at {gbs:.1f} GB/s)")
    print(f"  {'compute floor:':20s} {compute:.4f}  (their FLOPs at {gflops:.1f} GFLOP/s, "
          f"the same shapes in cache)")
    print(f"machine kind: {kind} (roofline {max(memory, compute):.4f} s)")
    ratio = statistics.median(paired["course arithmetic"])
    for other, label in (("course arithmetic", "trainer / course arithmetic:"),
                         ("lean loop", "trainer / lean loop:")):
        print(f"{label:29s}{statistics.median(paired[other]):.3f}  (rounds "
              f"{paired[other][0]:.3f} .. {paired[other][-1]:.3f})" + (
                  f"   target <= {TARGET}: {'met' if ratio <= TARGET else 'MISSED'}"
                  if other == "course arithmetic" else ""))
    print(f"{'trainer / roofline:':29s}{median['trainer'] / max(memory, compute):.3f}")
    print(others.line())
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
