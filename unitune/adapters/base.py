"""What a new engine implements to join unitune, and what the driver gives it.

``optimize()`` owns the rules (validation, budget, timeout, failures, pruning
decisions' bookkeeping, callbacks, Ctrl-C, parallel workers, the ledger). An engine
joins through one of three base classes, by how it runs trials:

- ``Adapter``: ask/tell. The driver asks for a ``Proposal``, runs the objective,
  writes the ledger and tells the ``Outcome``. **The one to copy** is
  ``adapters/skopt/__init__.py``: a space mapped onto the engine, ``ask``, ``tell``.
- ``StudyAdapter``: ask/tell whose engine writes the ledger itself, through
  ``ledger.engine_storage()``: Optuna's ``Study`` (``adapters/optuna.py``).
- ``LoopAdapter``: the engine runs its own loop and books each trial through a
  ``Host`` (begin, report, end, the study's queued trials): Ray Tune
  (``adapters/ray/``).

Every adapter declares its name, engine, pip extra, ``Capabilities`` and
accepted options; ``validate`` refuses what it cannot do before any trial runs.

**Seeds and resuming.** A study resumed (after a kill, Ctrl-C, a finished run given a
larger ``n_trials``, or a worker joining) must continue the search, not replay it: an
engine rebuilt with the first run's seed draws the first run's points again (a random
sampler, TPE's startup trials, a genetic algorithm's first population). So the engine
of a study that already holds ``n`` trials is built with ``engine_seed(seed, n)``, a
seed drawn from ``(seed, n)`` by ``numpy.random.SeedSequence``; a new study's engine
gets ``seed`` itself (the same proposals as the engine called directly). Either way
the engine is told the finished trials (``warm_start``) or reads the ledger itself.
The seed depends on the ledger's state only, so a study resumed from the same ledger
still repeats under its seed. An engine whose sequence is indexed by the ledger
(Optuna's QMC sampler counts the points it drew in the study) keeps ``seed``, and so
continues its one sequence (``engine_seed``).
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from unitune.errors import BackendNotInstalled, InvalidOption, UnsupportedFeature
from unitune.records import TrialRecord, TrialState
from unitune.space import Float, Space

if TYPE_CHECKING:
    from unitune.ledger import Ledger
    from unitune.trial import Objective

__all__ = ["WAIT", "Adapter", "BaseAdapter", "Capabilities", "Host", "LoopAdapter", "Outcome",
           "Proposal", "StudyAdapter", "resumed_seed"]


def resumed_seed(seed: int | None, recorded: int) -> int | None:
    """The seed of an engine resuming a study that holds ``recorded`` trials: ``seed``
    itself for a new study (``recorded == 0``) or no seed, else a 32-bit seed drawn from
    ``(seed, recorded)``, so that no two resumes of a study replay the same stream."""
    if seed is None or recorded == 0:
        return seed
    import numpy as np

    return int(np.random.SeedSequence([int(seed), int(recorded)]).generate_state(1)[0])


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; optimize() refuses a mismatch before any trial runs."""

    multi_objective: bool = False
    pruning: bool = False
    parallel: bool = True
    # How the engine searches a space with conditional (``when=``) parameters: "native"
    # (the engine sees the hierarchy: define-by-run, nested domains), "flattened" (every
    # parameter in the engine's vector; the inactive ones are not passed to the
    # objective nor stored) or "refused".
    conditional: str = "refused"
    continuous: bool = True  # False: every Float needs a step (grids)
    checkpoints: bool = False
    constraints: bool = False  # the engine searches with ``trial.constraint(...)`` values
    # ``deterministic=True``: with ``n_workers > 1`` the same seed gives the same trials
    # (the driver asks in batches of n_workers and tells each batch in proposal order)
    deterministic: bool = True


class Proposal(NamedTuple):
    """A point to evaluate, once begun in the ledger as trial ``trial_id`` (``number``).
    ``handle`` is the engine's own token; ``queued`` marks a queued (WAITING) trial the
    driver claimed instead of asking the engine (a re-run, an enqueued point).

    Immutable (a named tuple, like ``Outcome``: several are made per trial, and a frozen
    dataclass costs about 2 µs more each, measurable on the cheapest samplers)."""

    params: dict[str, Any]
    trial_id: int | None = None
    number: int | None = None
    handle: Any = None
    queued: bool = False


