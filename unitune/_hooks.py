"""A callback that wants to know the study, not only its trials (an experiment tracker
opening one parent run per study, ``ut.integrations.MLflowCallback``), has either or
both of two methods besides ``__call__(record)``:

- ``on_study_start(info: StudyInfo)``: once, before the first trial of the call
  (``info``: the study's name, directions, metric names, backend and storage);
- ``on_study_end(result: Result | None)``: once, after the last trial: the ``Result``
  that ``optimize`` returns (``result.interrupted`` after Ctrl-C), or None when the study
  ended with an error (which ``optimize`` raises next).

Both run in the process that called ``optimize``, whatever the backend, as the
per-trial calls do. An error in ``on_study_start`` ends the study before any trial;
an ``on_study_end`` after an error that ends the study is logged, not raised, so the
study's own error is the one the caller sees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from unitune.records import Result

__all__ = ["StudyHooks", "StudyInfo"]

logger = logging.getLogger("unitune")


@dataclass(frozen=True)
class StudyInfo:
    """The study a callback's ``on_study_start`` is told about."""

    study_name: str
    directions: tuple[str, ...]
    metrics: tuple[str, ...] | None
    backend: str
    storage: str | None  # how the storage is named (password masked); None: in memory


class StudyHooks:
    """The ``on_study_start``/``on_study_end`` of the callbacks that have them."""

    def __init__(self, callbacks: Sequence[Callable[..., Any]], info: StudyInfo) -> None:
        self.info = info
        self.callbacks = list(callbacks)
        self._started: list[Any] = []

    def start(self) -> None:
        for callback in self.callbacks:
            start = getattr(callback, "on_study_start", None)
            if callable(start):
                start(self.info)
            self._started.append(callback)

    def end(self, result: Result) -> Result:
        """Each started callback told the study's result; the result."""
        started, self._started = self._started, []
        for callback in started:
            end = getattr(callback, "on_study_end", None)
            if callable(end):
                end(result)
        return result

    def failed(self) -> None:
        """Each started callback told the study ended with an error (None)."""
        started, self._started = self._started, []
        for callback in started:
            end = getattr(callback, "on_study_end", None)
            if not callable(end):
                continue
            try:
                end(None)
            except Exception as exc:  # the study's own error is the one raised
                logger.warning("callback %r: on_study_end failed: %s", callback, exc)
