"""Every parameter a user sets, typed and checked in one place before any data or model loads.

:data:`PARAMETERS` holds each parameter of the notebooks (``notebooks/params/<scale>.yaml``, the runner's overrides)
with its type, whether null is allowed and, where the ``hybridlib`` command takes it, its flag. :func:`check_values`
checks a scale's values against it, then the combinations no single value shows (an evaluation set scored by
models trained on it, languages the sets lack, notebook 10's lengths against its config, notebook 08's seeds
against notebook 03's); the command checks its flags' values with the same entries (:func:`check_each` with
``as_flags``), so a bad value is named as the user wrote it (``max_groups`` in a YAML file, ``--max-groups`` on the
command line) before anything loads. The stages below trust what passed here; the typed specs of a run
(:class:`hybridlib.models.runs.TrainConfig`, a sampler's kind and alpha:
:func:`hybridlib.batching.samplers.check_sampler_args`) are the checks of Python calls.

Example::

    check_values(load_parameters("default"))         # raises ParameterError naming the first bad value
    check_each({"max_groups": -3}, as_flags=True)     # ParameterError: --max-groups must be a positive whole number
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ParameterError(ValueError):
    """A parameter's value is refused; the message starts with the parameter's name as the user wrote it."""


def _count(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and v >= 1
    return None if ok else f"must be a positive whole number, got {v!r}"


def _whole(v: Any) -> str | None:
    return None if isinstance(v, int) and not isinstance(v, bool) else f"must be a whole number, got {v!r}"


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _positive(v: Any) -> str | None:
    return None if _number(v) and v > 0 else f"must be a positive number, got {v!r}"


def _share(v: Any) -> str | None:
    return None if _number(v) and 0 < v <= 1 else f"must be a share in (0, 1], got {v!r}"


def _fraction(v: Any) -> str | None:
    return None if _number(v) and 0 <= v < 1 else f"must be in [0, 1), got {v!r}"


def _alpha(v: Any) -> str | None:
    from hybridlib.batching.samplers import PROPOSED, check_sampler_args

    try:
        check_sampler_args(PROPOSED, v, 1)  # the one check of alpha
    except (ValueError, TypeError) as exc:
        return str(exc).removeprefix("alpha ")
    return None


def _flag(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, got {v!r}"


def _text(v: Any) -> str | None:
    return None if isinstance(v, str) and v.strip() else f"must be a non-empty text, got {v!r}"


def _list_of(item: Callable[[Any], str | None], *, distinct: bool = True, empty: bool = False
             ) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if isinstance(v, (str, bytes, dict)) or not isinstance(v, (list, tuple)):
            return f"must be a list, got {v!r}"
        if not v and not empty:
            return "must not be an empty list"
        for x in v:
            why = item(x)
            if why:
                return f": each item {why}"
        twice = [x for i, x in enumerate(v) if x in list(v)[:i]]
        if distinct and twice:
            return f"lists {twice[0]!r} twice: {list(v)}"
        return None
    return check


def _choice(options: Callable[[], tuple[str, ...]]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v in options() else f"must be one of {list(options())}, got {v!r}"
    return check


def _samplers() -> tuple[str, ...]:
    from hybridlib.batching.samplers import SAMPLER_NAMES

    return SAMPLER_NAMES


def _precisions() -> tuple[str, ...]:
    from hybridlib.models.registry import PRECISIONS

    return PRECISIONS


def _candidate_texts() -> tuple[str, ...]:
    from hybridlib.scoring.evaluate import CANDIDATE_TEXTS

    return CANDIDATE_TEXTS


def _directions(v: Any) -> str | None:
    if not isinstance(v, dict) or not v or not all(isinstance(k, str) and isinstance(s, str) for k, s in v.items()):
        return f"must map each evaluation set to the source its models train on, got {v!r}"
    return None


@dataclass(frozen=True)
class Param:
    """One parameter: its check (a function that returns why a value is refused, or None), whether null is allowed,
    its ``hybridlib`` flag (None: the command does not take it) and what it sets."""

    check: Callable[[Any], str | None]
    doc: str
    nullable: bool = False
    flag: str | None = None


_COUNT, _SEEDS, _CODES = _count, _list_of(_whole), _list_of(_text)
_SAMPLER_LIST = _list_of(_choice(_samplers))
PARAMETERS: dict[str, Param] = {
    # every stage
    "scale": Param(_text, "the scale's name (notebooks/params/<scale>.yaml)"),
    "model": Param(_text, "a known encoder, a model folder or a hub id"),
    "directions": Param(_directions, "evaluation set -> the training source of the models scored on it"),
    "languages": Param(_CODES, "the evaluation languages kept (null: all)", nullable=True, flag="--languages"),
    "max_groups": Param(_COUNT, "the first N question groups of each evaluation set (null: all)", nullable=True,
                        flag="--max-groups"),
    "candidate_text": Param(_choice(_candidate_texts), "what a candidate is: its sentence, or with its paragraph"),
    "batch_size": Param(_COUNT, "texts encoded at once", flag="--batch-size"),
    "max_seq_length": Param(_COUNT, "tokens a text when scoring", flag="--max-seq-length"),
    "precision": Param(_choice(_precisions), "fp32, or bf16 where the machine computes it natively",
                       flag="--precision"),
    "data_dir": Param(_text, "the data folder (null: $HYBRIDLIB_DATA, else data/)", nullable=True,
                      flag="--data-dir"),
    "cache_dir": Param(_text, "the embedding cache", flag="--cache-dir"),
    "figures_dir": Param(_text, "where tables and figures go", nullable=True),
    "seed": Param(_whole, "the seed of the training sets' split and translation sample"),
    "n_resamples": Param(_COUNT, "sign flips of the paired randomization test"),
    # 01: training data
    "train_source": Param(_text, "the training source of notebooks 02 and 06"),
    "train_languages": Param(_CODES, "the training languages kept (null: all)", nullable=True),
    "train_max_groups": Param(_COUNT, "the first N groups of a training source (null: all)", nullable=True),
    "mt_targets": Param(_list_of(_text, empty=True), "languages machine-translated into the training data"),
    "mt_backend": Param(_text, "the machine translation backend"),
    "mt_model": Param(_text, "the MT backend's model (null: its default)", nullable=True),
    "mt_quality_backends": Param(_list_of(_text, empty=True), "MT backends whose output quality 01 measures"),
    "mt_quality_groups": Param(_COUNT, "groups the MT quality is measured on"),
    "validation_fraction": Param(_fraction, "the share of training groups held out"),
    "training_dir": Param(_text, "where the training sets are written"),
    # 02: batches and the alpha grid
    "models_dir": Param(_text, "where trained runs are written"),
    "stats_batch_size": Param(_COUNT, "the batch size of the batch statistics"),
    "alpha_grid": Param(_list_of(_alpha), "the alphas of hybrid's grid"),
    "grid_seeds": Param(_SEEDS, "the grid model's seeds"),
    "grid_steps": Param(_COUNT, "the grid model's training steps"),
    "grid_batch_size": Param(_COUNT, "the grid model's batch size"),
    "grid_learning_rate": Param(_positive, "the grid model's learning rate"),
    "grid_dim": Param(_COUNT, "the grid model's embedding size"),
    # 03: fine-tuning
    "train_config": Param(_text, "configs/<name>.yaml, the training config of notebook 03"),
    "train_samplers": Param(_SAMPLER_LIST, "the samplers notebook 03 trains"),
    "train_seeds": Param(_SEEDS, "the seeds notebook 03 trains"),
    "alpha": Param(_alpha, "hybrid's share of X-X-mono batches", flag="--alpha"),
    "eval_rows": Param(_COUNT, "held-out pairs of the validation metrics"),
    "validation_groups": Param(_COUNT, "held-out groups of the validation mAP"),
    # 06: open questions
    "question_samplers": Param(_SAMPLER_LIST, "the samplers of 06's questions (null: 06 off)", nullable=True),
    "question_steps": Param(_COUNT, "training steps of 06's runs"),
    "question_batch_size": Param(_COUNT, "batch size of 06's runs"),
    "data_fractions": Param(_list_of(_share), "the training data shares of 06"),
    "small_fraction": Param(_share, "the small share of 06's low-data question"),
    "mt_target": Param(_text, "the language of 06's human-vs-MT question"),
    # 07: domains, scale, false negatives
    "domain_eval": Param(_text, "the evaluation set of 07 (null: 07 off)", nullable=True),
    "domain_k": Param(_COUNT, "topical domains (k-means clusters)"),
    "domain_max_seq_length": Param(_COUNT, "tokens a text in 07's sweeps"),
    "domain_eval_groups": Param(_COUNT, "evaluation groups of each domain"),
    "domain_fractions": Param(_list_of(_share), "the domain data shares of 07 (must hold 1.0)"),
    "domain_samplers": Param(_SAMPLER_LIST, "the samplers of 07's sweeps"),
    "domain_seeds": Param(_SEEDS, "the seeds of 07's sweeps"),
    "domain_steps": Param(_COUNT, "training steps of 07's sweeps"),
    "domain_batch_size": Param(_COUNT, "batch size of 07's sweeps"),
    "false_negative_samplers": Param(_SAMPLER_LIST, "the samplers whose false negatives 07 counts"),
    "sweeps_dir": Param(_text, "where 07's sweep scores are written"),
    # 08: low-resource languages
    "low_resource_source": Param(_text, "the training source of the models 08 scores (null: 08 off)", nullable=True),
    "low_resource_seeds": Param(_SEEDS, "the seeds 08 scores (among train_seeds)"),
    "afriqa_languages": Param(_CODES, "AfriQA languages scored (null: all)", nullable=True),
    "afriqa_per_language": Param(_COUNT, "the first N AfriQA questions of each language (null: all)", nullable=True),
    "afriqa_max_seq_length": Param(_COUNT, "tokens an AfriQA text"),
    "ntrex_languages": Param(_CODES, "NTREX-128 languages scored (null: all; must hold en)", nullable=True),
    "ntrex_documents": Param(_COUNT, "the first N of NTREX-128's 123 documents (null: all)", nullable=True),
    "ntrex_full_bitext": Param(_flag, "bitext mining of the untuned model on every NTREX line"),
    # 09-10: full pools, training length
    "full_groups": Param(_COUNT, "groups of the 'full' pools (null: every group)", nullable=True),
    "length_eval": Param(_text, "the evaluation set of 10 (null: 10 off)", nullable=True),
    "length_config": Param(_text, "configs/<name>.yaml of the length curve"),
    "length_steps": Param(_list_of(_count), "the curve's lengths in steps"),
    "length_samplers": Param(_SAMPLER_LIST, "the samplers of the curve"),
    "length_seeds": Param(_SEEDS, "the seeds of the curve"),
    "length_full_steps": Param(_list_of(_count, empty=True), "lengths also scored on the full pool"),
    "length_validation_batches": Param(_COUNT, "held-out batches of the curve's validation loss (null: all)",
                                       nullable=True),
    "length_models_dir": Param(_text, "where the curve's runs are written"),
    # read by the runner, given to no notebook
    "long_stages": Param(_flag, "run 09-10 with the rest"),
    "estimate_cost": Param(_flag, "print the measured cost of 03-05 first"),
}


def check_each(values: dict[str, Any], *, as_flags: bool = False) -> None:
    """Refuse a value its parameter's type refuses; the message names the parameter as in a scale's file, or
    (``as_flags``) by its ``hybridlib`` flag. A name the table lacks is left alone: the runner refuses a name no
    notebook declares, and a test keeps every notebook's parameters in the table."""
    for key, value in values.items():
        param = PARAMETERS.get(key)
        if param is None:
            continue
        name = param.flag if as_flags and param.flag else key
        if value is None:
            if not param.nullable:
                raise ParameterError(f"{name} must not be null ({param.doc})")
            continue
        why = param.check(value)
        if why:
            raise ParameterError(f"{name}{'' if why.startswith(':') else ' '}{why}")


