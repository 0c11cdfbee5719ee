"""pymoo backends: NSGA-II, NSGA-III, a genetic algorithm and differential evolution.

pymoo's own ask/tell drives the search: ``algorithm.ask()`` gives a whole
generation, whose individuals the driver evaluates one by one (in parallel with
``n_workers > 1``); when every individual of it is told, ``algorithm.tell``
gets the population. Given the same seed, pymoo proposes exactly what its own
``minimize`` would: an objective evaluated per individual gives the same
generations as pymoo's vectorised call.

The space: a space of continuous Floats is pymoo's real box (log Floats in log
coordinates), so the algorithms run with their own default operators. Any Int,
stepped Float or Categorical makes it a pymoo mixed-variable problem for
NSGA-II/III and GA (Integer lattice indices, Choice over category indices with
uniform crossover and random-choice mutation, so categories have no order).
DE has no mixed operators: it searches a box where Ints, steps and categories
are rounded from a coordinate. Values always come back as the user's, of their
types.

Failed or pruned trials are infeasible for pymoo: constraint violation
``FAILED_CV`` (worse than any declared constraint), objective values the worst
seen so far; they never survive over a trial that completed.
``trial.constraint(...)`` values are pymoo's inequality constraints (<= 0).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from unitune._checks import check_bool, check_number
from unitune.adapters import register
from unitune.adapters.base import WAIT, Adapter, Capabilities, Outcome, Proposal, _Wait
from unitune.adapters.pymoo._codec import Codec
from unitune.errors import InvalidOption, UnsupportedFeature
from unitune.records import TrialRecord, TrialState
from unitune.space import Space
from unitune.space._distributions import is_fixed

__all__ = ["FAILED_CV"]

FAILED_CV = 1e100  # the constraint violation of a failed trial: infeasible, ranked last


def _check_numbers(options: Mapping[str, Any], rules: Mapping[str, dict[str, Any]]) -> None:
    for key, rule in rules.items():
        if key in options:
            check_number(options[key], key, **rule)


class PymooAdapter(Adapter):
    """Shared by every pymoo algorithm; a subclass builds its algorithm."""

    engine = "pymoo"
    extra = "pymoo"
    requires: ClassVar[tuple[str, ...]] = ("pymoo",)
    capabilities = Capabilities(multi_objective=True, parallel=True, constraints=True,
                                conditional="flattened")
    box: ClassVar[bool] = False  # True: no mixed-variable operators (DE)

    @classmethod
    def accepted_options(cls) -> dict[str, str]:
        return {
            "pop_size": "individuals per generation (pymoo's default 100)",
            "n_offsprings": "new individuals per generation after the first (default pop_size)",
            "eliminate_duplicates": "drop offspring equal to another (default True)",
            "crossover_prob": "probability that a pair is recombined (SBX prob)",
            "crossover_eta": "SBX distribution index: larger keeps children near parents",
            "mutation_prob": "probability that an individual is mutated (PM prob)",
            "mutation_eta": "polynomial-mutation distribution index",
        }

    @classmethod
    def validate(cls, space: Space, directions: Sequence[str],
                 options: Mapping[str, Any]) -> None:
        super().validate(space, directions, options)
        if all(is_fixed(d) for d in space.values()):
            raise UnsupportedFeature(f"backend {cls.name!r}: every parameter of the space has "
                                     "a single value; there is nothing to search")
        _check_numbers(options, {
            "pop_size": {"integer": True, "low": 2}, "n_offsprings": {"integer": True, "low": 1},
            "crossover_prob": {"low": 0.0, "high": 1.0}, "mutation_prob": {"low": 0.0, "high": 1.0},
            "crossover_eta": {"low": 1e-9, "high": 1e6}, "mutation_eta": {"low": 1e-9, "high": 1e6}})
        if "eliminate_duplicates" in options:
            check_bool(options["eliminate_duplicates"], "eliminate_duplicates")

    # -- building the algorithm ---------------------------------------------------------------
    def operator_defaults(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The algorithm's own SBX and PM settings, kept where the user sets none."""
        return {"eta": 15, "prob": 0.9}, {"eta": 20}

    def operators(self) -> dict[str, Any]:
        """Algorithm keyword arguments for the user's operator options and for a mixed space
        (none: pymoo's own defaults, untouched)."""
        from pymoo.operators.crossover.sbx import SBX
        from pymoo.operators.mutation.pm import PM

        opts = self.options
        sbx, pm = self.operator_defaults()
        for key, target in (("crossover_prob", sbx), ("crossover_eta", sbx),
                            ("mutation_prob", pm), ("mutation_eta", pm)):
            if key in opts:
                target[key.split("_")[1]] = opts[key]
        custom = any(k.startswith(("crossover_", "mutation_")) for k in opts)
        if not self.codec.mixed:
            return {"crossover": SBX(**sbx), "mutation": PM(**pm)} if custom else {}
        from pymoo.core.duplicate import NoDuplicateElimination
        from pymoo.core.mixed import (
            MixedVariableDuplicateElimination,
            MixedVariableMating,
            MixedVariableSampling,
        )
        from pymoo.core.variable import Choice, Integer, Real
        from pymoo.operators.crossover.ux import UX
        from pymoo.operators.mutation.rm import ChoiceRandomMutation
        from pymoo.operators.repair.rounding import RoundingRepair

        dedupe = opts.get("eliminate_duplicates", True)
        elim = MixedVariableDuplicateElimination() if dedupe else NoDuplicateElimination()
        crossover = {Real: SBX(**sbx), Choice: UX(),
                     Integer: SBX(**sbx, vtype=float, repair=RoundingRepair())}
        mutation = {Real: PM(**pm), Choice: ChoiceRandomMutation(),
                    Integer: PM(**pm, vtype=float, repair=RoundingRepair())}
        return {"sampling": MixedVariableSampling(), "eliminate_duplicates": elim,
                "mating": MixedVariableMating(crossover=crossover, mutation=mutation,
                                              eliminate_duplicates=elim)}

    def common(self) -> dict[str, Any]:
        kw: dict[str, Any] = {k: self.options[k] for k in ("pop_size", "n_offsprings", "eliminate_duplicates")
              if k in self.options}
        return {**kw, **self.operators()}

    def make_algorithm(self) -> Any:
        raise NotImplementedError

    def make_problem(self) -> Any:
        import numpy as np
        from pymoo.core.problem import Problem

        class Unevaluated(Problem):
            """pymoo never evaluates it: unitune's driver evaluates every individual."""

            def _evaluate(self, x: Any, out: Any, *args: Any, **kwargs: Any) -> None:
                raise RuntimeError("unitune evaluates the population itself")

        m = len(self.directions)
        if self.codec.mixed:
            return Unevaluated(vars=self.codec.variables(), n_obj=m)
        xl, xu = self.codec.bounds()
        return Unevaluated(n_var=len(xl), n_obj=m, xl=np.array(xl), xu=np.array(xu))

    def setup(self) -> None:
        from pymoo.core.termination import NoTermination

        self.codec = Codec(self.space, box=self.box)
        self.problem = self.make_problem()
        try:
            self.algorithm = self.make_algorithm()
        except (TypeError, ValueError) as exc:
            raise InvalidOption(f"backend {self.name!r}, options {self.options!r}: "
                                f"{exc}") from None
        self.algorithm.setup(self.problem, termination=NoTermination(), seed=self.seed,
                             verbose=False)
        self._pop: Any = None  # the generation being evaluated
        self._queue: deque[int] = deque()
        self._waiting = 0  # individuals of it handed out and not yet told
        self._generation = 0
        self._worst: list[float] | None = None
        self._exhausted = False

    # -- warm start: the first population seeded from the ledger --------------------------------
    def warm_start(self, records: Sequence[TrialRecord]) -> None:
        import numpy as np
        from pymoo.core.population import Population
        from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

        done = [r for r in records if r.state is TrialState.COMPLETE and r.values is not None
                and len(r.values) == len(self.directions) and self.space.contains(r.params)]
        if not done:
            return
        signed = [self._signed(r.values or ()) for r in done]
        cv = [_violation(r.constraints) for r in done]
        feasible = [i for i in range(len(done)) if cv[i] <= 0]
        ranked = [feasible[i] for front in NonDominatedSorting().do(
            np.array([signed[i] for i in feasible])) for i in front] if feasible else []
        ranked += sorted((i for i in range(len(done)) if cv[i] > 0), key=lambda i: cv[i])
        size = self.algorithm.pop_size
        seeds = Population.new(X=[self.codec.encode(done[i].params) for i in ranked[:size]])
        for ind, i in zip(seeds, ranked[:size]):
            self._set(ind, signed[i], done[i].constraints, failed=False)
        if len(seeds) < size:
            fresh = self.algorithm.initialization.sampling(
                self.problem, size - len(seeds), random_state=self.algorithm.random_state)
            seeds = Population.merge(seeds, fresh)
        self.algorithm.initialization.sampling = seeds

    # -- ask / tell --------------------------------------------------------------------------
    def ask(self) -> Proposal | _Wait | None:
        if not self._queue:
            if self._waiting:
                return WAIT  # the generation is still being evaluated by other workers
            if not self._next_generation():
                return None
        i = self._queue.popleft()
        self._waiting += 1
        return Proposal(params=self.codec.decode(self._pop[i].X),
                        handle=(self._generation, i))

    def _next_generation(self) -> bool:
        while not self._exhausted:
            pop = self.algorithm.ask()
            if pop is None or len(pop) == 0:  # mating found no new (non-duplicate) point
                self._exhausted = True
                break
            self._generation += 1
            self._pop = pop
            self._queue = deque(i for i in range(len(pop)) if "F" not in pop[i].evaluated)
            if self._queue:
                return True
            self.algorithm.tell(infills=pop)  # a population seeded entirely from the ledger
        return False

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        handle = proposal.handle
        if not (isinstance(handle, tuple) and handle[0] == self._generation):
            return  # not of the running generation (an enqueued re-run): already recorded
        ind = self._pop[handle[1]]
        if outcome.state is TrialState.COMPLETE and outcome.values is not None:
            signed = self._signed(outcome.values)
            self._worst = signed if self._worst is None else [
                max(a, b) for a, b in zip(self._worst, signed)]
            self._set(ind, signed, outcome.constraints, failed=False)
        else:
            self._set(ind, self._worst or [0.0] * len(self.directions), None, failed=True)
        self._waiting -= 1
        if not self._queue and not self._waiting:
            self.algorithm.tell(infills=self._pop)
            self._pop = None

    def observe(self, proposal: Proposal, outcome: Outcome) -> None:
        """pymoo takes a generation at a time; a point it did not propose stays in the
        ledger and seeds the next run's first population."""

    def _signed(self, values: Sequence[float]) -> list[float]:
        return [v if d == "minimize" else -v for v, d in zip(values, self.directions)]

    def _set(self, ind: Any, signed: Sequence[float], constraints: Sequence[float] | None,
             failed: bool) -> None:
        import numpy as np

        g = np.array(constraints if constraints is not None else [], dtype=float)
        if failed or len(g):
            # pymoo keeps infeasible individuals apart only in a constrained problem
            self.problem.n_ieq_constr = max(self.problem.n_ieq_constr, len(g), 1)
        ind.F, ind.G, ind.H = np.array(signed, dtype=float), g, np.empty(0)
        ind.CV = np.array([FAILED_CV if failed else _violation(constraints)])
        ind.evaluated.update(("F", "G", "H"))


