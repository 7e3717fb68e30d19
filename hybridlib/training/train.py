"""Fine-tuning (stages 02-03): sentence-transformers' trainer, in-batch negatives, the paper's batch samplers.

:func:`fine_tune` trains a dual encoder (shared weights, cosine score) with ``MultipleNegativesRankingLoss``
(InfoNCE with in-batch negatives, ``scale`` = 1 / temperature, 20 by default: the paper does not give its
temperature), the base model's prefixes (:func:`hybridlib.models.encoder.prompts_for`: ``query: `` / ``passage: `` for
multilingual-e5-small, the paper's ``Query: `` / ``Passage: `` otherwise) as the trainer's column prompts, AdamW with linear
warm-up and decay, and one of the samplers of :mod:`hybridlib.batching.samplers`. It checkpoints every ``save_steps``,
resumes from the last checkpoint after an interruption, keeps the best checkpoint by validation loss or
validation mAP, and writes the model with a record of how it was trained (``hybridlib_training.json``).

Validation loss is computed on batches drawn the same way for every training sampler (all pairs mixed, no group
repeated, a fixed seed) so that runs with different samplers are compared on the same footing; validation mAP ranks the
validation groups' answers exactly as the LAReQA evaluation does (:func:`hybridlib.scoring.evaluate.rank_lareqa`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hybridlib.batching.samplers import PROPOSED, PairMeta, SamplerFactory, acting_alpha, check_sampler_args
from hybridlib.core import _io
from hybridlib.core.paths import project_path
from hybridlib.data.pairs import training_meta
from hybridlib.models.encoder import (
    TRAINING_RECORD,
    load_encoder,
    model_fingerprint,
    model_label,
    model_record,
    quiet_loading,
    resolve_precision,
    trained_on_summary,
    training_record,
)
from hybridlib.models.leakage import TRAINED_ON, register_trained
from hybridlib.models.model_record import MODEL_RECORD, ModelRecord, remember, write_model_record
from hybridlib.models.runs import PAIR_KEY, SNAPSHOTS, TrainConfig, _found_runs, _planned, _run_row, write_run_spec
from hybridlib.scoring.validation import validation_loss, validation_map, validation_sampler


def warmup_steps(config: TrainConfig) -> int:
    """The run's warm-up in steps: ``warmup_steps`` when set, else ``warmup_ratio`` of ``max_steps``."""
    if config.warmup_steps is not None:
        return int(config.warmup_steps)
    return int(round(config.warmup_ratio * config.max_steps))


def _evaluator(pairs: pd.DataFrame, config: TrainConfig):
    from sentence_transformers.base.evaluation.evaluator import BaseEvaluator

    class ValidationMAPEvaluator(BaseEvaluator):
        """Validation mAP (multi setting primary) of the model on the held-out groups."""

        def __init__(self):
            super().__init__()
            self.primary_metric = "multi_map"

        def __call__(self, model, output_path=None, epoch=-1, steps=-1):
            metrics = validation_map(model, pairs, query_prefix=config.query_prefix,
                                     passage_prefix=config.passage_prefix)
            return self.prefix_name_to_metrics(metrics, "validation")

    return ValidationMAPEvaluator()


class TrainSamplerFactory(SamplerFactory):
    """The training sampler for the training set; for the validation set (told apart by its dataset fingerprint,
    never by its length), the same mixed batches whatever the training sampler
    (:func:`hybridlib.scoring.validation.validation_sampler`), so validation losses compare across runs."""

    def __init__(self, meta: PairMeta, kind: str, alpha: float, seed: int, options: dict,
                 eval_meta: PairMeta | None = None, eval_fingerprint: str | None = None):
        super().__init__(meta, kind, alpha, seed, options)
        if (eval_meta is None) != (eval_fingerprint is None):
            raise ValueError("eval_meta and eval_fingerprint go together")
        self.eval_meta = eval_meta
        self.eval_fingerprint = eval_fingerprint

    def __call__(self, dataset, batch_size, drop_last=False, valid_label_columns=None, generator=None, seed=0):
        if self.eval_meta is not None and getattr(dataset, "_fingerprint", None) == self.eval_fingerprint:
            return validation_sampler(dataset, batch_size, meta=self.eval_meta, drop_last=drop_last,
                                      valid_label_columns=valid_label_columns, generator=generator)
        return super().__call__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)


