"""Resuming a stored study: it must have the space, directions and metrics it was
created with."""

from __future__ import annotations

import json
from typing import Any

from unitune.errors import StudyMismatch
from unitune.ledger._keys import METRICS_ATTR, SPACE_ATTR
from unitune.space import Space

__all__ = ["check_same_study"]


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)



def check_same_study(storage: Any, study_id: int, study_name: str, space: Space,
                      directions: tuple[str, ...], metrics: tuple[str, ...] | None) -> Any:
    """Refuse to resume a stored study with another space, direction or metrics (a study
    stored without a space gets this one). Returns the stored metric names."""
    stored_dirs = tuple(d.name.lower() for d in storage.get_study_directions(study_id))
    if stored_dirs != directions:
        raise StudyMismatch(
            f"study {study_name!r} was created with directions={list(stored_dirs)}, "
            f"not {list(directions)}; use the same direction(s) or another study name"
        )
    space_spec = space.to_dict()
    stored_space = storage.get_study_user_attrs(study_id).get(SPACE_ATTR)
    if stored_space is None:
        storage.set_study_user_attr(study_id, SPACE_ATTR, space_spec)
    elif _canonical(stored_space) != _canonical(json.loads(_canonical(space_spec))):
        stored = Space.from_dict(stored_space)
        diff = sorted(set(stored.names) ^ set(space.names)) or [
            n for n in space.names
            if n in stored and n in space and stored[n] != space[n]]
        raise StudyMismatch(
            f"study {study_name!r} was created with a different space "
            f"(differs in {diff or 'structure'}): stored {stored_space}; "
            "use the same space or another study name"
        )
    stored_metrics = storage.get_study_system_attrs(study_id).get(METRICS_ATTR)
    if metrics and stored_metrics and tuple(stored_metrics) != metrics:
        raise StudyMismatch(
            f"study {study_name!r} was created with metrics={stored_metrics}, not "
            f"{list(metrics)}"
        )
    return stored_metrics
