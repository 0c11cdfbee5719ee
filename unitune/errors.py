"""The exceptions unitune raises.

Every error is a :class:`UnituneError` and also the builtin that fits it
(``ValueError``, ``TypeError``, ``ImportError``, ``OSError``), so callers can catch either.
"""

from __future__ import annotations

__all__ = [
    "BackendNotInstalled",
    "InvalidOption",
    "InvalidSpace",
    "ObjectiveError",
    "SpaceTypeError",
    "StopStudy",
    "StorageError",
    "StudyMismatch",
    "TrialPruned",
    "UnituneError",
    "UnknownBackend",
    "UnsupportedFeature",
]


class UnituneError(Exception):
    """Base class of every error unitune raises on bad input or a broken study."""


class InvalidSpace(UnituneError, ValueError):
    """A search-space parameter has an impossible value (bounds, step, choices...)."""


class SpaceTypeError(UnituneError, TypeError):
    """A search-space parameter has a value of the wrong type."""


class UnknownBackend(UnituneError, ValueError):
    """The backend name is not registered."""


class BackendNotInstalled(UnituneError, ImportError):
    """The engine behind a backend is not installed; the message names the extra."""


class UnsupportedFeature(UnituneError, ValueError):
    """The backend cannot express a feature of the space or of the study."""


class InvalidOption(UnituneError, ValueError):
    """An argument of optimize() or an option of a backend is not valid."""


class ObjectiveError(UnituneError, ValueError):
    """The objective returns something that does not fit the study (e.g. too many values)."""


class StorageError(UnituneError, OSError):
    """The storage cannot be opened: its folder does not exist, the database refuses the
    connection or the login. The message names the storage, its password masked."""


class StudyMismatch(UnituneError, ValueError):
    """A stored study is resumed with a different space, direction or metric."""


class TrialPruned(Exception):
    """Raised by ``trial.report`` when the backend stops the trial; objectives may raise it too.

    It is control flow, not an error: the trial is recorded as PRUNED.
    """


class StopStudy(Exception):
    """Raise from a callback to end the study once the running trials finish."""
