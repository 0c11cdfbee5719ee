"""``--mlflow URI`` of ``unitune run`` and ``unitune worker``: each finished trial an
MLflow run under one parent run per study (``ut.integrations.MLflowCallback``)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_mlflow_flag", "mlflow_callbacks"]


def add_mlflow_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mlflow", metavar="URI", help="log each finished trial as an MLflow "
                   "run, under one parent run per study, to this tracking URI (e.g. "
                   "sqlite:///mlflow.db; experiment: the study's name); needs "
                   "unitune[track]")


def mlflow_callbacks(args: argparse.Namespace) -> list[Any]:
    """The MLflow callback the flags ask for, if any."""
    if getattr(args, "mlflow", None) is None:
        return []
    from unitune.integrations import MLflowCallback

    return [MLflowCallback(tracking_uri=args.mlflow)]
