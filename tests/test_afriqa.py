"""AfriQA scored the MKQA way: answer containment by tokens, the gold passage's nDCG@10 and MRR@10 (pytrec_eval)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridlib.scoring import afriqa


def test_an_answer_is_contained_as_a_run_of_tokens_not_a_substring():
    assert afriqa.has_answer("It is based in Doha and operated by...", ["Doha"])
    assert afriqa.has_answer("The “Peninsula” — in QATAR.", ['"peninsula"', "nowhere"])
    assert not afriqa.has_answer("It is based in Doha.", ["Do"]), "not inside a word"
    assert not afriqa.has_answer("New York", ["New Jersey"]) and not afriqa.has_answer("x", [])
    assert afriqa.has_answer("São Paulo, Brazil", ["são paulo"]), "Unicode-normalised, case folded"


class AxisEncoder:
    """Each text on the axis its table says (questions and passages that should meet share an axis)."""

    def __init__(self, axes: dict[str, list[float]]):
        self.axes = axes

    def encode(self, texts):
        return np.array([self.axes[t] for t in texts], dtype=np.float32)


def test_recall_by_containment_and_the_gold_passages_rank_are_hand_computed():
    table = pd.DataFrame({
        "id": ["ha:0", "ha:1", "sw:0"], "lang": ["ha", "ha", "sw"],
        "question": ["q0", "q1", "q2"], "question_translated": ["t0", "t1", "t2"],
        "answers_translated": [["Doha"], ["Lagos"], ["Nairobi"]],
        "passage": ["gold Doha", "gold Lagos", "gold Nairobi"], "passage_lang": ["en", "en", "en"]})
    axes = {  # q0 meets its gold first; q1 meets a distractor holding its answer first, its gold second;
        "q0": [1, 0, 0, 0], "q1": [0, 1, 0, 0], "q2": [0, 0, 0, 1],  # q2 meets nothing relevant in its top 3
        "gold Doha": [1, 0, 0, 0], "gold Lagos": [0, 0.9, 0.1, 0], "gold Nairobi": [0, 0, 1, 0],
        "Lagos again": [0, 1, 0, 0], "noise": [0, 0, 0, 1]}
    enc = AxisEncoder(axes)
    ev = afriqa.evaluate_afriqa(enc, table, distractors=["Lagos again", "noise"], query_prefix="",
                                passage_prefix="", progress=False)
    pq = ev.per_query.set_index("id")
    assert ev.meta["passages"] == 5 and ev.meta["distractors"] == 2
    assert pq.loc["ha:0", "mrr@10"] == 1.0 and pq.loc["ha:0", "ndcg@10"] == pytest.approx(1.0)
    assert pq.loc["ha:1", "recall@20"] == 1.0, "a distractor that holds the answer counts"
    assert pq.loc["ha:1", "mrr@10"] == pytest.approx(0.5) and pq.loc["ha:1", "ndcg@10"] == pytest.approx(1 / np.log2(3))
    assert pq.loc["sw:0", "recall@20"] == 1.0, "in the top 20 of a pool of 5"
    assert pq.loc["sw:0", "mrr@10"] < 0.5
    assert list(ev.by_language.index) == ["ha", "sw", "mean"]
    assert ev.by_language.loc["mean", "mrr@10"] == pytest.approx((0.75 + pq.loc["sw:0", "mrr@10"]) / 2)
    with pytest.raises(ValueError, match="query must be one of"):
        afriqa.evaluate_afriqa(enc, table, query="answers")
