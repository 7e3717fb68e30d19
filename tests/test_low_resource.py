"""Notebook 08's library: the store of non-LAReQA scores, the cuts, gains against resource level, the conversion gap,
and the scorers on a tiny local model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridlib.analysis import low_resource
from hybridlib.scoring import results


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
    from hybridlib.scoring.ntrex import published_bitext

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
    from hybridlib.scoring import afriqa

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


def test_score_runs_tags_each_models_tables_and_lists_its_record():
    runs = pd.DataFrame({"run": ["a", "b"], "sampler": ["zero-shot", "hybrid"], "seed": [0, 1], "path": ["p", "q"]})
    fake = lambda path, **kw: (pd.DataFrame({"x": [len(path) * kw["k"]]}), {"from_store": True, "seconds": 1.0})  # noqa: E731
    results, records = low_resource.score_runs(fake, runs, "toy", k=2)
    table = low_resource.tagged(results)
    assert table[["sampler", "seed", "x"]].values.tolist() == [["zero-shot", 0, 2], ["hybrid", 1, 2]]
    assert records == [{"what": "toy", "run": "a", "from_store": True, "seconds": 1.0},
                       {"what": "toy", "run": "b", "from_store": True, "seconds": 1.0}]


def test_means_go_per_model_first_then_over_seeds():
    # seed 0 has three queries, seed 1 one: a plain mean would weight seed 0 three times
    scores = pd.DataFrame({"sampler": "hybrid", "seed": [0, 0, 0, 1], "lang": "ha", "ap": [0.0, 0.0, 0.3, 1.0]})
    assert low_resource.mean_over_seeds(scores, ["sampler", "lang"], ["ap"])["ap"].iloc[0] == pytest.approx(0.55)
    models = low_resource.per_model(scores, "ap")
    assert models["ap"].tolist() == pytest.approx([0.1, 1.0]) and list(models.columns) == ["sampler", "seed", "lang", "ap"]


def test_cross_matrices_average_seeds_per_language_pair():
    per_query = pd.DataFrame({"setting": "cross", "sampler": "hybrid", "query_lang": ["en", "en", "de"],
                              "cand_lang": ["de", "de", "en"], "ap": [0.2, 0.4, 1.0], "seed": [0, 1, 0]})
    m = low_resource.cross_matrices(per_query, ["zero-shot", "hybrid"], ["en", "de"])
    assert list(m) == ["hybrid"], "a sampler not run is left out"
    assert m["hybrid"].loc["en", "de"] == pytest.approx(0.3) and np.isnan(m["hybrid"].loc["en", "en"])


def test_the_bias_table_averages_seeds_and_adds_ntrex_rank_distance():
    lareqa = pd.DataFrame({"MRC@10": [10.0, 20.0], "lpr_queries": [5, 5], "rank_distance": [3.0, 5.0],
                           "data": "xquad-r", "sampler": "X-Y", "seed": [0, 1]})
    fair = pd.DataFrame({"MRC@10": [-1.0], "lpr_queries": [0]}, index=pd.Index(["all"], name="query_lang"))
    per_query = pd.DataFrame({"setting": "multi", "sampler": "X-Y", "seed": 0, "rank_distance": [10.0, 20.0]})
    table = low_resource.language_bias_table(lareqa, [(("X-Y", 0), fair)], per_query)
    assert table.loc[("xquad-r", "X-Y"), "MRC@10"] == 15.0 and table.loc[("xquad-r", "X-Y"), "rank_distance"] == 4.0
    assert table.loc[("ntrex", "X-Y"), "rank_distance"] == 15.0 and "lpr_queries" not in table.columns


def test_fairness_encodes_the_texts_its_record_scored_whatever_the_candidate_text(tiny, tmp_path, real_data_dir):
    """With LAReQA's sentence+context candidates, the fairness metrics rank the same texts as the record: its
    embeddings all come from the record's cache (one chunk file), none are encoded for other texts."""
    settings = dict(languages=["de", "en"], max_groups=6, max_seq_length=16, precision="fp32", data_dir=real_data_dir,
                    candidate_text="sentence+context")
    cache = tmp_path / "cache"
    results.score_lareqa(tiny, "xquad-r", cache_dir=str(cache), store_dir=tmp_path, **settings)
    before = sorted(cache.rglob("*.npy"))
    low_resource.score_lareqa_fairness(tiny, "xquad-r", cache_dir=str(cache), store_dir=tmp_path, **settings)
    assert sorted(cache.rglob("*.npy")) == before and len(before) == 1
