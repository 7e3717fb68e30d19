"""The results store: a model scored on a LAReQA set once, kept as a record, read back by every later consumer.

Modelled on mteb's result files: :func:`score_lareqa` is the one way the notebooks and the CLI score a model folder
on a LAReQA set. It builds the record's key from everything that decides the numbers (the model's content
fingerprint, the set, its languages, the sha256 of its files, the cut, the candidate text, the length, the
prefixes, the recall cut-offs); when ``<store>/<key hash>/`` holds a finished record it is read back (no model is
loaded, no text encoded), otherwise the model is loaded, scored, and the record written atomically (all of it or
nothing). A record is a folder with ``record.json`` (the key, the summary, the per-pair mAP matrix, rank distance
per query language, the evaluation's metadata, its time and provenance) and ``per_query.pkl`` (every question's AP,
recall, rank distance and pooled top languages: the data the significance tests and figures are made from).

Example::

    from hybridlib.scoring.results import score_lareqa
    ev = score_lareqa("build/models/<run>/final", "xquad-r", max_groups=160)   # computed and stored
    ev = score_lareqa("build/models/<run>/final", "xquad-r", max_groups=160)   # read back: nothing encoded
    ev.meta["record"]                                                          # where the record lives
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridlib.core import _io
from hybridlib.core.paths import project_path
from hybridlib.data.lareqa import LareqaDataset, open_lareqa
from hybridlib.models import registry as encoders
from hybridlib.models.encoder import default_max_seq_length, load_encoder, model_label, model_record, resolve_precision
from hybridlib.models.leakage import guard_evaluation
from hybridlib.models.model_record import ModelRecord
from hybridlib.scoring.evaluate import LareqaEvaluation, evaluate_lareqa

STORE = "build/results"
RECORD = "record.json"
PER_QUERY = "per_query.pkl"
FORMAT = 3


def result_key(model_id: str, dataset: LareqaDataset, *, max_groups: int | None, candidate_text: str,
               max_seq_length: int, prefixes: tuple[str, str], ks: Sequence[int], precision: str) -> dict[str, Any]:
    """Every field that decides an evaluation's numbers: a change in any one of them is another record."""
    return {"format": FORMAT, "model": model_id, "dataset": dataset.name, "languages": list(dataset.languages),
            "data_sha256": {lang: dataset.checksums.get(lang) for lang in dataset.languages},
            "items": dataset.content_key(), "max_groups": max_groups, "candidate_text": candidate_text, "max_seq_length": int(max_seq_length),
            "prefixes": list(prefixes), "ks": [int(k) for k in ks], "precision": precision}


def embedding_key(model: str | os.PathLike[str], record: ModelRecord) -> str:
    """The key under which ``model``'s embeddings are cached when loaded as ``record`` says (its content, length and
    precision): the one key every scorer of the store uses, so each text is encoded once per model."""
    return f"{model_label(model)}:{record.encoding_id}"


def record_folder(key: dict[str, Any], store_dir: str | os.PathLike[str] = STORE) -> Path:
    """Where the record of ``key`` lives: ``<store>/<sha256 of the key>`` (its ``record.json`` says what it holds)."""
    return project_path(store_dir) / hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]


def read_record(folder: Path) -> LareqaEvaluation | None:
    """The evaluation stored in ``folder``, or None when there is none (or it does not read back whole, in which
    case it is removed to be computed again)."""
    if not (folder / RECORD).is_file() or not (folder / PER_QUERY).is_file():
        return None
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        with open(folder / PER_QUERY, "rb") as fh:
            per_query = pickle.load(fh)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError):
        import shutil
        import warnings

        warnings.warn(f"damaged result record {folder}: removed and computed again", stacklevel=3)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    meta = {**record["meta"], "record": str(folder), "from_store": True}
    return LareqaEvaluation(record["dataset"], record["model"], record["languages"], per_query,
                            tuple(record["key"]["ks"]), meta)


