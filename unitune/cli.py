"""The ``unitune`` command: ``backends``, ``run``, ``compare``, ``worker``, ``show``,
``studies``, ``dashboard``, ``plot``, ``export``.

Bad flags, unreadable files and invalid spaces exit with status 2 and one line
that says what is wrong. ``run`` keeps its trials in an embedded journal file by
default, so a killed run is finished by running the same command again.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from unitune._auto_cli import add_explain_flags, choice_line
from unitune._cli_common import (
    DEFAULT_STORAGE,
    add_deterministic_flag,
    parse_option,
    space_of,
    storage_arg,
)
from unitune._compare_cli import add_compare
from unitune._dashboard_cli import add_dashboard
from unitune._interrupts import Interrupts
from unitune._mlflow_cli import add_mlflow_flag, mlflow_callbacks
from unitune._objective_file import UsageError as _UsageError
from unitune._objective_file import load_objective
from unitune._plot_cli import add_export, add_plot
from unitune._script import non_negative_int as _non_negative_int
from unitune._script import positive as _positive
from unitune._text import distinct_points, fmt, table, trial_line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


# -- commands ------------------------------------------------------------------------------
def cmd_backends(args: argparse.Namespace) -> int:
    from unitune._auto_cli import explain
    from unitune.adapters import backends

    if args.explain is not None:
        return explain(args)

    yes = {True: "yes", False: "-"}
    rows = []
    for b in backends():
        c = b.capabilities
        rows.append([
            b.name + (" *" if b.default else ""), b.engine,
            "yes" if b.installed else f"no: pip install 'unitune[{b.extra}]'",
            yes[c.multi_objective], yes[c.pruning], yes[c.parallel], c.conditional,
            yes[c.checkpoints], yes[c.deterministic], b.description,
        ])
    print(table(["backend", "engine", "installed", "multi-obj", "pruning", "parallel",
                  "conditional", "checkpoints", "deterministic", "what"], rows))
    print("\n* the default algorithm of its engine (e.g. --backend optuna means optuna:tpe)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from unitune._secrets import storage_name

    target = load_objective(args.objective)
    space = space_of(target, args.space, args.objective)
    options = dict(parse_option(o) for o in args.option)
    directions = args.direction or target.directions()
    hint = None if directions else target.score_hint(args.metric)
    if hint is not None:
        print(f"unitune: warning: no --direction given (nor DIRECTION in {target.path}), so "
              f"the study minimizes; the objective looks like a score ({hint!r}): add "
              "--direction maximize if higher is better", file=sys.stderr, flush=True)
    directions = directions or ["minimize"]
    study = target.study_name if args.study is None else args.study
    print(f"study {study!r}: {', '.join(directions)} with {args.backend}, "
          f"{args.n_trials or 'unlimited'} trials, seed {args.seed}, in "
          f"{storage_name(storage_arg(args, must_exist=False))}", flush=True)
    line = choice_line(args.backend, space, directions, target.function, n_trials=args.n_trials,
                       timeout=args.timeout, workers=args.workers, executor=args.executor)
    if line is not None:
        print(line, flush=True)
    return _optimize(args, target.function, space, backend=args.backend,
                     directions=directions, metrics=args.metric,
                     options=options, n_trials=args.n_trials, timeout=args.timeout,
                     seed=args.seed, study=study, on_failure=args.on_failure)


def cmd_worker(args: argparse.Namespace) -> int:
    """Join a stored study with the space, directions, backend, options and budget the
    ledger holds; run the objective given here (the ledger's: --objective-from-ledger)."""
    from unitune._secrets import storage_name
    from unitune._worker import joined_space, worker_objective
    from unitune.ledger import wait_for_study
    from unitune.ledger._by_run import is_by_run
    from unitune.optimize import joining

    storage = storage_arg(args, must_exist=not args.wait)
    ledger = wait_for_study(args.study, storage, args.wait, lambda: print(
        f"worker waits up to {args.wait:g} s for study {args.study!r} in "
        f"{storage_name(storage)}", file=sys.stderr, flush=True))
    settings = ledger.settings() or {}
    by_run = is_by_run(ledger)  # define-by-run: the objective declares the space
    spec = worker_objective(args.study, settings, ledger.space is not None or by_run,
                            given=args.objective, from_ledger=args.objective_from_ledger,
                            options_given=bool(args.option))
    if args.objective_from_ledger:
        print(f"worker runs the objective the ledger names: {spec!r}", file=sys.stderr,
              flush=True)
    loaded = load_objective(spec)
    objective = loaded.function
    space = None if by_run else joined_space(args.study, ledger.space, loaded.module)
    options = {**(settings.get("options") or {}), **dict(parse_option(o) for o in args.option)}
    n_trials = args.n_trials or settings.get("n_trials")
    timeout = args.timeout or (settings.get("timeout") if n_trials is None else None)
    if not args.quiet:
        print(f"worker joins study {args.study!r} ({', '.join(ledger.directions)}): "
              f"{settings['backend']}, "
              f"{'until it holds ' + str(n_trials) + ' trials' if n_trials else ''}"
              f"{' for ' + str(timeout) + ' s' if timeout else ''}", flush=True)
    with joining():  # the study keeps the settings of the run that started it
        return _optimize(args, objective, space, backend=settings["backend"],
                         directions=list(ledger.directions), metrics=ledger.metrics,
                         options=options, n_trials=n_trials, timeout=timeout,
                         seed=args.seed, study=args.study,
                         on_failure=settings.get("on_failure", "continue"))


# the keywords the command gives ut.optimize from a flag, named as the flag in its errors
_FLAG_OF = {"n_trials": "--n-trials", "n_workers": "--workers", "timeout": "--timeout",
            "executor": "--executor", "trial_timeout": "--trial-timeout",
            "trial_memory": "--trial-memory", "timeout_policy": "--timeout-policy",
            "deterministic": "--deterministic"}
_KEYWORDS = re.compile(rf"\b({'|'.join(_FLAG_OF)})=('[^']*'|[^\s,;:)]+)?")


def _as_flags(message: str) -> str:
    """``trial_timeout=60.0 needs executor='process'`` as ``--trial-timeout 60.0 needs
    --executor process``: what the user typed."""
    def flag(match: re.Match[str]) -> str:
        value = (match[2] or "").strip("'")
        value = "" if value == "True" else value  # a switch (--deterministic): the flag alone
        return f"{_FLAG_OF[match[1]]}{' ' + value if value else ''}"
    return _KEYWORDS.sub(flag, message)


def _optimize(args: argparse.Namespace, objective: Any, space: Any, *, study: str,
              **settings: Any) -> int:
    """Run the study with the flags common to ``run`` and ``worker``; print the result."""
    import unitune as ut

    if getattr(args, "ray_address", None):
        settings["options"]["address"] = args.ray_address
    storage = storage_arg(args, must_exist=False)

    def show_trial(record: ut.TrialRecord) -> None:
        print(trial_line(record), flush=True)

    progress = args.progress
    if progress is None:  # a bar for a person watching; logs get the line per trial
        progress = not args.quiet and sys.stderr.isatty()
    try:
        result = ut.optimize(objective, space, n_workers=args.workers, storage=storage,
                             executor=args.executor, trial_timeout=args.trial_timeout,
                             trial_memory=args.trial_memory,
                             timeout_policy=args.timeout_policy, study_name=study,
                             deterministic=args.deterministic,
                             callbacks=([] if args.quiet else [show_trial])
                             + mlflow_callbacks(args), progress=progress, **settings)
    except (ut.errors.InvalidOption, ut.errors.UnsupportedFeature) as exc:
        raise type(exc)(_as_flags(str(exc))) from None
    print()
    _summary(result, storage)
    if result.interrupted:
        print("interrupted: finished trials are kept; run the same command again to finish "
              "the study")
        return 130
    return 0


def _summary(result: Any, storage: str) -> None:
    from unitune._secrets import storage_name
    from unitune.records import state_counts

    counts = state_counts(result.trials)
    print(f"study {result.study_name!r} in {storage_name(storage)}: {len(result.trials)} "
          "trials (" + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")")
    if not result.completed:
        print("no completed trial yet")
        return
    if len(result.directions) == 1:
        best = result.best_trial
        print(f"best trial {best.number}: value={fmt(best.value)} ({result.directions[0]})")
        for k, v in best.params.items():
            print(f"  {k} = {v!r}")
    else:
        points = distinct_points(result.pareto_front)
        names = result.metrics or tuple(f"value{i}" for i in range(len(result.directions)))
        print(f"Pareto front: {len(result.pareto_front)} trials, {len(points)} distinct "
              f"points ({', '.join(result.directions)})")
        print(table(["trial", *names, "params", "trials"],
                    [[t.number, *t.values, dict(t.params), n] for t, n in points]))


def cmd_show(args: argparse.Namespace) -> int:
    from unitune._secrets import scrub
    from unitune.ledger import describe_unowned, open_existing
    from unitune.ledger._by_run import describe_by_run

    storage = storage_arg(args)
    ledger = open_existing(args.study, storage)
    result = ledger.result()
    _summary(result, storage)
    settings = ledger.settings()
    if settings:
        budget = f"n_trials={settings['n_trials']}" if settings.get("n_trials") else (
            f"timeout={settings.get('timeout')} s")
        print(scrub(f"last run: {settings['backend']}, {budget}, seed={settings.get('seed')}, "
                    f"objective {settings.get('objective') or '(not a function in a file)'}"))
    unowned = describe_unowned(ledger.unowned_running())
    if unowned:
        print(unowned)
    print(describe_by_run(ledger) or "", end="")
    if args.summary:
        return 0
    names = result.metrics or (("value",) if len(result.directions) == 1 else tuple(
        f"value{i}" for i in range(len(result.directions))))
    rows = []
    for t in result.trials[-args.last:] if args.last else result.trials:
        values = list(t.values) if t.values is not None else [""] * len(names)
        error = (t.error or "").splitlines()[0][:60] if t.error else ""
        rows.append([t.number, t.state.value, *values,
                     "" if t.duration is None else f"{t.duration:.3g}s", t.backend or "",
                     ", ".join(f"{k}={fmt(v)}" for k, v in t.params.items()), error])
    print()
    print(table(["trial", "state", *names, "duration", "backend", "params", "error"], rows))
    return 0


def cmd_studies(args: argparse.Namespace) -> int:
    from unitune.ledger import open_storage

    opened = open_storage(storage_arg(args))
    rows = [[s.study_name, ",".join(d.name.lower() for d in s.directions),
             len(opened.get_all_trials(s._study_id, deepcopy=False))]
            for s in opened.get_all_studies()]
    print(table(["study", "directions", "trials"], rows))
    return 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of seconds >= 0")
    return value


def _execution_flags(p: argparse.ArgumentParser, ray: bool = True) -> None:
    p.add_argument("--storage", help=f"file path or database URL (default {DEFAULT_STORAGE}, "
                   "or $UNITUNE_STORAGE)")
    p.add_argument("--workers", type=_positive(int), default=1, help="trials in parallel "
                   "in this process (threads, or worker processes with --executor process)")
    p.add_argument("--executor", choices=["thread", "process"], help="where trials run. "
                   "Default thread, as in ut.optimize, so a file's objective runs the same "
                   "way from Python and from here, with no process to start: choose process "
                   "for a crash (segfault, out of memory) to fail only its trial, for "
                   "--trial-timeout, and for a pure-Python objective to use --workers cores. "
                   "Ray backends always use their own worker processes")
    p.add_argument("--trial-timeout", type=_positive(float), metavar="SECONDS",
                   help="kill a trial running longer (FAIL 'timed out'); needs --executor "
                   "process (or a Ray backend)")
    p.add_argument("--trial-memory", metavar="SIZE", help="cap each trial's worker process "
                   "at this much memory, e.g. 4GB or 512MiB (FAIL 'out of memory'); needs "
                   "--executor process")
    p.add_argument("--timeout-policy", choices=["finish", "cut"], default="finish",
                   help="at --timeout, let the running trials finish (default) or cut them "
                   "(FAIL 'cut at the study's timeout'; needs --executor process or a Ray "
                   "backend)")
    add_deterministic_flag(p)
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="backend option, VALUE read as YAML (e.g. pruner=hyperband)")
    if ray:
        p.add_argument("--ray-address", help="join this Ray cluster (ray:* backends)")
    p.add_argument("--quiet", action="store_true", help="no line per trial, no progress bar")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="the study's progress on stderr (default: a bar when stderr is a "
                   "terminal, none otherwise or with --quiet)")
    add_mlflow_flag(p)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="unitune", description="One search space, one objective, any HPO "
                     "engine: Optuna, scikit-optimize, Ray Tune, pymoo.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("backends", help="list the backends and what each supports")
    add_explain_flags(p, _positive)
    p.set_defaults(func=cmd_backends)

    p = sub.add_parser("run", help="tune FILE.py:FUNCTION over a space")
    p.add_argument("objective", help="FILE.py:FUNCTION; FUNCTION(params[, trial]) returns "
                   "the value(s)")
    p.add_argument("--space", help="YAML or JSON space file (default: SPACE in the file)")
    p.add_argument("--backend", default="optuna:tpe", help="engine:algorithm, see "
                   "`unitune backends` (default optuna:tpe)")
    p.add_argument("--n-trials", type=_positive(int), help="finished trials the study "
                   "should hold")
    p.add_argument("--timeout", type=_positive(float), help="stop starting trials after "
                   "this many seconds")
    p.add_argument("--direction", action="append", choices=["minimize", "maximize"],
                   help="once per objective value (default minimize)")
    p.add_argument("--metric", action="append", help="name of each objective value, in "
                   "order (lets FUNCTION return a dict)")
    p.add_argument("--seed", type=_non_negative_int)
    p.add_argument("--study", help="study name (default FILE:FUNCTION); the same name "
                   "resumes the study")
    p.add_argument("--on-failure", choices=["continue", "stop"], default="continue",
                   help="what a failing trial does to the study")
    _execution_flags(p)
    p.set_defaults(func=cmd_run)

    add_compare(sub)

    p = sub.add_parser("worker", help="join a stored study from another process or machine "
                       "(its space, backend, options and budget come from the ledger)")
    p.add_argument("objective", nargs="?", help="FILE.py:FUNCTION to run (the ledger's "
                   "choice only with --objective-from-ledger)")
    p.add_argument("--objective-from-ledger", action="store_true", help="run the objective "
                   "file the ledger names (whoever can write the ledger chooses that code)")
    p.add_argument("--study", required=True)
    p.add_argument("--wait", type=_seconds, default=60.0, metavar="SECONDS",
                   help="wait this long for a run to create the study (default 60)")
    p.add_argument("--n-trials", type=_positive(int), help="finished trials the study should "
                   "hold (default: the study's)")
    p.add_argument("--timeout", type=_positive(float), help="stop starting trials after "
                   "this many seconds")
    p.add_argument("--seed", type=_non_negative_int, help="default none: a worker seeded like "
                   "another would propose the same params")
    _execution_flags(p, ray=False)  # a Ray study scales out through its cluster instead
    p.set_defaults(func=cmd_worker)

    _reading_commands(sub)
    add_plot(sub)
    add_export(sub)
    return parser


