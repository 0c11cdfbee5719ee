"""pytest plugin: scikit-learn's ``GridSearchCV`` and ``RandomizedSearchCV`` become
``unitune.sklearn.SearchCV`` before scikit-learn's own search tests are imported.

``GridSearchCV(estimator, param_grid, **kw)`` is ``SearchCV(estimator,
param_grid=param_grid, backend="optuna:grid", **kw)``; ``RandomizedSearchCV(estimator,
param_distributions, n_iter=10, **kw)`` is ``SearchCV(estimator,
param_distributions=param_distributions, backend="optuna:random", n_trials=n_iter,
**kw)``. The test module is scikit-learn's, read from the installed wheel; nothing of it
is copied here. Loaded with ``-p tests.compat._shim_plugin`` (or by its path on
``sys.path``).
"""

from __future__ import annotations

from typing import Any

import sklearn.model_selection

from unitune.sklearn import SearchCV


def GridSearchCV(estimator: Any, param_grid: Any, **kwargs: Any) -> SearchCV:  # noqa: N802
    return SearchCV(estimator, param_grid=param_grid, backend="optuna:grid", **kwargs)


def RandomizedSearchCV(estimator: Any, param_distributions: Any, *,  # noqa: N802
                       n_iter: int = 10, **kwargs: Any) -> SearchCV:
    return SearchCV(estimator, param_distributions=param_distributions,
                    backend="optuna:random", n_trials=n_iter, **kwargs)


def pytest_configure(config: Any) -> None:
    # scikit-learn's test module does ``from sklearn.model_selection import GridSearchCV``:
    # it picks up these names as it is imported (its parametrize lists included).
    sklearn.model_selection.GridSearchCV = GridSearchCV  # type: ignore[assignment,misc]
    sklearn.model_selection.RandomizedSearchCV = RandomizedSearchCV  # type: ignore[assignment,misc]
