"""The progress of a study while it runs: finished / total trials, failures and prunes,
the best value so far, elapsed time and the time left.

The figures are the study's, read from the ledger, so trials finished by other
processes (``unitune worker``, Ray's workers, several ``n_workers``) count too. On a
terminal it is a bar (``rich``) that redraws in place; elsewhere (CI logs, a file) a
plain line every ``every_trials`` trials or ``every_seconds`` seconds, and one at the
end. It is a trial callback, refreshed as well by a timer, so a study whose trials are
finished elsewhere moves too.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from typing import IO, Any

from unitune.records import TrialRecord

__all__ = ["Progress", "Tally"]


class Tally:
    """The study's trials counted from the ledger, incrementally (each read looks at the
    trials new or unfinished since the last): finished, failed, pruned, running, and the
    best value of each direction."""

    def __init__(self, ledger: Any) -> None:
        from unitune.ledger import TrialsRead

        self._ledger = ledger
        self._trials = TrialsRead(ledger.storage, ledger.study_id)  # only what changed
        self._signs = [1.0 if d == "minimize" else -1.0 for d in ledger.directions]
        self._best = [math.inf] * len(self._signs)  # signed: smaller is better
        self.finished = self.failed = self.pruned = self.running = 0
        self.best: list[float] = []

    def read(self) -> Tally:
        from optuna.trial import TrialState as OTS

        finished, unfinished = self._trials.read()
        for t in finished:
            self.finished += 1
            self.failed += t.state is OTS.FAIL
            self.pruned += t.state is OTS.PRUNED
            if t.state is OTS.COMPLETE and t.values is not None:
                self._best = [min(b, s * v) for b, s, v in zip(self._best, self._signs,
                                                                 t.values)]
        self.running = sum(t.state is OTS.RUNNING for t in unfinished)
        self.best = [s * b for s, b in zip(self._signs, self._best) if math.isfinite(b)]
        return self

    def detail(self) -> str:
        """``best 0.123 · 2 failed · 1 pruned`` (what is not zero)."""
        names = self._ledger.metrics
        if not self.best:
            words = ["no completed trial yet"]
        elif len(self.best) == 1:
            words = [f"best {self.best[0]:.6g}"]
        else:
            words = ["best of each: " + ", ".join(
                f"{names[i] if names else f'value{i}'} {b:.6g}"
                for i, b in enumerate(self.best))]
        words += [f"{n} {what}" for n, what in ((self.failed, "failed"),
                                                (self.pruned, "pruned"),
                                                (self.running, "running")) if n]
        return " · ".join(words)


class Progress:
    """A trial callback that shows the study's progress on ``stream`` (stderr)."""

    def __init__(self, ledger: Any, total: int | None, timeout: float | None, *,
                 stream: IO[str] | None = None, terminal: bool | None = None,
                 every_trials: int | None = None, every_seconds: float = 30.0) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._terminal = (terminal if terminal is not None
                          else bool(getattr(self._stream, "isatty", lambda: False)()))
        self._tally = Tally(ledger)
        self._name = ledger.study_name
        self._total, self._timeout = total, timeout
        self._every_trials = every_trials or max(1, (total or 100) // 10)
        self._every_seconds = every_seconds
        self._start = time.monotonic()
        self._last_line = (self._start, -1)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._bar: Any = None
        self._task: Any = None
        if self._terminal:
            self._start_bar()
        self._timer = threading.Thread(target=self._tick, name="unitune-progress",
                                       daemon=True)
        self._timer.start()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        console = Console(file=self._stream, force_terminal=True)
        self._bar = Bar(TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
                        TimeRemainingColumn(), TextColumn("{task.fields[detail]}"),
                        console=console, refresh_per_second=4)
        self._task = self._bar.add_task(self._name, total=self._total, detail="")
        self._bar.start()

    def __call__(self, record: TrialRecord | None = None) -> None:
        self._update(final=False)

    def _tick(self) -> None:
        while not self._stop.wait(1.0 if self._terminal else self._every_seconds):
            self._update(final=False)

    def _update(self, *, final: bool) -> None:
        with self._lock:
            try:
                tally = self._tally.read()
            except Exception:  # the storage went away as the study ended: no figure
                return
            if self._bar is not None:
                self._bar.update(self._task, completed=tally.finished, detail=tally.detail())
                return
            now = time.monotonic()
            since, at = self._last_line
            if tally.finished != at and (
                    final or tally.finished - max(at, 0) >= self._every_trials
                    or now - since >= self._every_seconds):
                self._stream.write(self._line(tally, now) + "\n")
                self._stream.flush()
                self._last_line = (now, tally.finished)

    def _line(self, tally: Tally, now: float) -> str:
        elapsed = now - self._start
        total = f"/{self._total}" if self._total else ""
        words = [f"{self._name}: {tally.finished}{total} trials", tally.detail(),
                 f"{_seconds(elapsed)} elapsed"]
        left = self._left(tally.finished, elapsed)
        if left is not None and (not self._total or tally.finished < self._total):
            words.append(f"~{_seconds(left)} left")
        return " · ".join(words)

    def _left(self, finished: int, elapsed: float) -> float | None:
        estimates = []
        if self._total and finished:
            estimates.append(elapsed / finished * max(self._total - finished, 0))
        if self._timeout is not None:
            estimates.append(max(self._timeout - elapsed, 0.0))
        return min(estimates) if estimates else None

    def close(self) -> None:
        """The last figures, then the bar (or the line) is left as it ends."""
        self._stop.set()
        self._timer.join()
        self._update(final=True)
        if self._bar is not None:
            self._bar.stop()


def _seconds(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``3 min 05 s``, ``1 h 02 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"