CHECKPOINT_FILES = ("model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json")


def checkpoint_is_complete(folder: str | os.PathLike[str]) -> bool:
    """Whether a ``checkpoint-N`` folder holds everything resuming needs; the trainer writes
    ``trainer_state.json`` after the weights and the optimizer, so a kill mid-save leaves it absent or cut."""
    folder = Path(folder)
    if not all((folder / name).is_file() for name in CHECKPOINT_FILES):
        return False
    try:
        json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def last_checkpoint(output_dir: str | os.PathLike[str], *, clean: bool = True) -> str | None:
    """The newest *complete* ``checkpoint-N`` folder under ``output_dir/checkpoints``, if any. With ``clean``,
    what a kill left behind is removed first: incomplete checkpoint folders and temporary files."""
    import shutil

    folder = project_path(output_dir) / "checkpoints"
    if not folder.is_dir():
        return None
    step = lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit() else -1  # noqa: E731
    found = sorted((p for p in folder.iterdir() if p.name.startswith("checkpoint-") and p.is_dir()), key=step)
    complete = [p for p in found if checkpoint_is_complete(p)]
    if clean:
        for p in found:
            if p not in complete:
                shutil.rmtree(p, ignore_errors=True)
        for p in folder.iterdir():
            if p.name.startswith(("tmp", ".tmp")) or p.name.endswith(".tmp"):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    return str(complete[-1]) if complete else None