def _violation(constraints: Sequence[float] | None) -> float:
    return float(sum(max(0.0, c) for c in constraints or ()))


@register
class PymooNSGA2Adapter(PymooAdapter):
    name = "pymoo:nsga2"
    default = True
    description = "NSGA-II (pymoo): Pareto fronts, constraints, mixed spaces, generations"

    def make_algorithm(self) -> Any:
        from pymoo.algorithms.moo.nsga2 import NSGA2

        return NSGA2(**self.common())


@register
class PymooNSGA3Adapter(PymooAdapter):
    name = "pymoo:nsga3"
    description = "NSGA-III (pymoo): reference directions for many objectives"

    @classmethod
    def accepted_options(cls) -> dict[str, str]:
        return {**super().accepted_options(), "n_partitions":
                "Das-Dennis partitions per objective (default: most that fit pop_size)"}

    @classmethod
    def validate(cls, space: Space, directions: Sequence[str],
                 options: Mapping[str, Any]) -> None:
        super().validate(space, directions, options)
        _check_numbers(options, {"n_partitions": {"integer": True, "low": 1, "high": 10**6}})

    def operator_defaults(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"eta": 30, "prob": 1.0}, {"eta": 20}

    def make_algorithm(self) -> Any:
        from pymoo.algorithms.moo.nsga3 import NSGA3
        from pymoo.util.ref_dirs import get_reference_directions

        m = len(self.directions)
        size = self.options.get("pop_size", 100)
        p = self.options.get("n_partitions")
        if p is None:  # Das-Dennis gives C(p + m - 1, m - 1) directions: most that fit
            p = 1
            while m > 1 and math.comb(p + m, m - 1) <= size:
                p += 1
        ref_dirs = get_reference_directions("das-dennis", m, n_partitions=p)
        kw = self.common()
        kw.setdefault("pop_size", max(size, len(ref_dirs)))
        return NSGA3(ref_dirs, **kw)


