"""The benchmark suite's t0 tier as CI runs it: it finishes, its report holds the
statistics, the harness check and each problem's table, and a second fresh run gives the
same results.json byte for byte; cells fanned out as Ray tasks give the same figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _suite(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "suite.py"), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def t0_twice(tmp_path_factory):
    """Two fresh runs of t0 (own ledgers, own reports), one after the other."""
    tmp = tmp_path_factory.mktemp("t0")
    for run in ("a", "b"):
        _suite("--tier", "t0", "--report", str(tmp / run), "--ledger", str(tmp / f"{run}-ledger"),
               cwd=tmp)
    return tmp


def test_t0_repeats_bit_for_bit(t0_twice):
    a = (t0_twice / "a" / "results.json").read_bytes()
    assert a == (t0_twice / "b" / "results.json").read_bytes()
    runs = json.loads(a)["finals"]
    assert {r["family"] for r in runs} >= {"synthetic", "tabular", "multi-objective"}
    assert all(r["trials"] > 0 for r in runs)


def test_t0_report_holds_the_statistics_the_check_and_the_figures(t0_twice):
    report = t0_twice / "a"
    text = (report / "README.md").read_text()
    for section in ("## Mean ranks", "## Does the harness measure truthfully?",
                    "## Anchors", "## Each problem"):
        assert section in text, section
    check = text[text.index("## Does the harness"):text.index("## Anchors")]
    rows = [line for line in check.splitlines() if line.startswith("| hpobench")
            or line.startswith("| fcnet") or line.startswith("| pooled")]
    assert rows and all(line.rstrip(" |").endswith("True") for line in rows), rows
    pngs = sorted(p.name for p in report.glob("*.png"))
    assert "cd-all.png" in pngs and any(p.startswith("curves-") for p in pngs)
    timings = json.loads((report / "timings.json").read_text())
    assert all(r["seconds"] > 0 for r in timings["runs"])


def test_a_second_run_into_the_same_ledger_reruns_nothing(t0_twice):
    proc = _suite("--tier", "t0", "--problems", "branin", "--report", str(t0_twice / "again"),
                  "--ledger", str(t0_twice / "a-ledger"), cwd=t0_twice)
    assert "branin: " in proc.stderr
    a = json.loads((t0_twice / "a" / "results.json").read_text())["finals"]
    again = json.loads((t0_twice / "again" / "results.json").read_text())["finals"]
    assert again == [r for r in a if r["problem"] == "branin"]


def test_cells_fanned_out_as_ray_tasks_give_the_same_figures(t0_twice, tmp_path):
    from benchmarks import suite

    suite.main(["--tier", "t0", "--problems", "branin", "--backends", "optuna:tpe",
                "--ray-address", "local", "--report", str(tmp_path / "ray"),
                "--ledger", str(tmp_path / "ledger")])
    a = json.loads((t0_twice / "a" / "results.json").read_text())["finals"]
    ray = json.loads((tmp_path / "ray" / "results.json").read_text())["finals"]
    assert ray == [r for r in a if r["problem"] == "branin"
                   and r["label"] in ("optuna:tpe", "optuna:random")]
