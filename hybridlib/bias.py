"""Language bias: how far apart a question's parallel relevant candidates land in the pooled ranking.

Rank distance of one question (multilingual setting, all languages' candidates pooled) is its highest minus
its lowest rank among its relevant candidates. An encoder with no language preference ranks the parallel
answers next to each other: with ``n`` relevant candidates the best possible distance is ``n - 1``. The paper
(arXiv 2408.10536, Tables 2, 7, 8) reports the mean over a query language's questions, then over languages.
"""

from __future__ import annotations

import warnings

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