def fine_tune(
    model,
    train_set,
    *,
    sampler: str = PROPOSED,
    alpha: float = 0.5,
    config: TrainConfig | str = "default",
    seed: int = 0,
    eval_set=None,
    output_dir: str | os.PathLike[str],
    resume: bool = True,
    progress: bool = True,
    callbacks: list | None = None,
    record_batches: bool = False,
    prune_checkpoints: bool = True,
    checkpoints: bool = True,
    snapshot_steps: Sequence[int] = (),
    snapshot_validation=None,
) -> Path:
    """Fine-tune ``model`` (a SentenceTransformer, or a name / folder for :func:`load_encoder`) on ``train_set``
    (a pair dataset of :func:`hybridlib.data.pairs.build_training_pairs`) with one sampler; returns the model folder.

    Every argument is checked, and the sampler built, before training starts. An interrupted run resumes from
    its last checkpoint when ``resume`` is set; a finished one (``output_dir/final`` exists) is returned as is.
    ``callbacks`` go to the trainer; ``record_batches`` writes the (query, passage) pairs of every batch this
    process trained on to ``output_dir/batches-rank<R>.json`` (to inspect what the sampler delivered).
    Checkpoints are kept while the run trains (for resuming) and removed once ``final/`` is written, unless
    ``prune_checkpoints`` is False; ``checkpoints=False`` writes none (a run too short to be worth resuming: it
    restarts after an interruption; not with ``eval_set``, whose best checkpoint is kept).
    ``snapshot_steps``: steps at which the model as it is then is written to ``output_dir/steps/<step>/``, a model
    folder like ``final/`` (records included, the held-out loss on ``snapshot_validation`` in its training record
    when given: :func:`hybridlib.scoring.validation.validation_loss`); with ``lr_scheduler: constant_with_warmup`` and a
    fixed ``warmup_steps`` the snapshot at step k is the model a k-step run would give (a length curve from one run).
    """
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    config = TrainConfig.of(config)
    check_sampler_args(sampler, alpha, config.batch_size, config.xy_pairing)
    bad = [k for k in snapshot_steps if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= config.max_steps]
    if bad:
        raise ValueError(f"snapshot_steps must be steps in [1, max_steps={config.max_steps}], got {bad}")
    if not checkpoints and eval_set is not None:
        raise ValueError("checkpoints=False cannot keep the best checkpoint on eval_set; pass one or the other")
    out = project_path(output_dir)
    final = out / "final"
    wanted = {"sampler": sampler, "alpha": acting_alpha(sampler, alpha), "seed": seed,
              "config": dataclasses.asdict(config)}
    record = training_record(final) if resume else {}
    if record:
        defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}  # a field added since: its default
        found = {**{k: record.get(k) for k in wanted}, "config": {**defaults, **record.get("config", {})}}
        if found != wanted:
            raise ValueError(f"{out} holds a finished run with other settings; use another output_dir "
                             "(train_runs names folders by their settings) or resume=False to overwrite it")
        if not (final / TRAINED_ON).is_file():  # a run finished before the content record existed
            write_content_record(final, train_set, eval_set)
        register_trained(final)
        if not (final / MODEL_RECORD).is_file():  # a run finished before model records existed
            write_model_record(final, model_record(final))
        return final
    for name, ds in (("train_set", train_set), ("eval_set", eval_set)):
        if ds is not None:
            missing = set(PAIR_KEY) - set(ds.column_names)
            if missing:
                raise ValueError(f"{name} lacks the column(s) {sorted(missing)}: build it with build_training_pairs")
    columns = ["query", "passage"]
    train_columns = train_set.select_columns(columns)
    eval_columns = eval_set.select_columns(columns) if eval_set is not None else None
    meta = PairMeta.from_dataset(train_set)
    eval_meta = PairMeta.from_dataset(eval_set) if eval_set is not None else None
    options = {"xy_pairing": config.xy_pairing}
    factory = TrainSamplerFactory(meta, sampler, alpha, seed, options, eval_meta,
                                  eval_columns._fingerprint if eval_columns is not None else None)
    factory(train_columns, config.batch_size)  # raises now if the data cannot fill a batch of a kind
    if eval_columns is not None:
        factory(eval_columns, config.batch_size)

    known = model_record(model)
    base = model_label(model) if isinstance(model, (str, os.PathLike)) else \
        (known.name if known is not None else type(model).__name__)
    precision = resolve_precision(config.precision)  # bf16 autocast where the machine computes it natively
    if isinstance(model, (str, os.PathLike)):
        model = load_encoder(model, max_seq_length=config.max_seq_length, device=config.device)
    elif config.max_seq_length is not None:
        model.max_seq_length = config.max_seq_length
    if config.freeze_word_embeddings:
        freeze_word_embeddings(model)

    eval_steps = config.eval_steps or config.save_steps
    select = {"loss": ("eval_loss", False), "map": ("eval_validation_multi_map", True)}[config.select_by]
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / "checkpoints"),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=warmup_steps(config),
        lr_scheduler_type=config.lr_scheduler,
        optim="adamw_torch",
        seed=seed,
        data_seed=seed,
        prompts={"query": config.query_prefix, "passage": config.passage_prefix},
        batch_sampler=factory,
        save_strategy="steps" if checkpoints else "no",
        save_steps=config.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if eval_set is not None else "no",
        eval_steps=eval_steps if eval_set is not None else None,
        load_best_model_at_end=eval_set is not None,
        metric_for_best_model=select[0] if eval_set is not None else None,
        greater_is_better=select[1] if eval_set is not None else None,
        logging_steps=config.logging_steps,
        report_to="none",
        disable_tqdm=not progress,
        use_cpu=config.device == "cpu" or (precision == "bf16" and not _has_accelerator()),
        bf16=precision == "bf16",
        dataloader_drop_last=False,
        dataloader_pin_memory=_has_accelerator(),  # pinning helps only a GPU; on a CPU it warns
    )
    loss = MultipleNegativesRankingLoss(model, scale=config.scale,
                                        gather_across_devices=config.gather_across_devices)
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=train_columns, eval_dataset=eval_columns, loss=loss,
        evaluator=_evaluator(eval_set.to_pandas(), config) if eval_set is not None and config.select_by == "map"
        else None,
    )
    if not progress:  # without a progress bar the trainer prints every log line instead
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    for callback in callbacks or []:
        trainer.add_callback(callback)
    data = training_meta(train_set)
    described = {"base_model": base, "data": data, "sources": data.get("sources", []), **wanted,
                 "train_rows": len(train_set), "eval_rows": len(eval_set) if eval_set is not None else 0}
    content = training_content(train_set, eval_set)  # once per run, however many model folders it writes
    if snapshot_steps:
        trainer.add_callback(snapshot_callback(snapshot_steps, lambda step, history: write_snapshot(
            out, step, model, {**described, "steps": step, "log_history": list(history)}, content,
            config=config, precision=precision, validation_set=snapshot_validation)))
    recorder = _BatchRecorder(trainer.data_collator) if record_batches else None
    if recorder is not None:
        trainer.data_collator = recorder
    start = time.perf_counter()
    checkpoint = last_checkpoint(out) if resume else None
    with quiet_loading():  # no "Loading weights" bar when the trainer reloads the best checkpoint
        trainer.train(resume_from_checkpoint=checkpoint)
    seconds = time.perf_counter() - start
    if recorder is not None:
        rank = trainer.args.process_index
        _io.write_text(out / f"batches-rank{rank}.json", json.dumps(recorder.batches))
    if not trainer.is_world_process_zero():
        return final
    record = {**described, "training_seconds": round(seconds, 1), "resumed_from": checkpoint,
              "log_history": trainer.state.log_history, "best_checkpoint": trainer.state.best_model_checkpoint}
    trained = write_model_folder(final, model, record, content, config=config, precision=precision,
                                 run=out.name)
    remember(model, trained)  # the object trained is this model: the leakage guard and the store know it
    register_trained(final)  # known by its weights too, wherever a copy of it is saved
    if prune_checkpoints:
        import shutil

        shutil.rmtree(out / "checkpoints", ignore_errors=True)  # the run is finished: only final/ is kept
    return final


