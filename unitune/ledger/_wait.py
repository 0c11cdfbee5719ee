"""Waiting for a study that another process is about to start: ``unitune worker``
started before ``unitune run`` waits for the storage file, the study in it and the
settings the run records, instead of failing because it came first."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from unitune._secrets import storage_name
from unitune.errors import InvalidOption
from unitune.ledger._keys import SETTINGS_ATTR, SPACE_ATTR
from unitune.ledger._ledger import Ledger
from unitune.ledger._storage import open_storage

__all__ = ["wait_for_study"]

POLL_SECONDS = 0.2


def wait_for_study(study_name: str, storage: Any, seconds: float,
                   on_wait: Callable[[], None]) -> Ledger:
    """The ledger of ``study_name`` once ``storage`` holds it with the space and the
    settings of the run that started it, checked every ``POLL_SECONDS`` for up to
    ``seconds``; ``on_wait()`` is called once if it is not there at the first look.
    Past the wait, the study is opened as it is (``Ledger.existing`` says what is missing)."""
    deadline = time.monotonic() + seconds
    opened = None
    told = False
    while True:
        if opened is None and _exists(storage):
            opened = open_storage(storage)
        if (opened is not None and _started(opened, study_name)) \
                or time.monotonic() >= deadline:
            break
        if not told:
            on_wait()
            told = True
        time.sleep(POLL_SECONDS)
    if opened is None:
        raise InvalidOption(f"storage file {storage_name(storage)!r} does not exist"
                            + (f" (waited {seconds:g} s for a run to create it)" if told else ""))
    return Ledger.existing(study_name, storage)


def _exists(storage: Any) -> bool:
    """A journal file is there (opening one would create it); a database always is."""
    if isinstance(storage, os.PathLike) or (isinstance(storage, str) and "://" not in storage):
        return os.path.isfile(storage)
    return True


def _started(storage: Any, study_name: str) -> bool:
    """The study is there with its space and settings, or will never have them: a run
    records both before its first trial, so a study with trials and without them was
    not started by ``unitune run`` (``unitune worker`` says so at once)."""
    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        return False
    return (SETTINGS_ATTR in storage.get_study_system_attrs(study_id)
            and SPACE_ATTR in storage.get_study_user_attrs(study_id)
            ) or storage.get_n_trials(study_id) > 0
