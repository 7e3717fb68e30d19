"""MIRACL dev (the paper's Tables 12-13): monolingual dense retrieval scored with trec_eval semantics.

* Topics and qrels: Anserini's TSV files (``topics/topics.miracl-v1.0-<lang>-dev.tsv``: ``qid<TAB>query``;
  ``qrels/qrels.miracl-v1.0-<lang>-dev.tsv``: ``qid Q0 docid rel``), pinned by commit and sha256 in
  ``resources/miracl_sources.json``, looked up under ``<data_dir>/miracl/`` and downloaded when absent.
* Corpus: MIRACL's passages (``docid``, ``title``, ``text``), from the hub (the parquet copy of
  ``miracl/miracl-corpus``, branch ``refs/convert/parquet``, streamed with ``datasets``) or a local folder of MIRACL-format ``*.jsonl`` / ``*.jsonl.gz`` / ``*.parquet`` files. A
  passage is encoded as ``title + " " + text``.
* Retrieval: the corpus is streamed in chunks (encoded with an on-disk cache, added to a faiss index), so it never
  needs to be in memory as text; exact inner product (``IndexFlatIP``) by default, HNSW as an approximate option
  whose recall against exact search is reported.
* Scores: ``pytrec_eval`` (trec_eval's code): nDCG@10 (``ndcg_cut_10``), Recall@100 (``recall_100``) and MRR@10
  (``recip_rank`` over the top 10), per query, per language and macro-averaged over languages.

Example::

    ev = evaluate_miracl(load_encoder("path/to/model"), ["sw", "te"], query_prefix="Query: ",
                         passage_prefix="Passage: ", cache_dir="build/cache/embeddings")
    ev.by_language          # nDCG@10, Recall@100, MRR@10 per language, plus "mean"
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from hybridlib.core.paths import data_dir as resolve_data_dir
from hybridlib.data.lareqa import MissingDataError, download, verify_file
from hybridlib.models.encoder import Encoder, embed_texts, encoding_id

METRICS = {"ndcg@10": "ndcg_cut_10", "recall@100": "recall_100", "mrr@10": "recip_rank"}
INDEXES = ("flat", "hnsw")


@lru_cache(maxsize=1)
def sources() -> dict[str, Any]:
    """The pinned source of MIRACL's topics and qrels (commit, sha256 of each dev file, the corpus' hub name)."""
    return json.loads(resources.files("hybridlib").joinpath("resources/miracl_sources.json").read_text())


def languages() -> list[str]:
    """The 18 languages of MIRACL dev."""
    return list(sources()["languages"])


def check_languages(langs: Sequence[str]) -> list[str]:
    """``langs`` as a list, or a ValueError naming the unknown ones."""
    if isinstance(langs, str):
        langs = [langs]
    unknown = sorted(set(langs) - set(languages()))
    if unknown or not langs:
        raise ValueError(f"unknown MIRACL language(s) {unknown or langs}; MIRACL dev has {languages()}")
    return list(langs)


def miracl_file(kind: str, lang: str, data_dir: str | os.PathLike[str] | None = None,
                *, download_missing: bool = True) -> Path:
    """The verified local ``topics`` or ``qrels`` file of ``lang`` (dev), downloaded first if absent."""
    check_languages([lang])
    rel = f"{kind}/{kind}.miracl-v1.0-{lang}-dev.tsv"
    src = sources()
    expected = src["files"][rel]
    path = resolve_data_dir(data_dir) / "miracl" / rel
    if path.is_file():
        verify_file(path, {"sha256": expected})
        return path
    url = src["url"].format(repository=src["repository"], commit=src["commit"], path=rel)
    if not download_missing:
        raise MissingDataError(f"{path} is missing (source: {url})")
    try:
        return download(url, path, expected)
    except MissingDataError as exc:
        raise MissingDataError(f"MIRACL {kind} for {lang} not found at {path} and not downloadable ({exc}); "
                               f"set HYBRIDLIB_DATA to a folder holding miracl/{rel}") from exc


def load_topics(lang: str, data_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """MIRACL dev queries of ``lang``: ``{qid: text}``."""
    topics = {}
    for line in miracl_file("topics", lang, data_dir).read_text(encoding="utf-8").splitlines():
        if line.strip():
            qid, _, text = line.partition("\t")
            topics[qid] = text.strip()
    return topics


def load_qrels(lang: str, data_dir: str | os.PathLike[str] | None = None) -> dict[str, dict[str, int]]:
    """MIRACL dev judgments of ``lang``: ``{qid: {docid: relevance}}`` (0 = judged not relevant)."""
    qrels: dict[str, dict[str, int]] = {}
    for n, line in enumerate(miracl_file("qrels", lang, data_dir).read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise ValueError(f"qrels line {n} of {lang} has {len(parts)} fields, expected 4: {line!r}")
        qid, _, docid, rel = parts
        qrels.setdefault(qid, {})[docid] = int(rel)
    return qrels


def iter_corpus(lang: str, corpus: str | os.PathLike[str] | Iterable[dict] | None = None) -> Iterator[dict]:
    """MIRACL passages of ``lang`` (dicts with ``docid``, ``title``, ``text``), streamed.

    ``corpus`` is None (the hub's ``miracl/miracl-corpus``, needs the hub), a folder with MIRACL-format
    ``*.jsonl``/``*.jsonl.gz``/``*.parquet`` files (``<folder>/<lang>/`` if that exists), or an iterable of dicts.
    """
    from datasets import load_dataset

    if corpus is not None and not isinstance(corpus, (str, os.PathLike)):
        yield from corpus
        return
    if corpus is None:  # the hub's parquet conversion of the corpus, streamed
        stream = load_dataset(sources()["corpus"], lang, split="train", streaming=True,
                              revision=sources()["corpus_revision"])
    else:
        files = corpus_files(lang, corpus)
        kind = "parquet" if files[0].endswith(".parquet") else "json"
        stream = load_dataset(kind, data_files=files, split="train", streaming=True)
    yield from stream


def corpus_files(lang: str, corpus: str | os.PathLike[str]) -> list[str]:
    """The corpus files of ``lang`` in a folder (``<folder>/<lang>/`` if that exists); raises FileNotFoundError
    naming the folder when there are none."""
    folder = Path(corpus)
    if (folder / lang).is_dir():
        folder = folder / lang
    if not folder.is_dir():
        raise FileNotFoundError(f"MIRACL corpus folder {folder} does not exist (language {lang})")
    files = sorted(str(f) for f in folder.iterdir() if f.name.endswith((".jsonl", ".jsonl.gz", ".parquet")))
    if not files:
        raise FileNotFoundError(f"no *.jsonl, *.jsonl.gz or *.parquet corpus files for {lang} in {folder}")
    return files


def check_corpora(languages: Sequence[str], corpus) -> None:
    """Every language's corpus located before any encoding: its files in a folder, an entry of a mapping, or,
    for the hub, a hub that is not switched off."""
    for lang in languages:
        source = corpus.get(lang) if isinstance(corpus, dict) else corpus
        if isinstance(corpus, dict) and source is None:
            raise ValueError(f"no MIRACL corpus given for {lang}: the mapping has {sorted(corpus)}")
        if source is None and os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
            raise FileNotFoundError("MIRACL's corpus comes from the hub (miracl/miracl-corpus), which is switched off "
                                    "(HF_HUB_OFFLINE=1): pass corpus= a folder of MIRACL-format files")
        if isinstance(source, (str, os.PathLike)):
            corpus_files(lang, source)


def passage_text(doc: dict) -> str:
    """The text a passage is encoded as: its title, a space, its text (MIRACL's convention)."""
    title = (doc.get("title") or "").strip()
    return f"{title} {doc['text']}".strip() if title else str(doc["text"]).strip()


def make_index(kind: str, dim: int, hnsw_m: int = 32, ef_search: int = 128):
    """A faiss inner-product index: ``flat`` (exact) or ``hnsw`` (approximate)."""
    import faiss

    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = ef_search
        return index
    raise ValueError(f"index must be one of {INDEXES}, got {kind!r}")


@dataclass
class DenseIndex:
    """Passage ids and a faiss index over their unit-norm embeddings (``exact`` kept beside an approximate one)."""

    docids: list[str]
    index: Any
    exact: Any | None = None
    seconds_encoding: float = 0.0


def build_index(
    encoder: Encoder,
    passages: Iterable[dict],
    *,
    index: str = "flat",
    passage_prefix: str = "",
    chunk_size: int = 4096,
    batch_size: int = 64,
    cache_dir: str | os.PathLike[str] | None = None,
    cache_key: str | None = None,
    keep_exact: bool = True,
    progress: bool = True,
    desc: str = "corpus",
) -> DenseIndex:
    """Stream ``passages`` in chunks of ``chunk_size``: encode each (cached per chunk), add it to the index."""
    import time

    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    if index not in INDEXES:
        raise ValueError(f"index must be one of {INDEXES}, got {index!r}")
    docids: list[str] = []
    built = exact = None
    seconds = 0.0
    bar = tqdm(desc=f"encoding {desc}", unit="passage", disable=not progress)
    chunk: list[dict] = []

    def flush() -> None:
        nonlocal built, exact, seconds
        start = time.perf_counter()
        emb = embed_texts(encoder, [passage_prefix + passage_text(d) for d in chunk], batch_size=batch_size,
                          cache_dir=cache_dir, cache_key=cache_key, chunk_size=len(chunk), progress=False)
        seconds += time.perf_counter() - start
        if built is None:
            built = make_index(index, emb.shape[1])
            exact = make_index("flat", emb.shape[1]) if index != "flat" and keep_exact else None
        built.add(emb)
        if exact is not None:
            exact.add(emb)
        docids.extend(str(d["docid"]) for d in chunk)
        bar.update(len(chunk))
        chunk.clear()

    for doc in passages:
        chunk.append(doc)
        if len(chunk) == chunk_size:
            flush()
    if chunk:
        flush()
    bar.close()
    if built is None:
        raise ValueError(f"the {desc} corpus is empty")
    return DenseIndex(docids, built, exact, seconds)


def search(index: DenseIndex, queries: np.ndarray, k: int, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` scores and passage positions for each query row (``exact`` searches the exact index)."""
    target = index.exact if exact and index.exact is not None else index.index
    scores, ids = target.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, len(index.docids)))
    return scores, ids


def run_from_search(qids: Sequence[str], scores: np.ndarray, ids: np.ndarray,
                    docids: Sequence[str]) -> dict[str, dict[str, float]]:
    """A TREC run ``{qid: {docid: score}}`` from faiss results (positions -1, faiss' padding, are dropped)."""
    return {q: {docids[i]: float(s) for s, i in zip(srow, irow) if i >= 0}
            for q, srow, irow in zip(qids, scores, ids)}


def score_run(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Per query: nDCG@10, Recall@100 and MRR@10 with trec_eval's definitions (``pytrec_eval``).

    Queries of ``qrels`` with no positive judgment are left out, as trec_eval does; a judged query absent from
    the run scores 0. MRR@10 is trec_eval's ``recip_rank`` over each query's top 10.
    """
    import pytrec_eval

    judged = {q: d for q, d in qrels.items() if any(r > 0 for r in d.values())}
    run = {q: run.get(q, {}) for q in judged}
    full = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10", "recall.100"}).evaluate(
        {q: r for q, r in run.items() if r})
    top10 = {q: dict(sorted(r.items(), key=lambda kv: (-kv[1], kv[0]))[:10]) for q, r in run.items() if r}
    mrr = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(top10)
    rows = [{"qid": q, "ndcg@10": full.get(q, {}).get("ndcg_cut_10", 0.0),
             "recall@100": full.get(q, {}).get("recall_100", 0.0), "mrr@10": mrr.get(q, {}).get("recip_rank", 0.0)}
            for q in judged]
    return pd.DataFrame(rows, columns=["qid", *METRICS])


def overlap_at_k(approx_ids: np.ndarray, exact_ids: np.ndarray) -> float:
    """Mean share of the exact top-k found by the approximate search (its recall against exact search)."""
    k = exact_ids.shape[1]
    hits = [len(set(a[a >= 0]) & set(e[e >= 0])) / max(1, int((e >= 0).sum())) for a, e in zip(approx_ids, exact_ids)]
    return float(np.mean(hits)) if k else float("nan")


@dataclass
class MiraclEvaluation:
    """Result of :func:`evaluate_miracl`: ``per_query`` (``lang``, ``qid``, and the metrics), ``meta`` per
    language (passages, queries, seconds, and for an approximate index its ``recall_vs_exact@k``)."""

    model: str
    per_query: pd.DataFrame
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def by_language(self) -> pd.DataFrame:
        """Mean of each metric per language, and their macro average (``mean``)."""
        table = self.per_query.groupby("lang", sort=False)[list(METRICS)].mean()
        table.loc["mean"] = table.mean()
        return table


def evaluate_miracl(
    encoder: Encoder,
    languages: Sequence[str],
    *,
    corpus: str | os.PathLike[str] | dict[str, Iterable[dict]] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    index: str = "flat",
    query_prefix: str = "",
    passage_prefix: str = "",
    k: int = 100,
    batch_size: int = 64,
    chunk_size: int = 4096,
    cache_dir: str | os.PathLike[str] | None = None,
    model_name: str | None = None,
    max_queries: int | None = None,
    progress: bool = True,
) -> MiraclEvaluation:
    """Monolingual dense retrieval on MIRACL dev for each language: every query against its language's corpus.

    ``corpus``: None (the hub), a folder (see :func:`iter_corpus`) or ``{lang: iterable of passages}``.
    ``index="hnsw"`` searches approximately and reports its recall@k against exact search in ``meta``.
    Topics and qrels of every language are read (and checksummed), and every language's corpus located, before any
    encoding starts.
    """
    langs = check_languages(languages)
    if index not in INDEXES:
        raise ValueError(f"index must be one of {INDEXES}, got {index!r}")
    if k < 100:
        raise ValueError(f"k must be at least 100 (Recall@100), got {k}")
    inputs = {lang: (load_topics(lang, data_dir), load_qrels(lang, data_dir)) for lang in langs}
    check_corpora(langs, corpus)  # a missing corpus for a later language stops us before the first encoding
    model_id = model_name or encoding_id(encoder)
    frames, meta = [], {}
    for lang in langs:
        topics, qrels = inputs[lang]
        qids = [q for q in topics if q in qrels][: max_queries or None]
        source = corpus.get(lang) if isinstance(corpus, dict) else corpus
        dense = build_index(encoder, iter_corpus(lang, source), index=index, passage_prefix=passage_prefix,
                            chunk_size=chunk_size, batch_size=batch_size, cache_dir=cache_dir, cache_key=model_id,
                            progress=progress, desc=f"MIRACL {lang}")
        q_emb = embed_texts(encoder, [query_prefix + topics[q] for q in qids], batch_size=batch_size,
                            cache_dir=cache_dir, cache_key=model_id, progress=False)
        scores, ids = search(dense, q_emb, k)
        per_query = score_run({q: qrels[q] for q in qids}, run_from_search(qids, scores, ids, dense.docids))
        frames.append(per_query.assign(lang=lang))
        meta[lang] = {"passages": len(dense.docids), "queries": len(per_query),
                      "encoding_seconds": round(dense.seconds_encoding, 2), "index": index}
        if dense.exact is not None:
            _, exact_ids = search(dense, q_emb, k, exact=True)
            meta[lang][f"recall_vs_exact@{k}"] = overlap_at_k(ids, exact_ids)
    per_query = pd.concat(frames, ignore_index=True)[["lang", "qid", *METRICS]]
    return MiraclEvaluation(model_name or type(encoder).__name__, per_query, meta)