def write_record(folder: Path, key: dict[str, Any], ev: LareqaEvaluation, provenance: dict[str, Any]) -> None:
    """Write ``ev`` as the record of ``key`` in ``folder``, atomically."""
    record = {"key": key, "dataset": ev.dataset, "model": ev.model, "languages": list(ev.languages),
              "summary": ev.summary, "map_matrix": json.loads(ev.map_matrix.to_json(orient="index")),
              "rank_distance": ev.rank_distance.to_dict(), "meta": ev.meta, "provenance": provenance}
    with _io.atomic_dir(folder) as tmp:
        with open(tmp / PER_QUERY, "wb") as fh:
            pickle.dump(ev.per_query, fh, protocol=pickle.HIGHEST_PROTOCOL)
        (tmp / RECORD).write_text(_io.json_text(record), encoding="utf-8")


def record_summary(ev: LareqaEvaluation) -> dict[str, Any]:
    """When and how fast the stored record behind ``ev`` was computed: its folder's name, the time it was written
    and the seconds spent loading and scoring (what a manifest of resumed work reports, piece by piece)."""
    folder = Path(ev.meta["record"])
    written = json.loads((folder / RECORD).read_text(encoding="utf-8")).get("provenance", {}).get("written")
    return {"record": folder.name, "written": written, "seconds_loading": ev.meta.get("seconds_loading"),
            "seconds_scoring": ev.meta.get("seconds_scoring")}


@dataclass(frozen=True)
class Request:
    """One evaluation asked of the store: the model's record, the dataset as cut, the settings that decide the
    numbers, and the record's key and folder (:func:`request`)."""

    record: ModelRecord
    dataset: LareqaDataset
    max_groups: int | None
    candidate_text: str
    max_seq_length: int
    prefixes: tuple[str, str]
    ks: tuple[int, ...]
    precision: str
    key: dict[str, Any]
    folder: Path


def request(
    model: Any,
    dataset: str | os.PathLike[str] | LareqaDataset,
    *,
    languages: Sequence[str] | None = None,
    max_groups: int | None = None,
    candidate_text: str = "sentence",
    max_seq_length: int | None = None,
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
    ks: Sequence[int] = (1, 10),
    precision: str = encoders.DEFAULT_PRECISION,
    data_dir: str | os.PathLike[str] | None = None,
    store_dir: str | os.PathLike[str] = STORE,
) -> Request:
    """What :func:`score_lareqa` would compute, with every default filled in from the model's record (prefixes,
    length) and the machine (precision), and where its record lives; nothing is loaded or encoded."""
    record = model_record(model)
    acting = resolve_precision(precision)
    ds = dataset if isinstance(dataset, LareqaDataset) else open_lareqa(
        dataset, list(languages) if languages is not None else None, data_dir)
    if languages is not None or max_groups is not None:
        ds = ds.subset(list(languages) if languages is not None else None, max_groups)
    length = int(max_seq_length) if max_seq_length is not None else default_max_seq_length(record)[0]
    own = record.prompts
    prefixes = (own[0] if query_prefix is None else query_prefix, own[1] if passage_prefix is None else passage_prefix)
    ks = tuple(int(k) for k in ks)
    key = result_key(record.fingerprint, ds, max_groups=max_groups, candidate_text=candidate_text,
                     max_seq_length=length, prefixes=prefixes, ks=ks, precision=acting)
    return Request(record, ds, max_groups, candidate_text, length, prefixes, ks, acting, key,
                   record_folder(key, store_dir))


def stored_lareqa(model: Any, dataset: str | os.PathLike[str] | LareqaDataset, **settings: Any
                  ) -> LareqaEvaluation | None:
    """The stored record of this evaluation (the arguments of :func:`score_lareqa`), or None: nothing is computed,
    and the model's weights need not be there (its record is enough)."""
    return read_record(request(model, dataset, **{k: v for k, v in settings.items() if k in _REQUEST_ARGS}).folder)


