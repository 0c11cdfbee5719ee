"""The keys unitune stores in an Optuna storage, named once. Optuna's own keys are
marked: its samplers and tools read them."""

from __future__ import annotations

__all__ = ["BY_RUN_ATTR", "CONSTRAINTS_ATTR", "DRAWN_ATTR", "ERROR_ATTR", "FIXED_PARAMS_ATTR",
           "HISTORY_ATTR", "INTERRUPTED_ATTR", "METRICS_ATTR", "RUN_ATTR", "SETTINGS_ATTR",
           "SPACE_ATTR",
           "TRACEBACK_ATTR", "WORKER_ATTR"]

# per study
SPACE_ATTR = "unitune:space"  # user attr: the space's dict form
BY_RUN_ATTR = "unitune:define_by_run"  # system attr: the space is the one trials declared
SETTINGS_ATTR = "unitune:run"  # how the last optimize() (not a worker) ran it
METRICS_ATTR = "study:metric_names"  # Optuna's: the names of the objective values

# per trial (system attrs, except HISTORY_ATTR, a user attr)
RUN_ATTR = "unitune"  # {"backend": ..., "owner": "host:pid"}
WORKER_ATTR = "unitune:worker"  # host:pid that ran the objective, when not the owner (Ray)
ERROR_ATTR = "unitune:error"  # why the trial failed, one line
TRACEBACK_ATTR = "unitune:traceback"  # the objective's traceback, its last 8,000 characters
INTERRUPTED_ATTR = "unitune:interrupted"  # cut short: re-run, not counted in the budget
CONSTRAINTS_ATTR = "constraints"  # Optuna's: its samplers read it (<= 0 feasible)
FIXED_PARAMS_ATTR = "fixed_params"  # Optuna's: the params of a queued (WAITING) trial
DRAWN_ATTR = "unitune:drawn"  # {param: ppf(q)} for params stored as a quantile (_drawn.py)
HISTORY_ATTR = "unitune:params_history"  # PBT: each exploit's step, donor and new params
