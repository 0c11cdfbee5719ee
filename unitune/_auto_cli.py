"""``backend="auto"`` on the command line: the one line that says what auto chose and
why (``unitune run --backend auto``), and ``unitune backends --explain SPACE.yaml
--n-trials N``: what auto would choose, without running anything."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

__all__ = ["add_explain_flags", "choice_line", "explain"]


def add_explain_flags(p: argparse.ArgumentParser, positive: Any) -> None:
    """The flags of ``unitune backends --explain``."""
    p.add_argument("--explain", metavar="SPACE", help="print what --backend auto would "
                   "choose for this space file (YAML or JSON), and why; runs nothing")
    p.add_argument("--n-trials", type=positive(int), help="with --explain: the budget")
    p.add_argument("--timeout", type=positive(float), help="with --explain: a time budget "
                   "(seconds) instead of --n-trials")
    p.add_argument("--direction", action="append", choices=["minimize", "maximize"],
                   help="with --explain: once per objective value (default one)")
    p.add_argument("--reports", action="store_true", help="with --explain: the objective "
                   "takes a trial and reports steps (trial.report)")
    p.add_argument("--workers", type=positive(int), default=1, help="with --explain: "
                   "trials in parallel")
    p.add_argument("--backend", default="auto", help="with --explain: auto or auto:ENGINE "
                   "(default auto)")


def _choice(backend: str, space: Any, directions: Sequence[str], *, n_trials: int | None,
            timeout: float | None, reports: bool, workers: int,
            executor: str | None = None) -> Any:
    from unitune import adapters
    from unitune.adapters.auto import facts_of
    from unitune.errors import InvalidOption
    from unitune.space import Space

    cls = adapters.get(backend)
    if not getattr(cls, "auto", False):
        raise InvalidOption(f"--backend {backend!r}: --explain explains auto or auto:ENGINE "
                            "only (another backend is what it says)")
    space = Space.coerce(space)
    facts = facts_of(space, directions, n_trials=n_trials, timeout=timeout, reports=reports,
                     n_workers=workers, executor=executor)
    return cls.choose(space, directions, facts)  # type: ignore[attr-defined]


def choice_line(backend: str, space: Any, directions: Sequence[str], objective: Any, *,
                n_trials: int | None, timeout: float | None, workers: int,
                executor: str | None) -> str | None:
    """``unitune run``'s line for an auto backend (None for any other): what it chose,
    from what, by which rule."""
    from unitune import adapters
    from unitune._checks import objective_arity

    if not getattr(adapters.get(backend), "auto", False):
        return None
    return str(_choice(backend, space, directions, n_trials=n_trials, timeout=timeout,
                       reports=objective_arity(objective) == 2, workers=workers,
                       executor=executor).line())


def explain(args: argparse.Namespace) -> int:
    """``unitune backends --explain SPACE``: the choice and why, two lines."""
    from unitune._objective_file import UsageError
    from unitune.space import Space

    if args.n_trials is None and args.timeout is None:
        raise UsageError("--explain needs the budget: --n-trials N (or --timeout SECONDS)")
    choice = _choice(args.backend, Space.from_file(args.explain),
                     args.direction or ["minimize"], n_trials=args.n_trials,
                     timeout=args.timeout, reports=args.reports, workers=args.workers)
    print(choice.line())
    print(f"why: {choice.why}")
    return 0