def write_model_folder(folder: Path, model, record: dict[str, Any], content: dict[str, Any], *,
                       config: TrainConfig, precision: str, run: str) -> ModelRecord:
    """Write ``model`` to ``folder`` atomically with its training ``record``, the ``content`` of its training pairs
    (:func:`training_content`) and its model record (named ``run``); returns the model record."""
    with _io.atomic_dir(folder) as tmp:
        with quiet_loading():  # no "Writing model shards" bar
            model.save_pretrained(str(tmp))
        (tmp / TRAINING_RECORD).write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
        _io.write_text(tmp / TRAINED_ON, json.dumps(content["trained_on"]) + "\n")
        summary = {**record, "run": run, "data": {**record["data"], "languages": content["languages"],
                                                  "groups": content["groups"]}}
        trained = ModelRecord("fine-tuned", run, str(folder), model_fingerprint(str(tmp), True),
                              (config.query_prefix, config.passage_prefix), model.max_seq_length, precision,
                              record["base_model"], trained_on_summary(summary))
        write_model_record(tmp, trained)
    return trained


def write_snapshot(out: Path, step: int, model, record: dict[str, Any], content: dict[str, Any], *,
                   config: TrainConfig, precision: str, validation_set=None) -> Path:
    """The model at ``step`` of the run in ``out`` as the model folder ``out/steps/<step>`` (kept when a resumed
    run passes the step again), its held-out loss on ``validation_set`` in its training record."""
    folder = out / SNAPSHOTS / str(step)
    if (folder / MODEL_RECORD).is_file():
        return folder
    if validation_set is not None:
        record["validation_loss"] = validation_loss(model, validation_set, batch_size=config.batch_size,
                                                    scale=config.scale, query_prefix=config.query_prefix,
                                                    passage_prefix=config.passage_prefix)
    trained = write_model_folder(folder, model, record, content, config=config, precision=precision,
                                 run=f"{out.name}@{step}")
    register_trained(folder)
    return Path(trained.location)


