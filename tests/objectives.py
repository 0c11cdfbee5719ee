"""Objectives several test files share."""

from __future__ import annotations

import sys


class NeverCalled:
    """An objective that records any call: bad input must fail before the first trial."""

    def __init__(self):
        self.calls = 0

    def __call__(self, params):
        self.calls += 1
        return 0.0


def _load_without_ray():
    if "ray" in sys.modules:  # a Ray worker: as on a cluster node that lacks a module
        raise ModuleNotFoundError("No module named 'only_on_the_driver'")
    return LoadsOnlyWithoutRay()


class LoadsOnlyWithoutRay:
    """An objective that unpickles in any process but one that imported Ray: it stands for
    an objective whose module exists where the study starts and not on the workers."""

    def __reduce__(self):
        return _load_without_ray, ()

    def __call__(self, params):
        return 0.0
