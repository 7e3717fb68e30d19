"""Ranking metrics against hand-computed cases, sklearn and an argsort reference (ties included)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from hybridlib.scoring import bias, metrics


def test_hand_computed_pool_with_a_tie():
    # pool order: 0.9, 0.1, 0.5, 0.5 -> stable descending ranks 1, 4, 2, 3; relevant: positions 2 and 3
    scores = np.array([[0.9, 0.1, 0.5, 0.5]])
    ranks = metrics.relevant_ranks(scores, np.array([[3, 2]]))
    assert ranks.tolist() == [[3.0, 2.0]]
    assert metrics.average_precision(ranks)[0] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert metrics.recall_at_k(ranks, 1)[0] == 0.0
    assert metrics.recall_at_k(ranks, 2)[0] == 0.5
    assert metrics.recall_at_k(ranks, 3)[0] == 1.0
    assert bias.rank_distance(ranks)[0] == 1.0


def test_tie_keeps_candidate_order():
    # the relevant item ties with an earlier one, so it ranks after it
    ranks = metrics.relevant_ranks(np.array([[0.5, 0.5, 0.2]]), np.array([[1]]))
    assert ranks[0, 0] == 2
    assert metrics.average_precision(ranks)[0] == 0.5


def test_padding_and_queries_without_relevant_items():
    scores = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    rel = metrics.pad_positions([[0, 2], []])
    ranks = metrics.relevant_ranks(scores, rel)
    assert ranks[0].tolist() == [3.0, 1.0]
    assert np.isnan(ranks[1]).all()
    ap = metrics.average_precision(ranks)
    assert ap[0] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert np.isnan(ap[1])
    assert np.isnan(bias.rank_distance(ranks)[1])


def test_average_precision_matches_sklearn_on_random_scores():
    rng = np.random.default_rng(0)
    n_q, n_pool = 40, 300
    scores = rng.standard_normal((n_q, n_pool)).astype(np.float32)
    rel_lists = [sorted(rng.choice(n_pool, size=rng.integers(1, 12), replace=False).tolist()) for _ in range(n_q)]
    ranks = metrics.relevant_ranks(scores, metrics.pad_positions(rel_lists), chunk_elems=5000)
    ours = metrics.average_precision(ranks)
    for i, rel in enumerate(rel_lists):
        y = np.zeros(n_pool, dtype=int)
        y[rel] = 1
        assert ours[i] == pytest.approx(average_precision_score(y, scores[i]), abs=1e-12)


def _reference_ranks(row: np.ndarray, rel: list[int]) -> list[int]:
    order = np.argsort(-row, kind="stable")
    rank = np.empty(len(row), dtype=int)
    rank[order] = np.arange(1, len(row) + 1)
    return [int(rank[j]) for j in rel]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_ranks_match_a_stable_argsort_with_many_ties(data):
    n_pool = data.draw(st.integers(1, 25))
    n_q = data.draw(st.integers(1, 5))
    # few distinct values, so ties are everywhere
    scores = np.array(data.draw(st.lists(st.lists(st.integers(0, 3), min_size=n_pool, max_size=n_pool),
                                         min_size=n_q, max_size=n_q)), dtype=np.float32)
    rel_lists = [data.draw(st.lists(st.integers(0, n_pool - 1), unique=True, max_size=n_pool)) for _ in range(n_q)]
    ranks = metrics.relevant_ranks(scores, metrics.pad_positions(rel_lists), chunk_elems=7)
    for i, rel in enumerate(rel_lists):
        assert ranks[i, : len(rel)].tolist() == _reference_ranks(scores[i], rel)
        expected_r5 = sum(r <= 5 for r in _reference_ranks(scores[i], rel)) / len(rel) if rel else np.nan
        np.testing.assert_equal(metrics.recall_at_k(ranks[i : i + 1], 5)[0], expected_r5)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="outside the pool"):
        metrics.relevant_ranks(np.zeros((1, 3)), np.array([[3]]))
    with pytest.raises(ValueError, match="do not match"):
        metrics.relevant_ranks(np.zeros((2, 3)), np.array([[0]]))
    with pytest.raises(ValueError, match="k must be"):
        metrics.recall_at_k(np.array([[1.0]]), 0)


def test_expected_random_rank_distance_matches_simulation():
    rng = np.random.default_rng(1)
    n_pool, k = 200, 5
    sims = [np.ptp(rng.choice(n_pool, size=k, replace=False)) for _ in range(20000)]
    assert bias.expected_random_rank_distance(k, n_pool) == pytest.approx(np.mean(sims), rel=0.01)
    assert bias.expected_random_rank_distance(1, n_pool) == 0
    with pytest.raises(ValueError):
        bias.expected_random_rank_distance(0, 10)


def test_reference_levels_per_language():
    import pandas as pd

    multi = pd.DataFrame({"query_lang": ["en", "en", "de"], "n_relevant": [3, 2, 3]})
    table = bias.reference_levels(multi, pool_size=9, languages=["de", "en"])
    assert table.loc["en", "floor"] == 1.5 and table.loc["de", "floor"] == 2
    assert table.loc["de", "random"] == pytest.approx(10 * 2 / 4)
    assert table.loc["mean", "random"] == pytest.approx((5 + (5 + 10 / 3) / 2) / 2)


def test_bitext_mining_scores_as_mtebs_own_evaluator_does():
    """mteb's BitextMiningEvaluator finds each sentence's nearest neighbour and its task scores the pairs; ours gives
    the same numbers on embeddings where some rows are mismatched."""
    import torch
    from mteb._evaluators.text.bitext_mining_evaluator import BitextMiningEvaluator
    from mteb.abstasks.text.bitext_mining import AbsTaskBitextMining

    rng = np.random.default_rng(0)
    target = rng.standard_normal((40, 8))
    source = target + rng.standard_normal((40, 8)) * 0.9  # noisy translations: some land on another row

    class Cosine:
        def similarity(self, a, b):
            a, b = torch.as_tensor(np.asarray(a)), torch.as_tensor(np.asarray(b))
            return torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T

    neighbours = BitextMiningEvaluator._similarity_search(None, source, target, Cosine())
    reference = AbsTaskBitextMining._compute_metrics(None, neighbours, [(i, i) for i in range(40)])
    ours = metrics.bitext_mining(source, target)
    assert 0.2 < ours["accuracy"] < 1.0, "the case has both hits and misses"
    for name in ("precision", "recall", "f1", "accuracy"):
        assert ours[name] == pytest.approx(float(reference[name]))
    with pytest.raises(ValueError, match="line-aligned"):
        metrics.bitext_mining(source, target[:-1])
