"""Engine log messages that repeat every trial are shown once per run.

Optuna's CMA-ES, GP and QMC samplers log the same warning for every trial (say,
"The parameter `kernel` in Trial#7 is sampled independently..."): a 100-trial run
printed 100 copies between the trial lines. During a run each distinct message
(digits aside) from an Optuna logger is shown the first time only.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator

__all__ = ["engine_messages_once"]

_DIGITS = re.compile(r"\d+")


class _Once(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, int, str]] = set()
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("optuna"):
            return True
        key = (record.name, record.levelno, _DIGITS.sub("#", record.getMessage()))
        with self.lock:
            if key in self.seen:
                return False
            self.seen.add(key)
        return True


@contextlib.contextmanager
def engine_messages_once() -> Iterator[None]:
    """While the block runs, show each distinct Optuna log message once."""
    root = logging.getLogger("optuna")
    once = _Once()
    # Optuna's messages are printed by the handlers of its root logger (records of its
    # child loggers reach them without passing the root logger's own filters).
    handlers = list(root.handlers)
    for handler in handlers:
        handler.addFilter(once)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(once)
