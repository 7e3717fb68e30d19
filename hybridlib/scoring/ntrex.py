"""NTREX-128 as a pooled, LAReQA-style retrieval set: a news sentence retrieves its translations.

Every sentence of the cut (its ``lines``, in every language) is a query; a query's relevant items are the same line in
the *other* languages (its own sentence is taken out of every pool it would sit in: it is not a translation of
itself). So there is no monolingual setting here; the settings are:

* **cross**: query language X, pool the lines of language Y != X, one relevant item (the translation): AP = 1 / rank;
* **multi**: the pool of every line in every language but the query itself; the relevant items are its translations
  into every other language; AP over all of them, and the **rank distance** (highest minus lowest relevant rank), as
  the paper defines it for LAReQA (:mod:`hybridlib.scoring.bias`).

Ranks follow :mod:`hybridlib.scoring.metrics` (stable descending sort, ties by pool order). :func:`pooled_ranking` works on
embeddings (tested on a hand-made case); :func:`evaluate_ntrex` embeds the sentences with an encoder first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources

import numpy as np
import pandas as pd

from hybridlib.models.encoder import Encoder, embed_texts, encoding_id
from hybridlib.scoring import bias
from hybridlib.scoring.metrics import average_precision, bitext_mining, relevant_ranks

PUBLISHED = "resources/mteb_ntrex_e5_small.json"


def pooled_ranking(embeddings: np.ndarray, langs: Sequence[str], lines: Sequence[int]) -> pd.DataFrame:
    """One row per query and setting: ``setting`` (``cross`` / ``multi``), ``query_lang``, ``cand_lang`` (``*`` for
    multi), ``qid`` (``<lang>:<line>``), ``ap`` and, for multi, ``rank_distance``. ``embeddings`` are unit rows, one
    per (``langs[i]``, ``lines[i]``) sentence; every line must be there in every language."""
    emb = np.asarray(embeddings, dtype=np.float32)
    langs, lines = np.asarray(langs), np.asarray(lines)
    if emb.ndim != 2 or len(emb) != len(langs) or len(langs) != len(lines):
        raise ValueError("need one embedding row per (language, line)")
    order = list(dict.fromkeys(langs.tolist()))
    line_ids = sorted(set(lines.tolist()))
    index = {(lang, line): i for i, (lang, line) in enumerate(zip(langs.tolist(), lines.tolist()))}
    missing = [(lang, line) for lang in order for line in line_ids if (lang, line) not in index]
    if missing or len(index) != len(langs):
        raise ValueError(f"every line must appear once in every language (missing e.g. {missing[:3]})")
    rows = []
    pos_of = {lang: np.array([index[(lang, line)] for line in line_ids]) for lang in order}
    for x in order:
        q = emb[pos_of[x]]  # queries of language x, in line order
        scores = q @ emb.T
        own = pos_of[x]
        scores[np.arange(len(own)), own] = -np.inf  # a sentence is not its own translation
        others = [y for y in order if y != x]
        relevant = np.stack([pos_of[y] for y in others], axis=1)  # (lines, languages - 1)
        ranks = relevant_ranks(scores, relevant)
        ap = average_precision(ranks)
        distance = np.nanmax(ranks, axis=1) - np.nanmin(ranks, axis=1)
        qids = [f"{x}:{line}" for line in line_ids]
        rows.append(pd.DataFrame({"setting": "multi", "query_lang": x, "cand_lang": "*", "qid": qids, "ap": ap,
                                  "rank_distance": distance}))
        for y in others:
            pool = pos_of[y]
            cross = relevant_ranks(scores[:, pool], np.arange(len(line_ids))[:, None])
            rows.append(pd.DataFrame({"setting": "cross", "query_lang": x, "cand_lang": y, "qid": qids,
                                      "ap": average_precision(cross), "rank_distance": np.nan}))
    return pd.concat(rows, ignore_index=True)


def embed_ntrex(encoder: Encoder, news: pd.DataFrame, *, prefix: str = "query: ", batch_size: int = 32,
                cache_dir: str | None = None, cache_key: str | None = None, progress: bool = True) -> np.ndarray:
    """Unit embeddings of the rows of :func:`hybridlib.data.corpora.load_ntrex` (a cut of lines of one's choice), every
    sentence with ``prefix`` (sentence-to-sentence retrieval is symmetric: e5 uses its query prompt on both sides,
    as mteb does for bitext mining). ``cache_key``: the embedding cache's key for this model (default its record's
    ``encoding_id``)."""
    if news.empty:
        raise ValueError("no NTREX sentences to score")
    return embed_texts(encoder, [prefix + t for t in news["text"]], batch_size=batch_size, cache_dir=cache_dir,
                       cache_key=cache_key or encoding_id(encoder), progress=progress, desc="encoding NTREX")


def evaluate_ntrex(encoder: Encoder, news: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """:func:`pooled_ranking` of ``encoder`` on ``news`` (``kwargs``: those of :func:`embed_ntrex`)."""
    return pooled_ranking(embed_ntrex(encoder, news, **kwargs), news["lang"].tolist(), news["line"].tolist())


def _by_line(embeddings: np.ndarray, langs: Sequence[str], lines: Sequence[int], lang: str) -> np.ndarray:
    """The rows of ``lang``, in line order."""
    langs, lines = np.asarray(langs), np.asarray(lines)
    rows = np.flatnonzero(langs == lang)
    return np.asarray(embeddings)[rows[np.argsort(lines[rows], kind="stable")]]


def bitext_table(embeddings: np.ndarray, langs: Sequence[str], lines: Sequence[int], pivot: str = "en") -> pd.DataFrame:
    """Bitext mining from ``pivot`` into every other language (each ``pivot`` sentence finds its nearest sentence
    of language X, as mteb's ``eng_Latn-X`` subsets of NTREX do): one row per pair, ``pair`` (``en-X``), ``lang``
    and :func:`hybridlib.scoring.metrics.bitext_mining`'s precision, recall, F1 and accuracy."""
    order = list(dict.fromkeys(np.asarray(langs).tolist()))
    if pivot not in order:
        raise ValueError(f"the pivot language {pivot!r} is not among the sentences' languages {order}")
    source = _by_line(embeddings, langs, lines, pivot)
    rows = []
    for lang in order:
        if lang != pivot:
            target = _by_line(embeddings, langs, lines, lang)
            rows.append({"pair": f"{pivot}-{lang}", "lang": lang, **bitext_mining(source, target)})
    return pd.DataFrame(rows)


def published_bitext() -> tuple[pd.DataFrame, dict]:
    """multilingual-e5-small's published NTREX bitext-mining F1 per English -> X pair (``lang``, ``hf_subset``,
    ``published_f1``), with where it comes from (repository, path, commit, revisions, mteb version)."""
    doc = json.loads(resources.files("hybridlib").joinpath(PUBLISHED).read_text(encoding="utf-8"))
    table = pd.DataFrame({"lang": list(doc["f1"]), "hf_subset": [doc["hf_subset"][k] for k in doc["f1"]],
                          "published_f1": list(doc["f1"].values())})
    return table, {k: v for k, v in doc.items() if k not in ("f1", "hf_subset")}


def fairness(embeddings: np.ndarray, langs: Sequence[str], lines: Sequence[int], **ks: int) -> pd.DataFrame:
    """:func:`hybridlib.scoring.bias.fairness_table` of the multilingual pool: every sentence a query, its translations its
    relevant documents, its own sentence left out of its ranking (``ks``: ``mrc_k``, ``peer_k``, ``tlr_k``)."""
    emb = np.asarray(embeddings, dtype=np.float32)
    langs, lines = np.asarray(langs), np.asarray(lines)
    scores = emb @ emb.T
    np.fill_diagonal(scores, bias.EXCLUDED)
    members: dict[int, list[int]] = {}
    for i, line in enumerate(lines.tolist()):
        members.setdefault(line, []).append(i)
    relevant = [[j for j in members[line] if j != i] for i, line in enumerate(lines.tolist())]
    return bias.fairness_table(scores, langs.tolist(), lines.tolist(), relevant, langs.tolist(),
                               excluded=np.arange(len(emb)), **ks)
