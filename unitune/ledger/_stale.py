"""RUNNING trials that no unitune process started, and what they do to the budget.

Every trial unitune creates, or takes from the queue, names its owner (``RUN_ATTR``:
backend and ``host:pid``). A RUNNING trial without one was made by another program on
the study: a plain Optuna ``study.ask()`` never told, a script's ``study.optimize``
killed mid-trial. unitune cannot tell whether that program is alive: there is no
pid of its to look at, and on a database its heartbeat row exists only if it ran
``study.optimize`` with heartbeats (then ``Ledger.recover_stale`` fails it once the
heartbeat falls silent, as for any trial).

The rule: such a trial does **not** count toward ``n_trials``, and unitune never
fails it (its program may still tell it). Counting it would hold one trial of the
budget for ever once its program is gone (``n_trials=28`` finishing at 27), while
not counting it costs at most one trial more than ``n_trials`` per foreign trial that
its program does finish, as a program working outside unitune's budget can add
trials at any time. ``unitune show`` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from unitune.ledger._keys import RUN_ATTR
from unitune.records import TrialRecord

__all__ = ["describe_unowned", "holds_budget", "unowned_running"]


def holds_budget(frozen: Any) -> bool:
    """Whether a RUNNING trial (an Optuna ``FrozenTrial``) counts toward ``n_trials``:
    yes if a unitune process runs it (its owner is recorded), no if another program
    created it (see the module's docstring)."""
    return bool(frozen.system_attrs.get(RUN_ATTR))


def unowned_running(trials: Iterable[Any]) -> list[Any]:
    """The RUNNING trials among ``trials`` that no unitune process started."""
    return [t for t in trials if t.state.name == "RUNNING" and not holds_budget(t)]


def describe_unowned(records: Sequence[TrialRecord]) -> str | None:
    """What ``unitune show`` says of the RUNNING trials no unitune process started."""
    if not records:
        return None
    listed = ", ".join(f"#{r.number}" + (f" (since {r.datetime_start:%Y-%m-%d %H:%M})"
                                         if r.datetime_start is not None else "")
                       for r in records)
    return (f"{len(records)} RUNNING trial(s) not started by unitune: {listed}. unitune "
            "cannot tell whether the program that asked for them is alive, so they do not "
            "count toward n_trials and stay RUNNING; if that program is gone, end one with "
            "Optuna: study.tell(NUMBER, state=optuna.trial.TrialState.FAIL)")