def score_lareqa(
    model: str | os.PathLike[str],
    dataset: str | os.PathLike[str] | LareqaDataset,
    *,
    batch_size: int = 64,
    cache_dir: str | os.PathLike[str] | None = None,
    allow_trained_on: bool = False,
    allow_hint: str = "allow_trained_on=True",
    progress: bool = False,
    leakage_check: str | None = None,
    encoder: Any = None,
    **settings: Any,
) -> LareqaEvaluation:
    """``model`` (a registry name, a folder or a hub id) scored zero-shot on a LAReQA ``dataset``: read from the
    store when this exact evaluation was recorded, else computed with :func:`hybridlib.scoring.evaluate.evaluate_lareqa`
    and recorded. ``settings`` are those of :func:`request` (``languages``, ``max_groups``, ``candidate_text``,
    ``max_seq_length``, ``query_prefix``, ``passage_prefix``, ``ks``, ``precision``, ``data_dir``, ``store_dir``);
    their defaults: the model's own prefixes and length (its record, :func:`hybridlib.models.encoder.model_record`;
    :func:`hybridlib.models.encoder.default_max_seq_length`) and hybridlib's precision (``bf16`` weights where the machine
    computes bfloat16 natively, else fp32: :func:`hybridlib.models.encoder.resolve_precision`). The leakage guard runs
    either way, before anything loads.
    ``meta["record"]`` names the record; ``meta["from_store"]`` says whether it was read back. ``leakage_check``:
    how a caller that guarded this model on this set itself already checked it (the guard is then not run again).
    ``encoder``: this model already loaded (or just trained) at this length and precision, used instead of loading
    it again; its record must be the model's."""
    req = request(model, dataset, **settings)
    data_dir = settings.get("data_dir")
    check = leakage_check or guard_evaluation(req.record.location, req.dataset, allow_trained_on, data_dir,
                                              allow_hint=allow_hint)
    stored = read_record(req.folder)
    if stored is not None:
        return stored
    start = time.perf_counter()
    if encoder is None:
        encoder = load_encoder(model, max_seq_length=req.max_seq_length, precision=req.precision)
    loaded = model_record(encoder)
    if loaded is None or loaded.fingerprint != req.record.fingerprint or loaded.precision != req.precision:
        raise ValueError(f"the encoder passed is not {model} at {req.precision} (its record: {loaded})")
    encoder.max_seq_length = req.max_seq_length
    ready = time.perf_counter()
    ev = evaluate_lareqa(encoder, req.dataset, candidate_text=req.candidate_text, query_prefix=req.prefixes[0],
                         passage_prefix=req.prefixes[1], ks=req.ks, batch_size=batch_size, cache_dir=cache_dir,
                         model_name=embedding_key(model, model_record(encoder)),
                         leakage_check=check, progress=progress)
    ev.meta.update({"max_groups": req.max_groups, "precision": req.precision,
                    "seconds_loading": round(ready - start, 2),
                    "seconds_scoring": round(time.perf_counter() - ready, 2)})
    provenance = {"model": str(model), "model_record": req.record.to_json(), "data_files": dict(req.dataset.files),
                  "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_record(req.folder, req.key, ev, provenance)
    ev.meta.update({"record": str(req.folder), "from_store": False})
    return ev


_REQUEST_ARGS = set(inspect.signature(request).parameters) - {"model", "dataset"}

TABLES = "tables.pkl"


def stored_tables(key: dict[str, Any], compute: Any, store_dir: str | os.PathLike[str] = STORE
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tables of an evaluation that is not a LAReQA one (AfriQA, NTREX, fairness metrics): read back from
    ``<store>/<hash of key>/`` when recorded, else ``compute()`` (a dict of tables) is called and its result recorded
    atomically with ``key``, its seconds and when it was written. Returns the tables and the record's ``meta``
    (``record``, ``from_store``, ``seconds``, ``written``). ``key`` holds everything that decides the numbers (the
    model's fingerprint, the data's sha256, the settings)."""
    folder = record_folder({"format": FORMAT, **key}, store_dir)
    if (folder / RECORD).is_file() and (folder / TABLES).is_file():
        try:
            record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
            with open(folder / TABLES, "rb") as fh:
                tables = pickle.load(fh)
            return tables, {**record["meta"], "record": str(folder), "from_store": True}
        except (OSError, ValueError, EOFError, KeyError, pickle.UnpicklingError):
            import shutil
            import warnings

            warnings.warn(f"damaged result record {folder}: removed and computed again", stacklevel=2)
            shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    tables = compute()
    meta = {"seconds": round(time.perf_counter() - start, 2), "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with _io.atomic_dir(folder) as tmp:
        with open(tmp / TABLES, "wb") as fh:
            pickle.dump(tables, fh, protocol=pickle.HIGHEST_PROTOCOL)
        (tmp / RECORD).write_text(_io.json_text({"key": key, "meta": meta}), encoding="utf-8")
    return tables, {**meta, "record": str(folder), "from_store": False}
