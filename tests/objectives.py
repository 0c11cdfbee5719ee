"""Objectives several test files share."""

from __future__ import annotations


class NeverCalled:
    """An objective that records any call: bad input must fail before the first trial."""

    def __init__(self):
        self.calls = 0

    def __call__(self, params):
        self.calls += 1
        return 0.0
