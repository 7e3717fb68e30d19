"""The training-length curve's runs (notebook 10): each sampler and seed trained once to the longest length, with a
constant learning rate after a fixed warm-up, the model kept at every length (:func:`hybridlib.training.train.fine_tune`'s
``snapshot_steps``), so that the model at step k is the model a k-step run gives (tested). The curve is read and
tested by :mod:`hybridlib.analysis.length_curve`.

Example::

    rows = train_length_runs(specs, splits["train"], config="length", steps=[20, 80, 320],
                             models_dir="build/models-length", validation_set=splits["validation"])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hybridlib.models.encoder import training_record
from hybridlib.models.runs import TrainConfig, snapshots
from hybridlib.scoring.validation import validation_batches
from hybridlib.training.train import train_runs

CONSTANT = "constant_with_warmup"


def length_config(config: TrainConfig | str, steps: Sequence[int]) -> TrainConfig:
    """``config`` checked for a length curve of ``steps``: its schedule must make a snapshot at step k the model of
    a k-step run (constant after a fixed warm-up shorter than the shortest length) and it must reach the longest."""
    config = TrainConfig.of(config)
    steps = checked_steps(steps)
    if config.lr_scheduler != CONSTANT or config.warmup_steps is None:
        raise ValueError(f"a length curve needs lr_scheduler: {CONSTANT} and a fixed warmup_steps (configs/length.yaml)"
                         f"; got lr_scheduler {config.lr_scheduler!r}, warmup_steps {config.warmup_steps!r}")
    if config.warmup_steps >= steps[0]:
        raise ValueError(f"warmup_steps ({config.warmup_steps}) must be shorter than the shortest length ({steps[0]})")
    if config.max_steps != steps[-1]:
        raise ValueError(f"the config trains {config.max_steps} steps but the longest length is {steps[-1]}: "
                         "set max_steps to it")
    return config


def checked_steps(steps: Sequence[int]) -> list[int]:
    """``steps`` as a sorted list of distinct positive whole numbers (at least two), else a ValueError."""
    if isinstance(steps, (str, bytes)) or not steps or any(isinstance(k, bool) or not isinstance(k, int) or k < 1
                                                           for k in steps):
        raise ValueError(f"length_steps must be a list of positive whole numbers of steps, got {steps!r}")
    if len(set(steps)) != len(steps) or len(steps) < 2:
        raise ValueError(f"length_steps must hold at least two distinct lengths, got {steps!r}")
    return sorted(int(k) for k in steps)


def held_out_batches(validation_set, batch_size: int, n_batches: int | None):
    """The held-out pairs the curve's validation loss is computed on: the rows of the first ``n_batches``
    validation batches (:func:`hybridlib.scoring.validation.validation_batches`; None: all of ``validation_set``)."""
    if n_batches is None:
        return validation_set
    if isinstance(n_batches, bool) or not isinstance(n_batches, int) or n_batches < 1:
        raise ValueError(f"length_validation_batches must be a positive whole number (or null), got {n_batches!r}")
    rows = sorted({i for batch in validation_batches(validation_set, batch_size, n_batches) for i in batch})
    return validation_set.select(rows)


def train_length_runs(
    specs: list[dict[str, Any]],
    train_set,
    *,
    config: TrainConfig | str,
    steps: Sequence[int],
    models_dir: str | os.PathLike[str],
    validation_set=None,
    progress: bool = True,
) -> pd.DataFrame:
    """One run per spec (``{"sampler", "alpha", "seed"}``) trained to the longest of ``steps``, keeping the model at
    each; one row per run and length: ``run`` (``<run>@<steps>``), ``sampler``, ``alpha``, ``seed``, ``steps``,
    ``path``, ``validation_loss`` (on ``validation_set``, when given) and ``training_seconds`` (of the whole run).
    Finished runs are read back and interrupted ones resume (:func:`hybridlib.training.train.train_runs`)."""
    steps = checked_steps(steps)
    config = length_config(config, steps)
    runs = train_runs(specs, train_set, config=config, models_dir=models_dir, progress=progress,
                      snapshot_steps=steps, snapshot_validation=validation_set)
    rows = []
    for r in runs.itertuples():
        kept = snapshots(Path(r.path).parent)
        missing = [k for k in steps if k not in kept]
        if missing:
            raise FileNotFoundError(f"run {r.run} has no model at step(s) {missing}: it was trained with other "
                                    "snapshot steps; use another models_dir")
        for k in steps:
            rows.append({"run": f"{r.run}@{k}", "sampler": r.sampler, "alpha": r.alpha, "seed": r.seed, "steps": k,
                         "path": str(kept[k]), "validation_loss": training_record(kept[k]).get("validation_loss"),
                         "training_seconds": r.training_seconds})
    return pd.DataFrame(rows)
