"""A rendezvous through files, for objectives that run in threads or in Ray's worker
processes: the first ``n`` calls wait for each other, so a test can show that trials ran
at the same time by what happened (files left behind), not by how long anything took."""

from __future__ import annotations

import os
import time
from pathlib import Path

WAIT_AT_MOST = 60.0  # seconds: only a bound for a failing run, never what makes a run pass


def take_seat(folder: str | os.PathLike, n: int) -> int | None:
    """Claim the first free one of ``n`` seats (``seat-0`` ... ``seat-{n-1}``, created
    atomically), or None if all are taken: later callers never disturb the first ``n``."""
    for seat in range(n):
        try:
            os.close(os.open(Path(folder, f"seat-{seat}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        return seat
    return None


def meet(folder: str | os.PathLike, n: int = 2) -> bool:
    """Called at the start of a trial: each of the first ``n`` calls waits (up to
    ``WAIT_AT_MOST``) until all ``n`` seats are taken, then leaves ``met-{seat}``.
    ``n`` such files prove that ``n`` trials were running at the same moment: each was
    still waiting when the last of them started. Later calls return at once."""
    seat = take_seat(folder, n)
    if seat is None:
        return False
    seats = [Path(folder, f"seat-{i}") for i in range(n)]
    deadline = time.monotonic() + WAIT_AT_MOST
    while not all(s.exists() for s in seats):
        if time.monotonic() >= deadline:
            return False  # no met- file: the test's assertion names the failure
        time.sleep(0.01)  # polling: how often to look, not how long to wait
    Path(folder, f"met-{seat}").touch()
    return True


def met(folder: str | os.PathLike) -> list[str]:
    """The ``met-*`` files left by :func:`meet`, sorted."""
    return sorted(name for name in os.listdir(folder) if name.startswith("met-"))