class Outcome(NamedTuple):
    """How a trial ended: COMPLETE with values, PRUNED, or FAIL with the reason."""

    state: TrialState
    values: tuple[float, ...] | None = None
    error: str | None = None  # one line: why the trial failed
    traceback: str | None = None  # the objective's traceback, when it raised
    exc: BaseException | None = None
    duration: float = 0.0
    constraints: tuple[float, ...] | None = None  # from trial.constraint(); <= 0 feasible
    interrupted: bool = False  # cut short (Ctrl-C, a dead process): re-run on resume
    wrong_count: bool = False  # the objective returned the wrong number of values
    at_deadline: bool = False  # stopped at the study's timeout (timeout_policy='cut')
    # define-by-run: what the objective's trial.suggest_* gave, {name: (value, Distribution)}
    asked: dict[str, Any] | None = None


class _Wait:
    """The type of ``WAIT``."""

    def __repr__(self) -> str:
        return "WAIT"


# What ``ask`` returns when it has nothing to propose until outstanding proposals are
# told (a generation of a genetic algorithm still being evaluated by other workers).
# The driver then waits for a running trial to end and asks again.
WAIT = _Wait()


class BaseAdapter(ABC):
    """What every backend declares. Subclass ``Adapter``, ``StudyAdapter`` or
    ``LoopAdapter``, set the class attributes and register it with
    ``@unitune.adapters.register``."""

    name: ClassVar[str]  # "<engine>:<algorithm>"
    engine: ClassVar[str]
    extra: ClassVar[str]  # pip extra that installs the engine
    requires: ClassVar[tuple[str, ...]] = ()  # modules that must be importable
    capabilities: ClassVar[Capabilities] = Capabilities()
    description: ClassVar[str] = ""
    default: ClassVar[bool] = False  # the algorithm chosen by backend="<engine>"
    unions: ClassVar[bool] = False  # searches a union of sub-spaces as it is (a grid)
    # why ``deterministic=True`` is refused, where ``capabilities.deterministic`` is False
    not_deterministic: ClassVar[str] = "its engine cannot propose in a fixed order"

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
        """Refuse what this backend cannot do (raise ``UnsupportedFeature``/``InvalidOption``).
        Subclasses check their option values after calling this."""
        caps = cls.capabilities
        if len(directions) > 1 and not caps.multi_objective:
            raise UnsupportedFeature(
                f"backend {cls.name!r} is single-objective; got {len(directions)} directions. "
                "Use a multi-objective backend (see `unitune backends`), e.g. optuna:nsga2"
            )
        if space.branches and not cls.unions:
            raise UnsupportedFeature(
                f"backend {cls.name!r} cannot search a union of sub-spaces (a list of "
                "param grids) that is no conditional space; use optuna:grid, or one space "
                "per run"
            )
        if space.conditional and caps.conditional == "refused":
            raise UnsupportedFeature(
                f"backend {cls.name!r} cannot search a conditional space (parameters with "
                "when=); see the conditional column of `unitune backends`"
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
        unknown = sorted(set(options) - set(accepted), key=repr)
        if unknown:
            raise InvalidOption(
                f"option {unknown[0]!r} is not accepted by backend {cls.name!r}; accepted: "
                f"{', '.join(sorted(accepted)) or 'none'}"
            )

    @classmethod
    def budget(cls, space: Space) -> int | None:
        """The number of trials after which the search of ``space`` is exhausted (a grid),
        or None. Known before any work, so a study with no bound is refused up front."""
        return None

    @classmethod
    def batch_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """The options of a ``deterministic=True`` run with ``n_workers > 1`` (batches of
        n_workers proposals): the engine's own setting for batches where the user set
        none (Optuna's TPE: ``constant_liar=True``)."""
        return dict(options)

    @classmethod
    def engine_seed(cls, seed: int | None, recorded: int) -> int | None:
        """The seed to build the engine with when the study already holds ``recorded``
        trials (see the module's docstring): ``resumed_seed`` unless the engine continues
        its own sequence from the ledger."""
        return resumed_seed(seed, recorded)

    # -- the engine ---------------------------------------------------------------------------
    def setup(self) -> None:
        """Build the engine's optimizer from ``self.space``/``self.options``."""

    def warm_start(self, records: Sequence[TrialRecord]) -> None:
        """Tell the engine the finished trials already in the ledger (resume, or a study
        begun with another backend). Engines that read the ledger themselves skip this."""


class Adapter(BaseAdapter):
    """An ask/tell engine: the driver asks, evaluates, writes the ledger, and tells."""

    @abstractmethod
    def ask(self) -> Proposal | _Wait | None:
        """The next point to evaluate, None when the search is exhausted, or ``WAIT`` when
        nothing can be proposed before a running proposal is told (never with none running)."""

    @abstractmethod
    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        """The outcome of a proposal (COMPLETE with values, PRUNED or FAIL)."""

    def observe(self, proposal: Proposal, outcome: Outcome) -> None:
        """The outcome of a point the engine did not propose (a queued trial the driver
        claimed). Defaults to ``tell``."""
        self.tell(proposal, outcome)

    def report(self, proposal: Proposal, step: int, value: float) -> bool:
        """Record an intermediate value of a running trial; return True to prune it."""
        assert proposal.trial_id is not None  # the driver reports begun trials only
        self.ledger.report(proposal.trial_id, step, value)
        return False


class StudyAdapter(Adapter):
    """An ask/tell engine that writes the ledger itself: ``ask`` creates the trial through
    ``self.ledger.engine_storage()`` and returns a Proposal with its ``trial_id`` and
    ``number``; ``tell`` finishes it. The engine also takes the study's queued trials
    itself, so the driver claims none for it."""


class Host(Protocol):
    """What the driver offers an engine that runs its own loop (``LoopAdapter.run``). The
    driver applies the study's rules (failures, callbacks, budget) in ``end``."""

    @property
    def objective(self) -> Objective:
        """The user's objective, to ship to the engine's workers."""

    @property
    def stopping(self) -> bool:
        """True once a callback asked the study to stop: start no new trial."""

    def begin(self, params: Mapping[str, Any]) -> Proposal:
        """Write a RUNNING trial for ``params`` the engine proposed."""

    def report(self, proposal: Proposal, step: int, value: float) -> None:
        """Record an intermediate value of a running trial."""

    def end(self, proposal: Proposal, outcome: Outcome) -> None:
        """Finish a trial (the ledger, the failure policy, the callbacks)."""

    def ran_on(self, proposal: Proposal, worker: str) -> None:
        """Record the host:pid of the engine's worker process that runs the trial."""

    def abandon(self, proposal: Proposal) -> None:
        """Record a trial cut short, so that a resume runs it again."""

    def queued(self, limit: int | None) -> list[TrialRecord]:
        """The study's queued (WAITING) trials the run should evaluate first, at most
        ``limit``, in the order ``claim_queued`` takes them."""

    def claim_queued(self) -> Proposal | None:
        """Take the next queued trial (RUNNING, ours), or None if another process did."""

    def replace_params(self, proposal: Proposal, params: Mapping[str, Any],
                       history: list[dict[str, Any]]) -> Proposal:
        """A running trial continues with other params (PBT): store them and the history;
        return the proposal with the new params."""

    def trial_count(self) -> int:
        """How many trials the study holds: the next new trial's number."""


class LoopAdapter(BaseAdapter):
    """An engine that runs trials itself (Ray Tune): ``run`` books each through ``host``.
    ``trial_timeout`` (seconds) and ``cut_after`` (the study's timeout, under
    ``timeout_policy='cut'``) are set by ``optimize``: the engine stops trials past them."""

    trial_timeout: float | None = None
    cut_after: float | None = None

    @abstractmethod
    def run(self, host: Host, target: int | None, deadline: float | None) -> bool:
        """Run up to ``target`` trials (None: until ``deadline``, a time.monotonic()
        value, or ``host.stopping``); return True if interrupted by Ctrl-C."""
