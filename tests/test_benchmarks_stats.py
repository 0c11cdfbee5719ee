"""The suite's statistics across problems and its report: mean ranks with a bootstrap
interval, the Friedman test, the critical-difference diagram, normalised scores, and a
report that repeats byte for byte."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks._cd_diagram import cd_diagram
from benchmarks._stats import add_normalised, friedman, mean_ranks
from benchmarks._suite_report import normalised_table, write_suite_report
from unitune.errors import InvalidOption

PNG = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[1]


def _finals(seed: int = 0) -> pd.DataFrame:
    """Two families of 4 problems, 3 seeds; A is best on every problem and seed, B, C and
    D overlap (noise wider than their gaps)."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(8):
        for i, label in enumerate(["A", "B", "C", "D"]):
            for s in range(3):
                score = 0.01 * rng.random() if label == "A" else 1 + 0.5 * i + rng.random()
                rows.append({"problem": f"p{p}", "family": "synthetic" if p < 4 else "ml",
                             "label": label, "seed": s, "score": score * (p + 1)})
    return pd.DataFrame(rows)


class StandIn:
    """A stand-in for ut.compare's Comparison: only .plot(path), which draws a PNG."""

    def __init__(self, rows: pd.DataFrame) -> None:
        self.rows = rows

    def plot(self, path: str | Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(3, 2))
        for label, sub in self.rows.groupby("label"):
            ax.plot(sub["seed"], sub["score"], label=label)
        fig.savefig(path, metadata={"Software": None})
        plt.close(fig)


def test_the_best_label_ranks_first_with_a_small_friedman_p_and_a_cd_diagram(tmp_path):
    finals = _finals()
    ranks = mean_ranks(finals, n_boot=300)
    assert list(ranks["family"].unique()) == ["ml", "synthetic", "(all)"]
    best = ranks[ranks["label"] == "A"]
    assert list(best["mean_rank"]) == [1.0, 1.0, 1.0]
    assert list(best["low"]) == [1.0] * 3 and list(best["high"]) == [1.0] * 3
    assert (ranks.groupby("family").first()["label"] == "A").all()  # sorted by rank
    others = ranks[(ranks["label"] != "A") & (ranks["family"] == "(all)")]
    assert (others["low"] <= others["mean_rank"]).all()
    assert (others["mean_rank"] <= others["high"]).all()
    assert (others["high"] - others["low"] > 0).any()  # the seeds' noise shows
    again = mean_ranks(finals, n_boot=300)
    pd.testing.assert_frame_equal(ranks, again)  # seeded: the interval repeats

    test = friedman(finals)
    assert (test.problems, test.labels) == (8, 4) and test.pvalue < 0.001
    assert friedman(finals, "ml").problems == 4

    note = cd_diagram(finals, tmp_path / "cd.png", title="all problems")
    assert (tmp_path / "cd.png").read_bytes().startswith(PNG)
    assert "Friedman" in note and "Nemenyi CD" in note


def test_degenerate_groups_give_a_simple_figure_and_say_why(tmp_path):
    two = _finals()[lambda d: d["label"].isin(["A", "B"])]
    note = cd_diagram(two, tmp_path / "two.png")
    assert (tmp_path / "two.png").read_bytes().startswith(PNG)
    assert note.startswith("No test: 2 label(s) on 8 problem(s)")
    with pytest.raises(InvalidOption, match="needs at least 3 labels and 2 problems"):
        friedman(two)

    nothing = _finals()  # a run that found nothing (NaN, +inf) ranks last on its problem
    nothing.loc[nothing["label"] == "A", "score"] = [np.nan, np.inf] * 12
    ranks = mean_ranks(nothing, None, n_boot=50)
    assert ranks.loc[ranks["label"] == "A", "mean_rank"].tolist() == [4.0]
    with pytest.raises(InvalidOption, match=r"finals: score -inf \(lower is better"):
        mean_ranks(nothing.assign(score=-np.inf))

    tied = _finals().assign(score=1.0)
    assert mean_ranks(tied, None, n_boot=50)["mean_rank"].tolist() == [2.5] * 4
    test = friedman(tied)
    assert (test.statistic, test.pvalue) == (0.0, 1.0)
    note = cd_diagram(tied, tmp_path / "tied.png")
    assert "no difference detected" in note
    assert (tmp_path / "tied.png").read_bytes().startswith(PNG)


