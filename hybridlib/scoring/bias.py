"""Language bias: how far apart a question's parallel relevant candidates land in the pooled ranking.

Rank distance of one question (multilingual setting, all languages' candidates pooled) is its highest minus
its lowest rank among its relevant candidates. An encoder with no language preference ranks the parallel
answers next to each other: with ``n`` relevant candidates the best possible distance is ``n - 1``. The paper
(arXiv 2408.10536, Tables 2, 7, 8) reports the mean over a query language's questions, then over languages.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd


def rank_distance(ranks: np.ndarray) -> np.ndarray:
    """Max minus min relevant rank of each query (``nan`` = padding); ``nan`` for a query with none."""
    ranks = np.asarray(ranks, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan rows: no relevant candidate
        return np.nanmax(ranks, axis=1) - np.nanmin(ranks, axis=1)


def rank_distance_by_language(per_query: pd.DataFrame, languages: list[str] | None = None) -> pd.Series:
    """Mean rank distance per query language, plus ``"mean"``: the unweighted mean over languages.

    ``per_query`` holds one row per question with ``query_lang`` and ``rank_distance`` columns (the
    multilingual rows of an evaluation's ``per_query``).
    """
    by_lang = per_query.groupby("query_lang", sort=False)["rank_distance"].mean()
    if languages is not None:
        by_lang = by_lang.reindex(languages)
    out = pd.concat([by_lang, pd.Series({"mean": by_lang.mean()})])
    out.name = "rank_distance"
    out.index.name = "query_lang"
    return out


def expected_random_rank_distance(n_relevant: np.ndarray | int, pool_size: int) -> np.ndarray:
    """Expected rank distance when the ``n_relevant`` relevant items sit at uniformly random ranks of the pool.

    For k items drawn without replacement from ranks 1..N, E[max] - E[min] = (N + 1)(k - 1)/(k + 1).
    """
    k = np.asarray(n_relevant, dtype=float)
    if pool_size < 1 or np.any(k < 1) or np.any(k > pool_size):
        raise ValueError(f"need 1 <= n_relevant <= pool_size, got {n_relevant} of {pool_size}")
    return (pool_size + 1) * (k - 1) / (k + 1)


def reference_levels(per_query: pd.DataFrame, pool_size: int, languages: list[str] | None = None) -> pd.DataFrame:
    """Per query language (plus ``mean``): the best possible rank distance and that of a random ranking.

    ``floor`` is n_relevant - 1 (the parallel answers ranked side by side); ``random`` is
    :func:`expected_random_rank_distance`. ``per_query`` holds the multilingual rows of an evaluation.
    """
    rows = per_query.assign(
        floor=per_query["n_relevant"] - 1,
        random=expected_random_rank_distance(per_query["n_relevant"].to_numpy(), pool_size),
    )
    table = rows.groupby("query_lang", sort=False)[["floor", "random"]].mean()
    if languages is not None:
        table = table.reindex(languages)
    table.loc["mean"] = table.mean()
    table.index.name = "query_lang"
    return table


# ---- Language fairness of a pooled ranking: the field's 2024-2026 metrics --------------------------------------
# Each takes a query x document score matrix (higher is more similar) with each query's language and each document's
# language; ``relevant[i]`` holds the column indices of query i's relevant documents.


def ranking(scores: np.ndarray) -> np.ndarray:
    """Each query's documents, best first (ties broken by position, as a stable sort does): the one ranking every
    fairness metric reads, computed once per score matrix (:func:`fairness_table`)."""
    return np.argsort(-np.asarray(scores, dtype=float), axis=1, kind="stable")


def _ranks(order: np.ndarray) -> np.ndarray:
    """1-based rank of every document, from one query's ranking (a row of :func:`ranking`)."""
    ranks = np.empty(len(order), dtype=int)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def _judged(scores: np.ndarray, query_langs: list[str], relevant: list, doc_langs: list[str],
            k: int) -> tuple[np.ndarray, np.ndarray]:
    """``scores`` and ``doc_langs`` as arrays, once their shapes, the relevant lists and ``k`` are checked."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[0] != len(query_langs) or scores.shape[1] != len(doc_langs):
        raise ValueError("scores must be (queries, documents) with one language per query and per document")
    if len(relevant) != len(query_langs) or k < 1:
        raise ValueError("need one list of relevant documents per query and a positive k")
    return scores, np.asarray(doc_langs)


def _per_language(values: dict[str, list[float]], name: str) -> pd.Series:
    """The mean per query language and over every query (``"all"``)."""
    out = pd.Series({lang: float(np.mean(v)) for lang, v in values.items()}, dtype=float)
    out["all"] = float(np.mean([x for v in values.values() for x in v])) if values else np.nan
    return out.rename(name)


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``, ties given their average rank (``scipy.stats.rankdata``'s default)."""
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    if np.any(ordered[1:] == ordered[:-1]):
        from scipy.stats import rankdata

        return rankdata(x)
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    return ranks


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho of two score vectors (Pearson's r of their average ranks, as ``scipy.stats.spearmanr``
    computes it, without its per-call overhead); ``nan`` when either is constant."""
    rx, ry = _average_ranks(x) - (len(x) + 1) / 2, _average_ranks(y) - (len(y) + 1) / 2
    denominator = np.sqrt((rx @ rx) * (ry @ ry))
    return float(rx @ ry / denominator) if denominator > 0 else float("nan")


def mean_rank_correlation(scores: np.ndarray, query_langs: list[str], query_groups: list[str],
                          k: int = 10, excluded: Sequence[int] | None = None, order: np.ndarray | None = None
                          ) -> pd.Series:
    """MRC@k: how alike parallel queries rank the pool, per query language (and ``"mean"`` over languages), on a
    -100..100 scale (100: the same ranking whatever the query's language).

    For each group of parallel queries (the same ``query_groups`` value) and each pair of its languages a and b,
    the Spearman correlation of a's and b's scores over the union of their top-``k`` documents; a query's rank
    correlation is the mean over the other languages of its group, and MRC@k(a) the mean over a's queries, times
    100. Groups with one query, and pairs whose union holds fewer than two documents, are left out.
    ``excluded[i]``: a document left out of query i's ranking (its own sentence, where the queries are themselves in
    the pool, as on NTREX); it is taken out of every union query i is part of, so that a query is never compared on
    a document its partner could not rank. ``order``: the :func:`ranking` of ``scores``, where already computed.

    Reference: Yang, Jiang and Baldwin, "Language Bias in Information Retrieval: The Nature of the Beast and
    Mitigation Methods", MRL 2024 (MRC); as computed by MIMO (arXiv 2605.31171, ``src/mimo/evaluation/metrics.py``).

    Example: ``mean_rank_correlation(q @ d.T, ["en", "de"], ["g1", "g1"], k=10)["mean"]``.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[0] != len(query_langs) or len(query_langs) != len(query_groups):
        raise ValueError("scores must be (queries, documents) with one language and one group per query")
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    order = ranking(scores) if order is None else order
    members: dict[str, list[int]] = {}
    for i, group in enumerate(query_groups):
        members.setdefault(str(group), []).append(i)
    per_lang: dict[str, list[float]] = {}
    for rows in members.values():
        if len(rows) < 2:
            continue
        top = {i: set(order[i][:k].tolist()) for i in rows}
        pair: dict[tuple[int, int], float] = {}  # Spearman is symmetric: each pair of queries is computed once
        for a in rows:
            corrs = []
            for b in rows:
                if b == a:
                    continue
                if (b, a) in pair:
                    corr = pair[b, a]
                else:
                    union = top[a] | top[b]
                    if excluded is not None:
                        union = union - {int(excluded[a]), int(excluded[b])}
                    union = sorted(union)
                    corr = _spearman(scores[a, union], scores[b, union]) if len(union) >= 2 else float("nan")
                    pair[a, b] = corr
                if np.isfinite(corr):
                    corrs.append(float(corr))
            if corrs:
                per_lang.setdefault(query_langs[a], []).append(float(np.mean(corrs)))
    out = pd.Series({lang: 100 * float(np.mean(v)) for lang, v in per_lang.items()}, dtype=float)
    out["mean"] = float(out.mean()) if len(out) else np.nan
    return out.rename(f"MRC@{k}")


def peer(scores: np.ndarray, query_langs: list[str], relevant: list, doc_langs: list[str],
         k: int = 100, order: np.ndarray | None = None) -> pd.Series:
    """PEER@k: the probability that a query's relevant documents get equal expected ranks whatever their language,
    per query language (and ``"all"``, the mean over every query); 1 is fair, near 0 a ranking that sorts the
    relevant documents by language.

    Per query, the ranks of its relevant documents, each cut at ``k + 1`` (every document below the top ``k``
    shares rank ``k + 1``), grouped by the document's language; the Kruskal-Wallis test across those groups gives a
    p-value (1 when every rank is equal); queries with relevant documents in fewer than two languages are left
    out. PEER@k is the mean p-value.

    Reference: Yang et al., "Language Fairness in Multilingual Information Retrieval", SIGIR 2024 (PEER); the rank
    cut-off as in MIMO (arXiv 2605.31171, ``src/mimo/evaluation/metrics.py``).
    """
    from scipy.stats import kruskal

    scores, doc_langs = _judged(scores, query_langs, relevant, doc_langs, k)
    order = ranking(scores) if order is None else order
    per_lang: dict[str, list[float]] = {}
    for i, rel in enumerate(relevant):
        rel = np.asarray(rel, dtype=int)
        if rel.size == 0:
            continue
        cut = np.minimum(_ranks(order[i])[rel], k + 1)
        groups = [cut[doc_langs[rel] == lang] for lang in dict.fromkeys(doc_langs[rel].tolist())]
        if len(groups) < 2:
            continue
        p = 1.0 if len(set(cut.tolist())) == 1 else float(kruskal(*groups).pvalue)
        per_lang.setdefault(query_langs[i], []).append(p)
    return _per_language(per_lang, f"PEER@{k}")


def target_language_recall(scores: np.ndarray, query_langs: list[str], relevant: list, doc_langs: list[str],
                           k: int = 20, order: np.ndarray | None = None) -> pd.Series:
    """TLR@k: the share of a query's relevant documents in *other* languages than its own that reach its top
    ``k``, per query language (and ``"all"``, the mean over every query that has such documents).

    Reference: SHIFT (arXiv 2606.18801), Section 4.3, and ``yjoonjang/SHIFT`` ``src/shift/metrics.py``:
    TLR@k = mean over queries q of |top_k(q) ∩ R_q^tgt| / |R_q^tgt|, with R_q^tgt the relevant documents whose
    language differs from q's; queries without one are left out.
    """
    scores, doc_langs = _judged(scores, query_langs, relevant, doc_langs, k)
    order = ranking(scores) if order is None else order
    per_lang: dict[str, list[float]] = {}
    for i, rel in enumerate(relevant):
        rel = np.asarray(rel, dtype=int)
        target = rel[doc_langs[rel] != query_langs[i]] if rel.size else rel
        if target.size == 0:
            continue
        top = set(order[i][:k].tolist())
        per_lang.setdefault(query_langs[i], []).append(sum(int(d) in top for d in target) / target.size)
    return _per_language(per_lang, f"TLR@{k}")


TOP1_CASES = ("relevant, query language", "relevant, other language", "not relevant, query language",
              "not relevant, other language")


def language_preference(scores: np.ndarray, query_langs: list[str], relevant: list,
                        doc_langs: list[str], order: np.ndarray | None = None) -> pd.DataFrame:
    """The language preference of a pooled ranking, per query language (and ``"all"``): ``LPR``, the share of
    queries whose best-ranked relevant document is in the query's own language, over the queries that have a
    relevant document both in their language and in another (``lpr_queries`` of them; ``nan`` where none has, as
    on NTREX, whose query sentence is not in its own pool); and the 4-way decomposition of the top-1 document
    (:data:`TOP1_CASES`: relevant or not, in the query's language or not), over every query with a relevant
    document.

    Reference: mlaire (Jang, Hong, Moon and Lim, arXiv 2605.07249): the Language Preference Rate and the 4-way
    decomposition of semantic and query-language failures. Its full text was not available offline; this is the
    definition its abstract and summaries give (pools of parallel relevant passages; preference for the query's
    language among equally relevant ones; the four cases of the top-ranked passage), so values may differ from the
    paper's own code in detail.
    """
    scores, doc_langs = _judged(scores, query_langs, relevant, doc_langs, 1)
    order = ranking(scores) if order is None else order
    rows = []
    for i, rel in enumerate(relevant):
        rel = np.asarray(rel, dtype=int)
        if rel.size == 0:
            continue
        top = int(order[i][0])
        own = doc_langs == query_langs[i]
        same, other = own[rel], ~own[rel]
        best = rel[np.argmin(_ranks(order[i])[rel])] if same.any() and other.any() else None
        rows.append({"query_lang": query_langs[i], "lpr": np.nan if best is None else float(own[best]),
                     "top_relevant": top in set(rel.tolist()), "top_own": bool(own[top])})
    table = pd.DataFrame(rows)
    out = []
    for lang, g in [*table.groupby("query_lang", sort=False), ("all", table)]:
        cases = [(g["top_relevant"] & g["top_own"]), (g["top_relevant"] & ~g["top_own"]),
                 (~g["top_relevant"] & g["top_own"]), (~g["top_relevant"] & ~g["top_own"])]
        out.append({"query_lang": lang, "LPR": float(g["lpr"].mean()) if g["lpr"].notna().any() else np.nan,
                    "lpr_queries": int(g["lpr"].notna().sum()),
                    **{case: float(c.mean()) for case, c in zip(TOP1_CASES, cases)}})
    return pd.DataFrame(out).set_index("query_lang")


EXCLUDED = -2.0  # the score given a document left out of a query's ranking (cosines are >= -1)
FAIRNESS_KS = {"mrc_k": 10, "peer_k": 100, "tlr_k": 20}
# Part of every stored fairness record's key: raised when a change here changes the numbers (2: MRC leaves each
# query's excluded document out of the union), so that no record of older code is read back
FAIRNESS_VERSION = 2


def fairness_table(scores: np.ndarray, query_langs: list[str], query_groups: list, relevant: list,
                   doc_langs: list[str], *, mrc_k: int = 10, peer_k: int = 100, tlr_k: int = 20,
                   excluded: Sequence[int] | None = None) -> pd.DataFrame:
    """Every language-fairness metric of a pooled ranking, one row per query language and ``all``: MRC@k
    (:func:`mean_rank_correlation`; its ``all`` is the mean over languages), PEER@k (:func:`peer`), TLR@k
    (:func:`target_language_recall`), and the language preference of :func:`language_preference` (``LPR`` and the
    top-1 cases); the other ``all`` rows are means over queries. ``excluded``: as for :func:`mean_rank_correlation`
    (the other metrics see it through ``scores``, where an excluded document scores :data:`EXCLUDED`)."""
    order = ranking(scores)  # one ranking of every query, read by each metric
    mrc = mean_rank_correlation(scores, query_langs, [str(g) for g in query_groups], k=mrc_k,
                                excluded=excluded, order=order).rename({"mean": "all"})
    table = pd.concat([mrc, peer(scores, query_langs, relevant, doc_langs, k=peer_k, order=order),
                       target_language_recall(scores, query_langs, relevant, doc_langs, k=tlr_k, order=order)], axis=1)
    table = table.join(language_preference(scores, query_langs, relevant, doc_langs, order=order), how="outer")
    order = [*dict.fromkeys(query_langs), "all"]
    table = table.reindex([lang for lang in order if lang in table.index])
    table.index.name = "query_lang"
    return table
