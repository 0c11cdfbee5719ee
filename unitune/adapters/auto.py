"""``backend="auto"``: the backend chosen for the study from what is known before its
first trial, by the rules of ``adapters/_auto_rules.py`` (a table: the first rule that
holds, the first of its plans an installed backend can run).

A choice is a schedule of steps (backend, options, until): ``optimize()`` runs each in
turn on the same ledger, the next backend warm-started from the trials the ledger holds
(as a study resumed with another backend is), and each trial records the backend that
proposed it. ``backend="auto:<engine>"`` keeps to that engine's backends.

This module is the ``auto:any`` row of ``unitune backends``; it is never instantiated
(``optimize()`` asks it for a ``Choice`` and runs the backends it names). It imports no
engine.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from unitune.adapters import _REGISTRY, get, register
from unitune.adapters._auto_rules import CHEAP, EXTEND, RULES
from unitune.adapters.base import BaseAdapter, Capabilities, LoopAdapter
from unitune.errors import InvalidOption, UnituneError, UnknownBackend, UnsupportedFeature
from unitune.space import Categorical, Space

__all__ = ["AutoAdapter", "Choice", "Facts", "Step", "choose", "facts_of", "is_conditional",
           "switch_now"]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "<=": operator.le, ">=": operator.ge, "<": operator.lt,
    ">": operator.gt}

# When no rule's plan can run: any of these that can, then any other installed backend.
_FALLBACK = ("optuna:tpe", "optuna:random", "pymoo:ga", "pymoo:nsga2", "skopt:gp",
             "optuna:grid")


def is_conditional(space: Space) -> bool:
    """The hook for conditional spaces (parameters that exist only under a condition on
    others): True when the space says it is one. A union of sub-spaces is ``union``."""
    return bool(getattr(space, "conditional", False))


@dataclass(frozen=True)
class Facts:
    """What ``auto`` knows of a study before its first trial."""

    objectives: int
    reports: bool  # the objective takes a ``trial``: it may report steps
    union: bool
    conditional: bool
    n_params: int
    categorical: int
    one_hot: int  # the categoricals' choices, summed
    n_trials: int | None
    timeout: float | None = None
    n_workers: int = 1
    executor: str | None = None
    by_run: bool = False  # define-by-run: the space is known only as trials ask for it

    @property
    def categorical_share(self) -> float:
        return self.categorical / self.n_params if self.n_params else 0.0

    def summary(self) -> str:
        """e.g. ``5 numeric params, 60 trials``."""
        numeric = self.n_params - self.categorical
        kinds = [f"{n} {kind} param{'s' if n != 1 else ''}" for n, kind in
                 ((numeric, "numeric"), (self.categorical, "categorical")) if n]
        words = [", ".join(kinds) + (" (a union)" if self.union else "")]
        if self.objectives > 1:
            words.append(f"{self.objectives} objectives")
        words.append(f"{self.n_trials} trials" if self.n_trials is not None else
                     f"{self.timeout:g} s timeout" if self.timeout is not None else
                     "no budget")
        if self.reports:
            words.append("reports steps")
        if self.n_workers > 1:
            words.append(f"{self.n_workers} workers")
        return ", ".join(words)


def facts_of(space: Space, directions: Sequence[str], *, n_trials: int | None,
             timeout: float | None = None, reports: bool = False, n_workers: int = 1,
             executor: str | None = None) -> Facts:
    params: dict[str, Any] = {}
    for branch in space.branches or (space,):
        params.update(branch.items())
    cats = [d for d in params.values() if isinstance(d, Categorical)]
    return Facts(len(directions), reports, bool(space.branches), is_conditional(space),
                 len(params), len(cats), sum(len(c.choices) for c in cats), n_trials,
                 timeout, n_workers, executor)


@dataclass(frozen=True)
class Step:
    backend: str
    options: Mapping[str, Any]
    until: int | None  # the study's trials when the next step takes over; None: the end
    switch: str = "always"  # or "cheap": at ``until`` only once the objective is cheap


@dataclass(frozen=True)
class Choice:
    rule: str
    steps: tuple[Step, ...]
    why: str
    facts: Facts

    @property
    def label(self) -> str:
        """What ran: ``auto: optuna:gp``, or a schedule ``auto: optuna:gp > optuna:tpe``."""
        return "auto: " + " > ".join(s.backend for s in self.steps)

    def line(self) -> str:
        """The choice and why, one line."""
        until = "".join(f"; {s.backend} until trial {s.until}" + (
            ", or on while the objective takes longer than it" if s.switch == "cheap" else
            "") for s in self.steps if s.until is not None)
        return f"{self.label} ({self.facts.summary()}; rule {self.rule!r}{until})"


def _holds(when: Mapping[str, tuple[str, Any]], facts: Facts) -> bool:
    for name, (op, value) in when.items():
        have = getattr(facts, name)
        if have is None or not _OPS[op](have, value):  # a timeout-only budget: no bound
            return False
    return True


def _can(backend: str, options: Mapping[str, Any], space: Space,
         directions: Sequence[str], facts: Facts) -> bool:
    """Whether ``backend`` is installed and takes this study."""
    try:
        cls = get(backend)
        if getattr(cls, "auto", False) or not cls.installed():
            return False
        cls.validate(space, directions, options)
    except UnituneError:
        return False
    if facts.n_workers > 1 and not cls.capabilities.parallel:
        return False
    return not (facts.executor == "process" and issubclass(cls, LoopAdapter))


def _plan_steps(plan: Sequence[tuple[Any, ...]], engine: str | None,
                n_trials: int | None) -> tuple[Step, ...]:
    """The plan's steps of ``engine`` (all: None) that the budget reaches, the last one
    to the end."""
    steps = [Step(*s) for s in plan if engine is None or s[0].startswith(engine + ":")]
    if n_trials is not None:  # a step past the budget never runs
        reached = [i for i, s in enumerate(steps) if s.until is not None and s.until >= n_trials]
        steps = steps[:reached[0] + 1] if reached else steps
    if steps and steps[-1].until is not None:
        steps[-1] = Step(steps[-1].backend, steps[-1].options, None)
    return tuple(steps)


def choose(space: Space, directions: Sequence[str], facts: Facts,
           engine: str | None = None) -> Choice:
    """The rules' choice for this study (``engine``: only that engine's backends); refuses
    only when no installed backend can run the study."""
    for rule in RULES:
        if not _holds(rule["when"], facts):
            continue
        for plan in rule["plans"]:
            steps = _plan_steps(plan, engine, facts.n_trials)
            if steps and all(_can(s.backend, s.options, space, directions, facts)
                             for s in steps):
                return Choice(rule["id"], steps, rule["why"], facts)
    defaults = sorted(n for n, c in _REGISTRY.items() if c.default)
    for name in (*_FALLBACK, *defaults, *sorted(_REGISTRY)):
        if (engine is None or name.startswith(engine + ":")) and \
                _can(name, {}, space, directions, facts):
            return Choice("fallback", (Step(name, {}, None),), "none of the backends the "
                          "rules name for this study is " + ("installed and takes it" if
                          engine is None else f"of engine {engine!r}") + "; this one "
                          "takes it", facts)
    raise UnsupportedFeature(_refusal(space, directions, facts, engine))


def _refusal(space: Space, directions: Sequence[str], facts: Facts,
             engine: str | None) -> str:
    could = [name for name, cls in sorted(_REGISTRY.items())
             if not getattr(cls, "auto", False) and not cls.installed()
             and (engine is None or cls.engine == engine) and _validates(cls, space, directions)]
    name = "auto" if engine is None else f"auto:{engine}"
    hint = ("; these could, once installed: " + ", ".join(
        f"{n} (pip install 'unitune[{_REGISTRY[n].extra}]')" for n in could)) if could else \
        "; no backend of unitune can"
    return f"backend {name!r}: no installed backend can run this study ({facts.summary()})" \
           + hint


def _validates(cls: type[BaseAdapter], space: Space, directions: Sequence[str]) -> bool:
    try:
        cls.validate(space, directions, {})
    except UnituneError:
        return False
    return True


def switch_now(step: Step, objective_seconds: float, own_seconds: float) -> bool:
    """At ``step.until``: does the next step take over? ``own_seconds``: the backend's own
    time (proposals, the ledger) over the step's trials, ``objective_seconds`` the
    objective's. A "cheap" switch waits while the objective is the slower."""
    return step.switch != "cheap" or objective_seconds < CHEAP * own_seconds


