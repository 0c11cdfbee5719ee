"""``MLflowCallback``: each finished trial as an MLflow run, nested under one parent run
per study, for every backend (callbacks run in the process that called ``optimize``,
Ray's trials included).

A trial's run holds its params, its value(s) under the study's metric names (``value``,
or ``values_0``, ``values_1``... as in ``result.to_dataframe()``), its intermediate
values as the steps of ``intermediate_value``, its constraints, its start and end (so
MLflow shows its duration), and as tags its state, backend, number and error. Its status
is FINISHED (COMPLETE), KILLED (PRUNED: stopped early on purpose) or FAILED.

The parent run is found again by a tag keyed on (storage, study name): a resumed study,
and ``unitune worker`` processes joining it, add their trials to the same parent. When
the study ends the parent holds the trial counts and the best value (or the size of the
Pareto front), and is FINISHED, KILLED (interrupted) or FAILED.

Optuna-integration's ``MLflowCallback`` is not reused: it reads an ``optuna.Study`` and
its ``FrozenTrial`` and logs through MLflow's global active run; this one logs the
ledger's ``TrialRecord`` through an ``MlflowClient`` and its own run ids, so threads
(``n_workers``) and several studies in one process do not share a global run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
import time
from collections.abc import Mapping
from typing import Any

from unitune._hooks import StudyInfo
from unitune._secrets import scrub
from unitune.errors import BackendNotInstalled, InvalidOption, StorageError
from unitune.records import Result, TrialRecord, TrialState, state_counts

__all__ = ["STEP_METRIC", "MLflowCallback"]

STEP_METRIC = "intermediate_value"
_STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED",
           TrialState.FAIL: "FAILED"}


class MLflowCallback:
    """``callbacks=[ut.integrations.MLflowCallback(tracking_uri=..., experiment=...)]``.

    ``tracking_uri``: an MLflow tracking URI (``sqlite:///mlflow.db``, ``http://host:5000``;
    default: MLflow's own, ``$MLFLOW_TRACKING_URI``); ``experiment``: its name (default:
    the study's name), created if missing; ``tags``: set on every run it creates."""

    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None, *,
                 tags: Mapping[str, Any] | None = None) -> None:
        for name, value in (("tracking_uri", tracking_uri), ("experiment", experiment)):
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise InvalidOption(f"MLflowCallback: {name}={value!r} must be a non-empty "
                                    "string (or None for MLflow's default)")
        if tags is not None and not isinstance(tags, Mapping):
            raise InvalidOption(f"MLflowCallback: tags={tags!r} must be a dict of tag: value")
        if importlib.util.find_spec("mlflow") is None:
            raise BackendNotInstalled("MLflowCallback needs MLflow: pip install "
                                      "'unitune[track]' (or mlflow-skinny)")
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self._reset()

    def _reset(self) -> None:
        self._client: Any = None
        self._experiment_id: str | None = None
        self._parent: str | None = None
        self._info: StudyInfo | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # copied or pickled: the settings only
        return {"tracking_uri": self.tracking_uri, "experiment": self.experiment,
                "tags": self.tags}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    def __repr__(self) -> str:
        return (f"MLflowCallback(tracking_uri={scrub(str(self.tracking_uri))!r}, "
                f"experiment={self.experiment!r})")

    # -- the study -----------------------------------------------------------------------
    def on_study_start(self, info: StudyInfo) -> None:
        from mlflow.tracking import MlflowClient

        uri = self.tracking_uri
        if uri is not None and info.storage is not None and scrub(uri) == info.storage:
            raise InvalidOption(f"MLflowCallback: tracking_uri={info.storage!r} is the "
                                "study's storage; give MLflow a database of its own")
        try:
            client = MlflowClient(uri)
            experiment_id = _experiment_id(client, self.experiment or info.study_name)
            parent = self._parent_run(client, experiment_id, info)
        except (InvalidOption, StorageError):
            raise
        except Exception as exc:  # MLflow's, SQLAlchemy's, the network's: one line
            where = scrub(uri) if uri else "MLflow's default tracking URI"
            raise StorageError(f"MLflowCallback: tracking_uri={where!r}: "
                               f"{type(exc).__name__}: {_first_line(exc)}") from None
        self._client, self._experiment_id, self._parent, self._info = (
            client, experiment_id, parent, info)

    def on_study_end(self, result: Result | None) -> None:
        client, parent = self._client, self._parent
        if client is None or parent is None:
            return
        self._parent = None
        if result is None:
            client.set_terminated(parent, status="FAILED")
            return
        from mlflow.entities import Metric

        now, step = _now(), len(result.trials)
        counts = state_counts(result.trials)
        metrics = [Metric(f"trials_{state.lower()}", counts.get(state.value, 0), now, step)
                   for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)]
        metrics.append(Metric("trials", len(result.trials), now, step))
        tags: dict[str, str] = {}
        if result.completed and len(result.directions) == 1:
            best = result.best_trial
            metrics.append(Metric(f"best_{_names(result.metrics, 1)[0]}", result.best_value,
                                  now, step))
            tags["unitune.best_trial"] = str(best.number)
        elif result.completed:
            front = result.pareto_front
            metrics.append(Metric("pareto_front_size", len(front), now, step))
            tags["unitune.pareto_front"] = ",".join(str(t.number) for t in front)[:5000]
        client.log_batch(parent, metrics=metrics, tags=_tags(tags))
        client.set_terminated(parent, status="KILLED" if result.interrupted else "FINISHED")

    def _parent_run(self, client: Any, experiment_id: str, info: StudyInfo) -> str:
        """The study's parent run: the one already there (a resumed study, a worker), or
        a new one; of two created at once by two processes, the earliest wins."""
        key = hashlib.sha1(f"{info.storage}\0{info.study_name}".encode()).hexdigest()[:24]
        tags = {"unitune.study": info.study_name, "unitune.study_key": key,
                "unitune.storage": info.storage or "memory",
                "unitune.directions": ",".join(info.directions),
                "unitune.backend": info.backend, **self.tags}
        if info.metrics:
            tags["unitune.metrics"] = ",".join(info.metrics)
        if info.storage is not None:  # a study in memory is never resumed
            found = _runs_of(client, experiment_id, key)
            if found:
                client.update_run(found[0], status="RUNNING")
                client.set_tag(found[0], "unitune.backend", info.backend)
                return found[0]
        created = client.create_run(experiment_id, run_name=info.study_name,
                                    tags=tags).info.run_id
        if info.storage is None:
            return created
        winner = _runs_of(client, experiment_id, key)[0]
        if winner != created:
            client.delete_run(created)
        return winner

    # -- each trial ----------------------------------------------------------------------
    def __call__(self, record: TrialRecord) -> None:
        if self._client is None or self._info is None or self._parent is None:
            raise InvalidOption("MLflowCallback is told of its study by ut.optimize: pass it "
                                "in optimize(callbacks=[...])")
        with self._lock:  # trials finish in several threads with n_workers
            self._log_trial(self._client, self._info, self._parent, record)

    def _log_trial(self, client: Any, info: StudyInfo, parent: str,
                   record: TrialRecord) -> None:
        from mlflow.entities import Metric, Param

        start = (round(record.datetime_start.timestamp() * 1000)
                 if record.datetime_start is not None else _now())
        end = start + round(record.duration * 1000) if record.duration is not None else _now()
        tags = {"mlflow.parentRunId": parent, "unitune.study": info.study_name,
                "unitune.trial": str(record.number), "unitune.state": record.state.value,
                "unitune.backend": record.backend or info.backend, **self.tags}
        if record.error:
            tags["unitune.error"] = record.error.splitlines()[0][:500]
        assert self._experiment_id is not None
        run = client.create_run(self._experiment_id, start_time=start,
                                run_name=f"trial {record.number}", tags=tags).info.run_id
        values = record.values or ()
        metrics = [Metric(name, v, end, 0)
                   for name, v in zip(_names(info.metrics, len(info.directions)), values)]
        metrics += [Metric(STEP_METRIC, float(v), end, int(step))
                    for step, v in sorted(record.intermediate.items())]
        metrics += [Metric(f"constraint_{i}", c, end, 0)
                    for i, c in enumerate(record.constraints or ())]
        params = [Param(str(k), str(v)) for k, v in record.params.items()]
        client.log_batch(run, metrics=metrics, params=params)
        client.set_terminated(run, status=_STATUS.get(record.state, "FAILED"), end_time=end)


