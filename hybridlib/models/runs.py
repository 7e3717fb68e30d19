"""What a training run is: its parameters (:class:`TrainConfig`, with the sampler, alpha, seed and a digest of its
data: the run spec), its identity (a hash of the whole spec), its folder and the snapshots in it, and how finished runs
are found again by their recorded spec. Training (:mod:`hybridlib.training.train`) writes runs; analysis reads them
through this module without importing training.

Example::

    spec = run_spec("hybrid", 0.5, 0, TrainConfig.load("default"), data_key(train_set))
    spec_id(spec)                                   # the run's identity
    find_runs([{"sampler": "hybrid", "seed": 0}], train_set, config="default", models_dir="build/models")
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from hybridlib.batching.samplers import acting_alpha, check_sampler_args, run_stem
from hybridlib.core import _io
from hybridlib.core.paths import project_path, project_root
from hybridlib.data.pairs import PAIR_COLUMNS
from hybridlib.models.encoder import TRAINING_RECORD, training_record
from hybridlib.models.model_record import MODEL_RECORD
from hybridlib.models.registry import PRECISIONS

CONFIG_DIR = "configs"
PAIR_KEY = tuple(c for c in PAIR_COLUMNS if c != "source")  # what a run's data is identified by
SELECT_BY = ("loss", "map")
LR_SCHEDULERS = ("linear", "constant_with_warmup", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one fine-tuning run (the paper's values where it gives them); with the sampler, alpha,
    seed and data they make the run spec (:func:`run_spec`)."""

    model: str = "default"
    max_seq_length: int | None = 128
    batch_size: int = 32
    max_steps: int = 100
    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    warmup_steps: int | None = None  # a fixed warm-up (steps), instead of warmup_ratio x max_steps
    lr_scheduler: str = "linear"  # or "constant_with_warmup": a checkpoint at step k is a k-step run (length curves)
    scale: float = 20.0
    query_prefix: str | None = None  # None: the base model's (its model record: models.prompts_for)
    passage_prefix: str | None = None
    freeze_word_embeddings: bool = False  # keep the input embedding matrix fixed (less memory, faster steps)
    save_steps: int = 50
    eval_steps: int | None = None
    select_by: str = "loss"
    xy_pairing: str = "mixed"
    gather_across_devices: bool = False
    logging_steps: int = 10
    device: str | None = None
    precision: str = "fp32"  # "bf16": bfloat16 autocast (weights stay float32), fp32 where the machine lacks it

    def __post_init__(self) -> None:
        from hybridlib.models.encoder import prompts_for

        if self.query_prefix is None or self.passage_prefix is None:
            query, passage = prompts_for(self.model)
            object.__setattr__(self, "query_prefix", query if self.query_prefix is None else self.query_prefix)
            object.__setattr__(self, "passage_prefix", passage if self.passage_prefix is None else self.passage_prefix)
        if self.max_seq_length is not None and int(self.max_seq_length) < 1:
            raise ValueError(f"max_seq_length must be a positive number of tokens (or None), got {self.max_seq_length}")
        for name in ("batch_size", "max_steps", "save_steps", "logging_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.lr_scheduler not in LR_SCHEDULERS:
            raise ValueError(f"lr_scheduler must be one of {LR_SCHEDULERS}, got {self.lr_scheduler!r}")
        if self.warmup_steps is not None and (isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int)
                                              or not 0 <= self.warmup_steps < self.max_steps):
            raise ValueError(f"warmup_steps must be a whole number of steps in [0, max_steps), got {self.warmup_steps!r}")
        if self.select_by not in SELECT_BY:
            raise ValueError(f"select_by must be one of {SELECT_BY}, got {self.select_by!r}")
        numbers = (self.learning_rate, self.weight_decay, self.scale, self.warmup_ratio)
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in numbers):
            raise ValueError(f"learning_rate, weight_decay, scale and warmup_ratio must be finite numbers, got "
                             f"{numbers}")
        if self.learning_rate <= 0 or self.scale <= 0 or not 0 <= self.warmup_ratio < 1:
            raise ValueError("learning_rate and scale must be positive and warmup_ratio in [0, 1)")

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str], **overrides: Any) -> TrainConfig:
        """A config from ``configs/<name>.yaml`` (smoke, default, paper-xlmr, paper-labse) or a YAML path."""
        path = Path(name_or_path)
        if path.suffix not in (".yaml", ".yml"):
            path = project_root() / CONFIG_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in (project_root() / CONFIG_DIR).glob("*.yaml"))
            raise ValueError(f"no training config {name_or_path!r}; known: {known}")
        values = {**(yaml.safe_load(path.read_text(encoding="utf-8")) or {}), **overrides}
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"{path}: unknown setting(s) {unknown}")
        return cls(**values)

    @classmethod
    def of(cls, config: TrainConfig | str | os.PathLike[str]) -> TrainConfig:
        """``config`` itself, or the config it names (see :meth:`load`)."""
        return cls.load(config) if isinstance(config, (str, os.PathLike)) else config


