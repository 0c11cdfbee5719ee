"""``unitune dashboard``: optuna-dashboard on the ledger, read as its browser reads it.

The command runs as a user starts it (a subprocess on a free port); the tests wait for
its HTTP API to answer, read the studies and trials of a Ray study and a pymoo study
from it, compare them with what the ledger holds, and stop it with Ctrl-C (SIGINT).
The screenshot test renders the study page with headless Chromium; it is skipped only
where no Chromium binary is installed (``apt-get install chromium``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import unitune as ut

_SCRIPT = Path(sys.executable).parent / "unitune"  # the console script a user types
UNITUNE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "unitune.cli"]
POSTGRES = os.environ.get("UNITUNE_TEST_POSTGRES_URL",
                          "postgresql://unitune:unitune@127.0.0.1:5432/unitune")
SPACE = ut.Space(x=ut.Float(-3.0, 3.0), n=ut.Int(0, 4))
STATES = {"Complete": ut.TrialState.COMPLETE, "Pruned": ut.TrialState.PRUNED,
          "Fail": ut.TrialState.FAIL, "Running": ut.TrialState.RUNNING}


def curve(params, trial):
    """Four reports converging to the value: ASHA stops the worse trials early."""
    value = abs(params["x"]) + params["n"]
    for step in range(4):
        trial.report(value * (1 + 1 / (step + 1)), step)
    return value


def two(params):
    return params["x"] ** 2 + params["n"], (params["x"] - 2) ** 2


def make_studies(storage: str, suffix: str = "") -> dict[str, ut.Result]:
    """A Ray study with reports and a two-objective pymoo study, both small."""
    ray = ut.optimize(curve, SPACE, backend="ray:asha", n_trials=5, seed=0, storage=storage,
                      study_name=f"ray-asha{suffix}",
                      options={"max_t": 4, "reduction_factor": 2})
    moo = ut.optimize(two, SPACE, backend="pymoo:nsga2", directions=["minimize", "minimize"],
                      n_trials=8, seed=0, storage=storage, study_name=f"pymoo-nsga2{suffix}",
                      options={"pop_size": 4})
    return {ray.study_name: ray, moo.study_name: moo}


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("dashboard") / "studies.journal")
    return path, make_studies(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def dashboard(storage: str, cwd: Path):
    """``unitune dashboard`` started on a free port; yields its base URL once its API
    answers; stops it with SIGINT and checks it ended cleanly."""
    port = free_port()
    proc = subprocess.Popen([*UNITUNE, "dashboard", "--storage", storage, "--port",
                             str(port)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        # the line naming the URL is printed once the socket listens: from then on a
        # request waits in its backlog until the server takes it (no polling)
        first = proc.stdout.readline()
        if not first:
            pytest.fail(f"the dashboard ended ({proc.wait()}): {proc.stderr.read()}")
        assert get(f"{base}/api/meta")
        yield base
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=60)
        out = first + out
        assert proc.returncode == 0, err
        assert f"http://127.0.0.1:{port}/dashboard" in out and "dashboard stopped" in out
        assert err == ""
        with pytest.raises(ProcessLookupError):  # gone, and nothing listens on its port
            os.kill(proc.pid, 0)
        with pytest.raises(ConnectionRefusedError), socket.create_connection(
                ("127.0.0.1", port), timeout=5):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def check_api(base: str, results: dict[str, ut.Result]) -> None:
    """The dashboard's API shows each study as the ledger holds it."""
    listed = {s["study_name"]: s for s in get(f"{base}/api/studies")["study_summaries"]}
    assert set(results) <= set(listed)
    for name, result in results.items():
        assert listed[name]["directions"] == list(result.directions)
        detail = get(f"{base}/api/studies/{listed[name]['study_id']}")
        assert detail["name"] == name
        trials = detail["trials"]
        assert [t["number"] for t in trials] == [t.number for t in result.trials]
        for shown, record in zip(trials, result.trials):
            assert STATES[shown["state"]] is record.state
            assert shown.get("values") == (list(record.values) if record.values else None)
            assert {p["name"]: p["param_internal_value"] for p in shown["params"]} == \
                pytest.approx(dict(record.params))
            assert {i["step"]: i["value"] for i in shown["intermediate_values"]} == \
                dict(record.intermediate)
        best = sorted(t["number"] for t in detail["best_trials"])
        assert best == sorted(t.number for t in (
            result.pareto_front if len(result.directions) > 1 else [result.best_trial]))


