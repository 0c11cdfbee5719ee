"""The multi-fidelity family: pruners and schedulers on an objective that reports per epoch.

The objective is a one-hidden-layer MLP (scikit-learn's ``MLPClassifier``, Adam) trained
one epoch at a time (``partial_fit``) on scikit-learn's digits, a fixed stratified 70/30
train/validation split, for at most ``EPOCHS`` epochs. After each epoch it reports the
validation accuracy (``trial.report(accuracy, epoch)``, which raises ``ut.TrialPruned``
when the backend stops the trial) and keeps its model as a checkpoint (Ray's
synchronous Hyperband pauses trials and resumes them from it). Same params, same numbers:
the weights and the shuffling are seeded (``random_state=0``).

The variants (``VARIANTS``, the ``(label, backend, options)`` tuples ``ut.compare``
takes) are no pruning (TPE, and random search: full training, labelled
``optuna:random`` so that it is also the comparison's baseline), Optuna's median,
successive-halving and Hyperband pruners (under TPE, as Optuna users combine them, and
successive halving under random search too: the same search as Ray's ASHA), and Ray's
ASHA, Hyperband and median stopping rule (Ray's random searcher), with ``ray:random``
as ASHA's paired full training (the same seed draws the same configs in the same
order). Their budgets follow one set of rules, ``SCHEDULE`` (see the comment there).

The figure is the best accuracy reached against the epochs spent (``budget_curve``,
``plot``); the anchor (``asha_anchor``): ASHA's best accuracy against full training's,
and the share of the epochs it spent, over seeds. ``family_report(cmp, dir)`` writes
both for the suite.

    python benchmarks/multifidelity.py [--n-trials 40] [--seeds 10] [--variants ...]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `unitune` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unitune as ut
from benchmarks._results import add_out, write_report
from benchmarks.problems import Problem
from unitune.compare._fairness import SCHEDULE_RULE, schedule, scheduler_options

EPOCHS = 27  # 3**3: rungs at 1, 3, 9, 27 epochs with a reduction factor of 3
SPACE = ut.Space(
    learning_rate_init=ut.Float(1e-4, 1e-1, log=True),
    alpha=ut.Float(1e-6, 1e-1, log=True),  # L2 penalty
    hidden_size=ut.Int(16, 128, log=True),
    batch_size=ut.Categorical([32, 64, 128, 256]),
    activation=ut.Categorical(["relu", "tanh", "logistic"]),
)
_DATA: dict[str, Any] = {}  # a plain dict, not lru_cache: Ray may pickle the module by value


def digits() -> tuple[Any, Any, Any, Any]:
    """The scaled float32 train/validation split of the digits (once per process)."""
    if "split" not in _DATA:
        import numpy as np
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        X, y = load_digits(return_X_y=True)
        X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0,
                                                  stratify=y)
        scaler = StandardScaler().fit(X_tr)
        _DATA["split"] = (scaler.transform(X_tr).astype(np.float32),
                          scaler.transform(X_va).astype(np.float32), y_tr, y_va)
    return _DATA["split"]


def mlp_digits(params: dict[str, Any], trial: ut.Trial, epochs: int = EPOCHS) -> float:
    """Validation accuracy after ``epochs`` epochs; reports each epoch's (step = epochs
    trained) and continues from the trial's checkpoint when the backend resumes it."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    X_tr, X_va, y_tr, y_va = digits()
    state = trial.restore()
    if state is None:
        model = MLPClassifier(hidden_layer_sizes=(params["hidden_size"],),
                              activation=params["activation"], alpha=params["alpha"],
                              batch_size=params["batch_size"],
                              learning_rate_init=params["learning_rate_init"], random_state=0)
        done = 0
    else:
        model, done = state
    accuracy = float(model.score(X_va, y_va)) if done else 0.0
    with threadpool_limits(1), warnings.catch_warnings():  # small matrices: one thread
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(done + 1, epochs + 1):
            model.partial_fit(X_tr, y_tr, classes=np.arange(10))
            accuracy = float(model.score(X_va, y_va))
            trial.checkpoint((model, epoch))  # before the report: on Ray it goes with it
            trial.report(accuracy, epoch)  # raises ut.TrialPruned if the backend stops it
    return accuracy


# The scheduler budgets follow the fairness rules of unitune/compare/_fairness.py (the
# comment above SCHEDULE there says why each is what it is).
SCHEDULE: dict[str, int] = schedule(EPOCHS)


NO_PRUNING = {"pruner": "none"}
# Random search without pruning: full training, the anchor's reference and the
# comparison's baseline (ut.compare's baseline is the variant labelled optuna:random).
FULL_TRAINING = "optuna:random"
PAIRED_FULL_TRAINING = "ray:random (full training)"  # ASHA's own configs, trained in full


