"""Does a kind of plot fit the study? Each misfit is refused in one line that names the
study, the kind and what is missing, before anything is drawn (``unitune/plots.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from unitune.errors import InvalidOption

__all__ = ["KINDS", "NO_START", "check", "target_of", "value_index"]

KINDS = {  # kind -> what it shows (the figure's title, and `unitune plot --help`)
    "history": "objective value of each trial, and the best so far",
    "importance": "how much each param explains the objective (fANOVA)",
    "parallel": "each completed trial as a line through its params to its value",
    "slice": "the objective against each param",
    "contour": "the objective over each pair of params",
    "pareto": "the trials in objective space, the Pareto front marked",
    "intermediate": "the values each trial reported at each step",
    "timeline": "when each trial ran, and how it ended",
    "edf": "the share of trials at or below each objective value, per study",
}
NO_START = "unitune:no_start"  # system attr of a trial drawn without a start time
_TARGETED = ("history", "importance", "parallel", "slice", "contour", "edf")
_WITH_PARAMS = ("importance", "parallel", "slice", "contour")


def check(studies: Sequence[Any], kind: str, params: Sequence[str] | None,
          target: str | int | None) -> None:
    """Refuse, in one line, a ``kind`` that does not fit the Optuna ``studies``."""
    if kind not in KINDS:
        raise InvalidOption(f"kind {kind!r} is not a kind of plot; kinds: {', '.join(KINDS)}")
    if len(studies) != 1 and kind != "edf":
        raise InvalidOption(f"kind {kind!r} draws one study, not {len(studies)}; only 'edf' "
                            "draws several")
    if params and kind not in _WITH_PARAMS:
        raise InvalidOption(f"kind {kind!r} takes no params; params pick what "
                            f"{', '.join(_WITH_PARAMS)} draw")
    if target is not None and kind not in _TARGETED:
        raise InvalidOption(f"kind {kind!r} takes no target; target picks the value that "
                            f"{', '.join(_TARGETED)} draw")
    for study in studies:
        _check_one(study, kind, params, target)
    if kind == "edf":
        _same_direction(studies, target)


def _check_one(study: Any, kind: str, params: Sequence[str] | None,
               target: str | int | None) -> None:
    from optuna.trial import TrialState

    name = f"study {study.study_name!r}"
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state is TrialState.COMPLETE]
    if target is not None:
        value_index(study, target)
    if kind == "pareto" and not 2 <= len(study.directions) <= 3:
        raise InvalidOption(f"kind 'pareto' needs a study of 2 or 3 objectives; {name} has "
                            f"{len(study.directions)}")
    if kind == "intermediate" and not any(t.intermediate_values for t in trials):
        raise InvalidOption(f"kind 'intermediate' needs trials that report (trial.report); "
                            f"no trial of {name} reported a value")
    if kind == "timeline" and all(t.system_attrs.get(NO_START) for t in trials):
        raise InvalidOption(f"kind 'timeline' needs the trials' start times; {name} has "
                            f"{'none' if trials else 'no trial'}")
    if kind in ("intermediate", "timeline"):
        return
    least = 2 if kind in ("importance", "contour") else 1
    if len(done) < least:
        raise InvalidOption(f"kind {kind!r} needs {least} completed trial(s); {name} has "
                            f"{len(done)} of {len(trials)} trials")
    known = list(dict.fromkeys(k for t in done for k in t.params))
    missing = [p for p in params or () if p not in known]
    if missing:
        raise InvalidOption(f"param {missing[0]!r} is not a param of the completed trials "
                            f"of {name}; its params: {', '.join(known) or 'none'}")
    if kind in ("importance", "contour"):
        _two_params(study, kind, params, done)


def _two_params(study: Any, kind: str, params: Sequence[str] | None, done: list[Any]) -> None:
    """Importance ranks params and a contour crosses two: each needs 2 or more (for
    importance, params every completed trial holds: Optuna ranks those only)."""
    if kind == "importance":
        shared = set.intersection(*(set(t.params) for t in done))
        names = [p for p in (params or sorted(shared)) if p in shared]
        what = "params every completed trial holds"
    else:
        names = list(params or dict.fromkeys(k for t in done for k in t.params))
        what = "params"
    if len(names) < 2:
        raise InvalidOption(f"kind {kind!r} needs 2 {what} or more; study "
                            f"{study.study_name!r} draws {len(names)} "
                            f"({', '.join(names) or 'none'})")


def _same_direction(studies: Sequence[Any], target: str | int | None) -> None:
    """The studies an edf compares: the same value of each, going the same way."""
    first, (index, _) = studies[0], value_index(studies[0], target)
    for study in studies[1:]:
        other, _ = value_index(study, target)
        if other != index:
            raise InvalidOption(f"kind 'edf': target {target!r} is value {index} of study "
                                f"{first.study_name!r} but value {other} of study "
                                f"{study.study_name!r}; draw studies that list it alike")
        way, its = (s.directions[index].name.lower() for s in (first, study))
        if way != its:
            raise InvalidOption(f"kind 'edf' compares studies that go the same way: study "
                                f"{first.study_name!r} and study {study.study_name!r} "
                                f"{way} and {its} that value")


def value_index(study: Any, target: str | int | None) -> tuple[int, str]:
    """Which objective value of ``study`` is ``target`` (a metric name or an index;
    default the first), and its name."""
    names = list(study.metric_names or [])
    n = len(study.directions)
    labels = names or (["value"] if n == 1 else [f"values_{i}" for i in range(n)])
    if target is None:
        return 0, labels[0]
    if isinstance(target, str) and target in labels:
        return labels.index(target), target
    if isinstance(target, int) and not isinstance(target, bool) and 0 <= target < n:
        return target, labels[target]
    raise InvalidOption(f"target {target!r} is not a value of study {study.study_name!r}; "
                        f"its values: {', '.join(labels)} (or an index 0..{n - 1})")


def target_of(studies: Sequence[Any], target: str | int | None) -> dict[str, Any]:
    """Optuna's ``target`` and ``target_name`` for the value ``target`` of ``studies``
    (the same value of each, checked by ``check``)."""
    index, name = value_index(studies[0], target)
    out: dict[str, Any] = {"target_name": name}
    if any(len(s.directions) > 1 for s in studies):
        out["target"] = lambda t: t.values[index]
    return out
