"""Callbacks and results of ``SearchCV`` beyond ``ut.optimize``'s.

- scikit-learn 1.9's callbacks (``set_callbacks``) are called as ``GridSearchCV`` calls
  them: a ``fit`` task (its subtasks: the search, then the refit), the ``search`` task,
  one ``candidate-split-evaluation`` task per (candidate, fold) run by
  ``_fit_and_score``, and the ``refit-with-best-params`` task;
- scikit-optimize's ``optimizer_results_``: one ``OptimizerResult`` per search (``x`` the
  best point in sorted-name order, ``fun`` its negated score, ``x_iters``,
  ``func_vals``, as skopt minimises), and ``BayesSearchCV.fit``'s ``callback``: called
  with that result after every candidate; one that returns True ends the search.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from unitune.errors import StopStudy
from unitune.records import Result, TrialRecord, TrialState

__all__ = ["CallbackContexts", "OptimizerResult", "SkoptCallback", "managed",
           "optimizer_result"]


@contextlib.contextmanager
def managed(search: Any) -> Iterator[None]:
    """scikit-learn's teardown of the callbacks around ``fit`` (1.9 on; none before)."""
    try:
        from sklearn.callback._callback_support import callback_management_context
    except ImportError:  # scikit-learn < 1.9: no callbacks
        yield
        return
    with callback_management_context(search):
        yield


class CallbackContexts:
    """The contexts of one ``fit``; every method is a no-op without ``set_callbacks``
    (and on a scikit-learn without callbacks)."""

    def __init__(self, search: Any, X: Any, y: Any, metadata: dict[str, Any] | None) -> None:
        self.search = search
        self.X, self.y, self.metadata = X, y, metadata
        self.root: Any = None
        if hasattr(search, "_init_callback_context"):
            self.root = search._init_callback_context(
                max_subtasks=1 + (search.refit is not False))
            self.root.call_on_fit_task_begin(estimator=search, X=X, y=y, metadata=metadata)
        self.search_ctx: Any = None
        self._next_task = 0
        self._lock = threading.Lock()  # n_points candidates run in threads

    @property
    def active(self) -> bool:
        return self.root is not None and bool(getattr(self.search, "_skl_callbacks", None))

    def begin_search(self) -> None:
        if self.root is not None:
            self.search_ctx = self.root.subcontext(task_name="search", max_subtasks=None,
                                                   sequential_subtasks=False)
            self.search_ctx.call_on_fit_task_begin(estimator=self.search)

    def end_search(self) -> None:
        if self.search_ctx is not None:
            self.search_ctx.call_on_fit_task_end(estimator=self.search)

    def evaluation(self) -> Any:
        """A new ``candidate-split-evaluation`` context (None without callbacks)."""
        if not self.active:
            return None
        with self._lock:
            self._next_task += 1
            return self.search_ctx.subcontext(task_name="candidate-split-evaluation",
                                              task_id=self._next_task - 1)

    def refit(self, estimator: Any, fit: Callable[[], None]) -> None:
        if self.root is None:
            fit()
            return
        ctx = self.root.subcontext(task_name="refit-with-best-params")
        with ctx.propagate_callback_context(estimator):
            ctx.call_on_fit_task_begin(estimator=self.search, X=self.X, y=self.y,
                                       metadata=self.metadata)
            fit()
        ctx.call_on_fit_task_end(estimator=self.search, X=self.X, y=self.y,
                                 metadata=self.metadata)

    def end(self) -> None:
        if self.root is not None:
            self.root.call_on_fit_task_end(estimator=self.search, X=self.X, y=self.y,
                                           metadata=self.metadata)


@dataclass
class OptimizerResult:
    """One search's result in scikit-optimize's terms (``skopt.OptimizeResult``'s fields
    that ``BayesSearchCV`` users read): points are lists in sorted-name order, values the
    negated mean test score. ``result`` is the ``ut.Result`` of the study."""

    x: list[Any] | None
    fun: float | None
    x_iters: list[list[Any]] = field(default_factory=list)
    func_vals: list[float] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    result: Result | None = None


def optimizer_result(records: Sequence[TrialRecord], names: Sequence[str],
                     result: Result | None = None) -> OptimizerResult:
    names = sorted(names)
    done = [r for r in records if r.state is TrialState.COMPLETE and r.values]
    x_iters = [[r.params.get(n) for n in names] for r in done]
    func_vals = [-float(r.values[0]) for r in done if r.values]
    if not done:
        return OptimizerResult(None, None, x_iters, func_vals, list(names), result)
    best = min(range(len(done)), key=lambda i: (math.isnan(func_vals[i]), func_vals[i]))
    return OptimizerResult(x_iters[best], func_vals[best], x_iters, func_vals, list(names),
                           result)


class SkoptCallback:
    """``BayesSearchCV.fit(callback=...)``: each callable gets the ``OptimizerResult`` so
    far after every candidate; True from any of them ends the search."""

    def __init__(self, callbacks: Any, names: Sequence[str]) -> None:
        self.callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
        self.names = list(names)
        self.records: list[TrialRecord] = []

    def __call__(self, record: TrialRecord) -> None:
        self.records.append(record)
        state = optimizer_result(self.records, self.names)
        if any(cb(state) for cb in self.callbacks):
            raise StopStudy