def variants(schedule: dict[str, int] = SCHEDULE) -> list[tuple[str, str, dict[str, Any]]]:
    """The family's ``(label, backend, options)`` variants under ``schedule``."""
    opt = scheduler_options
    return [
        ("tpe", "optuna:tpe", dict(NO_PRUNING)),
        (FULL_TRAINING, "optuna:random", dict(NO_PRUNING)),
        ("tpe+median", "optuna:tpe", opt("optuna:median", schedule)),
        ("tpe+sh", "optuna:tpe", opt("optuna:successive_halving", schedule)),
        ("tpe+hyperband", "optuna:tpe", opt("optuna:hyperband", schedule)),
        ("random+sh", "optuna:random", opt("optuna:successive_halving", schedule)),
        ("ray:asha", "ray:asha", opt("ray:asha", schedule)),
        ("ray:hyperband", "ray:hyperband", opt("ray:hyperband", schedule)),
        ("ray:median", "ray:median", opt("ray:median", schedule)),
        (PAIRED_FULL_TRAINING, "ray:random", {}),
    ]


VARIANTS = variants()


def problem(epochs: int = EPOCHS) -> Problem:
    """The family's problem for the suite's catalogue (no known optimum); with fewer
    epochs (a quick tier) pair it with ``variants({**SCHEDULE, "max_epochs": epochs})``."""
    if epochs == EPOCHS:
        return Problem("mlp_digits", SPACE, mlp_digits, direction="maximize")
    return Problem(f"mlp_digits_{epochs}epochs", SPACE,
                   functools.partial(mlp_digits, epochs=epochs), direction="maximize")


PROBLEM = problem()


def compare(n_trials: int, seeds: int | Sequence[int], *,
            chosen: Sequence[tuple[str, str, dict[str, Any]]] = VARIANTS, epochs: int = EPOCHS,
            storage: Any = None, study_name: str = "multifidelity",
            cell_map: Any = None) -> ut.Comparison:
    """Each variant under each seed (``ut.compare``: studies ``<study_name>/<label>/
    seed<k>``, one trial at a time, the same numbers every time), at most ``epochs``
    epochs per trial (give ``variants(schedule)`` with the same max_epochs)."""
    baseline = FULL_TRAINING if any(v[0] == FULL_TRAINING for v in chosen) else None
    return ut.compare(problem(epochs).objective, SPACE, backends=list(chosen),
                      n_trials=n_trials, seeds=seeds, direction="maximize", storage=storage,
                      study_name=study_name, baseline=baseline, cell_map=cell_map)


def epochs_spent(result: ut.Result) -> int:
    """Epochs trained: one report per epoch, a pruned trial's included (``reports`` in
    ``Comparison.finals()``)."""
    return sum(len(t.intermediate) for t in result.trials)


def _end(t: ut.TrialRecord) -> float:
    start = t.datetime_start.timestamp() if t.datetime_start else 0.0
    return start + (t.duration or 0.0)


def budget_curve(result: ut.Result) -> list[tuple[int, float]]:
    """(epochs spent, best accuracy of a completed trial so far) after each trial that
    ended, in the order they ended. A trial's epochs count when it ends: exact with one
    worker except for Hyperband's paused trials (counted when they end, later)."""
    spent, best, out = 0, float("-inf"), []
    for t in sorted(result.trials, key=lambda t: (_end(t), t.number)):
        spent += len(t.intermediate)
        if t.state is ut.TrialState.COMPLETE and t.value is not None:
            best = max(best, t.value)
        out.append((spent, best))
    return out


def summary(cmp: ut.Comparison, epochs: int = EPOCHS) -> Any:
    """``cmp.summary()`` with, per variant, the median epochs spent (``reports``), their
    share of full training's (n_trials x epochs), and the median trials pruned."""
    table = cmp.summary()
    full = cmp.n_trials * epochs
    pruned = {label: statistics.median(
        sum(t.state is ut.TrialState.PRUNED for t in r.result.trials)
        for r in cmp.runs if r.label == label) for label in table.index}
    table["epochs_share"] = table["reports"] / full
    table["pruned"] = [pruned[label] for label in table.index]
    return table


def asha_anchor(runs: Sequence[Any], pruned: str = "ray:asha",
                full: str = FULL_TRAINING) -> dict[str, Any]:
    """The issue's anchor: does ``pruned`` reach within 1 accuracy point of ``full``
    training's best on at most 1/3 of its epochs? Per seed, then the medians over seeds
    (the claim is about the medians; ``seeds_holding`` counts the seeds where both hold).
    ``runs``: ``Comparison.runs`` (label, seed, result)."""
    by = {(r.label, r.seed): r.result for r in runs}
    rows = []
    for seed in sorted(s for (label, s) in by if label == pruned and (full, s) in by):
        a, f = by[(pruned, seed)], by[(full, seed)]
        rows.append({"seed": seed, "pruned_best": a.best_value, "full_best": f.best_value,
                     "gap_points": 100 * (f.best_value - a.best_value),
                     "pruned_epochs": epochs_spent(a), "full_epochs": epochs_spent(f),
                     "epochs_ratio": epochs_spent(a) / epochs_spent(f)})
    if not rows:
        return {"pruned": pruned, "full": full, "seeds": []}
    gap = statistics.median(r["gap_points"] for r in rows)
    ratio = statistics.median(r["epochs_ratio"] for r in rows)
    return {"pruned": pruned, "full": full, "seeds": rows,
            "median_gap_points": gap, "max_gap_points": max(r["gap_points"] for r in rows),
            "median_epochs_ratio": ratio,
            "max_epochs_ratio": max(r["epochs_ratio"] for r in rows),
            "holds": gap <= 1.0 and ratio <= 1 / 3,
            "seeds_holding": sum(r["gap_points"] <= 1.0 and r["epochs_ratio"] <= 1 / 3
                                 for r in rows)}


