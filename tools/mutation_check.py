"""Does the test suite catch real mistakes? Plants one mistake at a time in a scratch
copy of the project and runs the whole suite there; every mistake must make it fail.

    .venv/bin/python tools/mutation_check.py [--quick] [--only ID ...] [--list]

The project itself is never modified: the working tree (without .git, .venv and the
generated files) is copied to a temporary folder once, and each mutation is written
into that copy and undone afterwards. A mutation is a list of (file, old text, new
text) replacements; the old text must occur exactly once, so a mutation that no
longer applies to the current code is reported as such, not silently skipped.

--quick stops each run at its first failing test (pytest -x): faster, but the table
then shows one failing test per mutation. Exit status 1 if a mutation survives (the
suite passes with it) or the unmutated copy fails.
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".git", ".venv", "build", "results", "figures", ".pytest_cache", ".hypothesis",
        "__pycache__", "report.pdf", "assignment_code.zip", "data"}

# id: (what a student might get wrong, [(file, old, new), ...])
MUTATIONS = {
    # ---- the three planted by the review
    "a-same-shuffle-each-epoch": (
        "the trainer shuffles with the same order in every epoch (rng re-seeded per epoch)",
        [("trainer.py", "self.rng = np.random.default_rng(seed)",
          "self.rng = np.random.default_rng(seed)\n        self.seed = seed"),
         ("trainer.py", "rng=self.rng):", "rng=np.random.default_rng(self.seed)):")]),
    "b-accuracies-swapped-logistic": (
        "LogisticTrainer.validation_step returns train and validation accuracy swapped",
        [("task2.py", "return loss_val, accuracy_train, accuracy_val",
          "return loss_val, accuracy_val, accuracy_train")]),
    "b-accuracies-swapped-softmax": (
        "SoftmaxTrainer.validation_step returns train and validation accuracy swapped",
        [("task3.py", "return loss_val, accuracy_train, accuracy_val",
          "return loss_val, accuracy_val, accuracy_train")]),
    "c-loss-after-update-logistic": (
        "LogisticTrainer.train_step returns the batch loss after the update",
        [("task2.py", "return cross_entropy_loss(Y_batch, outputs)",
          "return cross_entropy_loss(Y_batch, self.model.forward(X_batch))")]),
    "c-loss-after-update-softmax": (
        "SoftmaxTrainer.train_step returns the batch loss after the update",
        [("task3.py", "return cross_entropy_loss(Y_batch, outputs)",
          "return cross_entropy_loss(Y_batch, self.model.forward(X_batch))")]),
    # ---- data
    "pre-process-divide-by-255": (
        "pre_process_images maps to [0, 1] (divides by 255) instead of [-1, 1]",
        [("task2a.py", "X = X.astype(np.float64) / 127.5 - 1.0",
          "X = X.astype(np.float64) / 255.0")]),
    "bias-column-zero": (
        "the bias column is 0 instead of 1",
        [("task2a.py", "bias = np.ones((X.shape[0], 1))", "bias = np.zeros((X.shape[0], 1))")]),
    "bias-column-forgotten": (
        "pre_process_images forgets the bias column (returns [N, 784])",
        [("task2a.py", "return np.concatenate([X, bias], axis=1)", "return X")]),
    "one-hot-off-by-one": (
        "one_hot_encode puts the 1 at label - 1",
        [("task3a.py", "encoded[np.arange(Y.shape[0]), Y] = 1",
          "encoded[np.arange(Y.shape[0]), Y - 1] = 1")]),
    "binary-targets-inverted": (
        "binary_prune_dataset gives target 1 to the second class",
        [("utils.py", "(Y[keep] == class1).astype(np.int64)",
          "(Y[keep] == class2).astype(np.int64)")]),
    "shuffle-breaks-pairs": (
        "the shuffled batch loader pairs X rows with the wrong Y rows",
        [("utils.py", "yield X[batch], Y[batch]", "yield X[batch], Y[np.sort(batch)]")]),
    "shuffle-ignored": (
        "the trainer never shuffles",
        [("trainer.py", "shuffle=self.shuffle_dataset, rng=self.rng):",
          "shuffle=False, rng=self.rng):")]),
    "drop-last-ignored": (
        "the trainer keeps the last, partial batch",
        [("trainer.py", "shuffle=self.shuffle_dataset, rng=self.rng):",
          "shuffle=self.shuffle_dataset, drop_last=False, rng=self.rng):")]),
    # ---- model and loss
    "sigmoid-sign": (
        "sigmoid(z) computes sigmoid(-z)",
        [("task2a.py", "return np.exp(-np.logaddexp(0.0, -z))",
          "return np.exp(-np.logaddexp(0.0, z))")]),
    "softmax-no-max-shift": (
        "softmax without subtracting the row maximum (overflows)",
        [("task3a.py", "exp_z = np.exp(z - z.max(axis=1, keepdims=True))",
          "exp_z = np.exp(z)")]),
    "gradient-sign-logistic": (
        "BinaryModel.backward has the wrong sign",
        [("task2a.py", "self.grad = X.T @ (outputs - targets) / X.shape[0]",
          "self.grad = X.T @ (targets - outputs) / X.shape[0]")]),
    "gradient-not-divided-by-n-logistic": (
        "the logistic gradient is summed over the batch instead of averaged",
        [("task2a.py", "self.grad = X.T @ (outputs - targets) / X.shape[0]",
          "self.grad = X.T @ (outputs - targets)")]),
    "gradient-not-divided-by-n-softmax": (
        "the softmax gradient is summed over the batch instead of averaged",
        [("task3a.py", "self.grad = X.T @ (outputs - targets) / X.shape[0]",
          "self.grad = X.T @ (outputs - targets)")]),
    "l2-lambda-w": (
        "the L2 gradient is lambda * w instead of 2 * lambda * w",
        [("task3a.py", "self.grad += 2 * self.l2_reg_lambda * self.w",
          "self.grad += self.l2_reg_lambda * self.w")]),
    "l2-not-on-bias": (
        "the L2 gradient leaves out the bias row",
        [("task3a.py", "self.grad += 2 * self.l2_reg_lambda * self.w",
          "self.grad[:-1] += 2 * self.l2_reg_lambda * self.w[:-1]")]),
    "binary-loss-summed": (
        "the binary cross-entropy is summed over the batch, not averaged",
        [("task2a.py", "return float(-np.mean(targets * log_p",
          "return float(-np.sum(targets * log_p")]),
    "softmax-loss-over-n-times-k": (
        "the multi-class cross-entropy is divided by N * K instead of N",
        [("task3a.py", "return float(-np.sum(targets * log_p) / targets.shape[0])",
          "return float(-np.sum(targets * log_p) / targets.size)")]),
    "accuracy-threshold-strict": (
        "binary accuracy predicts 1 for outputs > 0.5 instead of >= 0.5",
        [("task2.py", "predictions = outputs >= 0.5", "predictions = outputs > 0.5")]),
    # ---- the training loop
    "learning-rate-sign-logistic": (
        "the logistic step goes up the gradient",
        [("task2.py", "self.model.w = self.model.w - self.learning_rate * self.model.grad",
          "self.model.w = self.model.w + self.learning_rate * self.model.grad")]),
    "learning-rate-sign-softmax": (
        "the softmax step goes up the gradient",
        [("task3.py", "self.model.w = self.model.w - self.learning_rate * self.model.grad",
          "self.model.w = self.model.w + self.learning_rate * self.model.grad")]),
    "validate-every-quarter-epoch": (
        "validation every 25% of an epoch instead of 20%",
        [("trainer.py", "num_steps_per_val = max(1, self.num_steps_per_epoch // 5)",
          "num_steps_per_val = max(1, self.num_steps_per_epoch // 4)")]),
    "validate-after-counting": (
        "validation at steps n-1, 2n-1, ... instead of 0, n, 2n, ...",
        [("trainer.py", "if global_step % num_steps_per_val == 0:",
          "if (global_step + 1) % num_steps_per_val == 0:")]),
    "early-stop-off-by-one": (
        "early stopping after patience + 1 validations without improvement",
        [("trainer.py", "patience = self.early_stopping_patience or np.inf",
          "patience = (self.early_stopping_patience or np.inf) + 1")]),
    "equal-loss-is-improvement": (
        "an equal validation loss counts as an improvement",
        [("trainer.py", "if val_loss < best_val_loss:", "if val_loss <= best_val_loss:")]),
    "patience-not-reset": (
        "the count of validations without improvement is not reset by an improvement",
        [("trainer.py", "best_val_loss, best_w, num_worse = val_loss, self.model.w.copy(), 0",
          "best_val_loss, best_w = val_loss, self.model.w.copy()")]),
    "best-weights-not-restored": (
        "the model keeps the last weights, not those of the lowest validation loss",
        [("trainer.py", "        self.model.w = best_w\n        return train_history",
          "        return train_history")]),
    "summary-val-loss-on-training-data": (
        "run_summary's final validation loss is computed on the training set",
        [("script_tools.py", '("val", trainer.X_val, trainer.Y_val)):\n'
                             '        summary[f"final_{name}_loss"]',
          '("val", trainer.X_train, trainer.Y_train)):\n        summary[f"final_{name}_loss"]')]),
    "batch-loss-running-mean": (
        "the training history holds the running mean of the batch losses",
        [("trainer.py", 'train_history["loss"][global_step] = self._finite(loss, "batch loss")',
          'train_history["loss"][global_step] = float(np.mean('
          'list(train_history["loss"].values()) + [loss]))')]),
    "val-loss-on-training-data-logistic": (
        "the logistic validation loss is computed on the training set",
        [("task2.py", "loss_val = cross_entropy_loss(self.Y_val, outputs_val)",
          "loss_val = cross_entropy_loss(self.Y_train, self.model.forward(self.X_train))")]),
    "val-loss-on-training-data-softmax": (
        "the softmax validation loss is computed on the training set",
        [("task3.py", "loss_val = cross_entropy_loss(self.Y_val, outputs_val)",
          "loss_val = cross_entropy_loss(self.Y_train, self.model.forward(self.X_train))")]),
    "train-accuracy-on-a-batch": (
        "the training accuracy is measured on one batch instead of the whole set",
        [("task2.py", "accuracy_train = calculate_accuracy(self.X_train, self.Y_train, self.model)",
          "accuracy_train = calculate_accuracy(self.X_train[:self.batch_size], "
          "self.Y_train[:self.batch_size], self.model)")]),
    "epochs-trained-off-by-one": (
        "run_summary's epochs_trained is the 0-based epoch index",
        [("script_tools.py", "epochs_trained=trainer.stop_epoch + 1",
          "epochs_trained=trainer.stop_epoch")]),
    "no-finite-check-on-data": (
        "the trainer does not check its data for NaN and infinity",
        [("checks.py", "check_finite(X, x_name)", "pass")]),
    # ---- the scripts
    "seed-study-one-seed": (
        "task 2's seed study trains every shuffled run with the first seed",
        [("task2.py", "jobs += [dict(shuffle_dataset=True, seed=s) for s in seeds]",
          "jobs += [dict(shuffle_dataset=True, seed=seeds[0]) for s in seeds]")]),
    "task2-runs-swapped": (
        "task2.json files the shuffled run under no_shuffle and the other way round",
        [("task2.py", 'runs={"no_shuffle": run, "shuffle": shuffled_runs[0][0]}',
          'runs={"no_shuffle": shuffled_runs[0][0], "shuffle": run}')]),
    "printed-val-loss-is-train-loss": (
        "print_summary prints the training loss as the validation loss",
        [("script_tools.py", "validation loss: {run['final_val_loss']:.6f}",
          "validation loss: {run['final_train_loss']:.6f}")]),
    "task4-every-lambda-zero": (
        "task 4 trains every model with lambda = 0",
        [("task4.py", "dict(l2_reg_lambda=v, hyperparameters=hyperparameters)",
          "dict(l2_reg_lambda=0.0, hyperparameters=hyperparameters)")]),
    "task4-weight-images-transposed": (
        "task 4's weight images are transposed",
        [("task4.py", "return w[:-1].T.reshape(-1, 28, 28)",
          "return w[:-1].T.reshape(-1, 28, 28).transpose(0, 2, 1)")]),
    "task4-grey-scale-with-bias": (
        "task 4's grey scale includes the bias weights",
        [("task4.py", "vmax = np.abs(images).max()", "vmax = np.abs(w).max()")]),
    "load-run-ignores-fingerprint": (
        "task 4 reuses a saved run whatever settings and code it came from",
        [("script_tools.py", 'if str(saved["fingerprint"]) != key:', "if False:")]),
    "load-run-trusts-weights": (
        "task 4 reuses a saved run without checking that its weights reproduce its loss",
        [("script_tools.py", 'if reproduce(w) != (run["final_val_loss"], '
                             'run["final_val_accuracy"]):',
          "if False:")]),
    "parallel-results-unordered": (
        "run_parallel returns the results in the order they finish",
        [("script_tools.py", 'results[index] = _outcome(index, pid, b"".join(chunks))',
          'results[results.index(None)] = _outcome(index, pid, b"".join(chunks))')]),
}


def copy_project(target: Path) -> None:
    """The working tree without VCS, venv and generated files; the data linked."""
    shutil.copytree(ROOT, target, ignore=lambda folder, names: [
        n for n in names if n in SKIP or n.endswith(".tmp")])
    (target / "data").symlink_to(ROOT / "data")


def apply(project: Path, replacements) -> dict:
    """Write the replacements into the copy; returns {file: original text}."""
    originals = {}
    for name, old, new in replacements:
        path = project / name
        text = path.read_text()
        originals.setdefault(name, text)
        count = text.count(old)
        if count != 1:
            for undo_name, undo_text in originals.items():
                (project / undo_name).write_text(undo_text)
            raise LookupError(f"{name}: the text to replace occurs {count} times:\n{old}")
        path.write_text(text.replace(old, new))
    return originals


def run_suite(project: Path, quick: bool, extra=()):
    """Run pytest in the copy: (passed?, failing test ids, seconds, summary line)."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", *extra]
    if quick:
        command.append("-x")
    start = time.perf_counter()
    result = subprocess.run(command, cwd=project, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=1800)
    seconds = time.perf_counter() - start
    failing = re.findall(r"^(?:FAILED|ERROR) (\S+)", result.stdout, flags=re.MULTILINE)
    lines = result.stdout.strip().splitlines()
    return result.returncode == 0, failing, seconds, lines[-1] if lines else result.stderr


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at the first failing test")
    parser.add_argument("--only", nargs="+", metavar="ID", help="run these mutations only")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--pytest-args", default="", metavar="ARGS",
                        help="more pytest options, e.g. '--deselect TEST' for a test that is "
                             "flaky on a loaded machine (with --quick it would end each run)")
    args = parser.parse_args(argv)
    if args.list:
        for key, (what, _) in MUTATIONS.items():
            print(f"{key:38s} {what}")
        return 0
    chosen = {key: MUTATIONS[key] for key in (args.only or MUTATIONS)}
    survived, rows = [], []
    with tempfile.TemporaryDirectory(prefix="mutation-check-") as tmp:
        project = Path(tmp) / "project"
        copy_project(project)
        extra = args.pytest_args.split()
        passed, failing, seconds, summary = run_suite(project, args.quick, extra)
        print(f"unmutated copy: {summary} ({seconds:.0f} s)", flush=True)
        if not passed:
            print("The unmutated copy fails; fix that first:", *failing, sep="\n  ")
            return 1
        for key, (what, replacements) in chosen.items():
            try:
                originals = apply(project, replacements)
            except LookupError as error:
                print(f"{key}: DOES NOT APPLY - {error}", flush=True)
                rows.append((key, "does not apply", []))
                survived.append(key)
                continue
            try:
                passed, failing, seconds, summary = run_suite(project, args.quick, extra)
            finally:
                for name, text in originals.items():
                    (project / name).write_text(text)
            verdict = "SURVIVED" if passed else f"caught by {len(failing)} test(s)"
            print(f"{key}: {verdict} ({seconds:.0f} s)", *failing, sep="\n    ", flush=True)
            rows.append((key, verdict, failing))
            if passed:
                survived.append(key)
    print("\n| mutation | result | failing tests |\n|---|---|---|")
    for key, verdict, failing in rows:
        shown = ", ".join(f"`{t.split('::', 1)[-1]}`" for t in failing[:4])
        more = f" (+{len(failing) - 4} more)" if len(failing) > 4 else ""
        print(f"| {key} | {verdict} | {shown}{more} |")
    if survived:
        print(f"\n{len(survived)} mutation(s) not caught: {', '.join(survived)}")
        return 1
    print(f"\nAll {len(rows)} mutations caught.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
