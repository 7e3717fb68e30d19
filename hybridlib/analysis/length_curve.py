"""The training-length curve (notebook 10), read: how the samplers' order moves as training grows longer.

Each sampler and seed is trained once, to the longest length of the curve, with a constant learning rate after a
fixed warm-up (``lr_scheduler: constant_with_warmup``, ``warmup_steps``: ``configs/length.yaml``), and the model
as it is at every length of the curve is kept (:func:`hybridlib.training.train.fine_tune`'s ``snapshot_steps``). Under that
schedule the model at step k of the long run is the model a k-step run gives (same batches, same learning rates;
tested), so one run per sampler and seed yields the whole curve, and every sampler is trained under the same
schedule and judged at the same steps. Every length's models are scored through the results store
(:func:`hybridlib.analysis.comparison.evaluate_runs`), so a curve resumes from what is recorded.

Example::

    rows = length_runs.train_length_runs(specs, splits["train"], config="length", steps=[20, 80, 320],
                             models_dir="build/models-length", validation_set=splits["validation"])
    curve = evaluate_lengths(rows, "xquad-r", max_groups=160)      # {steps: RunEvaluations}
    claims_by_length(curve)                                         # the paper's claims at each length
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from hybridlib.analysis.comparison import RunEvaluations, evaluate_runs, verdicts


def evaluate_lengths(rows: pd.DataFrame, dataset: str, *, steps: Sequence[int] | None = None,
                     **kwargs: Any) -> dict[int, RunEvaluations]:
    """The models of each length (rows of :func:`hybridlib.studies.length_runs.train_length_runs`; ``steps``: only
    these lengths) scored on ``dataset`` through the results store, one
    :class:`~hybridlib.analysis.comparison.RunEvaluations` per length;
    ``kwargs`` go to :func:`hybridlib.analysis.comparison.evaluate_runs` (no zero-shot reference unless asked)."""
    kwargs.setdefault("reference", None)
    chosen = sorted(set(rows["steps"])) if steps is None else checked_subset(steps, rows["steps"])
    return {k: evaluate_runs(rows[rows["steps"] == k].reset_index(drop=True), dataset, **kwargs) for k in chosen}


def checked_subset(steps: Sequence[int], lengths: Sequence[int]) -> list[int]:
    """``steps`` sorted, each one of the curve's ``lengths``, else a ValueError naming the lengths there are."""
    have = sorted(set(int(k) for k in lengths))
    unknown = [k for k in steps if k not in have]
    if unknown:
        raise ValueError(f"length_full_steps {unknown} are not lengths of the curve {have}")
    return sorted(int(k) for k in steps)


def length_table(curve: dict[int, RunEvaluations], rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per model of the curve: ``steps``, ``sampler``, ``seed``, every summary metric and, from ``rows``,
    its validation loss and the training seconds of its run."""
    frames = [c.per_run().assign(steps=k) for k, c in curve.items()]
    table = pd.concat(frames, ignore_index=True)
    if rows is not None:
        table = table.merge(rows[["run", "validation_loss", "training_seconds"]], on="run", how="left")
    return table


def claims_by_length(curve: dict[int, RunEvaluations], *, n_resamples: int = 10_000) -> pd.DataFrame:
    """The paper's claims (:func:`hybridlib.analysis.comparison.verdicts`: hybrid's margin over each baseline and the paired
    test's p-value) at every length of the curve, with a ``steps`` column."""
    return pd.concat([verdicts(c, n_resamples=n_resamples).assign(steps=k) for k, c in curve.items()],
                     ignore_index=True)