SNAPSHOTS = "steps"


def snapshots(run_dir: str | os.PathLike[str]) -> dict[int, Path]:
    """The finished snapshots of a run (step -> model folder), in step order."""
    folder = project_path(run_dir) / SNAPSHOTS
    found = {int(p.name): p for p in folder.iterdir() if p.name.isdigit() and (p / MODEL_RECORD).is_file()} \
        if folder.is_dir() else {}
    return dict(sorted(found.items()))


def run_name(sampler: str, alpha: float, seed: int, config: TrainConfig, train_set) -> str:
    """A folder name for one run that changes whenever its settings or its training data change."""
    return _run_name(sampler, alpha, seed, config, data_key(train_set))


def data_key(train_set) -> bytes:
    """The row hashes of a training set's identifying columns (what :func:`run_name` keys the data by)."""
    return pd.util.hash_pandas_object(train_set.to_pandas()[list(PAIR_KEY)], index=False).to_numpy().tobytes()


# The config fields every run name hashes; a field added later joins the hash only when it is set away from its
# default, so that adding one renames no finished run (see config_key).
NAMED_FIELDS = ("model", "max_seq_length", "batch_size", "max_steps", "learning_rate", "weight_decay", "warmup_ratio",
                "scale", "query_prefix", "passage_prefix", "freeze_word_embeddings", "save_steps", "eval_steps",
                "select_by", "xy_pairing", "gather_across_devices", "logging_steps", "device")


def config_key(config: TrainConfig) -> dict[str, Any]:
    """What of ``config`` names a run: every field of :data:`NAMED_FIELDS`, and any other field whose value is
    not its default."""
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    return {k: v for k, v in dataclasses.asdict(config).items() if k in NAMED_FIELDS or v != defaults.get(k)}


def _run_name(sampler: str, alpha: float, seed: int, config: TrainConfig, data_key: bytes) -> str:
    key = json.dumps(config_key(config), sort_keys=True).encode() + data_key
    digest = hashlib.sha256(key).hexdigest()[:8]
    return f"{run_stem(sampler, alpha, seed)}-{digest}"


RUN_SPEC = "run_spec.json"  # beside final/: every parameter of the run, written before it trains


def run_spec(sampler: str, alpha: float, seed: int, config: TrainConfig, data_key: bytes) -> dict[str, Any]:
    """Every parameter of one run: its sampler, alpha as it acts, seed, the whole config and a digest of its
    training data. It is written into the run's folder (:data:`RUN_SPEC`, with its :func:`spec_id`) and is how runs
    are found again (:func:`find_runs`): a run's identity is recorded once, not rebuilt from a list of fields."""
    return {"sampler": sampler, "alpha": acting_alpha(sampler, alpha), "seed": int(seed),
            "config": dataclasses.asdict(config), "data": hashlib.sha256(data_key).hexdigest()}


def run_grid(samplers: Sequence[str], seeds: Sequence[int], alphas: Sequence[float] = (0.5,)) -> list[dict[str, Any]]:
    """The runs of a grid, one ``{"sampler", "alpha", "seed"}`` per sampler, alpha and seed, in that order (what
    :func:`find_runs` and ``train_runs`` take).

    Example: ``run_grid(["xy", "hybrid"], [0, 1])`` is four runs at alpha 0.5."""
    return [{"sampler": s, "alpha": a, "seed": int(seed)} for s in samplers for a in alphas for seed in seeds]


SPEC_KEYS = ("sampler", "alpha", "seed", "data")  # beside "config": what a run spec holds


class UnknownSettingError(ValueError):
    """A stored run spec holds a config field that this version of hybridlib does not know."""


def spec_id(spec: dict[str, Any]) -> str:
    """A run's identity: a hash of its whole spec, each config field at its default left out (so a field added to
    :class:`TrainConfig` since changes no identity, and a field a stored spec lacks counts at its default). Raises
    :class:`UnknownSettingError` naming a stored config field this version does not know."""
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    config = spec.get("config", {})
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise UnknownSettingError(f"setting(s) {unknown} that this version of hybridlib does not know")
    canonical = {**{k: spec.get(k) for k in SPEC_KEYS},
                 "config": {k: v for k, v in config.items() if v != defaults[k]}}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()[:16]


def spec_matches(stored: dict[str, Any], wanted: dict[str, Any], where: str = "") -> bool:
    """Whether a stored run spec is the run ``wanted`` describes (the same :func:`spec_id`). A stored spec with a
    config field this version does not know is refused (ValueError naming the field and ``where``, the run) only
    when it would otherwise be the wanted run; otherwise it is simply not this run."""
    try:
        return spec_id(stored) == spec_id(wanted)
    except UnknownSettingError as err:
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        rest = {**stored, "config": {k: v for k, v in stored.get("config", {}).items() if k in known}}
        if spec_id(rest) == spec_id(wanted):
            raise ValueError(f"run {where} was trained with {err}; train it again, or use the hybridlib version "
                             "that made it") from None
        return False


