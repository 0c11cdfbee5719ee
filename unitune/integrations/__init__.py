"""Where the ledger's trials go besides the ledger: experiment trackers.

    callbacks=[ut.integrations.MLflowCallback(tracking_uri="sqlite:///mlflow.db")]

Each integration loads its library when it is used, never on ``import unitune``.
"""

from __future__ import annotations

from unitune.integrations._mlflow import MLflowCallback

__all__ = ["MLflowCallback"]
