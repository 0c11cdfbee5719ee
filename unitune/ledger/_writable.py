"""Is a journal file writable? Asked before a study is written to it, so that a file or
folder the user cannot write is refused in one line naming it, instead of a
``PermissionError`` traceback from the middle of Optuna. Reading needs none of this:
``unitune show`` and ``ut.load`` read a read-only journal as they read any other."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from unitune.errors import InvalidOption

__all__ = ["check_writable", "create_private"]


def create_private(file: str) -> None:
    """Create ``file`` (mode 0600) if it does not exist, and the folders above it that do
    not (0700): a ledger holds the params, errors and tracebacks of a user's trials.
    Existing files and folders are left as they are; raises ``OSError``."""
    missing = [folder for folder in Path(file).parents if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)  # or made meanwhile by another process
    with contextlib.suppress(FileExistsError):
        os.close(os.open(file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _journal_path(storage: Any) -> Path | None:
    if isinstance(storage, os.PathLike) or (isinstance(storage, str) and storage.strip()
                                            and "://" not in storage):
        return Path(storage).absolute()
    return None


def _refuse(storage: Any, why: str) -> InvalidOption:
    return InvalidOption(f"storage {str(storage)!r} is not writable: {why}; give a journal "
                         "file in a folder you can write (ut.load and `unitune show` read "
                         "this one as it is)")


def check_writable(storage: Any) -> None:
    """Refuse a journal file this process cannot append to, or whose folder it cannot
    write (Optuna's lock is a file next to the journal). The file is created if it is
    not there, as opening the storage would; an existing one is opened for appending
    and closed, which changes nothing in it."""
    path = _journal_path(storage)
    if path is None or path.is_dir():
        return  # memory, a URL, a storage object; a folder: ``open_storage`` says so
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _refuse(storage, f"{str(ancestor)!r} is a file, not a folder")
    try:
        create_private(str(path))
        os.close(os.open(path, os.O_APPEND | os.O_WRONLY))  # changes nothing in it
    except OSError as exc:
        raise _refuse(storage, exc.strerror or type(exc).__name__) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise _refuse(storage, f"its folder {str(path.parent)!r} is read-only (the journal's "
                               "lock file is made there)")