def test_a_label_missing_on_a_problem_is_left_out_and_named():
    finals = _finals()
    finals = finals[~((finals["label"] == "D") & (finals["problem"] == "p0"))]
    test = friedman(finals, "synthetic")
    assert (test.labels, test.dropped) == (3, ("D",))
    ranks = mean_ranks(finals, n_boot=20)
    assert set(ranks.loc[ranks["family"] == "ml", "label"]) == {"A", "B", "C", "D"}
    assert "D" not in set(ranks.loc[ranks["family"] == "synthetic", "label"])
    overall = ranks[ranks["family"] == "(all)"]  # the labels of the most problems: 8, not 4
    assert (set(overall["label"]), set(overall["problems"])) == ({"A", "B", "C"}, {8})
    assert friedman(finals, "(all)") == friedman(finals)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.drop(columns="score"), "finals: missing column(s) score (needs problem, "
                                        "family, label, seed, score)"),
    (lambda d: d.drop(columns=["family", "seed"]), "finals: missing column(s) family, seed"),
    (lambda d: d[d["label"] == "A"], "finals: only one label ('A'); comparing needs at least 2"),
    (lambda d: pd.concat([d, d.head(1)]), "finals: more than one row for problem 'p0', "
                                          "label 'A', seed 0"),
    (lambda d: d.assign(score="x"), "finals: column score must be numbers"),
])
def test_bad_input_is_one_line_naming_what_is_missing(change, message, tmp_path):
    finals = change(_finals())
    for call in (lambda: mean_ranks(finals), lambda: friedman(finals),
                 lambda: cd_diagram(finals, tmp_path / "x.png"),
                 lambda: write_suite_report(tmp_path, finals, {}, {})):
        with pytest.raises(InvalidOption) as e:
            call()
        assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_normalised_scores_are_bayesmark_style():
    finals = _finals().assign(score=lambda d: d["score"] / (d["problem"].str[1:].astype(int) + 1))
    norm = add_normalised(finals, baseline="D", optimum=0.0)
    d = norm[norm["label"] == "D"].groupby("problem")["normalised"].median()
    assert np.allclose(d, 0.0)  # the baseline's median is 0
    assert (norm.loc[norm["label"] == "A", "normalised"] > 0.99).all()  # ~ the optimum, 1
    table = normalised_table(norm)
    assert table.splitlines()[0] == "| family | problem | `A` | `B` | `C` | `D` |"
    assert len(table.splitlines()) == 2 + 8
    assert re.search(r"^\| ml \| p4 \| 0\.99\d \(0\.99\d–0\.99\d\) \| .* \| 0\.000 \(", table,
                     re.MULTILINE)  # median (IQR); D, the baseline, at 0
    by_family = normalised_table(norm, "family").splitlines()
    assert by_family[0] == "| label | ml | synthetic | all |"
    assert re.fullmatch(r"\| `A` \| 0\.99\d \| 0\.99\d \| 0\.99\d \|", by_family[2])
    assert by_family[5] == "| `D` | 0.000 | 0.000 | 0.000 |"
    with pytest.raises(InvalidOption, match="finals: no column normalised"):
        normalised_table(finals)
    with pytest.raises(InvalidOption, match="baseline 'random' did not run on problem"):
        add_normalised(finals, baseline="random")


