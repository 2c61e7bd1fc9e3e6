"""What report.ipynb needs besides its prose: the results, the figure checks and two cell
magics. Not part of the code handed in.

The notebook's hidden first cell calls `setup()`, which

* reads results/task2.json, task3.json and task4.json (written by task2.py, task3.py and
  task4.py) into the names r2, r3 and r4, and derives the facts the answers need (`f2`,
  `f3`, `f4`: spike counts, gaps, decay times, ...);
* defines the cell magic `%%answer`: the cell's body is Markdown (formulas included) in
  which `{{ r3.run.final_val_accuracy | acc }}` is a number from the results and
  `{% if ... %} ... {% else %} ... {% endif %}` picks a sentence by the numbers (Jinja2);
  running the cell shows the rendered Markdown, in Jupyter as in the PDF;
* defines `%%figure task3 task3b`: shows the figure that results/task3.json lists under
  "task3b", after checking its SHA-256 against that file, and then the cell's body as its
  caption (Markdown, as for %%answer).
"""
import difflib
import functools
import hashlib
import json
import math
import re
from pathlib import Path
from statistics import fmean, median, pstdev

import jinja2

PRODUCER = {"task2": "task2.py", "task3": "task3.py", "task4": "task4.py"}


class ReportError(Exception):
    """Results or figures the report cannot use; the message says how to fix it."""


# ----------------------------------------------------------------------- formatting
def acc(x):
    """An accuracy as a fraction with 4 decimals: 0.9152."""
    return f"{x:.4f}"


def pp(x, sign=False):
    """A difference of two fractions in percentage points: 0.0092 -> '0.92'."""
    if sign:  # with a typographic minus
        return f"{100 * x:+.2f}".replace("-", "\u2212")
    return f"{100 * abs(x):.2f}"


def pct(x):
    """A fraction as a percentage: 0.4297 -> '43.0%'."""
    return f"{100 * x:.1f}%"


def loss(x):
    return f"{x:.3f}"


def sig3(x):
    """Three significant digits: 24.34 -> '24.3', 0.3624 -> '0.362'."""
    return f"{x:#.3g}".rstrip(".")  # 24.0 stays 24.0


def sig2(x):
    """Two significant digits: 0.1606 -> '0.16', 4.96 -> '5.0'."""
    return f"{x:#.2g}".rstrip(".")


def lam(x):
    """A lambda in its shortest form: 1.0 -> '1', 0.001 -> '0.001'."""
    return f"{float(x):g}"


def num(x):
    """An integer with thousands separators: 8340 -> '8,340'."""
    return f"{int(x):,}"


def ratio(x):
    return f"{x:.2f}"


def sci(x):
    """A small number as inline TeX: 3.2e-09 -> '$3.2 \\times 10^{-9}$', 1e-06 -> '$10^{-6}$'."""
    mantissa, exponent = f"{x:.1e}".split("e")
    power = f"10^{{{int(exponent)}}}"
    return f"${power}$" if mantissa == "1.0" else f"${mantissa} \\times {power}$"


def lams(values, last="and"):
    """[0.01, 0.1, 1.0] -> '$\\lambda = 0.01$, $0.1$ and $1$'."""
    values = [lam(v) for v in values]
    if not values:
        return ""
    return listing([f"$\\lambda = {values[0]}$"] + [f"${v}$" for v in values[1:]], last)


def listing(items, last="and"):
    """['a', 'b', 'c'] -> 'a, b and c'."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def ordinal(n):
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


FILTERS = dict(acc=acc, pp=pp, pct=pct, loss=loss, sig3=sig3, lam=lam, num=num,
               ratio=ratio, sci=sci, sig2=sig2, lams=lams, listing=listing, ordinal=ordinal)


# ------------------------------------------------------------------------- results
def load_results(name, root="."):
    """results/<name>.json under root, or a ReportError that says how to make it."""
    path = Path(root) / "results" / f"{name}.json"
    if not path.is_file():
        raise ReportError(
            f"{path} not found (working directory: {Path.cwd()}): run "
            f"`make report`, or `.venv/bin/python {PRODUCER[name]}` first.")
    with path.open(encoding="utf-8") as file:
        return json.load(file)


def check_figure(results, name, key, root="."):
    """The path of figure `key` of results/<name>.json, checked to be the file that run
    wrote (its SHA-256); otherwise a ReportError naming a command that fixes it."""
    record = results["figures"][key]
    path = Path(root) / record["path"]
    # `make report` alone would not redo the run for an edited figure (the figure is newer
    # than its results file); deleting the results file makes it do so.
    fix = (f"run `.venv/bin/python {PRODUCER[name]}` again, or "
           f"`rm results/{name}.json && make report`")
    if not path.is_file():
        raise ReportError(f"{record['path']} not found: {fix}.")
    if hashlib.sha256(path.read_bytes()).hexdigest() != record["sha256"]:
        raise ReportError(
            f"{record['path']} is not the figure that results/{name}.json was written "
            "with (its SHA-256 differs: another run, an interrupted run or an edited "
            f"file): {fix}.")
    return path


def run4(r4, value):
    """Task 4's run for one lambda (the keys are repr(float(lambda)))."""
    return r4["runs"][repr(float(value))]


