"""A study's trials written as CSV, Parquet or JSON (``unitune export``): the rows of
``Result.to_dataframe()``, one per trial."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from unitune.errors import BackendNotInstalled, InvalidOption

__all__ = ["FORMATS", "write"]

FORMATS = ("csv", "parquet", "json")


def write(frame: Any, fmt: str, out: Path | None) -> None:
    """Write ``frame`` to ``out`` in ``fmt`` (stdout when ``out`` is None: csv, json)."""
    if fmt not in FORMATS:
        raise InvalidOption(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "csv":
        frame.to_csv(sys.stdout if out is None else out, index=False)
    elif fmt == "json":
        text = _json(frame)
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text)
    else:
        if out is None:
            raise InvalidOption("--format parquet is binary: give --out FILE.parquet")
        _parquet(frame, out)


def _json(frame: Any) -> str:
    """A JSON array, one object per trial and per line; NaN and missing times are null."""
    rows = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    return "[\n" + ",\n".join(json.dumps(r, default=str) for r in rows) + "\n]\n"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):  # a pandas Timestamp, or NaT
        return None if str(value) == "NaT" else value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (list, dict)):  # numpy scalars
        return _plain(value.item())
    return value


def _parquet(frame: Any, out: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise BackendNotInstalled("--format parquet needs pyarrow: pip install "
                                  "'unitune[viz]'") from None
    frame = frame.copy()
    for column in frame.columns:  # Parquet holds one type per column: a param whose
        present = [v for v in frame[column] if not _missing(v)]  # choices mix types
        kinds = {type(v) for v in present}  # (32, 'auto') is written as text
        if frame[column].dtype == object and len(kinds) > 1 and list not in kinds:
            frame[column] = [None if _missing(v) else str(v) for v in frame[column]]
    frame.to_parquet(out, index=False)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
