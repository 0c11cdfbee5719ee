"""``unitune export`` and ``result.to_dataframe()``: one row per trial, with its number,
state, values, params, duration, start, why it failed, backend and worker; each format
read back gives the same trials."""

from __future__ import annotations

import io
import json
import math
import os
import socket

import pandas as pd
import pytest

import unitune as ut
from unitune.cli import main

SPACE = ut.Space(lr=ut.Float(1e-4, 1, log=True), layers=ut.Int(1, 4),
                 act=ut.Categorical(["relu", "tanh"]))
WORKER = f"{socket.gethostname()}:{os.getpid()}"


def objective(params, trial):
    if trial.number == 3:
        raise ValueError("trial 3 fails on purpose")
    return params["lr"] * params["layers"], params["layers"] + (params["act"] == "tanh")


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("export") / "s.journal")
    ut.optimize(objective, SPACE, backend="pymoo:nsga2", n_trials=10, seed=0,
                directions=["minimize", "minimize"], metrics=["loss", "size"],
                options={"pop_size": 5}, storage=path, study_name="two")
    return path


def read(fmt: str, path) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(path, parse_dates=["datetime_start"])
    if fmt == "json":
        return pd.DataFrame(json.loads(path.read_text()))
    return pd.read_parquet(path)


def test_the_dataframe_has_a_row_per_trial_with_its_whole_story(journal):
    result = ut.load("two", journal)
    df = result.to_dataframe()
    assert list(df.columns) == ["number", "state", "loss", "size", "params_lr",
                                "params_layers", "params_act", "duration", "datetime_start",
                                "error", "backend", "worker"]
    assert list(df["number"]) == [t.number for t in result.trials] == list(range(10))
    failed = df.set_index("number").loc[3]
    assert failed["state"] == "FAIL" and "trial 3 fails on purpose" in failed["error"]
    assert math.isnan(failed["loss"])
    assert set(df["backend"]) == {"pymoo:nsga2"} and set(df["worker"]) == {WORKER}
    assert (df["duration"] >= 0).all() and df["datetime_start"].notna().all()


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_each_format_round_trips_the_trials(fmt, journal, tmp_path, capsys):
    out = tmp_path / f"trials.{fmt}"
    assert main(["export", "--study", "two", "--storage", journal, "--out", str(out)]) == 0
    back = read(fmt, out)
    trials = ut.load("two", journal).trials
    assert len(back) == len(trials)
    for row, t in zip(back.to_dict("records"), trials):
        assert row["number"] == t.number and row["state"] == t.state.value
        assert {k: row[f"params_{k}"] for k in t.params} == dict(t.params)
        if t.values is not None:
            assert (row["loss"], row["size"]) == t.values
        else:
            assert pd.isna(row["loss"]) and "fails on purpose" in row["error"]
        assert pd.Timestamp(row["datetime_start"]) == pd.Timestamp(t.datetime_start)
        assert row["worker"] == WORKER and row["backend"] == "pymoo:nsga2"


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_csv_and_json_go_to_stdout_without_out(fmt, journal, capsys):
    assert main(["export", "--study", "two", "--storage", journal, "--format", fmt]) == 0
    text = capsys.readouterr().out
    back = pd.read_csv(io.StringIO(text)) if fmt == "csv" else pd.DataFrame(json.loads(text))
    assert list(back["number"]) == list(range(10))


def test_json_holds_null_for_missing_values(journal, capsys):
    main(["export", "--study", "two", "--storage", journal, "--format", "json"])
    rows = json.loads(capsys.readouterr().out)  # strict JSON: no NaN
    assert rows[3]["loss"] is None and rows[0]["error"] is None


@pytest.mark.parametrize("args, says", [
    (["--format", "parquet"], "--format parquet is binary: give --out FILE.parquet"),
    (["--study", "nope"], "study 'nope' is not in storage"),
    (["--out", "no/such/folder/t.csv"], "folder 'no/such/folder' does not exist"),
])
def test_bad_exports_are_refused_in_one_line(args, says, journal, tmp_path, capsys,
                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = [] if "--study" in args else ["--study", "two"]
    assert main(["export", *study, "--storage", journal, *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err


def test_a_param_whose_choices_mix_types_is_written_to_parquet_as_text(tmp_path):
    space = ut.Space(batch=ut.Categorical([32, "auto"]), x=ut.Float(0, 1))
    path = str(tmp_path / "s.journal")
    ut.optimize(lambda p: p["x"], space, n_trials=8, seed=1, storage=path, study_name="mix")
    out = tmp_path / "t.parquet"
    assert main(["export", "--study", "mix", "--storage", path, "--out", str(out)]) == 0
    back, trials = pd.read_parquet(out), ut.load("mix", path).trials
    assert {type(t.params["batch"]) for t in trials} == {int, str}
    assert list(back["params_batch"]) == [str(t.params["batch"]) for t in trials]


def test_a_database_ledger_is_exported_and_drawn_as_a_journal_is(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ut.optimize(lambda p: p["lr"] * p["layers"], SPACE, n_trials=5, seed=0, storage=url,
                study_name="db")
    assert main(["export", "--study", "db", "--storage", url, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["number"] for r in rows] == list(range(5))
    out = tmp_path / "h.png"
    assert main(["plot", "--study", "db", "--storage", url, "--kind", "history",
                 "--out", str(out)]) == 0
    assert out.stat().st_size > 0