def test_the_dashboard_api_shows_a_ray_and_a_pymoo_study_as_the_ledger_holds_them(
        journal, tmp_path):
    path, results = journal
    ray = results["ray-asha"]
    assert len(ray.trials) == 5 and all(t.intermediate for t in ray.trials)
    assert {t.backend for t in ray.trials} == {"ray:asha"}
    assert len(results["pymoo-nsga2"].trials) == 8
    with dashboard(path, tmp_path) as base:
        check_api(base, results)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_dashboard_reads_a_database_ledger(kind, journal, tmp_path):
    """The same studies written to SQLite and to PostgreSQL (.ci/run starts it)."""
    import optuna

    from unitune.ledger import open_storage

    storage = f"sqlite:///{tmp_path}/ledger.db" if kind == "sqlite" else POSTGRES
    suffix = f"-{os.getpid()}-{time.monotonic_ns()}"
    source = open_storage(journal[0])
    target = open_storage(storage)
    results = {}
    for name, result in journal[1].items():  # copied as optuna.copy_study copies studies
        optuna.copy_study(from_study_name=name, from_storage=source,
                          to_storage=target, to_study_name=name + suffix)
        results[name + suffix] = ut.load(name + suffix, storage)
        assert results[name + suffix].trials == result.trials
    try:
        with dashboard(storage, tmp_path) as base:
            check_api(base, results)
    finally:
        for name in results:
            optuna.delete_study(study_name=name, storage=target)


def chromium() -> str | None:
    return next(filter(None, map(shutil.which, (
        "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"))), None)


@pytest.mark.skipif(chromium() is None, reason="no Chromium binary (apt-get install chromium)")
def test_a_screenshot_of_the_study_page_shows_the_study(journal, tmp_path):
    from PIL import Image

    path, results = journal
    png = tmp_path / "study.png"
    with dashboard(path, tmp_path) as base:
        studies = get(f"{base}/api/studies")["study_summaries"]
        study_id = next(s["study_id"] for s in studies if s["study_name"] == "pymoo-nsga2")
        page = f"{base}/dashboard/studies/{study_id}"
        browser = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                   "--hide-scrollbars", "--virtual-time-budget=20000"]
        subprocess.run([*browser, "--window-size=1280,900", f"--screenshot={png}", page],
                       capture_output=True, timeout=180, check=True)
        dom = subprocess.run([*browser, "--dump-dom", page], capture_output=True, text=True,
                             timeout=180, check=True).stdout
    # the page the browser built from the API: the study's name and its charts
    assert f"pymoo-nsga2 (id={study_id})" in dom and "History" in dom
    image = Image.open(png).convert("RGB")
    assert image.size == (1280, 900)
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # drawn: text, charts, not a blank page
    background = max(colours)[0]
    assert background < 0.9 * 1280 * 900


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*UNITUNE, "dashboard", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_bad_storage_or_port_is_one_line_and_exit_2_before_it_starts(journal, tmp_path):
    path = journal[0]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        cases = [  # the storage is checked first: the busy port is not reached
            (["--storage", str(tmp_path / "none.journal"), "--port", str(busy)],
             "none.journal' does not exist"),
            (["--storage", f"sqlite:///{tmp_path}/none.db", "--port", str(busy)],
             "none.db' does not exist"),
            (["--storage", path, "--port", str(busy)], f"--port {busy}: cannot listen"),
            (["--storage", path, "--port", "70000"], "'70000' is not a port"),
            (["--storage", path, "--host", "no.such.host.invalid"], "--host"),
        ]
        for args, message in cases:
            proc = run_cli(*args, cwd=tmp_path)
            lines = proc.stderr.strip().splitlines()
            assert proc.returncode == 2 and len(lines) == 1, (args, proc.stderr)
            assert message in lines[0], (args, lines[0])
            assert proc.stdout == ""
    assert not (tmp_path / "none.journal").exists() and not (tmp_path / "none.db").exists()
