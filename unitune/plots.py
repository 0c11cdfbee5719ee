"""Pictures of a study, drawn by ``optuna.visualization``: ``result.plot(kind)``,
``ut.plot(results, kind)`` and ``unitune plot``.

Whichever engine ran it, a study is an Optuna study: a ``Result`` is turned into an
in-memory one (``study_of``: its trials with the space's distributions), a stored
study is read from its storage, and Optuna draws it (its matplotlib functions for a
Figure or a PNG, its plotly ones for HTML). A kind that does not fit the study
(``pareto`` of one objective, ``intermediate`` of a study that never reported...)
is refused in one line before anything is drawn (``_fit.py``).

Nothing here loads at ``import unitune``: Optuna, matplotlib and plotly load when a
picture is drawn.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from unitune._fit import KINDS, NO_START, check, target_of
from unitune.errors import BackendNotInstalled, InvalidOption
from unitune.ledger._keys import CONSTRAINTS_ATTR
from unitune.records import Result, TrialRecord, TrialState, use_plotter
from unitune.space._choices import codec_for, shown
from unitune.space._optuna import optuna_distributions, union_distributions

__all__ = ["KINDS", "draw", "plot", "study_of"]

_FUNCTIONS = {  # kind -> the name of Optuna's function, the same in both libraries
    "history": "plot_optimization_history", "importance": "plot_param_importances",
    "parallel": "plot_parallel_coordinate", "slice": "plot_slice", "contour": "plot_contour",
    "pareto": "plot_pareto_front", "intermediate": "plot_intermediate_values",
    "timeline": "plot_timeline", "edf": "plot_edf",
}


def plot(results: Result | Sequence[Result], kind: str, *, params: Sequence[str] | None = None,
         target: str | int | None = None, plotly: bool = False) -> Any:
    """A matplotlib Figure of ``kind`` (a plotly Figure with ``plotly=True``).

    ``results`` is one ``Result``, or several for ``edf``; ``params`` the params to draw
    (importance, parallel, slice, contour; default all); ``target`` the metric (name
    or index) to draw of a multi-objective study (default its first)."""
    many = results if isinstance(results, Sequence) else [results]
    if not all(isinstance(r, Result) for r in many) or not many:
        raise InvalidOption(f"ut.plot takes a ut.Result or a list of them, not "
                            f"{type(results).__name__}")
    return draw([study_of(r) for r in many], kind, params=params, target=target,
                 plotly=plotly)


def draw(studies: Sequence[Any], kind: str, *, params: Sequence[str] | None = None,
         target: str | int | None = None, plotly: bool = False) -> Any:
    """Draw Optuna ``studies`` (several for ``edf`` only), refused in one line first if
    ``kind`` does not fit them."""
    params = list(params) if params else None
    check(studies, kind, params, target)
    module = _library(plotly)
    kw: dict[str, Any] = {}
    if kind in ("importance", "parallel", "slice", "contour") and params:
        kw["params"] = params
    if kind in ("history", "importance", "parallel", "slice", "contour", "edf"):
        kw.update(target_of(studies, target))
    if kind == "importance":
        from optuna.importance import FanovaImportanceEvaluator

        kw["evaluator"] = FanovaImportanceEvaluator(seed=0)  # the same figure each time
    if kind == "pareto" and studies[0].metric_names:  # infeasible trials are drawn apart:
        kw["target_names"] = list(studies[0].metric_names)  # Optuna reads CONSTRAINTS_ATTR
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*experimental")  # Optuna's matplotlib
        drawn = getattr(module, _FUNCTIONS[kind])(
            studies if kind == "edf" else studies[0], **kw)
    names = ", ".join(s.study_name for s in studies)
    if plotly:
        drawn.update_layout(title_text=f"{drawn.layout.title.text}: {names}")
        return drawn
    import numpy as np

    axes = np.asarray(drawn).ravel()
    _name(axes[0].figure, axes[0], names)
    legend = axes[0].get_legend()
    if kind == "intermediate" and legend is not None and len(legend.get_texts()) > 10:
        legend.remove()  # a line per trial: past ten names the legend hides the plot
    return axes[0].figure


def _name(figure: Any, axes: Any, names: str) -> None:
    """Optuna's title (the figure's, or its axes'), followed by the studies drawn."""
    title = figure.get_suptitle()  # slice and contour of several params have one
    if title:
        figure.suptitle(f"{title}: {names}")
        return
    loc = next((loc for loc in ("center", "left", "right") if axes.get_title(loc)), "center")
    axes.set_title(f"{axes.get_title(loc)}: {names}", loc=loc)


