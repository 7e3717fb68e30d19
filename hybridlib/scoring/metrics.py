"""Ranking metrics from score matrices: ranks of the relevant items, average precision, recall@k.

Conventions (shared by every evaluation in hybridlib):

* a pool is ranked by a stable descending sort of the scores, so tied items keep their pool order;
  the rank of item ``j`` is ``#{i: s_i > s_j} + #{i < j: s_i = s_j} + 1`` (1-based);
* relevant items of each query are given as pool positions in a ``(n_queries, k)`` integer array padded
  with ``-1`` (queries differ in how many relevant items they have);
* AP is over the whole ranking, no cut-off: with the relevant ranks sorted, ``r_1 < ... < r_n``,
  ``AP = (1/n) * sum_i i / r_i``;
* recall@k is the share of a query's relevant items ranked in the top ``k``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PAD = -1


def pad_positions(lists: Sequence[Sequence[int]]) -> np.ndarray:
    """Ragged lists of pool positions as a ``(len(lists), max_len)`` int array padded with ``-1``."""
    width = max((len(x) for x in lists), default=0)
    out = np.full((len(lists), max(width, 1)), PAD, dtype=np.int64)
    for i, row in enumerate(lists):
        out[i, : len(row)] = row
    return out


def relevant_ranks(scores: np.ndarray, relevant: np.ndarray, chunk_elems: int = 1 << 24) -> np.ndarray:
    """The 1-based rank of each relevant item in its query's stable descending ranking.

    ``scores`` is ``(n_queries, n_pool)``; ``relevant`` is ``(n_queries, k)`` pool positions padded with
    ``-1``. Returns a float ``(n_queries, k)`` array with ``nan`` at the padding. Memory is bounded by
    working through the queries in chunks of about ``chunk_elems`` compared elements.
    """
    scores = np.asarray(scores)
    relevant = np.asarray(relevant, dtype=np.int64)
    if scores.ndim != 2 or relevant.ndim != 2 or scores.shape[0] != relevant.shape[0]:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} do not match")
    n_q, n_pool = scores.shape
    if relevant.size and relevant.max(initial=PAD) >= n_pool:
        raise ValueError("a relevant position lies outside the pool")
    mask = relevant >= 0
    out = np.full(relevant.shape, np.nan)
    k = max(relevant.shape[1], 1)
    step = max(1, chunk_elems // max(n_pool * k, 1))
    for lo in range(0, n_q, step):
        hi = min(n_q, lo + step)
        s = scores[lo:hi]
        pos = np.where(mask[lo:hi], relevant[lo:hi], 0)
        rel_scores = np.take_along_axis(s, pos, axis=1)  # (b, k)
        greater = (s[:, None, :] > rel_scores[:, :, None]).sum(-1)
        equal = (s[:, None, :] == rel_scores[:, :, None]).sum(-1)
        ranks = greater + 1
        tied = np.argwhere((equal > 1) & mask[lo:hi])
        for qi, ki in tied:  # ties are rare with float scores: settle them one by one
            j = pos[qi, ki]
            ranks[qi, ki] += int((s[qi, :j] == s[qi, j]).sum())
        out[lo:hi] = np.where(mask[lo:hi], ranks, np.nan)
    return out


def average_precision(ranks: np.ndarray) -> np.ndarray:
    """AP of each query from its relevant ranks (``nan`` = padding); ``nan`` for a query with none."""
    ranks = np.sort(np.asarray(ranks, dtype=float), axis=1)  # nan sorts last
    valid = ~np.isnan(ranks)
    n_rel = valid.sum(1)
    position = np.cumsum(valid, axis=1)
    precision = np.where(valid, position / np.where(valid, ranks, 1.0), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, precision.sum(1) / n_rel, np.nan)


def recall_at_k(ranks: np.ndarray, k: int) -> np.ndarray:
    """Share of each query's relevant items ranked within the top ``k``; ``nan`` for a query with none."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    ranks = np.asarray(ranks, dtype=float)
    valid = ~np.isnan(ranks)
    n_rel = valid.sum(1)
    hits = (np.where(valid, ranks, np.inf) <= k).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, hits / n_rel, np.nan)


def bitext_mining(source: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Bitext mining of line-aligned embeddings (row i of ``source`` translates row i of ``target``): each source
    row's nearest target row by cosine, scored as mteb's bitext-mining tasks score it: accuracy, and precision,
    recall and F1 weighted over the target rows (scikit-learn, ``zero_division=0``)."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    source, target = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if source.ndim != 2 or source.shape != target.shape:
        raise ValueError(f"source and target must be line-aligned (n, dim) arrays, got {source.shape}, {target.shape}")
    unit = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # noqa: E731
    predicted = np.argmax(unit(source) @ unit(target).T, axis=1)
    gold = np.arange(len(source))
    return {"precision": float(precision_score(gold, predicted, zero_division=0, average="weighted")),
            "recall": float(recall_score(gold, predicted, zero_division=0, average="weighted")),
            "f1": float(f1_score(gold, predicted, zero_division=0, average="weighted")),
            "accuracy": float(accuracy_score(gold, predicted))}
