"""Runs of the static-embedding grid model under several data conditions, each scored on the same held-out pairs
(notebook 06's data-scale, MT-versus-human and alpha questions): one call trains what is missing, finds what is
trained and returns one :class:`~hybridlib.analysis.comparison.RunEvaluations` per condition.

Example::

    specs = run_grid(["xx-mono", "xy", "hybrid"], seeds=[0, 1])
    subsets = {f: subsample_groups(splits["train"], f, seed=0) for f in (0.25, 1.0)}
    scored = static_conditions(subsets, specs, config=static_grid_config(300, 32, 0.2), models_dir="build/models/grid",
                               dim=256, validation=splits["validation"])      # {0.25: RunEvaluations, 1.0: ...}
"""

from __future__ import annotations

import os
from typing import Any

from hybridlib.analysis.comparison import RunEvaluations, validation_runs
from hybridlib.analysis.experiments import by_alpha
from hybridlib.models.runs import TrainConfig
from hybridlib.training.train import train_static_runs


def static_conditions(conditions: dict[Any, Any], specs: list[dict[str, Any]], *, config: TrainConfig,
                      models_dir: str | os.PathLike[str], dim: int, validation, label_by_alpha: bool = False
                      ) -> dict[Any, RunEvaluations]:
    """For each condition's training set (``conditions``: ``{name: dataset}``), the runs ``specs`` of a fresh
    static-embedding model (trained, or found when trained before) scored on ``validation``; ``label_by_alpha``
    names each run by its alpha instead of its sampler (the alpha grid)."""
    scored = {}
    for name, train_set in conditions.items():
        runs = train_static_runs(specs, train_set, config=config, models_dir=models_dir, dim=dim)
        scored[name] = validation_runs(by_alpha(runs) if label_by_alpha else runs, validation)
    return scored
