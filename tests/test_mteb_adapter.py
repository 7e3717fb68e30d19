"""The mteb adapter on a retrieval task built from local XQuAD-R: mteb's scores equal our own trec_eval scores."""

from __future__ import annotations

import numpy as np
import pytest

from hybridlib.models import encoder as models
from hybridlib.scoring import miracl, mteb_adapter

pytestmark = pytest.mark.model


def test_mteb_scores_a_local_lareqa_task_as_our_evaluation_does(real_data_dir):
    task = mteb_adapter.lareqa_task("xquad-r", "en", "de", max_groups=40, data_dir=real_data_dir)
    encoder = models.load_encoder("default")
    table = mteb_adapter.run_mteb(encoder, [task], query_prefix="Query: ", passage_prefix="Passage: ",
                                  progress=False)
    assert list(table.task) == ["LAReQA-xquad-r-en-de"] and table.at[0, "main_score"] == table.at[0, "ndcg@10"]

    task.load_data()
    split = task.dataset["default"]["test"]
    queries, corpus = split["queries"], split["corpus"]
    q = models.embed_texts(encoder, ["Query: " + t for t in queries["text"]], progress=False)
    d = models.embed_texts(encoder, ["Passage: " + t for t in corpus["text"]], progress=False)
    scores = q @ d.T
    run = {qid: dict(zip(corpus["id"], map(float, row))) for qid, row in zip(queries["id"], scores)}
    ours = miracl.score_run(split["relevant_docs"], run)[["ndcg@10", "recall@100", "mrr@10"]].mean()
    for metric in ("ndcg@10", "recall@100", "mrr@10"):
        assert table.at[0, metric] == pytest.approx(ours[metric], abs=1e-4), metric
    assert 0 < ours["ndcg@10"] < 1


def test_the_encoder_carries_the_models_own_prefixes_as_mteb_prompts():
    wrapper = mteb_adapter.mteb_encoder("default")  # a name: its prompts come from the registry
    assert (wrapper.model.prompts["query"], wrapper.model.prompts["document"]) == ("query: ", "passage: ")
    loaded = mteb_adapter.mteb_encoder(models.load_encoder("all-MiniLM-L6-v2"))  # an object: the paper's
    assert (loaded.model.prompts["query"], loaded.model.prompts["document"]) == ("Query: ", "Passage: ")
    with pytest.raises(ValueError, match="no mteb language code"):
        mteb_adapter.lareqa_task("mlqa-r", "en", "xx")