def write_run_spec(out: Path, spec: dict[str, Any]) -> None:
    """Record ``spec`` in the run folder ``out`` (atomically; an existing one is left as it is)."""
    if not (out / RUN_SPEC).is_file():
        _io.write_text(out / RUN_SPEC, json.dumps({**spec, "id": spec_id(spec)}, indent=1, sort_keys=True) + "\n")


def stored_specs(models_dir: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The run spec of every run folder under ``models_dir`` that has one, by folder name."""
    root = project_path(models_dir)
    specs = {}
    for path in sorted(root.glob(f"*/{RUN_SPEC}")) if root.is_dir() else []:
        try:
            specs[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue  # a damaged spec: the run is found by its name, and its spec written again
    return specs


def planned_runs(runs: list[dict[str, Any]], config: TrainConfig, train_set) -> list[tuple[str, float, int, str]]:
    """Each run's sampler, alpha, seed and folder name; every run is checked, and the data hashed once."""
    return [(sampler, alpha, seed, name) for sampler, alpha, seed, name, _ in _planned(runs, config, train_set)]


def _planned(runs: list[dict[str, Any]], config: TrainConfig, train_set) -> list[tuple[str, float, int, str, dict]]:
    """:func:`planned_runs` with each run's :func:`run_spec`."""
    key = data_key(train_set)
    planned = []
    for run in runs:
        sampler, alpha, seed = run["sampler"], run.get("alpha", 0.5), int(run.get("seed", 0))
        check_sampler_args(sampler, alpha, config.batch_size, config.xy_pairing)
        alpha = float(alpha)
        planned.append((sampler, alpha, seed, _run_name(sampler, alpha, seed, config, key),
                        run_spec(sampler, alpha, seed, config, key)))
    return planned


def _run_row(name: str, sampler: str, alpha: float, seed: int, final: Path) -> dict[str, Any]:
    """One row of :func:`hybridlib.training.train.train_runs` / :func:`find_runs` for a finished run folder."""
    return {"run": name, "sampler": sampler, "alpha": acting_alpha(sampler, alpha), "seed": seed,
            "path": str(final), "training_seconds": training_record(final)["training_seconds"]}


def loss_curve(model_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Training (and validation) loss per logged step of a model written by :func:`hybridlib.training.train.fine_tune`."""
    record = training_record(project_path(model_dir))
    rows = [{"step": h["step"], "loss": h.get("loss"), "eval_loss": h.get("eval_loss")}
            for h in record["log_history"] if "step" in h and ("loss" in h or "eval_loss" in h)]
    return pd.DataFrame(rows)


def find_runs(
    runs: list[dict[str, Any]],
    train_set,
    *,
    config: TrainConfig | str,
    models_dir: str | os.PathLike[str],
) -> pd.DataFrame:
    """The finished runs that :func:`hybridlib.training.train.train_runs` wrote for these settings and data, in its
    layout (``run``, ``sampler``, ``alpha``, ``seed``, ``path``, ``training_seconds``); raises naming the runs not
    trained yet."""
    config = TrainConfig.of(config)
    planned = _planned(runs, config, train_set)
    found = _found_runs(planned, models_dir)
    rows, missing = [], []
    for sampler, alpha, seed, name, _ in planned:
        if name not in found:
            missing.append(name)
            continue
        rows.append(_run_row(found[name], sampler, alpha, seed, project_path(models_dir) / found[name] / "final"))
    if missing:
        raise FileNotFoundError(f"{len(missing)} run(s) not trained yet in {project_path(models_dir)}: "
                                f"{', '.join(missing)}; run notebook 03 (or train.train_runs) with the same "
                                "settings first")
    return pd.DataFrame(rows)


def _found_runs(planned: list[tuple[str, float, int, str, dict]], models_dir: str | os.PathLike[str]) -> dict[str, str]:
    """For each planned run (by the folder name it would get) that has finished, the folder it is in: the folder
    whose recorded spec matches (:func:`spec_matches`), else, for a run made before specs were recorded, the folder
    of its name, whose spec is then written."""
    root = project_path(models_dir)
    specs = stored_specs(models_dir)
    found = {}
    for *_, name, spec in planned:
        match = next((folder for folder, stored in specs.items()
                      if spec_matches(stored, spec, folder) and (root / folder / "final" / TRAINING_RECORD).is_file()),
                     None)
        if match is None and name not in specs and (root / name / "final" / TRAINING_RECORD).is_file():
            write_run_spec(root / name, spec)  # made before run specs: known by its name, recorded now
            match = name
        if match is not None:
            found[name] = match
    return found
