"""Overhead of unitune's pymoo:nsga2 over pymoo's own ``minimize``, per evaluation.

ZDT1 with 10 variables, NSGA-II with a population of 50, 1000 evaluations, the
same seed. pymoo evaluates a whole population in one vectorised call; unitune
hands each individual to the objective and writes it to the ledger (in memory
here). Runs are interleaved and the median of ``--repeats`` is reported, so
that a busy machine slows both sides alike. The per-individual cost of the
objective itself (ZDT1 on one row) is measured apart, to show what is
unitune's own bookkeeping.

    python benchmarks/overhead_pymoo.py --repeats 7
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unitune as ut  # noqa: E402
from benchmarks._timing import interleave, median, timed  # noqa: E402


def setup(n_var: int) -> tuple:
    from pymoo.problems import get_problem

    problem = get_problem("zdt1", n_var=n_var)
    names = [f"x{i}" for i in range(n_var)]
    space = ut.Space({n: ut.Float(0.0, 1.0) for n in names})

    def objective(params: dict) -> tuple:
        return tuple(problem.evaluate(np.array([[params[n] for n in names]]))[0])

    return problem, space, objective


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n-evals", type=int, default=1000)
    parser.add_argument("--pop-size", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.optimize import minimize

    problem, space, objective = setup(10)
    points = [dict(zip(space, row)) for row in np.random.default_rng(0).random((1000, 10))]

    def direct():
        return minimize(problem, NSGA2(pop_size=args.pop_size), ("n_evals", args.n_evals),
                        seed=args.seed)

    def ours():
        return ut.optimize(objective, space, backend="pymoo:nsga2", n_trials=args.n_evals,
                           directions=["minimize", "minimize"], seed=args.seed,
                           options={"pop_size": args.pop_size})

    def per_point():
        for p in points:
            objective(p)

    def front_direct(r: int) -> tuple[float, list]:
        d, res = timed(direct)
        return d, sorted(tuple(f) for f in res.F.tolist())  # type: ignore[attr-defined]

    def front_ours(r: int) -> tuple[float, list]:
        o, result = timed(ours)
        return o, sorted(t.values for t in result.pareto_front)  # type: ignore[attr-defined]

    runs = interleave({"direct": front_direct, "unitune": front_ours,
                       "objective": lambda r: timed(per_point)[0] * args.n_evals / len(points)},
                      args.repeats, warmup=[ours, direct])  # warm the imports on both sides
    t_direct, t_ours = [t for t, _ in runs["direct"]], [t for t, _ in runs["unitune"]]
    same = all(a == b for (_, a), (_, b) in zip(runs["unitune"], runs["direct"]))
    d, o, p = (median(t) for t in (t_direct, t_ours, runs["objective"]))
    report = {
        "direct_s": d, "unitune_s": o, "ratio": o / d,
        "overhead_ms_per_eval": (o - d) / args.n_evals * 1e3,
        "objective_per_individual_ms": p / args.n_evals * 1e3,
        "unitune_bookkeeping_ms_per_eval": (o - d - p) / args.n_evals * 1e3,
        "same_front": same,
    }
    print(f"ZDT1 n_var=10, NSGA-II pop {args.pop_size}, {args.n_evals} evaluations, seed "
          f"{args.seed}, median of {args.repeats} interleaved runs")
    print(f"  pymoo minimize (vectorised)  {d:.3f} s")
    print(f"  unitune pymoo:nsga2          {o:.3f} s   ratio {o / d:.2f}")
    print(f"  overhead per evaluation      {report['overhead_ms_per_eval']:.3f} ms "
          f"(objective on one row {report['objective_per_individual_ms']:.3f} ms, "
          f"unitune's bookkeeping {report['unitune_bookkeeping_ms_per_eval']:.3f} ms)")
    print(f"  same final front as pymoo: {same}")
    return report


if __name__ == "__main__":
    main()
