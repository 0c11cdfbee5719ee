"""The Ray runtime behind the ``ray:*`` backends, and the settings that make Tune fast
and quiet.

A local Ray is started on first use with ``num_cpus`` from ``n_workers``,
without dashboard, with workers' output kept off the console, and reused by
later calls in the same process (starting Ray costs seconds). It is restarted
only if a later call needs more CPUs than it has. ``address`` joins an existing
cluster instead. A runtime the user started themselves (``ray.init`` before
unitune) is used as it is.

A local runtime is private to its user: every socket of it listens on 127.0.0.1
(see ``_loopback_node``), and its files (logs, Unix sockets, spilled objects) live
in a folder only this user may enter (``_private_temp_dir``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from unitune.errors import InvalidOption

__all__ = ["check_resources", "ensure_runtime", "quiet_tune", "shutdown"]

_THREAD_TIMEOUT = "60"  # seconds; see ensure_runtime
_TEMP_ROOT = "/tmp"  # short: Ray's Unix socket paths (limit ~107 bytes) live below it
_started: dict[str, Any] = {}  # what unitune started: {"address": str|None, "cpus": float}

# Tune's fast and quiet settings, set only while unitune's Tuner runs.
_TUNE_ENV = {
    "RAY_AIR_NEW_OUTPUT": "0",  # the classic reporter honours verbose=0
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",  # no CSV/JSON/TensorBoard files per trial
    "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",  # a failed trial's report has no value
    "TUNE_DISABLE_SIGINT_HANDLER": "1",  # Ctrl-C reaches unitune, which keeps the trials
}
_QUIET_LOGGERS = ("ray", "ray.tune", "ray.train", "ray.air")


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def quiet_tune(verbose: int) -> Iterator[None]:
    """Tune's environment switches and log levels for the duration of one run."""
    loggers = [logging.getLogger(n) for n in _QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    if not verbose:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
    try:
        with _env(_TUNE_ENV):
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _worker_path() -> str:
    """The driver's import path: local workers then import what the objective needs
    (a test module, a script's package) as the driver does."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    old = os.environ.get("PYTHONPATH")
    return os.pathsep.join(paths + ([old] if old else []))


def ensure_runtime(address: str | None, cpus: float, verbose: int) -> None:
    """Make sure this process is connected to the right Ray runtime."""
    import ray

    if ray.is_initialized():
        if not _started:  # the user's own runtime
            if address is not None:
                raise InvalidOption(
                    f"option address={address!r}: this process is already connected to a "
                    "Ray runtime it started itself; call ray.shutdown() first")
            return
        if address is not None and _started.get("address") == address:
            return
        if address is None and _started.get("address") is None and _started["cpus"] >= cpus:
            return
        shutdown()
    logging_level = logging.INFO if verbose else logging.ERROR
    if address is not None:
        _use_local_token()
        try:
            ray.init(address=address, log_to_driver=bool(verbose), logging_level=logging_level,
                     configure_logging=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            if ray.is_initialized():  # half-connected: leave the process free to retry
                ray.shutdown()
            raise InvalidOption(
                f"option address={address!r}: could not join a Ray cluster there ({exc}); "
                "give the address printed by `ray start --head` (host:port)") from None
        _started.update(address=address, cpus=0.0)
        return
    # A reused actor (reuse_actors=True: PBT's exploits, Hyperband's pauses) waits for
    # the previous trial's thread to end for TUNE_FUNCTION_THREAD_TIMEOUT_S, 2 s by
    # default; on a loaded machine that was missed and a PBT member failed. The workers
    # inherit the variable from the runtime's start (unless the user set it).
    thread_timeout = os.environ.get("TUNE_FUNCTION_THREAD_TIMEOUT_S", _THREAD_TIMEOUT)
    with _env({"PYTHONPATH": _worker_path(), "TUNE_FUNCTION_THREAD_TIMEOUT_S": thread_timeout}), \
            _loopback_node():
        ray.init(num_cpus=max(1, int(-(-cpus // 1))),  # GPUs: Ray detects them
                 include_dashboard=False, log_to_driver=bool(verbose),
                 logging_level=logging_level, _node_ip_address="127.0.0.1",
                 _temp_dir=os.path.join(_private_temp_dir(), "ray"))
    _started.update(address=None, cpus=float(max(1, int(-(-cpus // 1)))))


@contextlib.contextmanager
def _loopback_node() -> Iterator[None]:
    """Make the node's address 127.0.0.1 while ``ray.init`` starts a local runtime.

    Ray binds each server (GCS, raylet, workers, agents) to loopback only when the
    node's address is a loopback one, and to every interface otherwise; but on Linux
    it replaces ``_node_ip_address="127.0.0.1"`` by the machine's external address,
    unless cluster support is off, as on macOS and Windows:
    RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0. Ray reads that variable into
    ``ray_constants.ENABLE_RAY_CLUSTER`` when imported, so both are set: the variable
    for the processes ``ray.init`` starts, the constant for this one. Both are put
    back afterwards (joining a cluster later in this process works as before).
    """
    from ray._private import ray_constants

    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        with _env({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}):
            yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved


def _private_temp_dir() -> str:
    """A folder for the runtime that only this user may enter.

    Ray makes every folder it creates 0777 (no sticky bit), the temp folder given to it
    included, so the runtime's folder goes inside one of 0700: /tmp/ray-unitune-UID,
    made if missing and used if this user owns it and no one else may enter it;
    otherwise (someone else made it, or left it open) a new one from ``mkdtemp``.
    """
    if not hasattr(os, "getuid"):  # not POSIX: no modes to check
        return tempfile.mkdtemp(prefix="ray-unitune-")
    base = os.path.join(_TEMP_ROOT, f"ray-unitune-{os.getuid()}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(base, 0o700)
    st = os.lstat(base)
    if (stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()
            and stat.S_IMODE(st.st_mode) & 0o077 == 0):
        return base
    return tempfile.mkdtemp(prefix="ray-unitune-", dir=_TEMP_ROOT)


def _use_local_token() -> None:
    """Send the token in ~/.ray/auth_token when joining a cluster, as ``ray start`` and a
    local ``ray.init`` use it, unless RAY_AUTH_MODE says otherwise."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token authentication
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def check_resources(cpus_per_trial: float, gpus_per_trial: float) -> None:
    """Refuse a trial that no node could ever run (Tune would wait for it forever)."""
    import ray

    have = ray.cluster_resources()
    for key, need, option in (("CPU", cpus_per_trial, "cpus_per_trial"),
                              ("GPU", gpus_per_trial, "gpus_per_trial")):
        if need > have.get(key, 0.0):
            raise InvalidOption(
                f"option {option}={need!r}, but the Ray runtime has {have.get(key, 0.0):g} "
                f"{key}(s) in all; ask for at most that many per trial")


def shutdown() -> None:
    """Stop the runtime unitune started (no effect on one the user started)."""
    import ray

    if _started:
        _started.clear()
        ray.shutdown()
