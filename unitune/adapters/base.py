"""The adapter protocol: what a new engine implements to join unitune.

optimize() owns the loop and the bookkeeping (validation, ledger, callbacks,
failure policy, parallelism); an adapter only turns the space into the
engine's own and answers ``ask`` / ``tell`` (and ``should_prune`` if the engine
prunes). A complete adapter is one short file; see ``adapters/optuna.py``.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

from unitune.errors import BackendNotInstalled, InvalidOption, UnsupportedFeature
from unitune.records import TrialRecord, TrialState
from unitune.space import Float, Space

if TYPE_CHECKING:
    from unitune.ledger import Ledger

__all__ = ["WAIT", "Adapter", "Capabilities", "Proposal"]


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; optimize() refuses a mismatch before any trial runs."""

    multi_objective: bool = False
    pruning: bool = False
    parallel: bool = True
    conditional: bool = False  # a union of sub-spaces (a list of param grids)
    continuous: bool = True  # False: every Float needs a step (grids)
    checkpoints: bool = False
    constraints: bool = False  # the engine searches with ``trial.constraint(...)`` values

    def as_dict(self) -> dict[str, bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Proposal:
    """A point to evaluate. ``trial_id`` is set when the engine already wrote the trial to
    the ledger (adapters with ``writes_ledger``); ``handle`` is the engine's own token."""

    params: dict[str, Any]
    trial_id: int | None = None
    number: int | None = None
    handle: Any = None
    constraints: tuple[float, ...] | None = None  # set by ``trial.constraint(...)``


class _Wait:
    """The type of ``WAIT``."""

    def __repr__(self) -> str:
        return "WAIT"


# What ``ask`` returns when it has nothing to propose until outstanding proposals are
# told (a generation of a genetic algorithm still being evaluated by other workers).
# The driver then waits for a running trial to end and asks again.
WAIT = _Wait()


class Adapter(ABC):
    """Base class of every backend. Subclasses set the class attributes and implement
    ``setup``, ``ask`` and ``tell``."""

    name: ClassVar[str]  # "<engine>:<algorithm>"
    engine: ClassVar[str]
    extra: ClassVar[str]  # pip extra that installs the engine
    requires: ClassVar[tuple[str, ...]] = ()  # modules that must be importable
    capabilities: ClassVar[Capabilities] = Capabilities()
    description: ClassVar[str] = ""
    default: ClassVar[bool] = False  # the algorithm chosen by backend="<engine>"
    writes_ledger: ClassVar[bool] = False  # True if ask() creates the ledger trial itself
    owns_loop: ClassVar[bool] = False  # True if the engine runs the trials itself (Ray Tune)

    def __init__(self, space: Space, directions: Sequence[str], *, seed: int | None,
                 n_workers: int, options: Mapping[str, Any], ledger: Ledger) -> None:
        self.space = space
        self.directions = tuple(directions)
        self.seed = seed
        self.n_workers = n_workers
        self.options = dict(options)
        self.ledger = ledger
        self.setup()

    # -- class-level checks, before any work ----------------------------------------------
    @classmethod
    def _missing(cls) -> list[str]:
        # Only top-level names: find_spec("ray.tune") would import ray itself (~1 s).
        return [m for m in cls.requires if importlib.util.find_spec(m.split(".")[0]) is None]

    @classmethod
    def installed(cls) -> bool:
        return not cls._missing()

    @classmethod
    def ensure_installed(cls) -> None:
        missing = cls._missing()
        if missing:
            raise BackendNotInstalled(
                f"backend {cls.name!r} needs {', '.join(missing)}, which is not installed; "
                f"install it with: pip install 'unitune[{cls.extra}]'"
            )

    @classmethod
    def accepted_options(cls) -> dict[str, str]:
        """Option name -> one-line description. Unknown options are refused up front."""
        return {}

    @classmethod
    def validate(cls, space: Space, directions: Sequence[str],
                 options: Mapping[str, Any]) -> None:
        """Refuse what this backend cannot do (raise ``UnsupportedFeature``/``InvalidOption``)."""
        caps = cls.capabilities
        if len(directions) > 1 and not caps.multi_objective:
            raise UnsupportedFeature(
                f"backend {cls.name!r} is single-objective; got {len(directions)} directions. "
                "Use a multi-objective backend (see `unitune backends`), e.g. optuna:nsga2"
            )
        if space.branches and not caps.conditional:
            raise UnsupportedFeature(
                f"backend {cls.name!r} cannot search a union of sub-spaces (a list of "
                "param grids); use optuna:grid, or one space per run"
            )
        if not caps.continuous:
            for branch in space.branches or (space,):
                for pname, dist in branch.items():
                    if isinstance(dist, Float) and dist.step is None and dist.low != dist.high:
                        raise UnsupportedFeature(
                            f"backend {cls.name!r} needs a finite set of values, but parameter "
                            f"{pname!r} is a continuous Float; give it a step"
                        )
        accepted = cls.accepted_options()
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise InvalidOption(
                f"option {unknown[0]!r} is not accepted by backend {cls.name!r}; accepted: "
                f"{', '.join(sorted(accepted)) or 'none'}"
            )

    # -- the engine ---------------------------------------------------------------------------
    def setup(self) -> None:
        """Build the engine's optimizer from ``self.space``/``self.options``."""

    @classmethod
    def budget(cls, space: Space) -> int | None:
        """The number of trials after which the search of ``space`` is exhausted (a grid),
        or None. Known before any work, so a study with no bound is refused up front."""
        return None

    def warm_start(self, records: Sequence[TrialRecord]) -> None:
        """Tell the engine the finished trials already in the ledger (resume, or a study
        begun with another backend). Engines that read the ledger themselves skip this."""

    @abstractmethod
    def ask(self) -> Proposal | _Wait | None:
        """The next point to evaluate, None when the search is exhausted, or ``WAIT`` when
        nothing can be proposed before a running proposal is told (never with none running)."""

    @abstractmethod
    def tell(self, proposal: Proposal, state: TrialState,
             values: Sequence[float] | None) -> None:
        """The outcome of a proposal (COMPLETE with values, PRUNED or FAIL)."""

    def observe(self, proposal: Proposal, state: TrialState,
                values: Sequence[float] | None) -> None:
        """The outcome of a point the engine did not propose (an enqueued or re-run trial).
        Defaults to ``tell``."""
        self.tell(proposal, state, values)

    def run(self, driver: Any, target: int | None, deadline: float | None) -> bool:
        """For engines that run trials themselves (``owns_loop = True``): run up to
        ``target`` trials (None: until ``deadline``, a time.monotonic() value) and book
        each through ``driver.begin(params) -> Proposal``, ``driver.record_intermediate(proposal,
        step, value)`` and ``driver.end(proposal, outcome)`` (see ``unitune.optimize``).
        Return True if interrupted by Ctrl-C. Ask/tell adapters leave this alone."""
        raise NotImplementedError(f"{self.name} does not own its loop")

    def report(self, proposal: Proposal, step: int, value: float) -> bool:
        """Record an intermediate value of a running trial; return True to prune it."""
        self.ledger.report(proposal.trial_id, step, value)  # type: ignore[arg-type]
        return False
