"""``ut.ScriptParser``: the command line every tuning script shares.

A script built on it takes the flags ``unitune run`` takes, with the same names:
``--backend``, ``--n-trials``, ``--workers``, ``--seed``, ``--storage`` (and
``--study``, ``--quiet``; with ``execution=True`` also ``--executor``,
``--trial-timeout``, ``--trial-memory``, ``--deterministic``, which the script passes on with
``**ScriptParser.execution(args)``), so switching engine is one flag in every script. With
``--storage`` the study is named SCRIPT/BACKEND unless ``--study`` says otherwise,
so the same command again resumes it, and another backend starts its own. The backend is
checked when the flags are read, before any data is loaded: an unknown or
uninstalled backend, or one that cannot do what the script needs
(``needs={"multi_objective"}``), is refused in one line that says why and names
the backends that can.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from unitune._text import trial_line
from unitune.records import TrialRecord

__all__ = ["ScriptParser", "non_negative_int", "positive"]

_NEEDS = {
    "multi_objective": "several objectives",
    "pruning": "pruning (stopping trials early from trial.report)",
    "parallel": "trials in parallel",
    "checkpoints": "trial.checkpoint / trial.restore",
    "constraints": "constraints (trial.constraint)",
}


def positive(kind: type) -> Any:
    """An argparse type: a ``kind`` (int, float) above 0."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
        return value
    return parse


