"""Passwords in storage URLs are never printed or stored: not in the summaries of `run`,
`worker` and `show`, not in an error, not in the ledger; and a storage that cannot be
opened (no such folder, a closed port, a wrong password) is one line that names it
(password masked) and the cause."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import optuna
import pytest

import unitune as ut

_SCRIPT = Path(sys.executable).parent / "unitune"
UNITUNE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "unitune.cli"]
POSTGRES = os.environ.get("UNITUNE_TEST_POSTGRES_URL",
                          "postgresql://unitune:unitune@127.0.0.1:5432/unitune")
WRONG = "s3cr3t-wrong-pw"

OBJECTIVE = textwrap.dedent("""
    SPACE = {"x": {"type": "float", "low": -5, "high": 5}}

    def quick(params):
        return (params["x"] - 1.0) ** 2
    """)


def _with(url: str, *, password: str | None = None, port: int | None = None) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password or parts.password}@{parts.hostname}:" \
             f"{port or parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))


def _masked(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{parts.hostname}:"
                                             f"{parts.port or 5432}"))


def _closed_port() -> int:
    with socket.socket() as s:  # a port the system just gave out and nothing listens on
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("url, shown", [
    ("postgresql://user:pw@db/hpo", "postgresql://user:***@db/hpo"),
    ("postgresql+psycopg2://u:p%40ss@db:5432/hpo?sslmode=require",
     "postgresql+psycopg2://u:***@db:5432/hpo?sslmode=require"),
    ("mysql://u:p@ss:w/rd@db/hpo", "mysql://u:***@db/hpo"),  # an unquoted '@' and '/'
    ("postgresql://db/hpo?user=u&password=pw", "postgresql://db/hpo?user=u&password=***"),
    ("postgresql://user@db/hpo", "postgresql://user@db/hpo"),  # nothing to hide
    ("postgresql://db:5432/hpo", "postgresql://db:5432/hpo"),
    ("sqlite:///studies.db", "sqlite:///studies.db"),
    ("runs/studies.journal", "runs/studies.journal"),
])
def test_a_storage_is_named_without_its_password(url, shown):
    from unitune._secrets import storage_name

    assert storage_name(url) == shown
    if "://" not in url:
        assert storage_name(Path(url)) == str(Path(url))


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    return tmp_path


def test_no_output_of_a_postgresql_round_holds_the_password(workdir):
    """run, worker, show and studies, and the errors (wrong password, closed port, study
    missing): every line they print, and the ledger itself, without the password."""
    password = urlsplit(POSTGRES).password
    assert password, "the test database URL has a password"
    study = f"unitune-secret-{os.getpid()}"
    reader = optuna.storages.RDBStorage(POSTGRES)
    for s in reader.get_all_studies():
        if s.study_name == study:
            reader.delete_study(s._study_id)

    def cli(*args):
        return subprocess.Popen([*UNITUNE, *args], cwd=workdir, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def finish(procs, code):
        for what, proc in procs.items():
            outputs[what] = proc.communicate(timeout=300)
            assert proc.returncode == code, (what, outputs[what])

    outputs: dict[str, tuple[str, str]] = {}
    wrong, closed = _with(POSTGRES, password=WRONG), _with(POSTGRES, port=_closed_port())
    failing = {  # each exits 2 with one line
        "wrong password": cli("show", "--study", study, "--storage", wrong),
        "closed port": cli("studies", "--storage", closed),
        "run, wrong password": cli("run", "obj.py:quick", "--n-trials", "1", "--storage",
                                   wrong),
    }
    finish({"run": cli("run", "obj.py:quick", "--n-trials", "3", "--seed", "0", "--study",
                       study, "--storage", POSTGRES)}, 0)
    finish({"worker": cli("worker", "obj.py:quick", "--study", study, "--n-trials", "5",
                          "--storage", POSTGRES)}, 0)
    finish({"show": cli("show", "--study", study, "--storage", POSTGRES),
            "studies": cli("studies", "--storage", POSTGRES)}, 0)
    failing.update({
        "study missing": cli("show", "--study", "nope", "--storage", POSTGRES),
        "worker, study missing": cli("worker", "obj.py:quick", "--study", "nope", "--wait",
                                     "0", "--storage", POSTGRES)})
    finish(failing, 2)
    for what in failing:
        assert outputs[what][1].count("\n") == 1, (what, outputs[what][1])

    assert f"study {study!r} in {_masked(POSTGRES)}: 5 trials" in outputs["show"][0]
    assert f"in {_masked(POSTGRES)}: 3 trials" in outputs["run"][0]
    assert f"in {_masked(POSTGRES)}: 5 trials" in outputs["worker"][0]
    assert f"storage {_masked(wrong)}: cannot connect: " in outputs["wrong password"][1]
    assert "password authentication failed" in outputs["wrong password"][1]
    assert f"storage {_masked(closed)}: cannot connect: " in outputs["closed port"][1]
    assert "refused" in outputs["closed port"][1].lower()
    assert f"study 'nope' is not in storage {_masked(POSTGRES)}" in outputs["study missing"][1]
    # what the ledger holds about the study (settings, space, trials) has no password either
    study_id = reader.get_study_id_from_name(study)
    stored = json.dumps([reader.get_study_system_attrs(study_id),
                         reader.get_study_user_attrs(study_id),
                         [t.system_attrs for t in reader.get_all_trials(study_id)]])

    reader.delete_study(study_id)

    printed = "".join(out + err for out, err in outputs.values())
    occurrences = sum(text.count(f":{password}@") + text.count(WRONG)
                      for text in (printed, stored))
    assert occurrences == 0, printed


def test_the_python_api_raises_one_line_storage_errors_without_the_password(tmp_path):
    space = ut.Space(x=ut.Float(0, 1))
    wrong = _with(POSTGRES, password=WRONG)
    with pytest.raises(ut.StorageError) as refused:
        ut.optimize(lambda p: p["x"], space, n_trials=1, storage=wrong, study_name="s")
    message = str(refused.value)
    assert WRONG not in message and "\n" not in message
    assert message.startswith(f"storage {_masked(wrong)}: cannot connect: ")
    assert refused.value.__cause__ is None and refused.value.__suppress_context__

    # an opened storage is named by its URL, masked
    for opened in (optuna.storages.RDBStorage(POSTGRES), ut.ledger.open_storage(POSTGRES)):
        with pytest.raises(ut.InvalidOption) as missing:
            ut.load("nope", opened)
        assert str(missing.value).startswith(f"study 'nope' is not in storage "
                                             f"{_masked(POSTGRES)}; studies there: ")

    with pytest.raises(ut.InvalidOption) as unknown:
        ut.optimize(lambda p: p["x"], space, n_trials=1, storage="redis://u:hidden@h/0")
    assert "hidden" not in str(unknown.value) and "redis://u:***@h/0" in str(unknown.value)


def test_a_sqlite_url_in_a_missing_folder_is_one_line(tmp_path):
    url = "sqlite:///missing_dir/x.db"
    with pytest.raises(ut.StorageError, match=r"^storage sqlite:///missing_dir/x.db: folder "
                       r"'missing_dir' does not exist"):
        ut.optimize(lambda p: p["x"], ut.Space(x=ut.Float(0, 1)), n_trials=1, storage=url)
    proc = subprocess.run([*UNITUNE, "studies", "--storage", url], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == ("unitune: error: storage sqlite:///missing_dir/x.db: folder "
                           "'missing_dir' does not exist; create it, or give a path in an "
                           "existing folder\n")
    assert not (tmp_path / "missing_dir").exists()


def test_a_search_estimator_is_shown_without_the_password():
    """scikit-learn prints an estimator's params (and a notebook shows them after fit)."""
    from sklearn.svm import SVC

    from unitune.sklearn import SearchCV

    search = SearchCV(SVC(), {"C": [1, 2]}, storage="postgresql://u:s3cr3t-pw@db/hpo")
    shown = [repr(search), search._repr_html_(), *search._repr_mimebundle_().values()]
    assert all("s3cr3t-pw" not in text and "u:***@db/hpo" in text for text in shown)
    assert search.get_params()["storage"] == "postgresql://u:s3cr3t-pw@db/hpo"  # clone keeps it
