"""Storages named without their passwords: ``storage_name`` wherever unitune names a
storage (summaries, errors, logs), ``scrub`` for any other text that may hold a URL (a
database driver's message, settings recorded in the ledger).

``postgresql://user:pw@db/hpo`` is shown as ``postgresql://user:***@db/hpo``, as
SQLAlchemy's ``URL.render_as_string(hide_password=True)`` shows it, without importing
SQLAlchemy (``import unitune`` stays light) and for any text, not only a valid URL: a
password with an unquoted ``@`` or ``/`` is hidden whole, and ``password=...`` in a
query string or a libpq connection string is hidden too."""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["scrub", "scrub_values", "storage_name"]

MASK = "***"
# scheme://user:PASSWORD@ up to the last '@' of the word: an unquoted '@' or '/' in the
# password is hidden with it (a host hidden too is better than a password shown).
_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]*):\S*@")
_KEYWORD = re.compile(r"(\bpassword\s*=\s*)('[^']*'|\"[^\"]*\"|[^&\s'\";,)]+)", re.IGNORECASE)


def scrub(text: str) -> str:
    """``text`` with every password of a URL or a ``password=`` setting in it masked."""
    if "@" not in text and "password" not in text.lower():
        return text
    return _KEYWORD.sub(rf"\g<1>{MASK}", _USERINFO.sub(rf"\g<1>:{MASK}@", text))


def scrub_values(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with the strings in it scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_values(v) for v in value)
    return value


def storage_name(storage: Any) -> str:
    """How a storage is named to the user: its path, its URL with the password masked,
    an opened database storage by its URL, or else its type."""
    if isinstance(storage, str):
        return scrub(storage)
    if isinstance(storage, os.PathLike):
        return scrub(os.fsdecode(storage))
    for holder in (storage, getattr(storage, "_backend", None)):  # Optuna's cache wraps it
        url = getattr(holder, "url", None)
        if isinstance(url, str):
            return scrub(url)
    return f"an Optuna {type(storage).__name__}"
