"""``unitune compare FILE.py:FUNCTION --backends B1 B2 ... --n-trials N --seeds K``: the
same objective, space, budget and seeds for every backend (``ut.compare``); prints the
summary table, and with ``--report DIR`` writes the markdown report and its figures.
Run again, it reruns nothing (each (backend, seed) is a study in the storage)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from unitune._cli_common import DEFAULT_STORAGE, parse_option, space_of, storage_arg
from unitune._objective_file import load_objective
from unitune._script import positive
from unitune._text import fmt, table

__all__ = ["add_compare", "cmd_compare"]


def add_compare(sub: Any) -> None:
    p = sub.add_parser("compare", help="run FILE.py:FUNCTION with several backends on the "
                       "same budget and seeds, and say which won")
    p.add_argument("objective", help="FILE.py:FUNCTION; FUNCTION(params[, trial]) returns "
                   "the value(s)")
    p.add_argument("--space", help="YAML or JSON space file (default: SPACE in the file)")
    p.add_argument("--backends", nargs="+", required=True, metavar="BACKEND",
                   help="engine:algorithm names, see `unitune backends`")
    p.add_argument("--n-trials", type=positive(int), required=True,
                   help="finished trials of each (backend, seed) study")
    p.add_argument("--seeds", type=positive(int), default=5, metavar="K",
                   help="seeds 0..K-1 (default 5)")
    p.add_argument("--direction", action="append", choices=["minimize", "maximize"],
                   help="once per objective value (default: DIRECTION in the file, else "
                   "minimize)")
    p.add_argument("--metric", action="append", help="name of each objective value")
    p.add_argument("--optimum", type=float, help="the known best value (1 of the "
                   "normalised score)")
    p.add_argument("--baseline", default="optuna:random", help="the backend at 0 of the "
                   "normalised score, added when missing (default optuna:random; 'none')")
    p.add_argument("--storage", help=f"file path or database URL (default {DEFAULT_STORAGE}, "
                   "or $UNITUNE_STORAGE)")
    p.add_argument("--study", help="prefix of the study names <study>/<backend>/seed<k> "
                   "(default compare/FILE:FUNCTION)")
    p.add_argument("--workers", type=positive(int), default=1, help="trials in parallel "
                   "in each study")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="option for every backend, VALUE read as YAML")
    p.add_argument("--report", metavar="DIR", help="write DIR/README.md and its figures")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    import unitune as ut
    from unitune._secrets import storage_name
    from unitune.compare._report import _figure_words

    target = load_objective(args.objective)
    space = space_of(target, args.space, args.objective)
    directions = args.direction or target.directions() or ["minimize"]
    storage = storage_arg(args, must_exist=False)
    study = args.study or f"compare/{target.study_name}"
    baseline = None if args.baseline.lower() == "none" else args.baseline
    header = [f"comparing {len(args.backends)} backend(s) on {args.objective}: "
              f"{args.n_trials} trials x seeds 0..{args.seeds - 1}, {', '.join(directions)}; "
              f"studies {study}/BACKEND/seedK in {storage_name(storage)}"]

    def show(run: Any) -> None:  # the first run is after every check: bad input is 1 line
        while header:
            print(header.pop(), flush=True)
        print(f"  {run.label} seed {run.seed}: {_figure(run.result)}", file=sys.stderr,
              flush=True)

    cmp = ut.compare(target.function, space, backends=args.backends,
                     n_trials=args.n_trials, seeds=args.seeds, directions=directions,
                     metrics=args.metric, storage=storage, study_name=study,
                     options=dict(parse_option(o) for o in args.option),
                     n_workers=args.workers, optimum=args.optimum, baseline=baseline,
                     on_run=show)
    summary = cmp.summary()
    print()
    print(table(["backend", *summary.columns[1:]],
                [[label, *row[1:]] for label, row in zip(summary.index,
                                                         summary.itertuples(index=False))]))
    print(f"\n{_figure_words(cmp)}")
    if args.report:
        print(f"report written to {cmp.report(args.report)}")
    return 0


def _figure(result: Any) -> str:
    done = [t for t in result.trials if t.state.is_finished()]
    if len(result.directions) > 1:
        return f"{len(result.pareto_front)} trials on the front of {len(done)}"
    try:
        return f"best {fmt(result.best_value)} of {len(done)} trials"
    except ValueError:
        return f"no completed trial of {len(done)}"
