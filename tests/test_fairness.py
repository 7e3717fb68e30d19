"""The language-fairness metrics of :mod:`hybridlib.scoring.bias` (MRC@k, PEER@k, TLR@k) on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from hybridlib.scoring import bias


def test_mrc_is_100_for_parallel_queries_that_rank_alike_and_minus_100_for_reversed_ones():
    same = np.array([[0.9, 0.5, 0.1, 0.3], [0.8, 0.4, 0.0, 0.2]])  # the same order, other values
    assert bias.mean_rank_correlation(same, ["en", "de"], ["g", "g"], k=4)["mean"] == pytest.approx(100)
    reversed_ = np.array([[0.9, 0.5, 0.1], [0.1, 0.5, 0.9]])
    out = bias.mean_rank_correlation(reversed_, ["en", "de"], ["g", "g"], k=3)
    assert out["en"] == pytest.approx(-100) and out["de"] == pytest.approx(-100)


def test_mrc_compares_on_the_union_of_the_top_k_and_averages_per_language():
    # en's top 2: docs 0, 1; de's top 2: docs 0, 2; union {0, 1, 2}: en 0.9 0.8 0.1, de 0.9 0.2 0.7
    # ranks en (1, 2, 3), de (1, 3, 2): Spearman = 1 - 6 * (0 + 1 + 1) / (3 * 8) = 0.5
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.9, 0.2, 0.7, 0.0],
                       [0.1, 0.2, 0.3, 0.4]])  # a third query alone in its group: left out
    out = bias.mean_rank_correlation(scores, ["en", "de", "en"], ["g1", "g1", "g2"], k=2)
    assert out["en"] == pytest.approx(50) and out["de"] == pytest.approx(50) and out["mean"] == pytest.approx(50)


def test_peer_is_the_kruskal_wallis_p_of_the_cut_ranks_by_document_language():
    # one query, relevant docs 0 (en) and 3 (de); scores put doc 0 first and doc 3 last of 4
    scores = np.array([[0.9, 0.8, 0.7, 0.1]])
    # k = 2: ranks 1 and min(4, 3) = 3, one per group: H = 12 / (2 * 3) * (1 + 4) - 3 * 3 = 1, df 1
    out = bias.peer(scores, ["en"], [[0, 3]], ["en", "en", "de", "de"], k=2)
    assert out["all"] == pytest.approx(chi2.sf(1.0, 1)) and out["en"] == pytest.approx(0.3173, abs=1e-4)
    # k = 0 is refused; with both relevant docs below the cut every rank is k + 1: no discrimination, p = 1
    assert bias.peer(np.array([[0.9, 0.8, 0.2, 0.1]]), ["en"], [[2, 3]], ["en", "en", "en", "de"], k=1)["all"] == 1.0
    with pytest.raises(ValueError, match="positive k"):
        bias.peer(scores, ["en"], [[0, 3]], ["en", "en", "de", "de"], k=0)


def test_peer_leaves_out_queries_with_relevant_documents_in_one_language():
    scores = np.array([[0.9, 0.8, 0.7], [0.9, 0.8, 0.7]])
    out = bias.peer(scores, ["en", "de"], [[0, 1], [0, 2]], ["en", "en", "de"], k=10)
    assert "en" not in out.index and out["de"] == pytest.approx(out["all"])


def test_tlr_counts_only_the_relevant_documents_in_other_languages():
    # query en: relevant docs 0 (en), 1 (de), 3 (zh); top 2 = docs 0, 1 -> target {1, 3}, one of two found
    # query de: relevant doc 1 (de) only -> no target language document, left out
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.9, 0.8, 0.1, 0.0]])
    out = bias.target_language_recall(scores, ["en", "de"], [[0, 1, 3], [1]], ["en", "de", "en", "zh"], k=2)
    assert out["en"] == pytest.approx(0.5) and "de" not in out.index and out["all"] == pytest.approx(0.5)


def test_fairness_metrics_refuse_shapes_that_do_not_match():
    with pytest.raises(ValueError, match="one language"):
        bias.target_language_recall(np.zeros((2, 3)), ["en"], [[0]], ["en", "de", "zh"])
    with pytest.raises(ValueError, match="one language and one group"):
        bias.mean_rank_correlation(np.zeros((2, 3)), ["en", "de"], ["g"])


def test_language_preference_rate_and_the_top1_decomposition_by_hand():
    docs = ["en", "de", "en", "de"]
    scores = np.array([
        [0.9, 0.8, 0.1, 0.0],  # en query, relevant 0 (en) and 1 (de): best relevant 0, own language -> LPR 1;
                               # top 1 = doc 0: relevant, query language
        [0.9, 0.8, 0.1, 0.0],  # de query, relevant 0 (en) and 1 (de): best relevant 0, not own -> LPR 0;
                               # top 1 = doc 0: relevant, other language
        [0.1, 0.2, 0.3, 0.9],  # en query, relevant 0 (en) only: no LPR; top 1 = doc 3: not relevant, other language
        [0.1, 0.9, 0.3, 0.2],  # de query without relevant documents: left out
    ])
    out = bias.language_preference(scores, ["en", "de", "en", "de"], [[0, 1], [0, 1], [0], []], docs)
    assert out.loc["en", "LPR"] == 1.0 and out.loc["de", "LPR"] == 0.0 and out.loc["all", "LPR"] == 0.5
    assert out.loc["en", "lpr_queries"] == 1 and out.loc["all", "lpr_queries"] == 2
    assert out.loc["en", "relevant, query language"] == 0.5 and out.loc["en", "not relevant, other language"] == 0.5
    assert out.loc["de", "relevant, other language"] == 1.0
    assert out.loc["all", list(bias.TOP1_CASES)].sum() == pytest.approx(1.0)
    # no query with relevant documents in both its own and another language: LPR is undefined, not 0
    only_other = bias.language_preference(scores[:1], ["en"], [[1]], docs)
    assert np.isnan(only_other.loc["all", "LPR"]) and only_other.loc["all", "lpr_queries"] == 0


def test_the_fast_spearman_equals_scipys_with_ties_and_constants():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    for _ in range(50):
        x, y = rng.integers(0, 4, 7).astype(float), rng.normal(size=7)
        expected = spearmanr(x, y).statistic
        got = bias._spearman(x, y)
        assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)
    assert np.isnan(bias._spearman(np.ones(4), np.arange(4.0)))


def test_mrc_leaves_each_pairs_excluded_documents_out_of_the_union():
    # queries 0 (en) and 1 (de) are documents 0 and 1 of the pool, each left out of its own ranking (score -2)
    scores = np.array([[-2.0, 0.9, 0.5, 0.1], [0.9, -2.0, 0.5, 0.1]])
    plain = bias.mean_rank_correlation(scores, ["en", "de"], ["g", "g"], k=4)
    fixed = bias.mean_rank_correlation(scores, ["en", "de"], ["g", "g"], k=4, excluded=[0, 1])
    assert plain["mean"] < 0, "each query's own document ranks last for it and first for its partner"
    assert fixed["mean"] == pytest.approx(100), "on the documents both can rank, they agree"


def test_fairness_table_ranks_each_query_once_and_every_metric_reads_that_ranking(monkeypatch):
    """Each metric used to sort every query's scores again; one ranking now serves all four, with the same values."""
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(12, 30))
    langs = ["en", "de", "fr"] * 4
    groups = [str(i // 3) for i in range(12)]
    doc_langs = ["en", "de", "fr"] * 10
    relevant = [[3 * (i // 3), 3 * (i // 3) + 1, 3 * (i // 3) + 2] for i in range(12)]
    alone = bias.fairness_table(scores, langs, groups, relevant, doc_langs)
    calls = []
    real = bias.ranking
    monkeypatch.setattr(bias, "ranking", lambda s: calls.append(1) or real(s))
    shared = bias.fairness_table(scores, langs, groups, relevant, doc_langs)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(shared, alone)
    order = real(scores)
    pd.testing.assert_series_equal(bias.peer(scores, langs, relevant, doc_langs, k=5, order=order),
                                   bias.peer(scores, langs, relevant, doc_langs, k=5))
    assert (order[0] == np.argsort(-scores[0], kind="stable")).all()