# The numbers of a run that must agree for two runs to be the same model.
SAME_RUN_KEYS = ("final_train_loss", "final_val_loss", "final_train_accuracy",
                 "final_val_accuracy", "best_step", "stop_step", "weight_norm_sq")


CHANCE = 0.05  # a split of the seeds that chance alone gives this rarely is a difference


def sign_test(k, n):
    """How often at least k of n fair coin flips land one way: the chance that seeds
    split at least k to n - k with no real difference between the two runs."""
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2 ** n if n else 1.0


def facts_task2(r2):
    """What the answers of Task 2 say, derived from results/task2.json."""
    ns, hp = r2["runs"]["no_shuffle"], r2["hyperparameters"]
    sp, seeds = r2["spike_study"], r2["shuffle_seed_study"]
    every, per_epoch = sp["validation_every"], ns["steps_per_epoch"]
    # a shuffled run whose accuracy never changed is calmer than any that did
    ratios = [p["no_shuffle"] / p["shuffle"] if p["shuffle"] > 0 else
              math.inf if p["no_shuffle"] > 0 else 1.0 for p in sp["pairs"]]
    spikier, calmer = sum(r > 1 for r in ratios), sum(r < 1 for r in ratios)
    # The largest drops without shuffling, grouped by the fixed batch just before them.
    drops = sp["largest_drops_no_shuffle"]
    by_batch = {}
    for drop in sorted(drops, key=lambda d: d["step"]):
        by_batch.setdefault(drop["batch_index"], []).append(drop)
    recurring = [dict(batch=b, steps=[d["step"] for d in group],
                      share_of_twos=group[0]["share_of_twos"],
                      largest_drop=max(d["drop"] for d in group))
                 for b, group in by_batch.items() if len(group) >= 2]
    # the batch with the most drops first; between equals, the one with the largest drop
    recurring.sort(key=lambda g: (-len(g["steps"]), -g["largest_drop"]))
    # a validation directly follows only every seen_every-th fixed batch
    seen_every = math.gcd(every, per_epoch)
    shares = sp.get("share_of_twos_each_batch")
    if recurring and shares is None:
        raise ReportError("results/task2.json lacks the share of 2s of each fixed batch (an "
                          "older task2.py wrote it): run `.venv/bin/python task2.py` again, "
                          "or `rm results/task2.json && make report`.")
    for group in recurring:
        group.update(batch_balance(shares, group["batch"], seen_every,
                                   {d["batch_index"] for d in drops}))
    gaps = sorted({b - a for g in recurring for a, b in zip(g["steps"], g["steps"][1:])})
    drop_epochs = sorted(step // per_epoch for g in recurring for step in g["steps"])
    stops = seeds["stop_epochs"]
    budget_end = hp["num_epochs"] - 1
    # older results files lack the flags: a run that ended before the last epoch stopped early
    early = seeds.get("early_stopped") or [s < budget_end for s in stops]
    early_stops = [s for s, e in zip(stops, early) if e]
    checks = r2.get("gradient_checks", [])
    return dict(
        checks=checks, checks_pass=all(c["max_difference"] <= c["tolerance"] for c in checks),
        measured=bool(ratios), n_pairs=len(ratios), spikier_without=spikier,
        calmer_without=calmer,
        # "fewer spikes with shuffling" (or "more") only when the seeds split more one-sidedly
        # than chance alone would, by a sign test; else no clear difference
        shuffling_helps=spikier > calmer and sign_test(spikier, spikier + calmer) < CHANCE,
        shuffling_hurts=calmer > spikier and sign_test(calmer, spikier + calmer) < CHANCE,
        sign_p=sign_test(max(spikier, calmer), spikier + calmer),
        ratio_median=median(ratios) if ratios else None,
        ratio_min=min(ratios, default=None), ratio_max=max(ratios, default=None),
        period=math.lcm(every, per_epoch), every=every, per_epoch=per_epoch,
        drops=drops, recurring=recurring,
        recurring_drops=sum(len(g["steps"]) for g in recurring), gaps=gaps,
        seen_every=seen_every, n_seen=len(range(0, per_epoch, seen_every)),
        drop_epoch_first=drop_epochs[0] if drop_epochs else None,
        drop_epoch_last=drop_epochs[-1] if drop_epochs else None,
        gaps_are_periods=bool(gaps) and all(g % math.lcm(every, per_epoch) == 0
                                            for g in gaps),
        seeds_text=(f"seed {seeds['seeds'][0]}" if len(stops) == 1 else
                    f"seeds {seeds['seeds'][0]} to {seeds['seeds'][-1]}"),
        # the epochs where the shuffled runs that stopped early stopped
        n_early=len(early_stops), n_seeds=len(stops),
        stop_median=median(early_stops) if early_stops else None,
        stop_min=min(early_stops, default=None), stop_max=max(early_stops, default=None),
    )


def batch_balance(shares, batch, seen_every, after_drops):
    """How one-sided fixed batch `batch` is against the spread of all fixed batches
    (`shares`: the share of 2s of each): z, its distance from their mean in standard
    deviations; rank, 1 for the batch farthest from the mean; rank_seen, the same among
    the batches a validation directly follows (every seen_every-th); calm, the most
    one-sided of those that are farther out than it and followed by none of the largest
    drops (batch indices `after_drops`), or None. The verdict: "typical" within one
    standard deviation; "not_alone" when a calm batch exists, so the balance alone cannot
    explain the drops; "may_matter" otherwise."""
    mean, spread = fmean(shares), pstdev(shares)
    off = [abs(share - mean) for share in shares]
    farther = [b for b in range(len(shares)) if off[b] > off[batch]]
    farther_seen = [b for b in farther if b % seen_every == 0]
    calm = [b for b in farther_seen if b not in after_drops]
    calm = max(calm, key=lambda b: off[b], default=None)
    z = (shares[batch] - mean) / spread if spread > 0 else 0.0
    return dict(z=z, rank=1 + len(farther), rank_seen=1 + len(farther_seen),
                calm=None if calm is None else dict(batch=calm, share_of_twos=shares[calm]),
                verdict=("typical" if abs(z) < 1 else "not_alone" if calm is not None
                         else "may_matter"))


SETTING_NAMES = {"num_epochs": "epoch budget", "batch_size": "batch size",
                 "learning_rate": "learning rate", "early_stopping_patience": "patience",
                 "shuffle": "shuffling"}


def setting(value):
    """A hyperparameter as the text writes it: on/off, 500, 0.01."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


# A train-validation accuracy gap below this (2 percentage points) is called mild.
MILD_GAP = 0.02


def sampling_noise(p_train, p_val, shapes):
    """Two standard errors of the difference of a training and a validation accuracy,
    measured on the numbers of images in shapes: a larger train-validation gap is more
    than sampling explains."""
    n_train, n_val = shapes["X_train"][0], shapes["X_val"][0]
    return 2 * math.sqrt(p_train * (1 - p_train) / n_train + p_val * (1 - p_val) / n_val)


def trend(rows, key):
    """How rows[i][key] moves with lambda, against the noise of two runs (the larger of
    their swings, as for the change of Table 4d). `to`: the row of largest lambda that
    differs from the first (lambda = 0) by more than that noise, or None; `rest`: the rows
    after it, all within the noise of the first; `down`: it lies below the first; `steps`:
    how many steps of lambda lead to it; `each`: every one moves that way beyond the noise;
    `steady`: none moves against it beyond the noise (a trend word needs `to` and
    `steady`)."""
    def noise(a, b):
        return max(a["swing"], b["swing"])
    first = rows[0]
    beyond = [i for i, row in enumerate(rows) if i and abs(row[key] - first[key]) >
              noise(first, row)]
    if not beyond:
        return dict(to=None, rest=rows[1:], down=False, steps=0, each=False, steady=False)
    k = beyond[-1]
    sign = -1 if rows[k][key] < first[key] else 1
    moves = [(sign * (b[key] - a[key]), noise(a, b)) for a, b in zip(rows[:k], rows[1:k + 1])]
    return dict(to=rows[k], rest=rows[k + 1:], down=sign < 0, steps=k,
                each=all(move > limit for move, limit in moves),
                steady=all(move >= -limit for move, limit in moves))


def facts_task3(r3):
    """Task 3d's verdict: is the train-validation gap larger than sampling noise?"""
    run, shapes = r3["run"], r3["shapes"]
    # the accuracies as the report prints them (4 decimals), so that differences add up
    p_train, p_val = round(run["final_train_accuracy"], 4), round(run["final_val_accuracy"], 4)
    noise = sampling_noise(p_train, p_val, shapes)
    gap = p_train - p_val
    checks = r3.get("gradient_checks", [])
    return dict(checks=checks,
                checks_pass=all(c["max_difference"] <= c["tolerance"] for c in checks),
                check_lambdas=sorted({c.get("l2_reg_lambda", 0.0) for c in checks}),
                gap=gap, noise=noise,
                every=max(1, run["steps_per_epoch"] // 5),  # the trainer's validation interval
                overfits=gap > noise, mild=gap < MILD_GAP, mild_points=f"{100 * MILD_GAP:g}",
                loss_gap=run["final_val_loss"] - run["final_train_loss"],
                weights=shapes["X_train"][1] * shapes["Y_train"][1])


def facts_task4(r4, r3):
    """What the answers of Task 4 say, derived from results/task4.json and, for the
    comparison with Task 3's model and the number of images, results/task3.json."""
    hp = r4["hyperparameters"]
    alpha = hp["learning_rate"]
    base = run4(r4, 0.0)
    same = all(base.get(k) == r3["run"].get(k) for k in SAME_RUN_KEYS)
    swing = r4["val_accuracy_swing"]["by_lambda"]
    rows = []
    for value in [0.0] + sorted(v for v in r4["lambdas_4c"] if v > 0):
        run = run4(r4, value)
        # differences of the accuracies as printed (4 decimals), so that they add up
        change = round(run["final_val_accuracy"], 4) - round(base["final_val_accuracy"], 4)
        noise = max(swing[repr(float(value))], swing["0.0"])
        tau = 1 / (2 * alpha * value) if value else None
        # the accuracies as printed (4 decimals), so that differences add up
        train, val = round(run["final_train_accuracy"], 4), round(run["final_val_accuracy"], 4)
        rows.append(dict(
            lam=value, run=run, change=change, swing=swing[repr(float(value))],
            effect=("none" if value == 0 else "within" if abs(change) <= noise
                    else "lower" if change < 0 else "higher"),
            train=train, val=val, gap=train - val,
            gap_noise=sampling_noise(train, val, r3["shapes"]),
            tau=tau, taus=run["best_step"] / tau if tau else None))
    reg = rows[1:]
    norms = [row["run"]["weight_norm_sq"] for row in reg]
    on = run4(r4, r4["lambdas_4b"][1])
    off = run4(r4, r4["lambdas_4b"][0])
    tau_on = 1 / (2 * alpha * r4["lambdas_4b"][1]) if r4["lambdas_4b"][1] else None
    lams = [row["lam"] for row in reg]
    train_trend, val_trend = trend(rows, "train"), trend(rows, "val")
    # Task 4's settings against Task 3's (lambda aside): the text says "the settings of
    # Task 3" only if they are the same
    hp3 = {k: v for k, v in r3["hyperparameters"].items() if k != "l2_reg_lambda"}
    other_settings = [dict(name=SETTING_NAMES.get(k, k.replace("_", " ")),
                           task4=setting(v), task3=setting(hp3[k]) if k in hp3 else "not set")
                      for k, v in hp.items() if hp3.get(k) != v]
    return dict(
        alpha=alpha, same_as_task3=same, other_settings=other_settings,
        little_overfitting=rows[0]["gap"] < MILD_GAP, base=base, rows=rows, reg=reg,
        overfits=rows[0]["gap"] > rows[0]["gap_noise"], mild_points=f"{100 * MILD_GAP:g}",
        lower=[r for r in reg if r["effect"] == "lower"],
        within=[r for r in reg if r["effect"] == "within"],
        higher=[r for r in reg if r["effect"] == "higher"],
        gap_trend=trend(rows, "gap"),
        # as printed (3 significant digits), the norm is lower at every larger lambda
        norm_falls=len(norms) > 1 and all(float(sig3(b)) < float(sig3(a))
                                          for a, b in zip(norms, norms[1:])),
        # lower at the largest lambda beyond the noise, and no step up beyond it
        train_falls=(train_trend["to"] is rows[-1] and train_trend["down"]
                     and train_trend["steady"]),
        val_falls=val_trend["to"] is rows[-1] and val_trend["down"] and val_trend["steady"],
        norm_ratio=norms[0] / norms[-1] if norms[-1] > 0 else math.inf,
        lam_ratio=lams[-1] / lams[0],
        settled=[r for r in reg if r["taus"] >= 3], unsettled=[r for r in reg if r["taus"] < 3],
        on=on, off=off, tau_on=tau_on,
        on_settled=bool(tau_on) and on["best_step"] >= 3 * tau_on,
    )


# --------------------------------------------------------------------------- render
def strict(function):
    """A filter that reports a misspelt name as such, not as a formatting error."""
    @functools.wraps(function)
    def checked(value, *args, **kwargs):
        if isinstance(value, jinja2.Undefined):
            value._fail_with_undefined_error()
        return function(value, *args, **kwargs)
    return checked


def environment():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=False,
                             autoescape=False)
    env.filters.update({name: strict(function) for name, function in FILTERS.items()})
    return env


RESULT_NAMES = ("r2", "r3", "r4", "f2", "f3", "f4")  # what a placeholder reads


def keys_in(value):
    """Every key of the dicts in value, nested ones included: run, final_val_accuracy, ..."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_in(item)


def render(template, context):
    """The Markdown of an answer: Jinja2 placeholders filled from context, paragraphs
    kept, and runs of spaces inside a line (left by removed tags) made single. A
    placeholder that names nothing, or a malformed tag, is a ReportError saying so."""
    try:
        text = environment().from_string(template).render(context)
    except jinja2.TemplateSyntaxError as error:
        if "filter" in (error.message or ""):
            hint = f" (the filters: {', '.join(sorted(FILTERS))})"
        else:
            hint = " (a placeholder is {{ name | filter }}, a choice {% if ... %} ... {% endif %})"
        raise ReportError(f"line {error.lineno} after the %%answer or %%figure line: "
                          f"{error.message}{hint}") from None
    except jinja2.UndefinedError as error:
        missing = re.findall(r"'([^']+)'", str(error))[-1:]
        keys = set(keys_in({name: context[name] for name in RESULT_NAMES if name in context}))
        close = difflib.get_close_matches(missing[0], keys) if missing else []
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ReportError(f"a placeholder names something the results do not have: "
                          f"{error}{hint}") from None
    text = re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", text)
    # punctuation that a tag moved to the start of a line goes back to the word before it
    text = re.sub(r"[ \t]*\n[ \t]*(?=[,.;:)])", "", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def context(root="."):
    """Every name a template may use: r2, r3, r4 and the derived f2, f3, f4."""
    r2, r3, r4 = (load_results(name, root) for name in ("task2", "task3", "task4"))
    return dict(r2=r2, r3=r3, r4=r4, f2=facts_task2(r2), f3=facts_task3(r3),
                f4=facts_task4(r4, r3))


def setup(ipython, root="."):
    """Load the results and register %%answer and %%figure in an IPython shell."""
    from IPython.display import Image, Markdown, display

    names = context(root)
    ipython.user_ns.update(names)

    def answer(line, cell):
        display(Markdown(render(cell, dict(ipython.user_ns))))

    def figure(line, cell):
        name, key = line.split()
        path = check_figure(ipython.user_ns[f"r{name[-1]}"], name, key, root)
        display(Image(filename=str(path)))
        display(Markdown(render(cell, dict(ipython.user_ns))))

    ipython.register_magic_function(answer, "cell", "answer")
    ipython.register_magic_function(figure, "cell", "figure")
    # A ReportError is shown as its message alone, without a traceback.
    ipython.set_custom_exc((ReportError,), _short_error)
    return names


def _short_error(shell, etype, value, tb, tb_offset=None):
    """The traceback IPython shows for a ReportError: its message, which says what to do."""
    return [f"ReportError: {value}"]
