"""The ledger: where every trial of every backend is kept, in an Optuna storage.

``storage=None`` keeps trials in memory; a file path gives the embedded durable
store (Optuna's journal file with group commit, ``_journal.py``: an append-only log,
safe for several processes); ``sqlite:///...``, ``postgresql://...`` and
``mysql://...`` URLs give Optuna's RDB storage, with heartbeats (``_heartbeat.py``).
One schema whichever backend ran the trials (``_keys.py``), so a study can be
resumed, continued with another backend, listed and plotted (optuna-dashboard and
``optuna.visualization`` read it as they read any Optuna study).

- ``_ledger.py``: ``Ledger``, the only writer of a study;
- ``_budget.py``: the study's ``n_trials`` shared by processes, counted and reserved;
- ``_records.py``: Optuna's trials read as ``TrialRecord``;
- ``_stale.py``: RUNNING trials no unitune process started, and the budget;
- ``_storage.py``: opening a storage from what the user gave;
- ``_journal.py``, ``_lock.py``: the journal file, and its lock that names its owner;
- ``_wait.py``: waiting for a study another process is about to start.
"""

from __future__ import annotations

from unitune.ledger._budget import BudgetSpent, TrialsRead
from unitune.ledger._keys import INTERRUPTED_ATTR, RUN_ATTR
from unitune.ledger._ledger import Ledger
from unitune.ledger._records import counts_toward_budget
from unitune.ledger._stale import describe_unowned
from unitune.ledger._storage import open_storage
from unitune.ledger._wait import wait_for_study
from unitune.records import Result

__all__ = ["INTERRUPTED_ATTR", "RUN_ATTR", "BudgetSpent", "Ledger", "TrialsRead",
           "counts_toward_budget",
           "describe_unowned", "load", "open_existing", "open_storage", "wait_for_study"]


def open_existing(study_name: str, storage: object) -> Ledger:
    """The ledger of a study that is already stored (whichever backend ran it)."""
    return Ledger.existing(study_name, storage)


def load(study_name: str, storage: object) -> Result:
    """Read a stored study (whichever backend ran it) as a ``Result``."""
    return Ledger.existing(study_name, storage).result()