def snapshot_callback(steps: Sequence[int], write):
    """A trainer callback that calls ``write(step, log_history)`` at the end of each of ``steps`` (main process)."""
    from transformers import TrainerCallback

    wanted = {int(k) for k in steps}

    class SnapshotCallback(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step in wanted and state.is_world_process_zero:
                write(state.global_step, state.log_history)

    return SnapshotCallback()


def _has_accelerator() -> bool:
    import torch

    return torch.cuda.is_available()


def training_content(train_set, eval_set=None) -> dict[str, Any]:
    """What a model folder records of its training pairs: ``trained_on`` (:func:`hybridlib.data.overlap.content_record`
    of the training and checkpoint-selection pairs, which the leakage guard compares whatever the model is opened
    with), the training set's ``languages`` and its number of ``groups``."""
    from hybridlib.data.overlap import content_record

    frames = [ds.select_columns(["group_id", "query", "passage"]).to_pandas() for ds in (train_set, eval_set)
              if ds is not None]
    sources = training_meta(train_set).get("sources", [])
    return {"trained_on": content_record(pd.concat(frames), sources),
            "languages": sorted(set(train_set["query_lang"]) | set(train_set["passage_lang"])),
            "groups": len(set(train_set["group_id"]))}


def write_content_record(folder: Path, train_set, eval_set=None) -> Path:
    """Write the content record of :func:`training_content` beside a model's weights (a run finished before the
    record existed)."""
    return _io.write_text(Path(folder) / TRAINED_ON, json.dumps(training_content(train_set, eval_set)["trained_on"]) + "\n")


def freeze_word_embeddings(model) -> int:
    """Stop training the input (word) embedding matrix of a SentenceTransformer's transformer; returns how many
    parameters were frozen (0 for a model without one, such as a static-embedding model)."""
    first = model[0]
    auto = getattr(first, "auto_model", None) or getattr(first, "model", None)
    if auto is None or not hasattr(auto, "get_input_embeddings"):
        return 0
    weight = auto.get_input_embeddings().weight
    weight.requires_grad_(False)
    return int(weight.numel())


class _BatchRecorder:
    """Wraps the trainer's data collator and keeps the (query, passage) texts of each batch it collates."""

    def __init__(self, inner):
        self.inner = inner
        self.batches: list[list[list[str]]] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __call__(self, features):
        self.batches.append([[f["query"], f["passage"]] for f in features])
        return self.inner(features)


def train_runs(
    runs: list[dict[str, Any]],
    train_set,
    *,
    config: TrainConfig | str,
    models_dir: str | os.PathLike[str],
    eval_set=None,
    build_model=None,
    progress: bool = True,
    snapshot_steps: Sequence[int] = (),
    snapshot_validation=None,
) -> pd.DataFrame:
    """Fine-tune one model per run (``{"sampler", "alpha", "seed"}``) into ``models_dir/`` + :func:`run_name`;
    finished runs are skipped and interrupted ones resume. ``build_model(seed)`` makes a fresh model per run
    (default: ``config.model``); ``snapshot_steps`` and ``snapshot_validation`` go to :func:`fine_tune`. Returns
    one row per run with its folder and training time."""
    from tqdm.auto import tqdm

    config = TrainConfig.of(config)
    rows = []
    planned = _planned(runs, config, train_set)
    found = _found_runs(planned, models_dir)
    for sampler, alpha, seed, name, spec in tqdm(planned, desc="training runs", disable=not progress):
        name = found.get(name, name)  # a finished run recorded under another folder name is not trained again
        out = project_path(models_dir) / name
        out.mkdir(parents=True, exist_ok=True)
        write_run_spec(out, spec)
        done = (out / "final" / TRAINING_RECORD).is_file()
        model = build_model(seed) if build_model is not None and not done else config.model
        path = fine_tune(model, train_set, sampler=sampler, alpha=alpha, config=config, seed=seed,
                         eval_set=eval_set, output_dir=out, progress=False, snapshot_steps=snapshot_steps,
                         snapshot_validation=snapshot_validation)
        rows.append(_run_row(name, sampler, alpha, seed, Path(path)))
    return pd.DataFrame(rows)


def static_grid_config(steps: int, batch_size: int, learning_rate: float) -> TrainConfig:
    """The config of the static-embedding grid model (notebooks 02 and 06): trained from scratch, no length
    limit, one checkpoint at the end."""
    return TrainConfig(model="static", max_seq_length=None, batch_size=batch_size, max_steps=steps,
                       save_steps=steps, logging_steps=max(1, steps // 5), learning_rate=learning_rate,
                       warmup_ratio=0.1)


def train_static_runs(runs: list[dict[str, Any]], train_set, *, config: TrainConfig, models_dir: str | os.PathLike[str],
                      dim: int, progress: bool = True) -> pd.DataFrame:
    """:func:`train_runs` with a fresh static-embedding model per run (its tokenizer learnt from ``train_set``'s
    queries and passages, :func:`~hybridlib.models.encoder.build_static_encoder`)."""
    from hybridlib.models.encoder import build_static_encoder

    texts = list(train_set["query"]) + list(train_set["passage"])
    return train_runs(runs, train_set, config=config, models_dir=models_dir, progress=progress,
                      build_model=lambda seed: build_static_encoder(texts, dim=dim, seed=seed))

