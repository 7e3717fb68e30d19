"""Sweeps of small fine-tuning runs (notebook 07): every run is trained, scored on every evaluation set, and only
its scores are kept.

A sweep crosses named training sets (*conditions*: a domain's pairs, a general sample, ...) with samplers and seeds.
Each run trains with :func:`hybridlib.training.train.fine_tune` (no validation split and no checkpoint: the last step's model
is scored, and a run cut short is trained again), is scored into the results store with
:func:`hybridlib.scoring.results.score_lareqa` at the length, prefixes and precision it was trained with (the leakage guard
reads its content record), in a folder named by its settings and data (:func:`hybridlib.models.runs.run_name`). Its
weights are then removed (``keep_models`` keeps them) and its records kept, so a sweep of dozens of runs costs no
disk and an interrupted sweep resumes at the first run whose records are not all in the store.

Every run's sampler is built on its data before the first run trains, so a batch larger than a condition's data
fails at once.

Example::

    scored = sweep({"domain": domain_pairs, "general": general_pairs}, ["xx-mono", "xy", "hybrid"], [0, 1],
                   eval_sets={"in-domain": xq_in, "out-of-domain": xq_out}, config="default",
                   work_dir="build/sweeps/default")
    scored["in-domain"]["domain"].summary()     # a RunEvaluations per evaluation set and condition
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from hybridlib.analysis.comparison import REFERENCE, RunEvaluations
from hybridlib.batching.samplers import PairMeta, SamplerFactory
from hybridlib.core.paths import project_path
from hybridlib.data.lareqa import LareqaDataset
from hybridlib.data.pairs import PAIR_COLUMNS
from hybridlib.models.encoder import load_encoder, model_record, resolve_precision
from hybridlib.models.model_record import MODEL_RECORD, copy_model, remember
from hybridlib.models.runs import TrainConfig, planned_runs, run_grid
from hybridlib.scoring.evaluate import LareqaEvaluation
from hybridlib.scoring.results import STORE, score_lareqa, stored_lareqa
from hybridlib.training.train import fine_tune


def slug(text: str) -> str:
    """``text`` as a file name: ``"domain 25%"`` -> ``domain-25pct``."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text.replace("%", "pct")).strip("-") or "x"


def at_precision(encoder, precision: str):
    """``encoder`` (a model loaded or trained by hybridlib) with its weights cast to ``precision``'s dtype for
    scoring, its record saying so; returns it."""
    import dataclasses

    import torch

    if precision != "bf16":
        return encoder
    record = model_record(encoder)
    encoder.to(torch.bfloat16)
    return remember(encoder, dataclasses.replace(record, precision="bf16")) if record is not None else encoder


def plan(conditions: dict[str, object], samplers: Sequence[str], seeds: Sequence[int], config: TrainConfig, *,
         alpha: float = 0.5) -> pd.DataFrame:
    """One row per run (``condition``, ``sampler``, ``alpha``, ``seed``, ``run``: its folder name); every
    sampler is built on its condition's data first, so one that cannot fill a batch raises here."""
    rows = []
    for condition, data in conditions.items():
        missing = set(PAIR_COLUMNS) - set(data.column_names)
        if missing:
            raise ValueError(f"condition {condition!r} lacks the column(s) {sorted(missing)}")
        specs = run_grid(samplers, seeds, [alpha])
        meta, texts = PairMeta.from_dataset(data), data.select_columns(["query", "passage"])
        for sampler in samplers:
            try:
                SamplerFactory(meta, sampler, alpha, 0)(texts, config.batch_size)
            except ValueError as exc:
                raise type(exc)(f"condition {condition!r}, sampler {sampler!r}: {exc}") from None
        rows += [{"condition": condition, "sampler": s, "alpha": a, "seed": seed, "run": name}
                 for s, a, seed, name in planned_runs(specs, config, data)]
    return pd.DataFrame(rows, columns=["condition", "sampler", "alpha", "seed", "run"])


WEIGHTS = ("*.safetensors", "*.bin", "*.pt")  # what a scored run's folder drops; its records (*.json) stay


def _drop_weights(folder: Path) -> None:
    """Remove a scored run's weights, keeping the small records (its model record names it in the store)."""
    for pattern in WEIGHTS:
        for f in folder.rglob(pattern):
            f.unlink()