def anchor_line(a: dict[str, Any]) -> str:
    if not a["seeds"]:
        return f"{a['pruned']} vs {a['full']}: no seed has both"
    return (f"{a['pruned']} vs {a['full']} over {len(a['seeds'])} seeds: median gap "
            f"{a['median_gap_points']:.2f} accuracy points (max {a['max_gap_points']:.2f}), "
            f"median epochs ratio {a['median_epochs_ratio']:.3f} (max "
            f"{a['max_epochs_ratio']:.3f}); within 1 point on at most 1/3 of the epochs: "
            f"{'yes' if a['holds'] else 'no'} ({a['seeds_holding']}/{len(a['seeds'])} seeds)")


def table(summary_frame: Any) -> str:
    lines = ["| variant | backend | median best (IQR) | epochs (median) | share of full | "
             "pruned | seconds/trial |", "|---|---|---|---|---|---|---|"]
    for label, r in summary_frame.iterrows():
        lines.append(f"| {label} | {r['backend']} | {r['median']:.4f} ({r['q25']:.4f}-"
                     f"{r['q75']:.4f}) | {r['reports']:g} | {r['epochs_share']:.0%} | "
                     f"{r['pruned']:g} | {1 / r['trials_per_s']:.3f} |")
    return "\n".join(lines)


def family_report(cmp: ut.Comparison, directory: str | Path,
                  epochs: int = EPOCHS) -> dict[str, Any]:
    """For the suite: ``directory/multifidelity.png`` (best accuracy against epochs spent)
    and the family's markdown (the table, the anchor, the rules) and figures."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    frame = summary(cmp, epochs)
    anchors = [asha_anchor(cmp.runs, full=full)
               for full in (FULL_TRAINING, PAIRED_FULL_TRAINING)]
    from benchmarks._multifidelity_plot import plot

    png = plot(cmp.runs, directory / "multifidelity.png", anchors[0])
    markdown = "\n\n".join([
        f"{cmp.n_trials} trials per run, seeds {list(cmp.seeds)}; budget rules: "
        f"{SCHEDULE_RULE}.", table(frame),
        "\n".join(f"- {anchor_line(a)}" for a in anchors if a["seeds"]),
        f"![best accuracy against epochs spent]({png.name})"])
    return {"markdown": markdown, "png": str(png), "anchors": anchors,
            "schedule": SCHEDULE, "schedule_rule": SCHEDULE_RULE,
            "summary": frame.reset_index().to_dict("records")}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    labels = [label for label, _, _ in VARIANTS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--variants", nargs="+", default=labels, choices=labels)
    parser.add_argument("--storage", default=None, help="ledger (default: in memory); the "
                        "same command with the same ledger reruns nothing")
    parser.add_argument("--plot-dir", default=None, help="also write the figure there")
    add_out(parser, "multifidelity")
    args = parser.parse_args(argv)
    chosen = [v for v in VARIANTS if v[0] in args.variants]
    start = time.perf_counter()
    cmp = compare(args.n_trials, args.seeds, chosen=chosen, storage=args.storage)
    frame = summary(cmp)
    anchors = [asha_anchor(cmp.runs, full=full) for full in (FULL_TRAINING,
                                                             PAIRED_FULL_TRAINING)]
    print(f"{args.n_trials} trials, seeds 0..{args.seeds - 1}; {SCHEDULE_RULE}")
    print(table(frame))
    for a in anchors:
        print(anchor_line(a))
    if args.plot_dir:
        from benchmarks._multifidelity_plot import plot

        png = plot(cmp.runs, Path(args.plot_dir) / "multifidelity.png", anchors[0])
        print(f"figure written to {png}")
    finals = cmp.finals()
    report = {"n_trials": args.n_trials, "seeds": args.seeds, "epochs": EPOCHS,
              "schedule": SCHEDULE, "schedule_rule": SCHEDULE_RULE,
              "variants": [list(v) for v in chosen],
              "summary": frame.reset_index().to_dict("records"), "anchors": anchors,
              "runs": finals.to_dict("records"), "wall_seconds": time.perf_counter() - start}
    write_report(args.out, "multifidelity", report)
    return report


if __name__ == "__main__":
    main()