def still_on(step: Step, held: int, last_backend: str | None) -> bool:
    """A study resumed past a "cheap" step's ``until``: had the step run on (its switch not
    due)? The ledger says: its last trial is past ``until`` and the step's backend
    proposed it."""
    return (step.switch == "cheap" and step.until is not None and held > step.until
            and last_backend == step.backend)


def extended(step: Step, trials: int) -> Step:
    """The step run on for ``EXTEND`` more trials (a "cheap" switch not yet due)."""
    return Step(step.backend, step.options, trials + EXTEND, step.switch)


@register
class AutoAdapter(BaseAdapter):
    """``auto:any``: ``backend="auto"``; ``auto:<engine>`` restricts it to an engine."""

    name = "auto:any"
    engine = "auto"
    extra = ""
    default = True
    auto: ClassVar[bool] = True
    restrict: ClassVar[str | None] = None
    capabilities = Capabilities(multi_objective=True, pruning=True, parallel=True,
                                conditional="native", constraints=True)
    unions: ClassVar[bool] = True
    description = ("chooses the backend for the study by the t1 suite's rules "
                   "(`unitune backends --explain SPACE`); auto:ENGINE keeps to one engine")

    @classmethod
    def installed(cls) -> bool:
        return any(not getattr(c, "auto", False) and c.installed()
                   and (cls.restrict is None or c.engine == cls.restrict)
                   for c in _REGISTRY.values())

    @classmethod
    def validate(cls, space: Space, directions: Sequence[str],
                 options: Mapping[str, Any]) -> None:
        if options:
            raise InvalidOption(
                f"backend {cls.name!r} chooses its backends' options itself; options "
                f"{sorted(options)} need a named backend (see `unitune backends`)")
        cls.choose(space, directions, facts_of(space, directions, n_trials=None))

    @classmethod
    def choose(cls, space: Space, directions: Sequence[str], facts: Facts) -> Choice:
        return choose(space, directions, facts, cls.restrict)

    @classmethod
    @functools.cache
    def restricted(cls, engine: str) -> type[AutoAdapter]:
        """``auto:<engine>``: the choice among ``engine``'s backends only."""
        engines = {c.engine for c in _REGISTRY.values() if not getattr(c, "auto", False)}
        if engine not in engines:
            raise UnknownBackend(f"unknown backend 'auto:{engine}'; auto keeps to one of the "
                                 f"engines {', '.join(sorted(engines))} (e.g. auto:optuna)")
        return type(f"AutoAdapter_{engine}", (cls,),
                    {"name": f"auto:{engine}", "restrict": engine, "default": False})
