"""The tiers of the benchmark suite: which problems, backends, budgets and seeds.

- **t0**: a few problems, 3 seeds, small budgets; under 5 minutes on 2 cores. CI runs it
  twice and checks that ``results.json`` repeats byte for byte.
- **t1**: every family, 10 seeds; at most 90 minutes on 2 cores (``--jobs 2``). Its report
  is committed under ``benchmarks/results/t1/``.
- **tc**: the conditional family alone (a conditional space and the same problem
  flattened by hand), 10 seeds; about 10 minutes on 2 cores.
- **t2**: t1's problems with 25 seeds and twice the budgets, meant for a Ray cluster
  (``--ray-address``, ``--storage`` a database every node reaches).

A backend that a family's problems cannot take is left out of that family (``optuna:grid``
needs a grid; single-objective backends sit out the multi-objective family).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["TIERS", "Entry"]

BASELINE = "optuna:random"


@dataclass(frozen=True)
class Entry:
    """One problem of a tier: the backends (names or (label, backend, options)), the
    budget, the seeds and the workers of each study."""

    problem_name: str
    family: str
    backends: tuple[Any, ...]
    n_trials: int
    seeds: int
    n_workers: int = 1
    suffix: str = ""  # two entries of one problem (the parallel family's 1 and 2 workers)

    @property
    def key(self) -> str:
        return self.problem_name + self.suffix

    def problem(self) -> Any:
        from benchmarks.catalogue import problem

        return problem(self.problem_name)

    def only(self, wanted: Sequence[str]) -> Entry:
        """The entry with the backends named in ``wanted`` (by label or backend), and the
        baseline when any is left."""
        keep = tuple(b for b in self.backends if _label(b) in wanted or _backend(b) in wanted)
        if keep and BASELINE in self.backends and BASELINE not in keep:
            keep = (*keep, BASELINE)
        return replace(self, backends=keep)


def _label(b: Any) -> str:
    return b if isinstance(b, str) else b[0]


def _backend(b: Any) -> str:
    return b if isinstance(b, str) else b[1]


# The backends of each family. Those that cost seconds per trial at 100 trials (skopt's
# Gaussian process and forests) run where the t1 budget (90 min on 2 cores) allows.
# skopt's GP sits out the synthetic family at 100 trials: 140-280 s a run here (its
# acquisition is optimised from 10,000 points and 5 L-BFGS restarts every trial), 20x
# Optuna's GP; it runs in the ml family, at 30 trials.
SYNTHETIC = ("optuna:tpe", "optuna:gp", "optuna:cmaes", "optuna:qmc", "pymoo:ga", "pymoo:de",
             BASELINE)
# The GPs sit out the tabular family: over its 5 categorical parameters (43 one-hot
# dimensions) Optuna's GP took ~3 min a run here at 50 trials, skopt's forest ~25 s.
TABULAR = ("optuna:tpe", "pymoo:ga", BASELINE)
# skopt's GP runs here (30 trials: ~60 s a run of its own time); Optuna's GP is measured
# in the synthetic family.
ML = ("optuna:tpe", "optuna:cmaes", "skopt:gp", "pymoo:ga", BASELINE)
# Optuna's multi-objective TPE sits out: ~65 s a run at 500 trials here, growing with the
# square of the trials. 2,000 trials: 20 generations of 100 (below ~1,000, the 30-variable
# ZDT fronts are all beyond the reference point and every hypervolume is 0). Most of a
# run's time is the ledger (Optuna writes each of the 30 parameters as its own journal
# record): ~17 s a run in its own journal, 4 s in memory, for random search.
MULTI = ("pymoo:nsga2", "optuna:nsga2", BASELINE)
TABULAR_PROBLEMS = [f"hpobench-{d}" for d in ("phoneme", "vehicle", "australian", "kc1",
                                               "segment", "blood_transfusion", "credit_g")]
TABULAR_PROBLEMS += [f"fcnet-{d}" for d in ("naval_propulsion", "parkinsons_telemonitoring",
                                             "protein_structure", "slice_localization")]
# hpobench-car is left out: 44 of its 30,000 configurations reach accuracy 1.0, and 30
# random draws already expect 0.9991: it cannot tell backends apart.


def _family(family: str, names: Sequence[str], backends: Sequence[Any], n_trials: int,
            seeds: int, **kw: Any) -> list[Entry]:
    return [Entry(name, family, tuple(backends), n_trials, seeds, **kw) for name in names]


T0 = [
    *_family("synthetic", ["branin"], ("optuna:tpe", "optuna:cmaes", "pymoo:ga", BASELINE),
             20, 3),
    *_family("tabular", ["hpobench-kc1", "fcnet-protein_structure"],
             ("optuna:tpe", "pymoo:ga", BASELINE), 30, 3),
    *_family("ml", ["svm-digits"], ("optuna:tpe", BASELINE), 10, 3),
    *_family("multi-objective", ["hpobench-mo-credit_g"],
             ("pymoo:nsga2", "optuna:nsga2", BASELINE), 60, 3),
]

T1 = [
    *_family("synthetic", ["branin", "hartmann6", "ackley10", "rosenbrock6", "ackley-mixed"],
             SYNTHETIC, 100, 10),
    *_family("tabular", TABULAR_PROBLEMS, TABULAR, 50, 10),
    *_family("ml", ["svm-digits", "rf-breast", "xgb-diabetes"], ML, 30, 10),
    *_family("multi-objective", ["zdt1", "zdt2", "zdt3", "dtlz2", "hpobench-mo-credit_g"],
             MULTI, 2000, 10),
    # the anchor: NSGA-II at 20,000 evaluations (population 100 x 200 generations)
    # (its own family "anchor": one backend, so it stays out of the multi-objective ranks)
    *_family("anchor", ["zdt1"], ("pymoo:nsga2",), 20_000, 10, suffix="-20k"),
]


def _parallel(names: Sequence[str], n_trials: int, seeds: int) -> list[Entry]:
    """Each problem with 1 and with 2 workers per study (``benchmarks/parallel.py``)."""
    from benchmarks.parallel import BACKENDS

    chosen = tuple(b for b in BACKENDS if b[1] != "skopt:gp")  # ~50 s a run: see ml
    return [Entry(name, "parallel", chosen, n_trials, seeds, n_workers=w, suffix=f"-w{w}")
            for name in names for w in (1, 2)]


def _multifidelity(n_trials: int, seeds: int) -> list[Entry]:
    """Pruners and schedulers under one set of budget rules (``benchmarks/multifidelity``)."""
    from benchmarks.multifidelity import PAIRED_FULL_TRAINING, VARIANTS

    chosen = tuple(v for v in VARIANTS if v[0] != PAIRED_FULL_TRAINING)  # t2 has it
    return [Entry("mlp_digits", "multi-fidelity", chosen, n_trials, seeds)]


# The parallel family: its equal-time figures need the machine to itself, so the suite
# runs it last, one run at a time (suite.run_tier); two workers do not repeat bit for bit.
T1 += _multifidelity(30, 10)
T1 += _parallel(["branin+0.1s", "svm-digits"], 30, 10)
# t0's multi-fidelity entry: successive halving against full training (Optuna only: no
# Ray runtime to start, and one worker repeats bit for bit).
T0 += [replace(e, backends=tuple(v for v in e.backends if v[0] in ("tpe+sh", BASELINE)),
               n_trials=8, seeds=3) for e in _multifidelity(8, 3)]


def _t2() -> list[Entry]:
    """t1 with 25 seeds and twice the budgets, every multi-fidelity variant (ASHA's paired
    full training too) and the parallel family."""
    from benchmarks.multifidelity import VARIANTS

    out = [replace(e, n_trials=e.n_trials * 2, seeds=25) for e in T1
           if e.family not in ("multi-fidelity", "parallel")]
    out.append(Entry("mlp_digits", "multi-fidelity", tuple(VARIANTS), 60, 25))
    return out + _parallel(["branin+0.1s", "svm-digits"], 30, 25)


T2 = _t2()

# The conditional family, a tier of its own (t0 and t1 keep their committed reports): a
# space declared with when= searched natively (optuna:tpe, define-by-run, grouped; and
# TPE's default independent model for reference), flattened by the engine (skopt:gp,
# pymoo:ga), and flattened by hand (the -flat problem: every parameter always drawn).
TPE_INDEPENDENT = ("tpe-independent", "optuna:tpe", {"multivariate": False, "group": False})
SKOPT_FAST = ("skopt:gp", "skopt:gp", {"acq_optimizer": "sampling",
                                       "acq_optimizer_kwargs": {"n_points": 2000}})
TC = [
    Entry("cond-branches", "conditional",
          ("optuna:tpe", TPE_INDEPENDENT, SKOPT_FAST, "pymoo:ga", BASELINE), 40, 10),
    Entry("cond-branches-flat", "conditional", ("optuna:tpe", BASELINE), 40, 10),
]

TIERS: dict[str, list[Entry]] = {"t0": T0, "t1": T1, "t2": T2, "tc": TC}