@register
class PymooGAAdapter(PymooAdapter):
    name = "pymoo:ga"
    capabilities = Capabilities(multi_objective=False, parallel=True, constraints=True,
                                conditional="flattened")
    description = "genetic algorithm (pymoo), single objective, mixed spaces"

    def make_algorithm(self) -> Any:
        from pymoo.algorithms.soo.nonconvex.ga import GA

        return GA(**self.common())


@register
class PymooDEAdapter(PymooAdapter):
    name = "pymoo:de"
    box = True
    capabilities = Capabilities(multi_objective=False, parallel=True, constraints=True,
                                conditional="flattened")
    description = "differential evolution (pymoo), single objective, continuous box"

    @classmethod
    def accepted_options(cls) -> dict[str, str]:
        return {
            "pop_size": "individuals per generation (default 100)",
            "n_offsprings": "trial vectors per generation (default pop_size)",
            "variant": "DE/<rand|best|target-to-best>/<1|2>/<bin|exp> (default DE/best/1/bin)",
            "CR": "crossover rate in [0, 1]",
            "F": "differential weight (scale of the difference vector)",
            "jitter": "add a small random jitter to F",
        }

    @classmethod
    def validate(cls, space: Space, directions: Sequence[str],
                 options: Mapping[str, Any]) -> None:
        super().validate(space, directions, options)
        _check_numbers(options, {"CR": {"low": 0.0, "high": 1.0},
                                 "F": {"low": 1e-9, "high": 2.0}})
        if "jitter" in options:
            check_bool(options["jitter"], "jitter")
        variant = options.get("variant", "DE/best/1/bin")
        parts = variant.split("/") if isinstance(variant, str) else []
        if (len(parts) != 4 or parts[0] != "DE" or parts[1] not in ("rand", "best",
                "target-to-best") or parts[2] not in ("1", "2")
                or parts[3] not in ("bin", "exp")):
            raise InvalidOption(f"option variant={variant!r} must look like 'DE/rand/1/bin': "
                                "DE/<rand|best|target-to-best>/<1|2>/<bin|exp>")

    def make_algorithm(self) -> Any:
        from pymoo.algorithms.soo.nonconvex.de import DE

        return DE(**self.options)