def score_run(folder: Path, base, data, sampler: str, alpha: float, seed: int, config: TrainConfig,
              eval_sets: dict[str, LareqaDataset], *, keep_model: bool = False,
              store_dir: str | os.PathLike[str] = STORE) -> dict[str, LareqaEvaluation]:
    """One run: its evaluations on every set, read from the results store when it has them all (the run's model
    record, kept beside its removed weights, names them); else a copy of ``base`` (the loaded base model, left
    untouched) is trained (or the saved model loaded), scored into the store, and its weights removed unless
    ``keep_model``."""
    final = folder / "model" / "final"
    precision = resolve_precision(config.precision)
    settings = {"max_seq_length": config.max_seq_length, "precision": precision, "store_dir": store_dir}
    if (final / MODEL_RECORD).is_file():
        stored = {name: stored_lareqa(final, ds, **settings) for name, ds in eval_sets.items()}
        if all(ev is not None for ev in stored.values()):
            return stored  # type: ignore[return-value]
    if (final / MODEL_RECORD).is_file() and any(final.glob("*.safetensors")):  # trained, not all scored
        encoder = load_encoder(final, max_seq_length=config.max_seq_length, precision=precision)
    else:
        shutil.rmtree(folder / "model", ignore_errors=True)  # nothing, a cut run, or records without weights
        encoder = copy_model(base)
        final = fine_tune(encoder, data, sampler=sampler, alpha=alpha, config=config, seed=seed,
                          output_dir=folder / "model", progress=False, checkpoints=False)
        encoder = at_precision(encoder, precision)  # its record (fine_tune's) says where it now lives
    out = {name: score_lareqa(final, ds, encoder=encoder, **settings) for name, ds in eval_sets.items()}
    if not keep_model:
        _drop_weights(folder / "model")
    return out


def reference_evaluations(model: str, eval_sets: dict[str, LareqaDataset], *, max_seq_length: int | None,
                          precision: str = "fp32", cache_dir: str | os.PathLike[str] | None = None,
                          store_dir: str | os.PathLike[str] = STORE) -> dict[str, LareqaEvaluation]:
    """The untuned ``model`` on every evaluation set with its own prefixes, at ``precision``, through the store."""
    return {name: score_lareqa(model, ds, max_seq_length=max_seq_length, precision=precision, cache_dir=cache_dir,
                               store_dir=store_dir) for name, ds in eval_sets.items()}


def sweep(
    conditions: dict[str, object],
    samplers: Sequence[str],
    seeds: Sequence[int],
    *,
    eval_sets: dict[str, LareqaDataset],
    config: TrainConfig | str,
    work_dir: str | os.PathLike[str],
    alpha: float = 0.5,
    reference: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    store_dir: str | os.PathLike[str] = STORE,
    keep_models: bool = False,
    progress: bool = True,
) -> dict[str, dict[str, RunEvaluations]]:
    """Train every (condition, sampler, seed) run, score it on every evaluation set; returns
    ``{evaluation set: {condition: RunEvaluations}}``, each with the untuned base model as ``"zero-shot"`` when
    ``reference`` is set. ``conditions`` maps a name to a pair dataset (:func:`hybridlib.data.pairs.build_training_pairs`
    rows); runs live in ``work_dir/<condition>/<run name>``."""
    config = TrainConfig.of(config)
    if not conditions or not samplers or not seeds or not eval_sets:
        raise ValueError("a sweep needs at least one condition, sampler, seed and evaluation set")
    runs = plan(conditions, samplers, seeds, config, alpha=alpha)
    base = load_encoder(config.model, max_seq_length=config.max_seq_length, device=config.device)
    scores: dict[str, dict[str, LareqaEvaluation]] = {}
    for r in tqdm(list(runs.itertuples()), desc="sweep runs", disable=not progress):
        folder = project_path(work_dir) / slug(r.condition) / r.run
        scores[r.run] = score_run(folder, base, conditions[r.condition], r.sampler, r.alpha, r.seed, config,
                                  eval_sets, keep_model=keep_models, store_dir=store_dir)
    zero = reference_evaluations(config.model, eval_sets, max_seq_length=config.max_seq_length,
                                 precision=resolve_precision(config.precision), cache_dir=cache_dir,
                                 store_dir=store_dir) if reference else {}
    out: dict[str, dict[str, RunEvaluations]] = {}
    for name, ds in eval_sets.items():
        out[name] = {}
        for condition, rows in runs.groupby("condition", sort=False):
            table = rows[["run", "sampler", "seed"]].assign(path="")
            evaluations = {run: scores[run][name] for run in rows["run"]}
            if reference:
                table = pd.concat([pd.DataFrame([{"run": REFERENCE, "sampler": REFERENCE, "seed": 0, "path": ""}]),
                                   table], ignore_index=True)
                evaluations[REFERENCE] = zero[name]
            out[name][condition] = RunEvaluations(ds.name, table.reset_index(drop=True), evaluations)
    return out
