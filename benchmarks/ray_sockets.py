"""What the local Ray runtime of the ``ray:*`` backends exposes: the TCP sockets its
processes listen on, and who may enter its folder.

One ``ray:random`` study of two trials. During each trial the objective (running in a
Ray worker) lists the listening TCP sockets of every process of the runtime: the
driver and its descendants (GCS, raylet, agents, workers) and any process whose
command line names the session folder. Prints each socket and the count on an
address other than loopback, then the modes of the session folder and its parents.

    python benchmarks/ray_sockets.py [--json out.json]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `unitune` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unitune as ut


def is_loopback(ip: str) -> bool:
    """127.0.0.0/8 or ::1, also as an IPv4-mapped IPv6 address (::ffff:127.0.0.1)."""
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def _label(proc: Any, driver: int) -> str:
    """A short name: ``driver``, ``gcs_server``, ``raylet``, ``ray::IDLE``, ``log_monitor.py``."""
    if proc.pid == driver:
        return "driver"
    cmd = proc.cmdline() or [proc.name()]
    if cmd[0].startswith("ray::"):
        return cmd[0].split()[0]
    scripts = [os.path.basename(a) for a in cmd[1:] if a.endswith(".py")]
    return scripts[0] if scripts else os.path.basename(cmd[0])


def runtime_sockets(driver: int, session_dir: str) -> list[dict[str, Any]]:
    """The listening TCP sockets of the driver, its descendants and every process whose
    command line names ``session_dir``: {pid, process, ip, port, loopback}."""
    import ray  # noqa: F401, I001  (first: Ray puts its own psutil on the path)
    import psutil

    procs = {driver: psutil.Process(driver)}
    procs.update((p.pid, p) for p in procs[driver].children(recursive=True))
    for p in psutil.process_iter(["cmdline"]):
        if any(session_dir in arg for arg in p.info["cmdline"] or ()):
            procs.setdefault(p.pid, p)
    out = []
    for pid, proc in sorted(procs.items()):
        try:
            label = _label(proc, driver)
            conns = proc.net_connections(kind="tcp")
        except psutil.Error:  # it ended meanwhile
            continue
        out.extend({"pid": pid, "process": label, "ip": c.laddr.ip, "port": c.laddr.port,
                    "loopback": is_loopback(c.laddr.ip)}
                   for c in conns if c.status == psutil.CONN_LISTEN)
    return out


def session_dir() -> str:
    """The session folder of the runtime this process (driver or worker) is part of."""
    import ray

    return ray._private.worker._global_node.get_session_dir_path()


def folder_modes(path: str) -> list[dict[str, Any]]:
    """``path`` and each parent up to the root: mode (octal) and owner uid."""
    out, current = [], Path(path)
    while True:
        st = current.lstat()
        out.append({"path": str(current), "mode": oct(stat.S_IMODE(st.st_mode)),
                    "uid": st.st_uid})
        if current.parent == current:
            return out
        current = current.parent


def private_ancestor(path: str) -> str | None:
    """The nearest folder on ``path`` (itself or a parent) that this user owns and no one
    else may enter (no group or other permission), or None."""
    for entry in folder_modes(path):
        if entry["uid"] == os.getuid() and int(entry["mode"], 8) & 0o077 == 0:
            return entry["path"]
    return None


def probing(driver: int, out_dir: str):
    """An objective writing, during its trial, the runtime's sockets to ``out_dir``."""

    def objective(params: dict[str, Any], trial: Any) -> float:
        found = {"session_dir": session_dir(), "worker": os.getpid()}
        found["sockets"] = runtime_sockets(driver, found["session_dir"])
        Path(out_dir, f"{trial.number}.json").write_text(json.dumps(found))
        return float(params["x"])

    return objective


def measure(out_dir: str, n_trials: int = 2) -> dict[str, Any]:
    """Run a small ``ray:random`` study with the probe; the sockets seen by any trial."""
    import ray

    ut.optimize(probing(os.getpid(), out_dir), ut.Space(x=ut.Float(0.0, 1.0)),
                backend="ray:random", n_trials=n_trials, seed=0)
    seen: dict[tuple[str, str, int], dict[str, Any]] = {}
    workers, sessions = set(), set()
    for file in sorted(Path(out_dir).glob("*.json")):
        found = json.loads(file.read_text())
        workers.add(found["worker"])
        sessions.add(found["session_dir"])
        for s in found["sockets"]:
            seen.setdefault((s["process"], s["ip"], s["port"]), s)
    (session,) = sessions
    sockets = sorted(seen.values(), key=lambda s: (s["process"], s["port"]))
    return {"ray": ray.__version__, "trials_probed": len(list(Path(out_dir).glob("*.json"))),
            "sockets": sockets, "non_loopback": sum(not s["loopback"] for s in sockets),
            "session_dir": session, "folders": folder_modes(session),
            "private_folder": private_ancestor(session)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        report = measure(tmp)
    print(f"Ray {report['ray']}: {len(report['sockets'])} listening sockets, "
          f"{report['non_loopback']} not on loopback")
    for s in report["sockets"]:
        print(f"  {s['process']:<22} {s['ip']:>18}:{s['port']:<6}"
              f"{'' if s['loopback'] else '  <- reachable from the network'}")
    print(f"session folder {report['session_dir']}; private folder: {report['private_folder']}")
    for entry in report["folders"]:
        print(f"  {entry['mode']:>7} uid={entry['uid']:<6} {entry['path']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
