"""``unitune dashboard [--storage S] [--port 8080] [--host 127.0.0.1]``: optuna-dashboard
on the ledger (a journal file, SQLite or PostgreSQL), so the studies of every backend,
Ray and pymoo included, are seen as Optuna's own.

Everything that can be wrong is found before the server starts, in one line and exit
status 2: a storage that does not exist or cannot be opened, a port that is taken or
out of range, a host that cannot be bound, optuna-dashboard not installed. The server
is bound to 127.0.0.1 unless ``--host`` says otherwise: the dashboard can rename and
delete studies, so it is not for the network by default.

Ctrl-C stops it with exit status 0: it is the one way a dashboard is meant to end, and
it interrupts no work (the dashboard only serves the ledger), as optuna-dashboard's
own command and ``python -m http.server`` do.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from unitune._cli_common import DEFAULT_STORAGE, storage_arg
from unitune._objective_file import UsageError

__all__ = ["add_dashboard", "cmd_dashboard"]


def port(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give 1-65535 (0: any "
                                         "free port)")
    return value


def add_dashboard(sub: Any) -> None:
    p = sub.add_parser("dashboard", help="optuna-dashboard on the studies of a storage "
                       "(every backend's)")
    p.add_argument("--storage", help=f"file path or database URL (default {DEFAULT_STORAGE}, "
                   "or $UNITUNE_STORAGE)")
    p.add_argument("--port", type=port, default=8080, help="port to listen on (default "
                   "8080; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1, this machine only; 0.0.0.0 opens it to the network)")
    p.set_defaults(func=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from unitune._secrets import storage_name
    from unitune.ledger import open_storage

    try:
        from optuna_dashboard import wsgi
    except ImportError:
        raise UsageError("unitune dashboard needs optuna-dashboard: pip install "
                         "'unitune[viz]'") from None
    storage = storage_arg(args)
    _check_database_exists(storage)
    opened = open_storage(storage)
    n_studies = len(opened.get_all_studies())
    server = _bind(args.host, args.port)
    server.set_app(wsgi(opened))
    host, bound_port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    studies = f"{n_studies} study" if n_studies == 1 else f"{n_studies} studies"
    print(f"optuna-dashboard on {storage_name(storage)} ({studies}): "
          f"http://{shown}:{bound_port}/dashboard  (Ctrl-C stops it)", flush=True)
    if host not in ("127.0.0.1", "::1", "localhost"):
        print(f"unitune: warning: listening on {host}: whoever reaches this machine can "
              "read, rename and delete the studies", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("dashboard stopped", flush=True)
    finally:
        server.server_close()
    return 0


def _bind(host: str, port: int) -> Any:
    """A wsgiref server listening on ``host:port``, a thread per request (the dashboard's
    page asks for several things at once, and one slow read of a large study must not
    hold up the others), with no line per request; or one line saying why it cannot."""
    import socket
    import socketserver
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True
        allow_reuse_address = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    try:
        return Server((host, port), QuietHandler)
    except socket.gaierror as exc:
        raise UsageError(f"--host {host!r} is not an address of this machine: "
                         f"{exc.strerror}") from None
    except OSError as exc:
        raise UsageError(f"--port {port}: cannot listen on {host}:{port}: "
                         f"{exc.strerror or exc}; give another --port (0: any free "
                         "port)") from None


def _check_database_exists(storage: str) -> None:
    """A ``sqlite:///FILE`` whose file is not there holds no study: say so rather than
    create an empty database to show (a journal path is checked by ``storage_arg``)."""
    if not storage.startswith("sqlite"):
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(storage).database
    except ArgumentError:  # refused with its reason when opened
        return
    if database and database != ":memory:" and not database.startswith("file:") \
            and not Path(database).is_file():
        raise UsageError(f"storage {storage!r}: database file {database!r} does not exist")