def non_negative_int(text: str) -> int:
    """An argparse type: an int, 0 or more (a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def _memory(text: str) -> str:
    """An argparse type: a size such as 4GB or 512MiB (``trial_memory``)."""
    from unitune._executor import check_memory
    from unitune.errors import InvalidOption

    try:
        check_memory(text)
    except InvalidOption:
        raise argparse.ArgumentTypeError(f"{text!r} must be a size such as 512MB, 4GB or "
                                         "4GiB, or a number of bytes") from None
    return text


class ScriptParser(argparse.ArgumentParser):
    """An ``argparse.ArgumentParser`` with unitune's common flags, checked on parse.

    ``description`` is the script's docstring: its first line becomes the
    description and the rest is shown by ``--help``. ``backend`` and ``n_trials``
    are the script's defaults. ``needs`` names capabilities the script relies on
    (``multi_objective``, ``pruning``, ``parallel``, ``checkpoints``,
    ``constraints``); ``refuse`` maps an engine (``"skopt"``) or a backend
    (``"optuna:grid"``) to the reason the script cannot run on it.
    """

    def __init__(self, description: str | None, *, backend: str, n_trials: int | None,
                 workers: int = 1, seed: int | None = 0, needs: Iterable[str] = (),
                 refuse: Mapping[str, str] | None = None, execution: bool = False,
                 **kwargs: Any) -> None:
        head, _, rest = (description or "").strip().partition("\n")
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(description=head, epilog=rest.strip() or None, **kwargs)
        unknown = set(needs) - set(_NEEDS)
        if unknown:
            raise ValueError(f"needs={sorted(unknown)}: capabilities are {sorted(_NEEDS)}")
        self.needs = tuple(needs)
        self.refuse = dict(refuse or {})
        self.add_argument("--backend", default=backend,
                          help=f"engine:algorithm, see `unitune backends` (default {backend})")
        self.add_argument("--n-trials", type=positive(int), default=n_trials,
                          help=f"trials to run (default {n_trials})")
        self.add_argument("--workers", type=positive(int), default=workers,
                          help=f"trials in parallel (default {workers})")
        self.add_argument("--seed", type=non_negative_int, default=seed,
                          help=f"seed of the search (default {seed})")
        self.add_argument("--storage", default=None, help="journal file or database URL "
                          "to keep the trials in; the same command again resumes the "
                          "study (default: in memory)")
        self.add_argument("--study", default=None, help="study name in --storage (default "
                          "SCRIPT/BACKEND, e.g. grid/optuna:grid)")
        self.add_argument("--quiet", action="store_true", help="no line per trial")
        self.execution_flags = execution  # only a script that passes execution(args) on
        if execution:
            self._add_execution_flags()

    def _add_execution_flags(self) -> None:
        self.add_argument("--executor", choices=["thread", "process"], default=None,
                          help="where trials run (default thread; process: a crash fails "
                          "only its trial, and --trial-timeout/--trial-memory can stop one)")
        self.add_argument("--trial-timeout", type=positive(float), default=None,
                          metavar="SECONDS", help="kill a trial running longer (FAIL 'timed "
                          "out'); needs --executor process (or a Ray backend)")
        self.add_argument("--trial-memory", type=_memory, default=None, metavar="SIZE",
                          help="cap each trial's process at this much memory, e.g. 4GB "
                          "(FAIL 'out of memory'); needs --executor process")
        self.add_argument("--deterministic", action="store_true", help="with --workers N > "
                          "1, trials in batches of N told in proposal order: the same --seed "
                          "gives the same trials whatever their timing (not on Ray)")

    def error(self, message: str) -> NoReturn:
        """One line, exit 2 (argparse prints the whole usage first)."""
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed = super().parse_args(args, namespace)
        parsed.backend = self._check_backend(parsed.backend)
        if self.execution_flags:
            self._check_execution(parsed)
        if parsed.study is None:  # one study per script and backend: a rerun resumes it
            parsed.study = f"{Path(self.prog).stem}/{parsed.backend}"
        return parsed

    def _check_backend(self, name: str) -> str:
        from unitune.adapters import backends, get
        from unitune.errors import UnknownBackend

        try:
            cls = get(name)
        except UnknownBackend as exc:
            self.error(f"--backend: {exc}")
        if not cls.installed():
            self.error(f"--backend {cls.name}: {cls.engine} is not installed; install it "
                       f"with: pip install 'unitune[{cls.extra}]'")
        for key in (cls.name, cls.engine):
            if key in self.refuse:
                self.error(f"--backend {cls.name}: {self.refuse[key]}")
        for need in self.needs:
            if not getattr(cls.capabilities, need):
                able = [b.name for b in backends() if getattr(b.capabilities, need)
                        and b.name not in self.refuse and b.engine not in self.refuse]
                self.error(f"--backend {cls.name}: this script needs {_NEEDS[need]}, which "
                           f"{cls.name} does not do; backends that do: {', '.join(able)}")
        return cls.name

    def _check_execution(self, parsed: argparse.Namespace) -> None:
        from unitune.adapters import get
        from unitune.adapters.base import LoopAdapter

        cls = get(parsed.backend)
        ray = issubclass(cls, LoopAdapter)
        if parsed.deterministic and not cls.capabilities.deterministic:
            self.error(f"--deterministic: not supported on {parsed.backend}: "
                       f"{cls.not_deterministic}")
        if ray and parsed.executor == "thread":
            self.error(f"--executor thread: backend {parsed.backend} runs every trial in a "
                       "Ray worker process already; use --executor process (or leave it out)")
        if ray and parsed.trial_memory is not None:
            self.error(f"--trial-memory: not supported on {parsed.backend}: Ray starts its "
                       "worker processes, and unitune cannot cap them; use an ask/tell "
                       "backend with --executor process")
        for flag, given in (("--trial-timeout", parsed.trial_timeout),
                            ("--trial-memory", parsed.trial_memory)):
            if given is not None and parsed.executor != "process" and not ray:
                self.error(f"{flag} needs --executor process: a trial running in a thread "
                           "cannot be stopped or limited on its own, a worker process can")

    @staticmethod
    def execution(args: argparse.Namespace) -> dict[str, Any]:
        """``executor=``, ``trial_timeout=``, ``trial_memory=`` and ``deterministic=`` for
        ``ut.optimize``, as the flags gave them: ``ut.optimize(...,
        **ScriptParser.execution(args))``."""
        return {"executor": args.executor, "trial_timeout": args.trial_timeout,
                "trial_memory": args.trial_memory, "deterministic": args.deterministic}

    @staticmethod
    def callbacks(args: argparse.Namespace) -> list[Callable[[TrialRecord], None]]:
        """``callbacks=`` for ``ut.optimize``: a line per finished trial, unless --quiet."""
        if args.quiet:
            return []

        def show(record: TrialRecord) -> None:
            print(trial_line(record), file=sys.stdout, flush=True)

        return [show]

    @staticmethod
    def banner(args: argparse.Namespace, goal: str) -> str:
        """The run's first line: what is optimised, in which direction, by what.
        ``goal`` says it, e.g. ``"maximize 5-fold accuracy"``."""
        budget = "its whole grid" if args.n_trials is None else f"{args.n_trials} trials"
        workers = f", {args.workers} workers" if args.workers > 1 else ""
        return f"{goal} with {args.backend}, {budget}, seed {args.seed}{workers}"
