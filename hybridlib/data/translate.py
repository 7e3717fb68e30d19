"""Machine translation for building parallel training data: one interface, two backends, a disk cache.

``translate(texts, src, tgt, backend=...)`` returns one translation per text. Backends:

* ``"apertium"``: Debian's rule-based engine run as a subprocess (``apt-get install apertium apertium-eng-spa``
  gives English<->Spanish offline, ~1,500 sentences/s);
* ``"transformers"``: any seq2seq MT model by hub name or local path (NLLB-200, M2M-100, Marian), with the
  language codes each family expects, batching, a device choice and a progress bar.

Translations are cached in SQLite keyed by backend, model, direction and text, committed after every batch: a
re-run translates nothing twice and an interrupted run resumes where it stopped. :func:`flag_translation` marks
outputs that are empty or many times longer than their source, which augmentation drops and counts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tqdm.auto import tqdm

from hybridlib.core.paths import project_path

DEFAULT_CACHE = "build/cache/translations.sqlite"

# ISO 639-1 -> the codes each model family uses (the paper's nine training languages and the XQuAD-R extras).
ISO3 = {"ar": "ara", "de": "deu", "el": "ell", "en": "eng", "es": "spa", "hi": "hin", "ru": "rus", "th": "tha",
        "tr": "tur", "vi": "vie", "zh": "zho", "ca": "cat", "fr": "fra", "it": "ita", "pt": "por", "gl": "glg"}
NLLB = {"ar": "arb_Arab", "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn",
        "hi": "hin_Deva", "ru": "rus_Cyrl", "th": "tha_Thai", "tr": "tur_Latn", "vi": "vie_Latn",
        "zh": "zho_Hans", "ca": "cat_Latn", "fr": "fra_Latn", "it": "ita_Latn", "pt": "por_Latn",
        "gl": "glg_Latn"}
# Apertium names English "eng" and Spanish "spa"; its mode for a direction is "<src>-<tgt>".
APERTIUM = {k: v for k, v in ISO3.items() if k in {"en", "es", "ca", "fr", "it", "pt", "gl"}}


class TranslationError(RuntimeError):
    """A translation backend is missing, does not support a direction, or failed."""


class Backend(Protocol):
    """What :func:`translate` needs of a backend."""

    name: str
    model_id: str

    def check(self, src: str, tgt: str) -> None: ...

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]: ...


def check_language(lang: str) -> None:
    """Raise ValueError for a language code hybridlib cannot map."""
    if lang not in ISO3:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(sorted(ISO3))}")


def language_code(family: str, lang: str) -> str:
    """The code a model family uses for ISO 639-1 ``lang``: ``nllb`` (spa_Latn), ``m2m100`` (es),
    ``marian`` and ``apertium`` (ISO 639-3, spa)."""
    check_language(lang)
    if family == "nllb":
        return NLLB[lang]
    if family == "m2m100":
        return lang
    if family in ("marian", "apertium"):
        return ISO3[lang]
    raise ValueError(f"unknown model family {family!r}")


class ApertiumBackend:
    """Debian's Apertium as a subprocess; one call translates a whole batch, one line per text.

    Apertium reads its input as one stream: a line without final punctuation runs into the next one, whose
    translation then depends on its neighbour. A line holding only ``SEPARATOR`` between texts ends every
    sentence; even so, a few texts in a hundred still come out differently in another batch, so the engine is
    marked ``context_dependent`` and :func:`translate` caches its output per batch.
    """

    name = "apertium"
    SEPARATOR = "."
    context_dependent = True  # a sentence's translation can still depend on its neighbours in the stream

    def __init__(self, executable: str = "apertium", timeout: float = 600.0):
        self.executable = executable
        self.timeout = timeout
        self.model_id = "apertium/separated"  # a new id: caches never mix with output from unseparated batches

    def modes(self) -> set[str]:
        """The translation directions installed (``eng-spa``, ...)."""
        if shutil.which(self.executable) is None:
            raise TranslationError(
                "the apertium backend needs Debian's Apertium: apt-get install apertium apertium-eng-spa")
        out = subprocess.run([self.executable, "-l"], capture_output=True, text=True, timeout=60)
        return {line.strip() for line in out.stdout.splitlines() if line.strip()}

    def mode(self, src: str, tgt: str) -> str:
        for lang in (src, tgt):
            check_language(lang)
            if lang not in APERTIUM:
                raise TranslationError(f"the apertium backend has no mapping for {lang!r}")
        return f"{APERTIUM[src]}-{APERTIUM[tgt]}"

    def check(self, src: str, tgt: str) -> None:
        mode = self.mode(src, tgt)
        if mode not in self.modes():
            pair = "-".join(sorted((APERTIUM[src], APERTIUM[tgt])))
            raise TranslationError(f"Apertium has no {mode} mode installed; install its language pair, e.g. "
                                   f"apt-get install apertium-{pair} (where Debian carries that pair)")

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        mode = self.mode(src, tgt)
        lines = [" ".join(t.split()) for t in texts]  # one text per line, a separator line between texts
        out = self._run(mode, f"\n{self.SEPARATOR}\n".join(lines))
        result = out.rstrip("\n").split("\n")
        if len(result) == 2 * len(lines) - 1 and all(r.strip() == self.SEPARATOR for r in result[1::2]):
            result = result[0::2]
        else:  # the engine merged or split lines: fall back to one call per text
            result = [self._run(mode, line) for line in lines]
        return [r.strip() for r in result]

    def _run(self, mode: str, text: str) -> str:
        proc = subprocess.run([self.executable, "-u", mode], input=text, capture_output=True, text=True,
                              timeout=self.timeout)
        if proc.returncode != 0:
            raise TranslationError(f"apertium {mode} failed: {proc.stderr.strip()[:500]}")
        return proc.stdout


class TransformersBackend:
    """A seq2seq MT model from ``transformers`` (NLLB-200, M2M-100, Marian, or any other by name or path)."""

    name = "transformers"

    def __init__(self, model: str | os.PathLike[str], *, device: str = "cpu", batch_size: int = 16,
                 max_length: int = 256, num_beams: int = 1):
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.model_name = str(model)
        self.model_id = f"{self.model_name}:beams{num_beams}:len{max_length}"
        self.device, self.batch_size, self.max_length, self.num_beams = device, batch_size, max_length, num_beams
        self._tokenizer = None
        self._model = None

    def _load(self):
        if self._model is None:
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            local = Path(self.model_name).expanduser()
            if self.model_name.startswith((".", "/", "~")) and not local.exists():
                raise TranslationError(f"MT model path {self.model_name} does not exist")
            try:
                self._tokenizer = AutoTokenizer.from_pretrained(self.model_name)
                self._model = AutoModelForSeq2SeqLM.from_pretrained(self.model_name).to(self.device).eval()
            except OSError as exc:
                raise TranslationError(f"could not load MT model {self.model_name!r} (a hub name needs the "
                                       f"Hugging Face hub): {exc}") from exc
        return self._tokenizer, self._model

    @property
    def family(self) -> str:
        """``nllb``, ``m2m100``, ``marian`` or ``generic``, from the model's config and tokenizer."""
        tokenizer, model = self._load()
        kind = getattr(model.config, "model_type", "")
        if "nllb" in type(tokenizer).__name__.lower() or "nllb" in self.model_name.lower():
            return "nllb"
        if kind == "m2m_100":
            return "m2m100"
        if kind == "marian":
            return "marian"
        return "generic"

    def check(self, src: str, tgt: str) -> None:
        check_language(src)
        check_language(tgt)
        self._load()

    def _generation_inputs(self, texts: list[str], src: str, tgt: str) -> tuple[list[str], dict]:
        tokenizer, _ = self._load()
        family = self.family
        if family in ("nllb", "m2m100"):
            tokenizer.src_lang = language_code(family, src)
            tgt_code = language_code(family, tgt)
            bos = tokenizer.get_lang_id(tgt) if hasattr(tokenizer, "get_lang_id") else \
                tokenizer.convert_tokens_to_ids(tgt_code)
            return texts, {"forced_bos_token_id": bos}
        if family == "marian":
            prefix = f">>{language_code('marian', tgt)}<<"
            if prefix in tokenizer.get_vocab():  # a multi-target Marian model reads its target from this token
                return [f"{prefix} {t}" for t in texts], {}
        return texts, {}

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        import torch

        tokenizer, model = self._load()
        inputs, extra = self._generation_inputs(texts, src, tgt)
        out: list[str] = []
        for lo in range(0, len(inputs), self.batch_size):
            enc = tokenizer(inputs[lo : lo + self.batch_size], return_tensors="pt", padding=True, truncation=True,
                            max_length=self.max_length).to(self.device)
            with torch.no_grad():
                gen = model.generate(**enc, max_new_tokens=self.max_length, num_beams=self.num_beams, **extra)
            out += tokenizer.batch_decode(gen, skip_special_tokens=True)
        return [o.strip() for o in out]


