"""What the ``unitune`` commands share: the storage flag, ``--option KEY=VALUE`` and the
space of an objective file."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from unitune._objective_file import ObjectiveFile
from unitune._objective_file import UsageError as _UsageError

__all__ = ["DEFAULT_STORAGE", "add_deterministic_flag", "parse_option", "space_of",
           "storage_arg"]

DEFAULT_STORAGE = os.path.join(".unitune", "studies.journal")


def default_storage() -> str:
    return os.environ.get("UNITUNE_STORAGE", DEFAULT_STORAGE)


def storage_arg(args: argparse.Namespace, must_exist: bool = True) -> str:
    """The ``--storage`` of the command (default: the embedded journal); a file that
    must hold studies already is refused if it is not there."""
    if args.storage is not None and not args.storage.strip():
        raise _UsageError("--storage '' is empty; give a journal file path or a database URL")
    storage = args.storage or default_storage()
    if "://" not in storage and Path(storage).is_dir():  # never a journal: no wait
        raise _UsageError(f"storage {storage!r} is a directory, not a journal file; give the "
                          f"file, e.g. {os.path.join(storage, 'studies.journal')!r}")
    if must_exist and "://" not in storage and not Path(storage).is_file():
        raise _UsageError(f"storage file {storage!r} does not exist")
    return storage


def add_deterministic_flag(p: argparse.ArgumentParser) -> None:
    """``--deterministic`` (``ut.optimize(deterministic=True)``, ``unitune/_batches.py``)."""
    p.add_argument("--deterministic", action="store_true", help="with --workers N > 1, run "
                   "the trials in batches of N told to the engine in the order it proposed "
                   "them, so the same --seed gives the same trials whatever their timing "
                   "(in this process; a batch waits for its slowest trial). Not on Ray")


def parse_option(text: str) -> tuple[str, Any]:
    import yaml

    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise _UsageError(f"--option {text!r} must be KEY=VALUE (VALUE is read as YAML)")
    try:
        return key, yaml.safe_load(raw)
    except yaml.YAMLError:
        raise _UsageError(f"--option {text!r}: VALUE is not valid YAML") from None


def space_of(target: ObjectiveFile, given: str | None, objective: str) -> Any:
    """The ``--space`` file's space, else the ``SPACE`` the objective file declares, else
    None for a define-by-run objective (its one parameter is ``trial``)."""
    import unitune as ut

    if given is not None:
        return ut.Space.from_file(given)
    if getattr(target.module, "SPACE", None) is not None:
        return ut.Space.coerce(target.module.SPACE)
    if _takes_trial_only(target.function):
        return None  # the objective declares its space with trial.suggest_*
    raise _UsageError(f"give --space FILE.yaml (or define SPACE in {objective!r}, or write "
                      "the objective define-by-run: def objective(trial) calling "
                      "trial.suggest_float/int/categorical)")


def _takes_trial_only(function: Any) -> bool:
    """``def objective(trial)``: one positional parameter, named ``trial``."""
    import inspect

    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) == 1 and required[0].name == "trial"
