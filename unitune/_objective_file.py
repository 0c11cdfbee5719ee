"""``FILE.py:FUNCTION`` on the command line: the objective, and what its file declares.

An objective file may declare, next to the function, ``SPACE`` (any space
``ut.Space.coerce`` reads) and ``DIRECTION = "maximize"`` (or ``DIRECTIONS =
[...]`` for several objectives). ``unitune run`` uses them when no ``--space`` or
``--direction`` is given. Without either, the study minimizes, and a run whose
objective looks like a score (its name, file, metrics or docstring say
accuracy, auc, f1, r2, score...) is warned once.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unitune.errors import UnituneError

__all__ = ["ObjectiveFile", "UsageError", "load_objective"]

_SCORES = frozenset({"accuracy", "acc", "auc", "roc", "f1", "r2", "score", "precision",
                     "recall", "ndcg"})
_DIRECTIONS = ("minimize", "maximize")


class UsageError(UnituneError, ValueError):
    """A mistake in the command line or its files: exit 2 with one line."""


@dataclass(frozen=True)
class ObjectiveFile:
    function: Any
    module: Any
    path: str  # as given
    study_name: str  # the default: FILE:FUNCTION

    def directions(self) -> list[str] | None:
        """``DIRECTIONS`` or ``[DIRECTION]`` declared in the file; None if neither."""
        one = getattr(self.module, "DIRECTION", None)
        many = getattr(self.module, "DIRECTIONS", None)
        if one is not None and many is not None:
            raise UsageError(f"{self.path} declares both DIRECTION and DIRECTIONS; keep one")
        if one is None and many is None:
            return None
        values = [one] if one is not None else many
        name = "DIRECTION" if one is not None else "DIRECTIONS"
        if isinstance(values, str) or not isinstance(values, (list, tuple)) or not values \
                or any(v not in _DIRECTIONS for v in values):
            wanted = "'minimize' or 'maximize'" if one is not None else \
                "a list of 'minimize'/'maximize', one per objective value"
            raise UsageError(f"{self.path}: {name} = {(one if one is not None else many)!r}; "
                             f"it must be {wanted}")
        return list(values)

    def score_hint(self, metrics: list[str] | None) -> str | None:
        """The word that makes this objective look like a score to maximize, if any."""
        doc = (getattr(self.function, "__doc__", None) or "").strip().splitlines()
        texts = [getattr(self.function, "__name__", ""), Path(self.path).stem,
                 *(metrics or ()), doc[0] if doc else ""]
        for text in texts:
            for word in re.findall(r"[a-z0-9]+", str(text).lower()):
                if word in _SCORES:
                    return word
        return None


def load_objective(spec: str) -> ObjectiveFile:
    """Import ``FILE.py`` under its own name (its folder on the path of this process and
    of the processes it starts, so Ray's workers unpickle the objective by name)."""
    path_text, sep, func_name = spec.rpartition(":")
    if not sep or not path_text or not func_name:
        raise UsageError(f"objective {spec!r} must be FILE.py:FUNCTION")
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"objective file {path_text!r} does not exist")
    folder = str(path.resolve().parent)
    module_name = path.stem
    if not module_name.isidentifier() or module_name in sys.modules:
        module_name = f"_unitune_objective_{abs(hash(folder))}_{path.stem}"
    sys.path.insert(0, folder)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (folder, os.environ.get("PYTHONPATH")) if p)
    try:
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise UsageError(f"objective file {path_text!r} is not a Python file")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module  # pickling by reference (parallel backends)
        module_spec.loader.exec_module(module)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error in the user's module
        raise UsageError(f"cannot load {path_text!r}: {type(exc).__name__}: {exc}") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        found = sorted(n for n, v in vars(module).items()
                       if callable(v) and getattr(v, "__module__", None) == module_name)
        raise UsageError(f"{path_text!r} has no function {func_name!r}; functions there: "
                         f"{', '.join(found) or 'none'}")
    return ObjectiveFile(func, module, path_text, f"{path.stem}:{func_name}")
