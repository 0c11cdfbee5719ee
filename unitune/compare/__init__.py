"""``ut.compare``: the same objective, space, budget and seeds for several backends, each
(backend, seed) a study in the ledger, and the tables and figures that say which won.

    cmp = ut.compare(objective, space, backends=["optuna:tpe", "skopt:gp"], n_trials=50,
                     seeds=5, storage="compare.journal", study_name="svm")
    cmp.summary()          # one row per backend: median best (IQR), normalised, mean rank
    cmp.report("report/")  # README.md with the tables, curves.png, curves-time.png
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from unitune._checks import check_directions, check_metrics, positive_int
from unitune.compare._cells import (
    Cell,
    Variant,
    cell_folder,
    cell_journal,
    check_seeds,
    check_variants,
    run_cell,
)
from unitune.compare._comparison import Comparison, Run, sorted_runs
from unitune.compare._fairness import NOTES, RULES, fair_options
from unitune.errors import InvalidOption, UnituneError
from unitune.records import Result
from unitune.space import Space

__all__ = ["Comparison", "Run", "compare"]

logger = logging.getLogger("unitune")


def compare(
    objective: Callable[..., Any],
    space: Any,
    *,
    backends: Sequence[Any],
    n_trials: int,
    seeds: int | Sequence[int] = 5,
    direction: str | None = None,
    directions: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    storage: Any = None,
    study_name: str | None = None,
    options: Mapping[str, Any] | None = None,
    n_workers: int = 1,
    optimum: float | None = None,
    reference: Sequence[float] | None = None,
    baseline: str | None = "optuna:random",
    fair: bool = True,
    cell_map: Callable[[Callable[[Cell], Result], list[Cell]], Iterable[Result]] | None = None,
    on_run: Callable[[Run], Any] | None = None,
) -> Comparison:
    """Run ``objective`` over ``space`` with every backend for every seed, ``n_trials``
    each, and return the ``Comparison``.

    ``backends`` holds backend names or ``(label, backend, options)`` variants; ``seeds``
    is a count k (seeds 0..k-1) or a list. Each (label, seed) is the study
    ``<study_name>/<label>/seed<k>`` in ``storage``: calling again with the same arguments
    reruns nothing (a study cut short is finished), and a fresh run with the same
    arguments gives the same numbers for every backend that repeats under a seed.
    ``baseline`` (random search) anchors the normalised score at 0 and is added when it
    is not among ``backends``; ``optimum`` (the known best value, or for several
    objectives the true front's hypervolume) anchors it at 1. ``fair`` applies the
    fairness rules (``unitune.compare._fairness``: populations sized to the budget).
    ``cell_map(run_cell, cells)`` runs the missing cells elsewhere (a process pool, Ray);
    it needs a ``storage`` every process reaches. A folder (a directory, or a path ending
    in ``/``) gives each cell its own journal, ``<folder>/<study_name>/<label>/seed<k>
    .journal``: no process replays others' trials. ``on_run(run)`` sees each run done.
    """
    space = Space.coerce(space)
    metric_names = check_metrics(metrics)
    dirs = check_directions(direction, directions, metric_names)
    n_trials, n_workers = positive_int(n_trials, "n_trials"), positive_int(n_workers,
                                                                           "n_workers")
    seed_list = check_seeds(seeds)
    _check_anchors(dirs, optimum, reference, baseline, cell_map, storage)
    name = study_name or "compare"
    variants = _variants(check_variants(backends), baseline, space, dirs, dict(options or {}),
                         n_trials, n_workers, fair)
    cells = [Cell(v, seed, f"{name}/{v.label}/seed{seed}", objective, space, dirs,
                  metric_names, n_trials, n_workers, _cell_storage(storage, name, v, seed))
             for v in variants for seed in seed_list]
    runs = _run_cells(cells, cell_map, on_run)
    meta = {"study_name": name, "n_trials": n_trials, "seeds": list(seed_list),
            "directions": list(dirs), "n_workers": n_workers, "optimum": optimum,
            "baseline": baseline, "fairness": RULES if fair else "off",
            "variants": [{"label": v.label, "backend": v.backend, "options": dict(v.options),
                          "note": v.note} for v in variants]}
    return Comparison(sorted_runs(runs, [v.label for v in variants]), dirs, n_trials,
                      seed_list, optimum=optimum, reference=_tuple(reference),
                      baseline=_baseline_label(variants, baseline), meta=meta)


def _tuple(reference: Sequence[float] | None) -> tuple[float, ...] | None:
    return None if reference is None else tuple(float(v) for v in reference)


def _check_anchors(dirs: tuple[str, ...], optimum: Any, reference: Any, baseline: Any,
                   cell_map: Any, storage: Any) -> None:
    from unitune._checks import is_number

    if cell_map is not None and storage is None:
        raise InvalidOption("cell_map= runs cells in other processes, which cannot reach an "
                            "in-memory study; give storage= (a journal file or a database "
                            "URL every process reaches)")

    if optimum is not None and not is_number(optimum):
        raise InvalidOption(f"optimum={optimum!r} must be a number (the known best value; "
                            "for several objectives the true front's hypervolume)")
    if reference is not None:
        if len(dirs) == 1:
            raise InvalidOption("reference= is the hypervolume reference point of several "
                                "objectives; this comparison has one direction")
        if not (isinstance(reference, Sequence) and len(reference) == len(dirs)
                and all(is_number(v) for v in reference)):
            raise InvalidOption(f"reference={reference!r} must hold {len(dirs)} numbers, one "
                                f"per direction {list(dirs)}")
    if baseline is not None and not isinstance(baseline, str):
        raise InvalidOption(f"baseline={baseline!r} must be a backend name (random search: "
                            "'optuna:random') or None")


def _variants(given: list[tuple[str, str, dict[str, Any]]], baseline: str | None,
              space: Space, dirs: tuple[str, ...], options: dict[str, Any], n_trials: int,
              n_workers: int, fair: bool) -> list[Variant]:
    """The variants with their final options, each checked against the space, the
    directions and the workers before any trial runs."""
    from unitune.optimize import _checked_backend

    if baseline is not None and not any(label == baseline or (b == baseline and not o)
                                        for label, b, o in given):
        given = [*given, (baseline, baseline, {})]
    out = []
    for label, backend, own in given:
        wanted = {**options, **own}
        final = (fair_options(backend, len(space), n_trials, wanted) if fair else wanted)
        try:
            adapter = _checked_backend(backend, space, dirs, final, n_workers)
        except UnituneError as error:
            raise type(error)(f"backends: {label!r}: {error}") from None
        out.append(Variant(label, adapter.name, final, NOTES.get(adapter.name)))
    return out


def _baseline_label(variants: list[Variant], baseline: str | None) -> str | None:
    if baseline is None:
        return None
    for v in variants:
        if v.label == baseline:
            return v.label
    return next(v.label for v in variants if v.backend == baseline and not v.options)


def _run_cells(cells: list[Cell], cell_map: Any, on_run: Any) -> list[Run]:
    """Every cell's run: those finished in the ledger read from it, the others run."""
    from unitune.ledger import counts_toward_budget, load, open_storage

    shared = len({str(c.storage) for c in cells}) == 1  # else a journal per cell
    storage = cells[0].storage if shared else None
    opened = None if storage is None else open_storage(storage)
    stored = set() if opened is None else {s.study_name for s in opened.get_all_studies()}
    runs: list[Run] = []
    missing: list[Cell] = []
    for cell in cells:
        result = (_stored(cell) if not shared else
                  load(cell.study_name, opened) if cell.study_name in stored else None)
        if result is not None and (sum(map(counts_toward_budget, result.trials))
                                   >= cell.n_trials):
            runs.append(_done(cell, result, on_run))
            continue
        missing.append(cell)
    if cell_map is None and opened is not None:  # one process: the storage opened once
        missing = [_with_storage(c, opened) for c in missing]
    for cell, result in zip(missing, (cell_map or map)(run_cell, missing)):
        runs.append(_done(cell, result, on_run))
    return runs


def _cell_storage(storage: Any, name: str, variant: Variant, seed: int) -> Any:
    """``storage``, or the cell's own journal when ``storage`` is a folder."""
    folder = cell_folder(storage)
    return storage if folder is None else cell_journal(folder,
                                                        f"{name}/{variant.label}/seed{seed}")


def _stored(cell: Cell) -> Result | None:
    """The run in a cell's own journal, if there is one."""
    from pathlib import Path

    from unitune.ledger import load, open_storage

    if not Path(cell.storage).exists():
        return None
    opened = open_storage(cell.storage)
    if cell.study_name not in {s.study_name for s in opened.get_all_studies()}:
        return None
    return load(cell.study_name, opened)


def _with_storage(cell: Cell, storage: Any) -> Cell:
    from dataclasses import replace

    return replace(cell, storage=storage)


def _done(cell: Cell, result: Result, on_run: Any) -> Run:
    if result.interrupted:  # Ctrl-C: the ledger keeps every finished trial
        logger.warning("comparison interrupted in study %r; the same call finishes it",
                       cell.study_name)
        raise KeyboardInterrupt
    run = Run(cell.variant.label, cell.variant.backend, cell.variant.options, cell.seed,
              result)
    if on_run is not None:
        on_run(run)
    return run