def check_values(parameters: dict[str, Any]) -> None:
    """Refuse, before stage 01 starts, any value a later stage would refuse: each value by its type
    (:func:`check_each`: samplers, alpha, batch sizes, ...), then the combinations: the evaluation sets and
    training sources of ``directions`` (a set is never scored by models trained on it), languages the sets lack,
    the training config and model, and the settings of notebooks 07, 08 and 10."""
    from hybridlib.data import lareqa as data
    from hybridlib.data.pairs import check_training_source
    from hybridlib.models import registry as encoders
    from hybridlib.models.encoder import resolve_model

    p = parameters
    check_each(p)
    if "train_config" in p:
        _config(p["train_config"], "train_config")  # the samplers, alpha and batch sizes passed check_each
    directions = p.get("directions") or {}
    for dataset, source in directions.items():
        if not data.is_lareqa(dataset):
            raise ParameterError(f"directions: unknown evaluation set {dataset!r}; known: {data.dataset_names()}, "
                                 "or a folder of <lang>.json[.gz] LAReQA files")
        if dataset == source:
            raise ParameterError(f"directions: {dataset} would be scored by models trained on itself (not zero-shot)")
        if source not in data.dataset_names():
            _named("directions", check_training_source, source)
    if p.get("languages") is not None and directions:
        known = set().union(*(data.lareqa_languages(d) for d in directions))
        unknown = sorted(set(p["languages"]) - known)
        if unknown:
            raise ParameterError(f"languages: unknown language(s) {unknown}: the evaluation sets {list(directions)} "
                                 f"have {sorted(known)}")
    if p.get("domain_eval") is not None:
        _trains_on_lareqa(p, "domain_eval", "07")
    if p.get("domain_fractions") and 1.0 not in p["domain_fractions"]:
        raise ParameterError(f"domain_fractions must hold 1.0 (the domain against general data), got "
                             f"{p['domain_fractions']}")
    if p.get("length_eval") is not None:
        _length_curve(p)
    if p.get("low_resource_source") is not None:
        _low_resource(p)
    if "model" in p and encoders.spec(p["model"]) is None:
        _named("model", resolve_model, p["model"])  # a folder must exist; a hub id must look like one


