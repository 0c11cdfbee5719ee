"""Shared fixtures. Engines load lazily, so a fixture that needs one imports it inside."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # recipes/ and benchmarks/ are importable from tests
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("RAY_DEDUP_LOGS", "0")
# Ray starts its workers at nice 15. On a shared CI machine, neighbours at normal
# priority then starve the trials (seen: 3% CPU each), and a Ray test can take minutes.
# The tests' Ray workers run at normal priority, as the other backends' trials do.
os.environ.setdefault("RAY_worker_niceness", "0")


@pytest.fixture(scope="session", autouse=True)
def _one_ray_runtime_per_session():
    """The ray:* backends start one local Ray on first use and reuse it for every later
    test; stop it when the session ends (if any test started it)."""
    yield
    runtime = sys.modules.get("unitune.adapters.ray._runtime")
    if runtime is not None:
        runtime.shutdown()
