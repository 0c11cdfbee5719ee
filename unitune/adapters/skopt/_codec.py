"""The space as scikit-optimize sees it, and back (see the adapter's docstring for the
mapping); and skopt's quantile GBRT, repaired for today's scikit-learn and numpy."""

from __future__ import annotations

import functools
from typing import Any

from unitune.space import Categorical, Distribution, Float, Int

__all__ = ["decode", "dimension", "encode", "gbrt"]


def dimension(dist: Distribution) -> Any:
    from skopt.space import Categorical as SkCategorical
    from skopt.space import Integer, Real

    if isinstance(dist, Categorical):
        return SkCategorical(list(range(len(dist.choices))))
    if isinstance(dist, Float) and dist.step is None:
        return Real(dist.low, dist.high, prior="log-uniform" if dist.log else "uniform")
    if isinstance(dist, Int) and dist.step == 1:
        return Integer(dist.low, dist.high, prior="log-uniform" if dist.log else "uniform")
    assert isinstance(dist, (Float, Int))
    return Integer(0, round((dist.high - dist.low) / _step(dist)))


def decode(dist: Distribution, x: Any) -> Any:
    """skopt's value -> the user's value, of the user's type."""
    if isinstance(dist, Categorical):
        return dist.choices[int(x)]
    if isinstance(dist, Int):
        return int(x) if dist.step == 1 else dist.low + int(x) * dist.step
    assert isinstance(dist, Float)
    if dist.step is None:
        return min(max(float(x), dist.low), dist.high)
    return min(dist.low + int(x) * dist.step, dist.high)


def encode(dist: Distribution, value: Any) -> Any:
    """The user's value -> skopt's (for trials skopt did not propose)."""
    if isinstance(dist, Categorical):
        return dist.index(value)
    if isinstance(dist, Float) and dist.step is None:
        return min(max(float(value), dist.low), dist.high)
    if isinstance(dist, Int) and dist.step == 1:
        return int(value)
    assert isinstance(dist, (Float, Int))
    return round((value - dist.low) / _step(dist))


def _step(dist: Distribution) -> float:
    """The step of a stepped Float or Int (skopt searches the index of its lattice)."""
    assert isinstance(dist, (Float, Int)) and dist.step is not None
    return dist.step


@functools.cache
def _gbrt_class() -> type:
    """skopt's quantile GBRT, repaired for today's libraries: it lists ``BaseEstimator``
    before ``RegressorMixin``, so on scikit-learn >= 1.6 its tags say it is no regressor
    and ``Optimizer`` refuses it; and its ``predict(return_std=True)`` calls ``np.in1d``,
    which numpy 2.4 removed. Same model, same predictions."""
    from sklearn.utils import RegressorTags
    from skopt.learning import GradientBoostingQuantileRegressor

    class QuantileGBRT(GradientBoostingQuantileRegressor):
        def __sklearn_tags__(self) -> Any:
            tags = super().__sklearn_tags__()
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
            return tags

        def predict(self, X: Any, return_std: bool = False,
                    return_quantiles: bool = False) -> Any:
            if not return_std or return_quantiles:
                return super().predict(X, return_quantiles=return_quantiles)
            if not all(q in self.quantiles for q in (0.16, 0.5, 0.84)):
                raise ValueError("return_std works only if the quantiles during "
                                 "instantiation include 0.16, 0.5 and 0.84")
            low, mean, high = (self.regressors_[self.quantiles.index(q)].predict(X)
                               for q in (0.16, 0.5, 0.84))
            return mean, (high - low) / 2.0

    return QuantileGBRT


def gbrt(random_state: int) -> Any:
    """What ``cook_estimator("GBRT", random_state=..., n_jobs=1)`` builds, made a regressor."""
    from sklearn.ensemble import GradientBoostingRegressor

    gbrt = GradientBoostingRegressor(n_estimators=30, loss="quantile")
    return _gbrt_class()(base_estimator=gbrt, random_state=random_state, n_jobs=1)