def _reading_commands(sub: Any) -> None:
    p = sub.add_parser("show", help="the best trial and a table of the trials of a study")
    p.add_argument("--study", required=True)
    p.add_argument("--storage", help=f"file path or database URL (default {DEFAULT_STORAGE})")
    p.add_argument("--last", type=_positive(int), help="only the last N trials")
    p.add_argument("--summary", action="store_true", help="only the best trial")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("studies", help="the studies in a storage")
    p.add_argument("--storage", help=f"file path or database URL (default {DEFAULT_STORAGE})")
    p.set_defaults(func=cmd_studies)

    add_dashboard(sub)


def main(argv: Sequence[str] | None = None) -> int:
    from unitune._secrets import scrub
    from unitune.errors import UnituneError

    args = build_parser().parse_args(argv)
    interrupts = Interrupts.install()
    try:
        return args.func(args)
    except Exception as exc:
        # a database error mid-run is one line too; any password in a message is masked
        if not isinstance(exc, (_UsageError, UnituneError)) and not type(
                exc).__module__.startswith("sqlalchemy."):
            raise
        message = " ".join(str(getattr(exc, "orig", None) or exc).split())
        print(f"unitune: error: {scrub(message)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("unitune: interrupted; finished trials are kept", file=sys.stderr)
        return 130
    finally:
        if interrupts is not None:  # main(argv) from Python: the process goes on
            interrupts.finish(restore=argv is not None)


if __name__ == "__main__":
    sys.exit(main())
