"""The README's pictures of a study ("Look at a study"): one PNG per kind of plot, drawn
by ``unitune plot`` from the studies of two recipes.

    python docs/make_plots.py        # writes docs/plots/KIND.png (about 1 CPU minute)
    python docs/make_plots.py --storage plots.journal   # keep the studies (run again:
                                                        # only the pictures are redrawn)

- ``recipes/pruning.py`` on ``optuna:tpe`` (its percentile pruner, 40 trials): every
  kind of one objective, the learning curves of ``intermediate`` included; the same
  search on ``optuna:random`` is the second curve of ``edf``;
- ``recipes/multi_objective.py`` on ``pymoo:nsga2`` (3 generations of 20): ``pareto``.

Without ``--storage`` the studies go to a journal file in a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "plots"
DPI = "60"  # 384 x 288 pixels: small files, readable in a table of three

sys.path.insert(0, str(ROOT))

from recipes import multi_objective, pruning  # noqa: E402
from unitune.cli import main as unitune  # noqa: E402

TPE, RANDOM, NSGA2 = "pruning/optuna:tpe", "pruning/optuna:random", "multi_objective/pymoo:nsga2"
PICTURES = {  # kind -> the studies it draws
    "history": [TPE], "importance": [TPE], "parallel": [TPE], "slice": [TPE],
    "contour": [TPE], "intermediate": [TPE], "timeline": [TPE], "edf": [TPE, RANDOM],
    "pareto": [NSGA2],
}


def run(storage: str) -> None:
    for backend, study in (("optuna:tpe", TPE), ("optuna:random", RANDOM)):
        pruning.main(["--backend", backend, "--n-trials", "40", "--storage", storage,
                      "--study", study, "--quiet"])
    multi_objective.main(["--n-trials", "60", "--pop-size", "20", "--storage", storage,
                          "--study", NSGA2, "--quiet"])


def draw(storage: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for kind, studies in PICTURES.items():
        names = [arg for study in studies for arg in ("--study", study)]
        code = unitune(["plot", *names, "--storage", storage, "--kind", kind,
                        "--out", str(OUT / f"{kind}.png"), "--dpi", DPI])
        if code:
            sys.exit(code)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", help="journal file to keep the studies in")
    storage = parser.parse_args().storage
    with tempfile.TemporaryDirectory() as folder:
        journal = storage or str(Path(folder) / "studies.journal")
        run(journal)
        draw(journal)
