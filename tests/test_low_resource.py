"""Notebook 08's library: the store of non-LAReQA scores, the cuts, gains against resource level, the conversion gap,
and the scorers on a tiny local model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridlib import low_resource, results


def test_stored_tables_compute_once_then_read_back_and_recompute_a_damaged_record(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"t": pd.DataFrame({"x": [1.0, 2.0]})}

    first, meta = results.stored_tables({"kind": "toy", "n": 1}, compute, tmp_path)
    again, meta2 = results.stored_tables({"kind": "toy", "n": 1}, compute, tmp_path)
    assert len(calls) == 1 and not meta["from_store"] and meta2["from_store"] and meta2["record"] == meta["record"]
    pd.testing.assert_frame_equal(first["t"], again["t"])
    results.stored_tables({"kind": "toy", "n": 2}, compute, tmp_path)
    assert len(calls) == 2, "another key is another record"
    (tmp_path / meta["record"].split("/")[-1] / results.TABLES).write_bytes(b"not a pickle")
    with pytest.warns(UserWarning, match="damaged result record"):
        results.stored_tables({"kind": "toy", "n": 1}, compute, tmp_path)
    assert len(calls) == 3


def test_stored_tables_write_nothing_when_the_computation_fails(tmp_path):
    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        results.stored_tables({"kind": "toy"}, fail, tmp_path)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_cuts_keep_the_first_rows_and_refuse_bad_sizes():
    table = pd.DataFrame({"lang": ["ha", "ha", "ha", "sw", "sw"], "id": list("abcde")})
    assert low_resource.first_per_language(table, 2)["id"].tolist() == ["a", "b", "d", "e"]
    assert low_resource.first_per_language(table, None) is table
    news = pd.DataFrame({"document": ["d2", "d2", "d1", "d3"], "line": [0, 1, 2, 3]})
    assert low_resource.first_documents(news, 2)["line"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="afriqa_per_language"):
        low_resource.first_per_language(table, 0)
    with pytest.raises(ValueError, match="ntrex_documents"):
        low_resource.first_documents(news, True)


def gains_fixture() -> pd.DataFrame:
    # zero-shot 0.5 everywhere; hybrid gains most on yo (not in CC-100), least on en; X-Y gains 0.1 everywhere
    rows = []
    for lang, hybrid in (("yo", 0.4), ("ha", 0.3), ("sw", 0.2), ("en", 0.0)):
        for seed in (0, 1):
            rows += [{"sampler": "zero-shot", "seed": 0, "lang": lang, "ap": 0.5},
                     {"sampler": "hybrid", "seed": seed, "lang": lang, "ap": 0.5 + hybrid + (0.02 if seed else -0.02)},
                     {"sampler": "X-Y", "seed": seed, "lang": lang, "ap": 0.6}]
    return pd.DataFrame(rows)


def test_gains_are_seed_means_minus_zero_shot_sorted_from_the_scarcest_language():
    gains = low_resource.gains_by_resource(gains_fixture(), "ap")
    hybrid = gains[gains["sampler"] == "hybrid"].set_index("lang")
    assert hybrid.loc["yo", "gain"] == pytest.approx(0.4) and hybrid.loc["en", "gain"] == pytest.approx(0.0)
    assert hybrid.loc["yo", "resource"] == "not in CC-100" and hybrid.loc["ha", "cc100_gib"] == 0.3
    assert gains["lang"].tolist()[:2] == ["yo", "yo"], "the language without CC-100 data first"
    with pytest.raises(ValueError, match="no 'zero-shot' rows"):
        low_resource.gains_by_resource(gains_fixture().query("sampler != 'zero-shot'"), "ap")


def test_gain_trend_finds_hybrid_leading_where_data_is_scarcest():
    trend = low_resource.gain_trend(low_resource.gains_by_resource(gains_fixture(), "ap")).set_index("sampler")
    assert trend.loc["hybrid", "spearman rho (gain, CC-100 size)"] == pytest.approx(-1.0)
    assert trend.loc["hybrid - X-Y", "spearman rho (gain, CC-100 size)"] == pytest.approx(-1.0)
    assert trend.loc["hybrid", "mean gain, not in CC-100"] == pytest.approx(0.4)
    assert trend.loc["hybrid", "mean gain, in CC-100"] == pytest.approx(0.5 / 3)
    assert np.isnan(trend.loc["X-Y", "spearman rho (gain, CC-100 size)"]), "a constant gain has no rank correlation"


def test_conversion_gap_flags_languages_far_below_the_published_figure():
    from hybridlib.ntrex import published_bitext

    published = published_bitext()[0].set_index("lang")["published_f1"]
    ours = pd.DataFrame({"lang": ["ha", "de"], "f1": [published["ha"] - 0.2, published["de"] - 0.01]})
    gap = low_resource.conversion_gap(ours).set_index("lang")
    assert gap.loc["ha", "gap"] == pytest.approx(-0.2) and gap.loc["ha", "conversion_suspect"]
    assert not gap.loc["de", "conversion_suspect"] and gap.loc["ha", "name"] == "Hausa"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from .tiny_models import build_tiny_xlmr

    return str(build_tiny_xlmr(tmp_path_factory.mktemp("tiny") / "tiny"))


def test_score_afriqa_scores_both_queries_and_reads_back_without_a_model(tiny, tmp_path, monkeypatch):
    from hybridlib import afriqa

    table = pd.DataFrame({
        "id": ["ha:1", "ha:2", "sw:1"], "lang": ["ha", "ha", "sw"],
        "question": ["Ina amsa?", "Yaushe?", "Jibu liko wapi?"],
        "question_translated": ["Where is the answer?", "When?", "Where is the answer?"],
        "answers_translated": [["here"], ["2016"], ["here"]],
        "passage": ["The answer is here.", "They won in 2016.", "The answer is here."], "passage_lang": "en"})
    per_query, meta = low_resource.score_afriqa(tiny, table, max_seq_length=16, precision="fp32", store_dir=tmp_path)
    assert not meta["from_store"] and len(per_query) == 6
    assert set(per_query["query"]) == set(afriqa.QUERY_COLUMNS)
    assert (per_query["recall@100"] == 1.0).all(), "a pool of two passages: the answer is always in the top 100"
    monkeypatch.setattr(low_resource, "load_encoder", lambda *a, **k: pytest.fail("loaded a model"))
    again, meta = low_resource.score_afriqa(tiny, table, max_seq_length=16, precision="fp32", store_dir=tmp_path)
    assert meta["from_store"]
    pd.testing.assert_frame_equal(per_query, again)


def test_score_ntrex_gives_pooled_scores_bitext_and_fairness_from_one_encoding(tiny, tmp_path):
    news = pd.DataFrame({"line": [0, 1, 0, 1, 0, 1], "document": "d", "lang": ["en", "en", "de", "de", "es", "es"],
                         "text": ["The answer is here.", "They won in 2016.", "Die Antwort ist hier.",
                                  "Sie gewannen 2016.", "La respuesta está aquí.", "Ganaron en 2016."]})
    tables, meta = low_resource.score_ntrex(tiny, news, max_seq_length=16, precision="fp32", store_dir=tmp_path)
    assert set(tables) == {"per_query", "bitext", "fairness"}
    assert list(tables["bitext"]["pair"]) == ["en-de", "en-es"]
    assert len(tables["per_query"][tables["per_query"]["setting"] == "multi"]) == 6
    assert list(tables["fairness"].index) == ["en", "de", "es", "all"]


def test_score_lareqa_fairness_reuses_the_lareqa_record_and_its_cached_embeddings(tiny, tmp_path, real_data_dir):
    settings = dict(languages=["de", "en"], max_groups=6, max_seq_length=16, precision="fp32", data_dir=real_data_dir)
    cache = tmp_path / "cache"
    table, meta = low_resource.score_lareqa_fairness(tiny, "xquad-r", cache_dir=str(cache), store_dir=tmp_path,
                                                     **settings)
    assert not meta["from_store"] and list(table.index) == ["de", "en", "all"]
    assert {"MRC@10", "PEER@100", "TLR@20", "LPR", "rank_distance"} <= set(table.columns)
    ev = results.stored_lareqa(tiny, "xquad-r", store_dir=tmp_path, **settings)
    assert table.loc["all", "rank_distance"] == pytest.approx(ev.rank_distance["mean"])
    assert table["lpr_queries"].loc["all"] == 12, "every question has its own-language answer and one translation"
