"""MIRACL: trec_eval scores against a hand-computed case, streaming retrieval on the real topics and qrels."""

from __future__ import annotations

import gzip
import json
import math
import shutil

import numpy as np
import pytest

from hybridlib.data.lareqa import ChecksumError
from hybridlib.scoring import evaluate, miracl


def test_scores_match_a_hand_computed_case():
    qrels = {"q1": {"d1": 1, "d3": 1, "d9": 0}, "q2": {"d2": 1}, "q3": {"d7": 0}}
    run = {"q1": {"d2": 0.9, "d1": 0.8, "d4": 0.7, "d3": 0.6},
           "q2": {f"x{i}": 1.0 - i / 100 for i in range(10)} | {"d2": 0.5}}
    table = miracl.score_run(qrels, run).set_index("qid")
    assert list(table.index) == ["q1", "q2"], "a query with no relevant passage is left out, as in trec_eval"
    dcg = 1 / math.log2(3) + 1 / math.log2(5)  # relevant at ranks 2 and 4
    idcg = 1 + 1 / math.log2(3)
    assert table.at["q1", "ndcg@10"] == pytest.approx(dcg / idcg)
    assert table.at["q1", "recall@100"] == 1.0 and table.at["q1", "mrr@10"] == 0.5
    # q2's only relevant passage is at rank 11: outside the top 10, inside the top 100
    assert table.at["q2", "ndcg@10"] == 0.0 and table.at["q2", "mrr@10"] == 0.0
    assert table.at["q2", "recall@100"] == 1.0
    missing = miracl.score_run(qrels, {"q1": run["q1"]}).set_index("qid")
    assert missing.at["q2", "ndcg@10"] == 0.0, "a judged query the run lacks scores zero"


class AxisEncoder:
    """A query on its qid's axis; a passage ``answer <qid>`` on the same axis; other texts at random in 16
    noise dimensions (distinct vectors, so that an HNSW graph can be built over them). Counts its calls."""

    def __init__(self, qids: dict[str, str], noise_dims: int = 16):
        self.axis = {text: i for i, text in enumerate(qids.values())}
        self.qid_axis = {qid: i for i, qid in enumerate(qids)}
        self.n, self.dim, self.calls = len(qids), len(qids) + noise_dims, 0

    def encode(self, texts, batch_size=32, **kwargs):
        import zlib

        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            body = text.removeprefix("Query: ").removeprefix("Passage: ")
            if body in self.axis:  # a query: its axis, and a little noise so that fillers do not tie
                out[row, self.axis[body]] = 1.0
                out[row, self.n:] = 0.05 * np.random.default_rng(self.axis[body]).standard_normal(self.dim - self.n)
            elif "answer " in body:  # passages are encoded as "title text"
                out[row, self.qid_axis[body.split("answer ")[1].split()[0]]] = 1.0
            else:
                out[row, self.n:] = np.random.default_rng(zlib.crc32(body.encode())).standard_normal(self.dim - self.n)
        return out


@pytest.fixture
def sw_case(real_data_dir):
    topics, qrels = miracl.load_topics("sw", real_data_dir), miracl.load_qrels("sw", real_data_dir)
    qids = [q for q in topics if q in qrels][:5]
    passages = []
    for q in qids:
        for docid, rel in qrels[q].items():
            passages.append({"docid": docid, "title": "t", "text": f"answer {q}" if rel else f"noise {docid}"})
    passages += [{"docid": f"filler#{i}", "title": "", "text": f"filler {i}"} for i in range(300)]
    encoder = AxisEncoder({q: topics[q] for q in qids})
    return qids, passages, encoder


