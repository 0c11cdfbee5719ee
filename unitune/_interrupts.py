"""Ctrl-C: the first one stops the study, cleanly; the others wait for that.

Python's own SIGINT handler raises ``KeyboardInterrupt`` at every SIGINT, wherever the
main thread is: in the middle of asking the engine (a trial created and never
finished), of booking a trial that had just finished (its result lost), of the
recording of the trials cut short, of the summary or of the exit (a traceback, or
death by the signal: status -2 instead of 130). ``Interrupts`` is the handler that
replaces it: the first SIGINT raises ``KeyboardInterrupt`` only where that is safe
(``raise_ok``: around an objective running in the main thread, and in the ``unitune``
command outside the trial loop); elsewhere it is noted, and the trial loop stops at
its next step (``_driver.py``). Every later SIGINT is ignored.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Interrupts", "deferred"]


class Interrupts:
    """The SIGINT handler: ``count`` SIGINTs so far; the first raises where ``raise_ok``."""

    def __init__(self, previous: Any, raise_ok: bool) -> None:
        self.count = 0
        self.raise_ok = raise_ok
        self._previous = previous

    def __call__(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.count == 1 and self.raise_ok:
            raise KeyboardInterrupt

    @classmethod
    def install(cls) -> Interrupts | None:
        """Take over SIGINT where Python's own handler has it (not where the shell made
        the process ignore it, nor a handler of the user's, nor off the main thread)."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            return None
        handler = cls(signal.default_int_handler, raise_ok=True)
        signal.signal(signal.SIGINT, handler)
        return handler

    def finish(self, restore: bool) -> None:
        """No more KeyboardInterrupt from here on; ``restore``: the previous handler back
        (the Python process goes on), else later SIGINTs are ignored (it is exiting)."""
        self.raise_ok = False
        previous = self._previous
        if restore and signal.getsignal(signal.SIGINT) is self:
            signal.signal(signal.SIGINT, previous)


@contextmanager
def deferred() -> Iterator[Interrupts | None]:
    """While the trial loop runs: a SIGINT raises nothing (``raise_ok`` False) unless the
    loop allows it, and is seen in ``count``. The ``unitune`` command's handler is used
    as it is; Python's own is replaced for the while. None where SIGINT is not Python's
    to handle here (off the main thread, ignored, a handler of the user's)."""
    current = signal.getsignal(signal.SIGINT)
    if isinstance(current, Interrupts):
        handler: Interrupts | None = current
    elif threading.current_thread() is threading.main_thread() and \
            current is signal.default_int_handler:
        handler = Interrupts.install()
    else:
        handler = None
    if handler is None:
        yield None
        return
    saved = handler.raise_ok
    handler.raise_ok = False
    try:
        yield handler
    finally:
        handler.raise_ok = saved
        if handler is not current:
            handler.finish(restore=True)