def _library(plotly: bool) -> Any:
    name, module = (("plotly", "optuna.visualization") if plotly
                    else ("matplotlib", "optuna.visualization.matplotlib"))
    try:
        __import__(name)
    except ImportError:
        raise BackendNotInstalled(f"drawing a study needs {name}: pip install "
                                  "'unitune[viz]'") from None
    import importlib

    return importlib.import_module(module)


# -- a Result as an Optuna study --------------------------------------------------------
def study_of(result: Result) -> Any:
    """An in-memory Optuna study holding ``result``'s trials, their params under the
    space's distributions (inferred from the values when the Result has no space, or a
    param is out of it)."""
    import optuna
    from optuna.study import StudyDirection

    codec = None if result.space is None else codec_for(result.space)
    if codec is not None:  # objects as their labels, quantile params over their values
        result = shown(codec, result)
    storage = optuna.storages.InMemoryStorage()
    storage.create_new_study([StudyDirection[d.upper()] for d in result.directions],
                             result.study_name)
    study = optuna.load_study(study_name=result.study_name, storage=storage)
    if result.metrics:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*experimental")
            study.set_metric_names(list(result.metrics))
    trials = [t for t in result.trials if t.state is not TrialState.WAITING]
    fallback = _inferred(trials)
    by_space = _space_distributions(result)
    for t in trials:
        dists = by_space(t.params)
        if dists is None or not _contained(t.params, dists):
            dists = {k: fallback[k] for k in t.params}
        study.add_trial(_frozen(t, dists))
    return study


def _space_distributions(result: Result) -> Callable[[Any], dict[str, Any] | None]:
    space = result.space
    if space is None:
        return lambda params: None
    if not space.branches:
        single = optuna_distributions(space)  # a conditional space: the active ones
        return lambda params: single if len(params) == len(single) else {
            k: single[k] for k in params if k in single}
    pairs = list(zip(space.branches, union_distributions(space)))
    return lambda params: next((d for b, d in pairs if b.contains(params)), None)


def _contained(params: Any, dists: dict[str, Any]) -> bool:
    if set(params) != set(dists):
        return False
    try:
        return all(d._contains(d.to_internal_repr(params[k])) for k, d in dists.items())
    except (ValueError, TypeError):
        return False


def _inferred(trials: Sequence[TrialRecord]) -> dict[str, Any]:
    """Each param's distribution from the values the trials hold: a range of ints or of
    floats, else the choices seen."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    seen: dict[str, list[Any]] = {}
    for t in trials:
        for k, v in t.params.items():
            seen.setdefault(k, []).append(v)
    out: dict[str, Any] = {}
    for k, values in seen.items():
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            out[k] = IntDistribution(min(values), max(values))
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out[k] = FloatDistribution(float(min(values)), float(max(values)))
        else:
            out[k] = CategoricalDistribution(list(dict.fromkeys(values)))
    return out


def _frozen(t: TrialRecord, dists: dict[str, Any]) -> Any:
    import math

    from optuna.trial import FrozenTrial
    from optuna.trial import TrialState as OTS

    state = OTS[t.state.value]
    values = list(t.values) if t.values is not None else None
    if state is OTS.COMPLETE and values is not None and any(map(math.isnan, values)):
        state, values = OTS.FAIL, None  # Optuna keeps no NaN value
    if state is OTS.FAIL:
        values = None
    start = t.datetime_start or datetime(1970, 1, 1)  # a Result built by hand has none
    complete = start + timedelta(seconds=t.duration or 0.0) if state.is_finished() else None
    system: dict[str, Any] = {} if t.datetime_start else {NO_START: True}
    if t.constraints is not None:
        system[CONSTRAINTS_ATTR] = list(t.constraints)
    return FrozenTrial(
        number=t.number, state=state, value=None, values=values, datetime_start=start,
        datetime_complete=complete, params=dict(t.params), distributions=dists,
        user_attrs=dict(t.user_attrs), system_attrs=system,
        intermediate_values=dict(t.intermediate), trial_id=t.number)


use_plotter(plot)  # result.plot(kind) is plot(result, kind)