def test_streaming_retrieval_on_real_topics_and_qrels(sw_case, real_data_dir, tmp_path):
    qids, passages, encoder = sw_case
    folder = tmp_path / "corpus" / "sw"
    folder.mkdir(parents=True)
    with gzip.open(folder / "docs-0.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(p) + "\n" for p in passages)
    ev = evaluate.evaluate_miracl(encoder, ["sw"], corpus=tmp_path / "corpus", data_dir=real_data_dir,
                                  max_queries=len(qids), chunk_size=64, cache_dir=tmp_path / "cache",
                                  model_name="axis", query_prefix="Query: ", passage_prefix="Passage: ",
                                  progress=False)
    assert ev.per_query["qid"].tolist() == qids
    assert (ev.per_query[["ndcg@10", "recall@100", "mrr@10"]] == 1.0).all().all(), "relevant passages come first"
    assert ev.meta["sw"]["passages"] == len(passages)
    calls = encoder.calls
    again = evaluate.evaluate_miracl(encoder, ["sw"], corpus={"sw": passages}, data_dir=real_data_dir,
                                     max_queries=len(qids), chunk_size=64, cache_dir=tmp_path / "cache",
                                     model_name="axis", query_prefix="Query: ", passage_prefix="Passage: ",
                                     progress=False)
    assert encoder.calls == calls, "a second run reads every chunk from the embedding cache"
    assert again.by_language.loc["mean", "ndcg@10"] == 1.0


def test_approximate_index_reports_its_recall_against_exact_search(sw_case, real_data_dir):
    qids, passages, encoder = sw_case
    ev = evaluate.evaluate_miracl(encoder, ["sw"], corpus={"sw": passages}, data_dir=real_data_dir, index="hnsw",
                                  max_queries=len(qids), progress=False)
    recall = ev.meta["sw"]["recall_vs_exact@100"]
    assert 0.5 <= recall <= 1.0
    exact = evaluate.evaluate_miracl(encoder, ["sw"], corpus={"sw": passages}, data_dir=real_data_dir,
                                     max_queries=len(qids), progress=False)
    assert "recall_vs_exact@100" not in exact.meta["sw"]
    assert ev.per_query["ndcg@10"].tolist() == exact.per_query["ndcg@10"].tolist()


def test_overlap_at_k_is_the_share_of_the_exact_top_k_found():
    exact = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    approx = np.array([[4, 3, 9, 1], [5, 6, 7, 8]])
    assert miracl.overlap_at_k(approx, exact) == pytest.approx((3 / 4 + 1) / 2)


def test_bad_inputs_fail_before_any_encoding(real_data_dir, tmp_path):
    encoder = AxisEncoder({})
    with pytest.raises(ValueError, match="unknown MIRACL language"):
        evaluate.evaluate_miracl(encoder, ["xx"], corpus={}, data_dir=real_data_dir)
    with pytest.raises(ValueError, match="index must be one of"):
        evaluate.evaluate_miracl(encoder, ["sw"], corpus={}, data_dir=real_data_dir, index="ivf")
    with pytest.raises(ValueError, match="at least 100"):
        evaluate.evaluate_miracl(encoder, ["sw"], corpus={}, data_dir=real_data_dir, k=10)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluate.evaluate_miracl(encoder, ["sw"], corpus=tmp_path / "nowhere", data_dir=real_data_dir)
    corpus = tmp_path / "corpus"
    (corpus / "sw").mkdir(parents=True)
    (corpus / "sw" / "docs.jsonl").write_text('{"docid": "1#0", "title": "", "text": "x"}\n')
    (corpus / "te").mkdir()  # the later language's folder is empty: found before sw is encoded
    with pytest.raises(FileNotFoundError, match="for te in"):
        evaluate.evaluate_miracl(encoder, ["sw", "te"], corpus=corpus, data_dir=real_data_dir)
    with pytest.raises(ValueError, match="no MIRACL corpus given for te"):
        evaluate.evaluate_miracl(encoder, ["sw", "te"], corpus={"sw": []}, data_dir=real_data_dir)
    assert encoder.calls == 0
    bad = tmp_path / "data" / "miracl" / "topics"
    bad.mkdir(parents=True)
    shutil.copy(real_data_dir / "miracl" / "topics" / "topics.miracl-v1.0-sw-dev.tsv", bad)
    with open(bad / "topics.miracl-v1.0-sw-dev.tsv", "a") as fh:
        fh.write("999\textra\n")
    with pytest.raises(ChecksumError, match="fails its checksum"):
        miracl.load_topics("sw", tmp_path / "data")
