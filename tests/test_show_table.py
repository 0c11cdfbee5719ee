"""`unitune show`'s table: fitted to the terminal it is printed on (numbers aligned,
long params cut with an ellipsis), whole when piped."""

from __future__ import annotations

import re
import subprocess

from test_progress import UNITUNE, _through_a_terminal

import unitune as ut

LONG = "a_parameter_with_a_long_name_" * 3


def _study(tmp_path):
    space = ut.Space(x=ut.Float(-3.0, 3.0), **{LONG: ut.Categorical(["left" * 10, "right" * 10])})
    ut.optimize(lambda p: (p["x"] - 1.0) ** 2, space, n_trials=12, seed=0,
                storage=str(tmp_path / "s.journal"), study_name="wide")


def test_on_an_80_column_terminal_every_line_fits_and_long_params_are_cut(tmp_path):
    _study(tmp_path)
    out = _through_a_terminal([*UNITUNE, "show", "--study", "wide", "--storage", "s.journal"],
                              tmp_path, columns=80)
    lines = [ln for ln in out.replace("\r", "").splitlines() if ln.strip()]
    table = lines[lines.index(next(ln for ln in lines if ln.startswith("trial"))):]
    assert len(table) == 2 + 12  # header, rule, a row per trial
    assert all(len(ln) <= 80 for ln in table), max(table, key=len)
    rows = table[2:]
    assert all(ln.rstrip().endswith("…") for ln in rows)  # the params, cut
    # numbers right-aligned: every value ends in the same column
    value_ends = {m.end() for m in (re.search(r"COMPLETE\s+[\d.e-]+", ln) for ln in rows)}
    assert len(value_ends) == 1
    assert [int(ln.split()[0]) for ln in rows] == list(range(12))


def test_piped_every_cell_is_whole(tmp_path):
    _study(tmp_path)
    out = subprocess.run([*UNITUNE, "show", "--study", "wide", "--storage", "s.journal"],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    rows = [ln for ln in out.splitlines() if re.match(r"\s*\d+\s+COMPLETE", ln)]
    assert len(rows) == 12
    assert all(f"{LONG}=" in ln and "…" not in ln for ln in rows)
