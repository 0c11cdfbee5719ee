"""The cells of a comparison: one study per (variant, seed), checked before any trial,
run (or found finished in the ledger) one by one or through the caller's map."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unitune._checks import is_number
from unitune.errors import InvalidOption
from unitune.records import Result

__all__ = ["Cell", "Variant", "cell_folder", "cell_journal", "check_seeds", "check_variants",
           "run_cell"]


@dataclass(frozen=True)
class Variant:
    """A backend as the comparison runs it: its label (a column of every table), the
    backend, and the options it is given (the fairness rules' and the caller's)."""

    label: str
    backend: str
    options: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True)
class Cell:
    """One study of a comparison: a variant with one seed. Everything ``ut.optimize``
    needs travels with it, so that a cell runs in another process or on a Ray cluster."""

    variant: Variant
    seed: int
    study_name: str
    objective: Callable[..., Any]
    space: Any
    directions: tuple[str, ...]
    metrics: tuple[str, ...] | None
    n_trials: int
    n_workers: int
    storage: Any


def run_cell(cell: Cell) -> Result:
    """Run (or finish) one cell: the trials still missing from its study are run."""
    from unitune.optimize import optimize

    return optimize(cell.objective, cell.space, backend=cell.variant.backend,
                    directions=cell.directions, metrics=cell.metrics,
                    n_trials=cell.n_trials, n_workers=cell.n_workers, seed=cell.seed,
                    storage=cell.storage, study_name=cell.study_name,
                    options=cell.variant.options)


def cell_folder(storage: Any) -> Path | None:
    """The folder of one journal per cell, when ``storage`` names one (an existing
    directory, or a path ending in a separator); None for one storage for every cell."""
    if isinstance(storage, os.PathLike) or (isinstance(storage, str) and "://" not in storage):
        text = os.fspath(storage)
        if text.endswith(("/", os.sep)) or Path(text).is_dir():
            return Path(text)
    return None


def cell_journal(folder: Path, study_name: str) -> str:
    """``<folder>/<study_name>.journal``, the study name's ``/`` as subfolders (made)."""
    parts = [part for part in study_name.split("/") if part]
    if any(part in (".", "..") or os.sep in part for part in parts):
        raise InvalidOption(f"study_name={study_name!r} cannot name a journal inside "
                            f"storage={str(folder)!r}: no '.' or '..' parts")
    path = folder.joinpath(*parts[:-1], parts[-1] + ".journal")
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def check_seeds(seeds: Any) -> tuple[int, ...]:
    """``seeds=k`` means 0..k-1; a list is taken as given (distinct, non-negative)."""
    if is_number(seeds, integer=True) and not isinstance(seeds, bool):
        if seeds < 1:
            raise InvalidOption(f"seeds={seeds!r} must be at least 1 (seeds=k runs seeds "
                                "0..k-1), or a list of non-negative integers")
        return tuple(range(int(seeds)))
    if isinstance(seeds, Iterable) and not isinstance(seeds, (str, bytes, Mapping)):
        out = list(seeds)
        if out and all(is_number(s, integer=True) and not isinstance(s, bool) and s >= 0
                       for s in out) and len(set(out)) == len(out):
            return tuple(int(s) for s in out)
    raise InvalidOption(f"seeds={seeds!r} must be a positive count k (seeds 0..k-1) or a "
                        "non-empty list of distinct non-negative integers")


_LABEL = re.compile(r"^[^/\s][^/]*$")


def check_variants(backends: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """``backends`` as (label, backend, options): a name stands for (name, name, {})."""
    if isinstance(backends, (str, bytes)) or not isinstance(backends, Iterable):
        raise InvalidOption(f"backends={backends!r} must be a list of backend names or of "
                            "(label, backend, options) tuples")
    out: list[tuple[str, str, dict[str, Any]]] = []
    for item in backends:
        if isinstance(item, str):
            out.append((item, item, {}))
        elif (isinstance(item, Sequence) and len(item) == 3 and isinstance(item[0], str)
              and isinstance(item[1], str) and isinstance(item[2], Mapping)):
            out.append((item[0], item[1], dict(item[2])))
        else:
            raise InvalidOption(f"backends: {item!r} must be a backend name like "
                                "'optuna:tpe' or a (label, backend, options) tuple")
    if not out:
        raise InvalidOption("backends= is empty; name at least one backend, e.g. "
                            "['optuna:tpe', 'optuna:random']")
    labels = [label for label, _, _ in out]
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidOption(f"backends: label {label!r} must be non-empty and hold no "
                                "'/' (it names the studies <study_name>/<label>/seed<k>)")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise InvalidOption(f"backends: label(s) {duplicates} appear twice; give each variant "
                            "its own label: (label, backend, options)")
    return out

