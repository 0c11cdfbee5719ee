"""Files that are not a journal, or damaged journals, given to ``ut.optimize`` and to
``unitune show`` as the storage: how many were overwritten or broken (must be 0).

Each kind of file is written, shown (``unitune show``, in this process), then given
to a run (``ut.optimize``, 2 trials). A file is **overwritten or broken** when it was
changed and either its original bytes are not all still at its start, or plain Optuna
can no longer read it. Legitimate changes: an empty file becomes a journal, a journal
gets trials appended, and a journal whose last line was left half-written by a kill
(no newline) has that line cut first (only then). Every other file must be refused
with one line naming it, and left byte for byte as it was.

    python benchmarks/corrupt_files.py [--out benchmarks/results/corrupt_files.json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unitune as ut  # noqa: E402
from benchmarks._results import add_out, write_report  # noqa: E402
from unitune import cli  # noqa: E402

SPACE = ut.Space(x=ut.Float(-3.0, 3.0))
TORN = b'{"op_code":6,"worker_id":"w","trial_id":2,"state":1,"val'


def _objective(params: dict) -> float:
    return params["x"] ** 2


def _journal(path: Path) -> bytes:
    ut.optimize(_objective, SPACE, n_trials=2, storage=str(path), study_name="s", seed=0)
    return path.read_bytes()


def _sqlite(path: Path) -> bytes:
    connection = sqlite3.connect(path)
    connection.execute("create table t (a text)")
    connection.execute("insert into t values ('x\ny')")
    connection.commit()
    connection.close()
    return path.read_bytes()


def _bytes(data: bytes) -> Callable[[Path], bytes]:
    return lambda path: data


def _journal_plus(tail: bytes) -> Callable[[Path], bytes]:
    return lambda path: _journal(path) + tail


def _journal_middle(insert: bytes, at: int = 3) -> Callable[[Path], bytes]:
    def make(path: Path) -> bytes:
        lines = _journal(path).splitlines(keepends=True)
        return b"".join(lines[:at] + [insert] + lines[at:])
    return make


# kind -> (how the file is made, what a run may do to it: "refuse", "append", "cut")
KINDS: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "empty file": (_bytes(b""), "append"),
    "one JSON line without a newline": (_bytes(b'{"model": "svm", "C": 1.0}'), "refuse"),
    "JSON lines that are not records": (_bytes(b'{"a": 1}\n{"b": 2}\n'), "refuse"),
    "binary without a newline": (_bytes(bytes(range(11)) + bytes(range(14, 256))), "refuse"),
    "binary with newlines": (_bytes(bytes(range(256)) * 8), "refuse"),
    "a CSV": (_bytes(b"x,value\n0.5,0.25\n"), "refuse"),
    "a YAML file": (_bytes(b"x: {type: float, low: 0, high: 1}\n"), "refuse"),
    "an SQLite database given as a path": (_sqlite, "refuse"),
    "a blank line, then a journal": (_journal_middle(b"\n", at=0), "refuse"),
    "a journal with a blank line in the middle": (_journal_middle(b"\n"), "refuse"),
    "a lone journal record without its newline": (_bytes(TORN), "refuse"),
    "a journal with a garbage last line": (_journal_plus(b"garbage\n"), "refuse"),
    "a journal with a JSON last line that is no record": (_journal_plus(b"[1, 2]\n"),
                                                          "refuse"),
    "a journal with an unreplayable last record": (_journal_plus(b'{"op_code": 0}\n'),
                                                   "refuse"),
    "a journal with a torn line in the middle": (_journal_middle(TORN + b"\n"), "refuse"),
    "a journal with a garbage line in the middle": (_journal_middle(b"#!x\n"), "refuse"),
    "a journal with NUL bytes in the middle": (_journal_middle(b"\0" * 64 + b"\n"), "refuse"),
    "a journal with a torn last line (a kill)": (_journal_plus(TORN), "cut"),
    "a journal with NUL bytes at its end (a power cut)": (_journal_plus(b"\0" * 64), "cut"),
    "a sound journal": (_journal_plus(b""), "append"),
}


def _plain_optuna_reads(path: Path) -> bool:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    try:
        storage = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
        for study in storage.get_all_studies():
            storage.get_all_trials(study._study_id)
    except Exception:  # noqa: BLE001 - any failure to read counts
        return False
    return True


def _show(path: Path) -> tuple[int | str, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            status: int | str = cli.main(["show", "--study", "s", "--storage", str(path)])
        except Exception as exc:  # noqa: BLE001 - a traceback is a finding
            status = f"traceback: {type(exc).__name__}"
    return status, err.getvalue().strip()


def _run(path: Path) -> str:
    try:
        ut.optimize(_objective, SPACE, n_trials=4, storage=str(path), study_name="s", seed=0)
    except ut.UnituneError as exc:
        return "refused" if "\n" not in str(exc) and str(path) in str(exc) else \
            f"refused badly: {exc}"
    except Exception as exc:  # noqa: BLE001 - a traceback is a finding
        return f"traceback: {type(exc).__name__}: {exc}"
    return "ran"


def case(folder: Path, kind: str) -> dict:
    make, allowed = KINDS[kind]
    path = folder / (kind.replace(" ", "_").replace("(", "").replace(")", "") + ".dat")
    original = make(path)
    path.write_bytes(original)
    show_status, show_err = _show(path)
    shown_unchanged = path.read_bytes() == original
    outcome = _run(path)
    final = path.read_bytes()
    kept = original[:len(original) - len(TORN if kind.endswith("(a kill)") else
                                          b"\0" * 64)] if allowed == "cut" else original
    changed = final != original
    broken = (not shown_unchanged) or (changed and (
        not final.startswith(kept) or not _plain_optuna_reads(path)))
    expected = ("refused" if allowed == "refuse" else "ran") == outcome
    return {"kind": kind, "run": outcome, "show_exit": show_status,
            "show_stderr": show_err[:200], "changed": changed,
            "overwritten_or_broken": broken, "as_expected": expected and not broken}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="folder for the files (default: a temporary one)")
    add_out(parser, "corrupt_files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.dir or tmp)
        cases = [case(folder, kind) for kind in KINDS]
    report = {
        "kinds": len(cases),
        "overwritten_or_broken": sum(c["overwritten_or_broken"] for c in cases),
        "refused_by_run": sum(c["run"] == "refused" for c in cases),
        "changed_legitimately": sum(c["changed"] and not c["overwritten_or_broken"]
                                    for c in cases),
        "tracebacks": sum("traceback" in f"{c['run']} {c['show_exit']}" for c in cases),
        "not_as_expected": [c["kind"] for c in cases if not c["as_expected"]],
        "cases": cases,
    }
    print(f"{report['kinds']} kinds of file; overwritten or broken: "
          f"{report['overwritten_or_broken']}; refused by a run: {report['refused_by_run']}; "
          f"changed legitimately: {report['changed_legitimately']}; tracebacks: "
          f"{report['tracebacks']}; not as expected: {report['not_as_expected'] or 'none'}")
    write_report(args.out, "corrupt_files", report, indent=1)
    return report


if __name__ == "__main__":
    main()