def make_backend(backend: str | Backend, model: str | None = None, **kwargs) -> Backend:
    """A backend instance from its name (``"apertium"``, ``"transformers"`` with ``model``) or as given."""
    if not isinstance(backend, str):
        return backend
    if backend == "apertium":
        return ApertiumBackend(**kwargs)
    if backend == "transformers":
        if not model:
            raise ValueError("the transformers backend needs model= (a hub name or a local folder)")
        return TransformersBackend(model, **kwargs)
    raise ValueError(f"unknown translation backend {backend!r}; use 'apertium' or 'transformers'")


class TranslationCache:
    """SQLite store of translations keyed by (backend, model, src, tgt, text)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = project_path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS mt (key TEXT PRIMARY KEY, translation TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    @staticmethod
    def key(model_id: str, src: str, tgt: str, text: str) -> str:
        return hashlib.sha256("\x1f".join((model_id, src, tgt, text)).encode()).hexdigest()

    def get(self, keys: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._connect() as db:
            for lo in range(0, len(keys), 500):
                chunk = keys[lo : lo + 500]
                rows = db.execute(f"SELECT key, translation FROM mt WHERE key IN ({','.join('?' * len(chunk))})",
                                  chunk)
                found.update(rows.fetchall())
        return found

    def put(self, items: dict[str, str]) -> None:
        with self._connect() as db:  # one transaction: a batch is stored whole or not at all
            db.executemany("INSERT OR REPLACE INTO mt VALUES (?, ?)", list(items.items()))


def translate(
    texts: Sequence[str],
    src: str,
    tgt: str,
    *,
    backend: str | Backend = "apertium",
    model: str | None = None,
    cache: str | os.PathLike[str] | None = DEFAULT_CACHE,
    batch_size: int = 256,
    progress: bool = True,
    **backend_kwargs,
) -> list[str]:
    """Translate ``texts`` from ``src`` to ``tgt`` (ISO 639-1 codes); one output per input, in order.

    Each distinct text is translated once, in batches of ``batch_size`` cut from the distinct texts in input
    order; with ``cache`` (a SQLite path, None to switch off) every finished batch is stored, so a re-run or a
    resumed run translates only what is missing. For an engine whose output depends on a text's neighbours
    (``context_dependent``, as Apertium's), a cached translation counts only for the same batch, so that the
    output depends on the inputs alone, never on what earlier calls left in the cache.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError("translate takes a list of texts, not one string (it would translate each character): "
                        "wrap it in a list, translate([text], ...)")
    check_language(src)
    check_language(tgt)
    if src == tgt:
        raise ValueError(f"source and target are both {src!r}")
    with_nul = [i for i, t in enumerate(texts) if "\x00" in t]
    if with_nul:
        raise ValueError(f"text {with_nul[0]} (of {len(with_nul)}) holds a NUL character, which MT engines drop "
                         "without a word: remove it first")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    engine = make_backend(backend, model, **backend_kwargs)
    distinct = list(dict.fromkeys(texts))
    if not distinct:
        return []
    engine.check(src, tgt)
    store = TranslationCache(cache) if cache is not None else None
    model_id = f"{engine.name}:{engine.model_id}"
    batches = [distinct[lo : lo + batch_size] for lo in range(0, len(distinct), batch_size)]
    keys: dict[str, str] = {}
    for batch in batches:
        scope = model_id
        if getattr(engine, "context_dependent", False):
            scope += ":" + hashlib.sha256("\x1f".join(batch).encode()).hexdigest()[:16]
        keys.update({t: TranslationCache.key(scope, src, tgt, t) for t in batch})
    done = store.get(list(keys.values())) if store else {}
    todo = [b for b in batches if any(keys[t] not in done for t in b)]
    bar = tqdm(total=sum(map(len, todo)), desc=f"translating {src}->{tgt} ({engine.name})", unit="text",
               disable=not progress or not todo)
    for batch in todo:
        out = engine.translate_batch(batch, src, tgt)
        if len(out) != len(batch):
            raise TranslationError(f"{engine.name} returned {len(out)} translations for {len(batch)} texts")
        fresh = {keys[t]: o for t, o in zip(batch, out)}
        if store:
            store.put(fresh)
        done.update(fresh)
        bar.update(len(batch))
    bar.close()
    return [done[keys[t]] for t in texts]


def flag_translation(source: str, output: str, max_ratio: float = 5.0, slack: int = 10) -> str | None:
    """Why ``output`` is not a usable translation of ``source`` (``"empty"``, ``"too long"``), or None."""
    if not output.strip():
        return "empty"
    if len(output) > max_ratio * len(source) + slack:
        return "too long"
    return None


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (sacrebleu's default settings) of ``hypotheses`` against one reference each."""
    from sacrebleu.metrics import CHRF

    if len(hypotheses) != len(references):
        raise ValueError("one reference per hypothesis")
    return float(CHRF().corpus_score(list(hypotheses), [list(references)]).score)


def mt_quality(
    backends: Sequence[str],
    *,
    pairs: Sequence[tuple[str, str]] = (("en", "es"), ("es", "en")),
    n: int | None = 300,
    data_dir: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | None = DEFAULT_CACHE,
    copy_baseline: bool = True,
    progress: bool = True,
):
    """chrF of each backend against human translations held by XQuAD-R: its parallel questions and answer
    sentences (the first ``n`` groups), per direction and field.

    A backend is ``"apertium"`` or ``"transformers:<model>"``; one that cannot run here (not installed, no
    hub) gets a row with chrF missing and the reason. ``copy_baseline`` adds the score of the untranslated
    source, the floor any translation should clear.
    """
    import pandas as pd

    from hybridlib.data.lareqa import load_lareqa

    langs = sorted({lang for pair in pairs for lang in pair})
    ds = load_lareqa("xquad-r", langs, data_dir)
    if n is not None:
        ds = ds.subset(max_groups=n)
    sentence = ds.candidates.set_index("cid")["sentence"]
    q = ds.questions.assign(sentence=sentence.loc[ds.questions["answer"]].to_numpy())
    by_lang = {lang: q[q.lang == lang].set_index("group") for lang in langs}
    rows = []
    for spec in (["copy source (no MT)"] if copy_baseline else []) + list(backends):
        name, _, model = spec.partition(":")
        for src, tgt in pairs:
            common = by_lang[src].index.intersection(by_lang[tgt].index)
            for field in ("text", "sentence"):
                row = {"backend": spec, "direction": f"{src}->{tgt}",
                       "field": "question" if field == "text" else "answer sentence", "n": len(common)}
                sources = list(by_lang[src].loc[common, field])
                try:
                    hyp = sources if spec.startswith("copy source") else translate(
                        sources, src, tgt, backend=name, model=model or None, cache=cache, progress=progress)
                    row.update(chrF=chrf(hyp, list(by_lang[tgt].loc[common, field])), note="")
                except (TranslationError, ValueError) as exc:
                    row.update(chrF=float("nan"), note=str(exc).split("\n")[0][:160])
                rows.append(row)
    return pd.DataFrame(rows)