def test_the_report_repeats_byte_for_byte(tmp_path):
    finals = add_normalised(_finals(), baseline="D")
    finals.loc[0, "score"] = 0.1 + 0.2  # 0.30000000000000004: no rounding anywhere
    finals.loc[1, "normalised"] = np.nan  # written as null (the file stays strict JSON)
    comparisons = {p: StandIn(rows) for p, rows in finals.groupby("problem")}
    meta = {"tier": "t0", "seeds": 3, "budgets": {"p0": 20}, "commit": "abc123",
            "versions": {"optuna": "4.0"}, "fairness": {"population": "n_trials // 5"}}
    first = write_suite_report(tmp_path / "one", finals, comparisons, meta, n_boot=100)
    second = write_suite_report(tmp_path / "two", finals.sample(frac=1, random_state=1),
                                comparisons, meta, n_boot=100)
    for name in ["README.md", "results.json", "cd-all.png", "cd-ml.png", "cd-synthetic.png"]:
        assert (first.parent / name).read_bytes() == (second.parent / name).read_bytes(), name

    readme = first.read_text()
    for part in ["- **tier**: t0", "| (all) | `A` | 1.00 | [1.00, 1.00] | 8 |",
                 "![critical-difference diagram, synthetic](cd-synthetic.png)",
                 "Friedman chi2 = ", "[p0](curves-p0.png)", "## Normalised score by family"]:
        assert part in readme, part
    assert all((first.parent / f"curves-p{p}.png").read_bytes().startswith(PNG)
               for p in range(8))

    doc = json.loads((first.parent / "results.json").read_text())
    assert doc["meta"] == meta
    back = pd.DataFrame(doc["finals"])
    assert list(back.columns) == ["problem", "family", "label", "seed", "score", "normalised"]
    expected = finals.sort_values(["problem", "label", "seed"]).reset_index(drop=True)
    assert back["score"].tolist() == expected["score"].tolist()  # bit for bit
    assert 0.30000000000000004 in back["score"].tolist()
    assert doc["finals"][1]["normalised"] is None
    assert doc["friedman"]["(all)"]["pvalue"] < 0.001


def test_a_family_that_cannot_be_ranked_is_reported_not_fatal(tmp_path):
    rows = [{"problem": f"q{p}", "family": "pruning", "label": label, "seed": s, "score": s}
            for p, label in [(0, "median"), (1, "asha")] for s in range(3)]
    finals = pd.concat([_finals(), pd.DataFrame(rows)], ignore_index=True)
    ranks = mean_ranks(finals, n_boot=20)
    assert "pruning" not in set(ranks["family"])
    readme = write_suite_report(tmp_path, finals, {}, {"tier": "t0"}, n_boot=20).read_text()
    assert ("No critical-difference diagram: family 'pruning': 0 label(s) ran on all of its "
            "2 problem(s) (needs at least 2; not on every problem: asha, median).") in readme
    # overall: the problems that ran the same labels, the others named
    assert ("Left out (not run on every problem): asha, median. Problems left out (they ran "
            "other labels): q0, q1.") in readme
    assert "| (all) | `A` | 1.00 | [1.00, 1.00] | 8 |" in readme
    assert json.loads((tmp_path / "results.json").read_text())["friedman"]["pruning"].startswith(
        "family 'pruning': 0 label(s)")


def test_the_cd_diagram_repeats_across_processes(tmp_path):
    """The diagram's bars were grouped in sets of label strings, whose order follows each
    process's hash seed: the same finals drew a different PNG in another process."""
    code = ("import sys; sys.path.insert(0, 'tests'); from test_benchmarks_stats import "
            "_finals; from benchmarks._cd_diagram import cd_diagram; "
            "cd_diagram(_finals(), sys.argv[1], 'synthetic')")
    for hash_seed in ("1", "2"):  # these two drew different PNGs before
        subprocess.run([sys.executable, "-c", code, str(tmp_path / f"{hash_seed}.png")],
                       cwd=ROOT, check=True, env={**os.environ, "PYTHONHASHSEED": hash_seed,
                                                  "PYTHONPATH": str(ROOT)})
    pngs = {(tmp_path / f"{s}.png").read_bytes() for s in ("1", "2")}
    assert len(pngs) == 1
