"""One record per model: what it is, what it was trained on, how it is used.

A :class:`ModelRecord` is written as ``hybridlib_model.json`` beside a model folder the companion makes (the offline
e5 build, a fine-tuned run) and derived for the models it only loads (a package's folder, a hub id, a folder of
one's own). :func:`hybridlib.models.encoder.model_record` is the one function that reads it, for a name, a folder or a
loaded model; the leakage guard, the results store, the CLI and the notebooks ask it and nothing else. A loaded
model's record is kept in a table of this module keyed by the model object (no attribute is set on the model),
with the length and precision it was loaded at.

Example::

    from hybridlib.models.encoder import load_encoder, model_record
    record = model_record("default")            # the offline multilingual-e5-small: prompts, length, fingerprint
    encoder = load_encoder("default", precision="bf16")
    model_record(encoder).precision             # "bf16" (or "fp32" where the machine lacks bfloat16)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridlib.core import _io
from hybridlib.data.lareqa import sha256_file

MODEL_RECORD = "hybridlib_model.json"
FORMAT = 1
KINDS = ("registry", "fine-tuned", "folder", "hub", "static")


@dataclass(frozen=True)
class ModelRecord:
    """A model's identity and use: ``kind`` (one of :data:`KINDS`), ``name`` (registry name or folder name),
    ``location`` (folder or hub id), ``fingerprint`` (its content: :func:`hybridlib.models.encoder.model_fingerprint`),
    ``prompts`` (query, passage), ``max_seq_length`` (tokens a text), ``precision`` (``fp32`` / ``bf16``: for a
    fine-tuned model the precision it was trained at, for a loaded one the precision it computes in),
    ``base_model`` and ``trained_on`` (for a fine-tuned model: its sources, languages, group and pair counts, the
    run that made it and the file with its content hashes)."""

    kind: str
    name: str
    location: str
    fingerprint: str
    prompts: tuple[str, str]
    max_seq_length: int | None
    precision: str = "fp32"
    base_model: str | None = None
    trained_on: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"model record kind must be one of {KINDS}, got {self.kind!r}")
        object.__setattr__(self, "prompts", tuple(self.prompts))

    @property
    def sources(self) -> tuple[str, ...]:
        """The data sources the model was fine-tuned on (empty for an untuned model)."""
        return tuple(self.trained_on.get("sources", ()))

    @property
    def trained_length(self) -> int | None:
        """The length (tokens) a fine-tuned model was trained at; None for any other model."""
        return int(self.max_seq_length) if self.kind == "fine-tuned" and self.max_seq_length else None

    @property
    def encoding_id(self) -> str:
        """What keys the model's cached embeddings: its content, length and precision."""
        return f"{self.fingerprint}:len{self.max_seq_length}" + (":bf16" if self.precision == "bf16" else "")

    def summary(self) -> dict[str, Any]:
        """One flat row for a table: kind, precision, length, prompts, fingerprint and what it was trained on."""
        trained = {k: self.trained_on.get(k) for k in ("languages", "groups", "pairs")} if self.trained_on else {}
        if trained.get("languages"):
            trained["languages"] = " ".join(trained["languages"])
        return {"kind": self.kind, "precision": self.precision, "max_seq_length": self.max_seq_length,
                "prompts": " / ".join(map(repr, self.prompts)), "fingerprint": self.fingerprint, **trained}

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **dataclasses.asdict(self), "prompts": list(self.prompts)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def write_model_record(folder: str | os.PathLike[str], record: ModelRecord) -> Path:
    """Write ``record`` as ``<folder>/hybridlib_model.json`` (atomically)."""
    return _io.write_text(Path(folder) / MODEL_RECORD, _io.json_text(record.to_json()))


def stored_model_record(folder: str | os.PathLike[str]) -> ModelRecord | None:
    """The record written beside a model folder, or None when it has none; a damaged one raises
    :class:`hybridlib.models.encoder.ModelLoadError` naming the file."""
    path = Path(folder) / MODEL_RECORD
    if not path.is_file():
        return None
    try:
        return ModelRecord.from_json(read_record(path))
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"{path} is damaged ({exc}): delete it to have it derived again") from exc


class ModelLoadError(OSError):
    """A model could not be found or loaded."""


def read_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A JSON record hybridlib wrote beside a model, or a ModelLoadError naming the file when it is damaged."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"{path} is damaged ({exc}): restore it from the run that wrote it, or delete the "
                             "model folder and train it again") from exc
    if not isinstance(record, dict):
        raise ModelLoadError(f"{path} is damaged: it holds {type(record).__name__}, not a JSON object")
    return record


def model_fingerprint(where: str, local: bool) -> str:
    """A short id of a model's content: the sha256 of its weight and config files (not its model record) when
    local, else its name. Each file is hashed once per process while it stays unchanged (:func:`sha256_file`)."""
    if not local:
        return where
    h = hashlib.sha256()
    root = Path(where)
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in {".safetensors", ".bin", ".json", ".txt", ".model"} and f.name != MODEL_RECORD:
            h.update(str(f.relative_to(root)).encode())
            h.update(bytes.fromhex(sha256_file(f)))
    return h.hexdigest()[:16]


_LOADED: weakref.WeakKeyDictionary[Any, ModelRecord] = weakref.WeakKeyDictionary()


def remember(model: Any, record: ModelRecord) -> Any:
    """Keep ``record`` as the record of the loaded ``model`` (for as long as the object lives); returns ``model``."""
    _LOADED[model] = record
    return model


def remembered(model: Any) -> ModelRecord | None:
    """The record kept for a loaded model object, with the length it is set to now, or None."""
    record = _LOADED.get(model)
    if record is None:
        return None
    length = getattr(model, "max_seq_length", record.max_seq_length)
    return record if length == record.max_seq_length else dataclasses.replace(record, max_seq_length=length)


def copy_model(model: Any) -> Any:
    """A deep copy of a loaded model that keeps its record (to train a copy and leave the original as it is)."""
    import copy

    duplicate = copy.deepcopy(model)
    record = _LOADED.get(model)
    return remember(duplicate, record) if record is not None else duplicate
