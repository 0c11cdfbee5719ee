"""README.md's code works as written: each Python block, copied alone into a fresh
interpreter, runs and prints what it promises; the first screen's two commands are the
Makefile's targets, and CI runs the second.

Budgets are cut by rewriting ``n_trials=N`` to ``n_trials=3`` in the text before running
it (the product has no hook for this). A block runs in an empty folder, with this
checkout first on the path."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
TINY = 3

_PARAMS = (r"\{'C': [-+.e\d]+, 'gamma': [-+.e\d]+, 'kernel': '(rbf|sigmoid)'\} "
           r"0\.\d+")
# What each block (named by the heading above it) prints, as regular expressions, each
# matching a whole line of its output, in order.
PRINTS: dict[str, list[str]] = {
    "In Python": [_PARAMS,
                  r"\s*number\s+state\s+value\s+params_kernel",
                  *[rf"{i}\s+{i}\s+COMPLETE\s+0\.\d+\s+(rbf|sigmoid)" for i in range(TINY)]],
    "Conditional spaces": [r"\['model', 'n_layers', 'units_l3'\]",
                           rf"{TINY} trials, each with its active parameters only"],
    "Define-by-run objectives": [r"True"],
    "The ledger": [rf"{TINY} trials, best \d+\.\d{{4}}: history\.html"],
    "scikit-learn": [r"\{'C': (0\.1|1|10), 'kernel': '(rbf|linear)'\} 0\.9\d+"],
    "Look at a study": [rf"{TINY} trials: number, state, value, params_lr, params_depth, "
                        r"duration, datetime_start, error, backend, worker"],
    "Which backend? `ut.compare`, `unitune compare` and the benchmark suite": [
        r"\s+median\s+q25\s+q75\s+normalised\s+mean_rank", r"label\s*",
        *[rf"{b}(\s+-?\d+\.\d+){{5}}" for b in ("optuna:tpe", "pymoo:ga", "optuna:random")]],
}
# Files a block says it writes, in the folder it runs in.
WRITES = {"The ledger": ["demo.journal", "history.html"], "Look at a study": ["slice.png"]}


def python_blocks(text: str) -> dict[str, str]:
    """Each ```python block of ``text``, keyed by the heading above it."""
    blocks: dict[str, str] = {}
    heading = ""
    # a fence is matched whole, so that a "# comment" inside one is not a heading
    for match in re.finditer(r"^```(\w*)\n(.*?)^```$|^#+ ([^\n]+)$", text, re.M | re.S):
        if match.group(3):
            heading = match.group(3).strip()
        elif match.group(1) == "python":
            assert heading not in blocks, f"two Python blocks under {heading!r}"
            blocks[heading] = match.group(2)
    return blocks


BLOCKS = python_blocks(README)


def test_every_block_has_its_promise():
    assert sorted(BLOCKS) == sorted(PRINTS)


@pytest.mark.parametrize("heading", sorted(PRINTS))
def test_the_block_runs_alone_and_prints_what_it_promises(heading, tmp_path):
    code = re.sub(r"\bn_trials=\d+", f"n_trials={TINY}", BLOCKS[heading])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = iter(proc.stdout.splitlines())
    for pattern in PRINTS[heading]:
        assert any(re.fullmatch(pattern, line) for line in lines), (pattern, proc.stdout)
    for name in WRITES.get(heading, []):
        assert (tmp_path / name).stat().st_size > 0, name


def _commands(block: str) -> list[str]:
    """The commands of a bash block: its lines without comments, continuations joined."""
    joined = block.replace("\\\n", " ")
    lines = (line.split("#")[0].strip() for line in joined.splitlines())
    return [" ".join(line.split()) for line in lines if line]


def test_the_first_screen_is_two_make_commands():
    first = re.search(r"^```(\w+)\n(.*?)^```$", README, re.M | re.S)
    assert first and first.group(1) == "bash"
    assert _commands(first.group(2)) == ["make demo", "make test"]
    assert README.index(first.group(0)) < 1500  # on the first screen


def test_the_demo_is_the_readme_quickstart_and_ci_runs_make_test():
    makefile = (ROOT / "Makefile").read_text()
    targets = re.findall(r"^([\w.-]+):", makefile, re.M)
    assert {"demo", "test"} <= set(targets)
    demo = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert demo
    (make_run,) = [c.removeprefix("$(VENV)/bin/") for c in _commands(demo.group(1))]
    readme_runs = [c.removeprefix(".venv/bin/") for block in
                   re.findall(r"^```bash\n(.*?)^```$", README, re.M | re.S)
                   for c in _commands(block) if "recipes/quickstart.py" in c]
    assert readme_runs == [make_run]  # the long form runs what `make demo` runs
    ci = _commands((ROOT / ".ci" / "run").read_text())
    assert "make test" in ci
    assert ci.index("make test") > max(i for i, c in enumerate(ci)
                                       if "UNITUNE_TEST_POSTGRES_URL" in c)


def test_the_backend_table_is_the_committed_t1_report():
    """The README's 'which backend to pick' table is the t1 suite's, as committed."""
    block = README.split("<!-- pick:", 1)[1].split("<!-- /pick -->", 1)[0]
    table = block.split("-->", 1)[1].strip()
    committed = (ROOT / "benchmarks" / "results" / "t1" / "pick.md").read_text().strip()
    assert table == committed