def _named(name: str, check: Callable[..., Any], *args: Any) -> Any:
    """``check(*args)``, its ValueError raised again as a ParameterError that starts with ``name``."""
    try:
        return check(*args)
    except ParameterError:
        raise
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{name}: {exc}") from None


def _config(name: str, parameter: str):
    """The training config ``name`` (configs/<name>.yaml), its errors named by ``parameter``."""
    from hybridlib.models.runs import TrainConfig

    return _named(parameter, TrainConfig.load, name)


def _trains_on_lareqa(p: dict[str, Any], name: str, stage: str) -> None:
    """Refuse a parameter ``name`` naming the evaluation set of a stage that trains on its source in ``directions``
    unless it is one of the evaluation sets and that source is a LAReQA set."""
    from hybridlib.data import lareqa as data

    directions = p.get("directions") or {}
    if p[name] not in directions:
        raise ParameterError(f"{name} must be an evaluation set of directions {list(directions)}, got {p[name]!r}")
    if directions[p[name]] not in data.dataset_names():
        raise ParameterError(f"{name}: notebook {stage} trains on directions[{p[name]!r}], which must be a LAReQA "
                             f"set ({data.dataset_names()}); set {name} to null to switch {stage} off")


def _length_curve(p: dict[str, Any]) -> None:
    """Notebook 10's combinations: the set scored and its training source, the lengths against the config's
    schedule, its seeds, the lengths scored on the full pool among the curve's."""
    from hybridlib.analysis.length_curve import checked_subset
    from hybridlib.studies.length_runs import checked_steps, length_config

    _trains_on_lareqa(p, "length_eval", "10")
    steps = _named("length_steps", checked_steps, p.get("length_steps"))
    name = p.get("length_config", "length")
    _named(f"length_config {name!r}", length_config, _config(name, "length_config"), steps)
    if not p.get("length_seeds"):
        raise ParameterError(f"length_seeds must be a list of distinct whole numbers, got {p.get('length_seeds')!r}")
    _named("length_full_steps", checked_subset, p.get("length_full_steps") or [], steps)


