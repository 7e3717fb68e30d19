"""Keeping training and evaluation disjoint, as the paper does (zero-shot evaluation).

* :func:`hybridlib.data.overlap.guard_training_rows` refuses a training set with any row whose group id, question or
  passage text occurs in a named evaluation set (texts compared after collapsing whitespace);
* :func:`hybridlib.data.overlap.content_record` is what :func:`hybridlib.training.train.fine_tune` writes beside a model's weights
  (``hybridlib_trained_on.json``): the group ids and the hashes of every question and passage it trained or
  selected its checkpoint on;
* :func:`guard_evaluation` refuses evaluating a model on a dataset that shares a group id, a question or a passage
  with what it was trained on (read from that file, whatever object or path the model arrives as), or that its
  record names as a training source, unless the caller says so; it returns how the model's provenance was checked.
* A model hybridlib trained is also recognised by the content of its weights (:func:`weights_fingerprint`, kept in
  an index under ``build/cache/trained-models/`` with a copy of its content record), so a copy saved with
  ``model.save(other)`` or a folder whose record was deleted is still caught. Where zero-shot cannot be verified
  (no record, weights unknown) a warning says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from functools import lru_cache
from pathlib import Path

from hybridlib.core import _io
from hybridlib.core.paths import project_path
from hybridlib.data.lareqa import LareqaDataset
from hybridlib.data.overlap import LeakageError, content_keys
from hybridlib.models.encoder import model_record, read_record

TRAINED_ON = "hybridlib_trained_on.json"
TRAINED_INDEX = "build/cache/trained-models"  # <weights fingerprint>.json: the content record of a model we trained
CONVERSION_RECORD = "hybridlib_conversion.json"  # beside an encoder built offline from a registry package


def model_folder(encoder: object) -> Path | None:
    """The local folder a model was loaded from (a path given as such, its model record's location, or a
    SentenceTransformer's transformer config for a model loaded without hybridlib), else None."""
    if isinstance(encoder, (str, os.PathLike)):
        path = Path(encoder).expanduser()
        return path if path.is_dir() else None
    record = model_record(encoder)
    if record is not None:
        return Path(record.location) if record.location and Path(record.location).is_dir() else None
    try:
        name = encoder[0].auto_model.config._name_or_path  # type: ignore[index]
    except (TypeError, AttributeError, IndexError, KeyError):
        return None
    path = Path(str(name))
    return path if path.is_dir() else None


def trained_on(encoder: object) -> tuple[str, ...]:
    """The data sources an encoder was fine-tuned on, as its model record says (empty when unknown)."""
    folder = model_folder(encoder)
    if folder is not None:
        record = model_record(folder)
    else:
        record = None if isinstance(encoder, (str, os.PathLike)) else model_record(encoder)
    return record.sources if record is not None else ()


def _tensor_digest(name: str, tensor) -> str | None:
    """sha256 of one floating tensor's bytes (None for the word embeddings, which fine-tuning may leave as the
    base model's, and for integer buffers)."""
    import torch

    if "word_embeddings" in name or not torch.is_floating_point(tensor) or tensor.ndim == 0:
        return None
    data = tensor.detach().to("cpu").contiguous()
    return hashlib.sha256(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"").hexdigest()


def _fingerprint(digests: list[str | None]) -> str | None:
    kept = sorted(d for d in digests if d is not None)
    return hashlib.sha256("".join(kept).encode()).hexdigest()[:24] if kept else None


def weights_fingerprint(encoder: object) -> str | None:
    """A fingerprint of a model's weights, the same for the loaded model and for any folder it was saved to:
    the sorted sha256 of its floating tensors' bytes, the word embeddings left out (names and file layout do not
    enter it). ``encoder`` is a loaded model (anything with ``state_dict``) or a folder of ``*.safetensors``;
    None when there are no weights to read."""
    if hasattr(encoder, "state_dict"):
        return _fingerprint([_tensor_digest(n, t) for n, t in encoder.state_dict().items()])  # type: ignore[union-attr]
    folder = model_folder(encoder)
    if folder is None:
        return None
    files = [f for f in sorted(folder.rglob("*.safetensors")) if "checkpoints" not in f.relative_to(folder).parts]
    stamp = tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    return _files_fingerprint(stamp)


@lru_cache(maxsize=64)
def _files_fingerprint(stamp: tuple[tuple[str, int, int], ...]) -> str | None:
    """:func:`weights_fingerprint` of weight files, read once per process while their sizes and times stay."""
    from safetensors import safe_open

    digests: list[str | None] = []
    for path, _, _ in stamp:
        with safe_open(path, framework="pt") as fh:
            digests += [_tensor_digest(n, fh.get_tensor(n)) for n in fh.keys() if "word_embeddings" not in n]
    return _fingerprint(digests)


def register_trained(folder: str | os.PathLike[str], record: dict[str, object] | None = None) -> str | None:
    """Remember the model in ``folder`` by its weights: its content record (read from the folder unless given)
    goes to ``build/cache/trained-models/<fingerprint>.json``; returns the fingerprint."""
    fingerprint = weights_fingerprint(Path(folder))
    if fingerprint is None:
        return None
    record = record if record is not None else read_record(Path(folder) / TRAINED_ON)
    entry = project_path(TRAINED_INDEX) / f"{fingerprint}.json"
    if not entry.is_file():
        _io.write_text(entry, json.dumps({**record, "registered_from": str(folder)}) + "\n")
    return fingerprint


def recognised_record(encoder: object) -> tuple[dict[str, object], Path] | None:
    """The content record of a model hybridlib trained, found by its weights' fingerprint wherever the model was
    saved (None when its weights are unknown)."""
    fingerprint = weights_fingerprint(encoder)
    entry = project_path(TRAINED_INDEX) / f"{fingerprint}.json" if fingerprint else None
    return (read_record(entry), entry) if entry is not None and entry.is_file() else None


def _is_registry_build(folder: Path | None) -> bool:
    """Whether ``folder`` is an encoder of the registry as shipped (a package's folder) or built offline."""
    if folder is None:
        return False
    if (folder / CONVERSION_RECORD).is_file():
        return True
    from hybridlib.models.encoder import ModelLoadError, minilm_path

    try:
        return folder.resolve() == minilm_path().resolve()
    except ModelLoadError:
        return False


def guard_evaluation(encoder: object, dataset: str | LareqaDataset, allow: bool = False,
                     data_dir: str | os.PathLike[str] | None = None, allow_hint: str = "allow_trained_on=True") -> str:
    """Raise LeakageError if ``encoder`` (a model or its folder) was trained on ``dataset``: by content (its
    ``hybridlib_trained_on.json``, or the record of a model with the same weights, shares a group id, question or
    passage with it) or by name (a recorded source), unless ``allow`` (``allow_hint``: how the caller's user says
    so, such as the CLI's ``--allow-trained-on``). Returns how its provenance was checked, for the evaluation's
    record; warns when zero-shot could not be verified."""
    name = dataset if isinstance(dataset, str) else dataset.name
    folder = model_folder(encoder)
    content = folder / TRAINED_ON if folder is not None else None
    found: tuple[dict[str, object], Path] | None = None
    how = ""
    if content is not None and content.is_file():
        found = read_record(content), content
        register_trained(folder, found[0])
        how = content.name
    elif not _is_registry_build(folder):  # a registry encoder, as shipped or built, is untuned
        found = recognised_record(encoder if folder is None else folder)
        how = "recognised by its weights"
    if found is not None:
        record, where = found
        groups, hashes = content_keys(dataset, data_dir)
        shared_groups = groups & set(record.get("group_ids", []))  # type: ignore[arg-type]
        shared_texts = hashes & set(record.get("text_hashes", []))  # type: ignore[arg-type]
        if (shared_groups or shared_texts) and not allow:
            raise LeakageError(f"this model was trained on data that occurs in {name} ({len(shared_groups)} group "
                               f"ids, {len(shared_texts)} questions or passages, by {where}); evaluating it there "
                               f"is not zero-shot. Pass {allow_hint} to do it anyway.")
        provenance = (f"content checked ({how}): {len(shared_groups)} group ids and {len(shared_texts)} "
                      f"texts shared with {name}")
        sources = tuple(dict.fromkeys((*trained_on(encoder), *record.get("sources", []))))  # type: ignore[misc]
    else:
        provenance = None
        sources = trained_on(encoder)
    if name in sources and not allow:
        raise LeakageError(f"this model was trained on {name}; evaluating it there is not zero-shot. "
                           f"Pass {allow_hint} to do it anyway.")
    if provenance is None and sources:
        provenance = f"training sources recorded by name only: {list(sources)}"
    elif provenance is None and _is_registry_build(folder):
        provenance = f"an untuned encoder of the registry ({folder.name})"  # type: ignore[union-attr]
    elif provenance is None:
        provenance = ("no hybridlib training record found: zero-shot not verified (an untuned model, or one "
                      "trained elsewhere)")
        warnings.warn(f"zero-shot on {name} not verified: the model has no hybridlib training record and its "
                      "weights are not those of a model hybridlib trained", stacklevel=2)
    return provenance