def _names(metrics: tuple[str, ...] | None, n: int) -> tuple[str, ...]:
    """The metric name of each value: the study's, else ``value`` or ``values_<i>``."""
    return metrics or (("value",) if n == 1 else tuple(f"values_{i}" for i in range(n)))


def _experiment_id(client: Any, name: str) -> str:
    """The id of experiment ``name``, created if missing (or by another process now)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name)
        except Exception:  # created by another process meanwhile
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage != "active":
        raise InvalidOption(f"MLflowCallback: experiment {name!r} is deleted; restore it "
                            "(mlflow experiments restore) or give another experiment=")
    return experiment.experiment_id


def _runs_of(client: Any, experiment_id: str, key: str) -> list[str]:
    """The parent runs of the study keyed ``key``, earliest first."""
    runs = client.search_runs([experiment_id], filter_string=f"tags.`unitune.study_key` = "
                              f"'{key}'", max_results=100)
    return [r.info.run_id for r in sorted(runs, key=lambda r: (r.info.start_time,
                                                                 r.info.run_id))]


def _tags(tags: Mapping[str, str]) -> list[Any]:
    from mlflow.entities import RunTag

    return [RunTag(k, v) for k, v in tags.items()]


def _now() -> int:
    return int(time.time() * 1000)


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(getattr(exc, "orig", None) or exc).splitlines()
             if ln.strip()]
    return scrub(lines[0] if lines else type(exc).__name__)