def _low_resource(p: dict[str, Any]) -> None:
    """Notebook 08's combinations: the training source of the models it scores, their seeds among notebook 03's,
    the AfriQA and NTREX languages staged, the NTREX cut."""
    from hybridlib.data.corpora import afriqa_languages, ntrex_languages

    directions = p.get("directions") or {}
    if p["low_resource_source"] not in directions.values():
        raise ParameterError(f"low_resource_source must be the training source of one of directions {directions} "
                             f"(notebook 08 scores the models trained on it), got {p['low_resource_source']!r}")
    seeds, trained = p.get("low_resource_seeds"), p.get("train_seeds") or []
    if not seeds:
        raise ParameterError(f"low_resource_seeds must be a list of distinct whole numbers, got {seeds!r}")
    if set(seeds) - set(trained):
        raise ParameterError(f"low_resource_seeds {seeds} must be among train_seeds {trained} (notebook 03 trains "
                             "them)")
    for name, known, needed in (("afriqa_languages", afriqa_languages("test"), None),
                                 ("ntrex_languages", ntrex_languages(), "en")):
        value = p.get(name)
        if value is None:
            continue
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ParameterError(f"{name}: unknown language(s) {unknown}; staged: {known}")
        if needed and needed not in value:
            raise ParameterError(f"{name} must hold {needed!r} (bitext mining goes from English), got {value}")
    if p.get("ntrex_documents") is not None and p["ntrex_documents"] > 123:
        raise ParameterError(f"ntrex_documents: NTREX-128 has 123 documents, got {p['ntrex_documents']}")
