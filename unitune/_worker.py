"""What ``unitune worker`` may join, and which code it runs.

The ledger is data: whoever can write it can change which params the workers try,
never which code they run. A worker runs the objective given on its own command line;
the file recorded in the ledger runs only when the worker is told so
(``--objective-from-ledger``), and its path is printed first."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from unitune.errors import InvalidOption

__all__ = ["joined_space", "worker_objective"]


def worker_objective(study: str, settings: Mapping[str, Any], has_space: bool, *,
                     given: str | None, from_ledger: bool, options_given: bool) -> str:
    """``FILE.py:FUNCTION`` the worker runs, once the study is one it can join."""
    if not settings or not has_space:
        raise InvalidOption(f"study {study!r} was not started by unitune (no run settings in "
                            f"the ledger); start it with `unitune run ... --study {study}` "
                            "first")
    if settings["backend"].startswith("ray:"):
        raise InvalidOption(f"study {study!r} runs on {settings['backend']}: Ray backends "
                            "scale out through a Ray cluster, not workers; run it with "
                            "--ray-address HOST:PORT")
    if settings.get("options_not_stored") and not options_given:
        raise InvalidOption(f"study {study!r} was run with options that the ledger cannot "
                            "store (not JSON); give them with --option KEY=VALUE")
    recorded = settings.get("objective")
    command = f"unitune worker FILE.py:FUNCTION --study {study}"
    if given and from_ledger:
        raise InvalidOption(f"give FILE.py:FUNCTION or --objective-from-ledger, not both "
                            f"({given!r} and the ledger's {recorded!r})")
    if given:
        return given
    if recorded is None:
        raise InvalidOption(f"study {study!r} was started with an objective that is not a "
                            f"function in a file (a lambda or a closure); give it: {command}")
    if not from_ledger:
        raise InvalidOption(f"give the objective this worker runs: {command}; or "
                            "--objective-from-ledger to run the one the ledger names, "
                            f"{recorded!r}")
    if not Path(str(recorded).rpartition(":")[0]).is_file():
        raise InvalidOption(f"the study's objective file {str(recorded).rpartition(':')[0]!r} "
                            f"is not on this machine; give its copy here: {command}")
    return str(recorded)


def joined_space(study: str, stored: Any, module: Any) -> Any:
    """The space a worker runs: the ledger's, unless its choices include Python objects,
    which the ledger keeps as labels (``space/_choices.py``): then the ``SPACE`` the
    objective file declares (the study refuses it unless it is the same space)."""
    from unitune.space import Space
    from unitune.space._choices import labelled

    names = labelled(stored)
    if not names:
        return stored
    if getattr(module, "SPACE", None) is None:
        raise InvalidOption(f"study {study!r}: parameter {names[0]!r} has Python objects as "
                            "choices, which the ledger keeps as labels only; declare the "
                            "space the study was run with as SPACE in the objective file")
    return Space.coerce(module.SPACE)
