"""CC-100 sizes and the per-language gains of notebook 07's low-resource question."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridlib.analysis import low_resource
from hybridlib.data import languages
from hybridlib.data import lareqa as data

from .conftest import HashEncoder, PerfectEncoder, toy_dataset
from .test_comparison import compared_from, evaluation


def test_the_table_covers_both_sets_and_matches_the_cited_sizes():
    table = languages.language_table()
    every = set(data.dataset_languages("xquad-r")) | set(data.dataset_languages("mlqa-r"))
    assert every <= set(table.index)
    assert table.loc["en", "cc100_gib"] == 300.8 and table.loc["th", "cc100_gib"] == 71.7  # Table 6 of XLM-R
    assert table["cc100_share"].idxmax() == "en" and table["cc100_share"].idxmin() == "xh"  # Xhosa: 0.1 GiB
    assert table.loc["sw", "cc100_gib"] == 1.6 and table.loc["ha", "cc100_gib"] == 0.3
    assert table["cc100_share"].sum() < 1
    with pytest.raises(ValueError, match="no CC-100 size"):
        languages.pretraining_share(["xx"])


def test_every_corpus_language_has_a_size_or_is_named_as_missing_from_cc100():
    from hybridlib.data import corpora

    codes = sorted(set(corpora.ntrex_languages()) | set(corpora.afriqa_languages("test")))
    levels = languages.resource_levels(codes)
    assert list(levels.index) == codes
    missing = levels[levels["resource"] == "not in CC-100"]
    assert set(missing.index) == {"ig", "yo", "wo", "rw", "zu", "ti", "bem", "fon", "tw"}
    assert (missing["cc100_share"] == 0).all() and (levels.drop(missing.index)["cc100_share"] > 0).all()
    assert levels.loc["ha", "resource"] == "0.3 GiB" and levels.loc["yo", "name"] == "Yoruba"
    with pytest.raises(ValueError, match="NOT_IN_CC100"):
        languages.resource_levels(["en", "xx"])


@pytest.fixture(scope="module")
def compared():
    layout = {lang: [f"g{i}" for i in range(6)] for lang in ("de", "en", "hi")}
    ds = toy_dataset(layout, filler=3)
    return {"toy": compared_from({("zero-shot", 0): evaluation(HashEncoder(4), ds),
                                  ("hybrid", 0): evaluation(PerfectEncoder(ds), ds),
                                  ("xy", 0): evaluation(HashEncoder(8), ds)})}


def test_gains_are_each_samplers_value_minus_the_zero_shot_one(compared):
    gains = low_resource.gains_over_zero_shot(compared)
    long = compared["toy"].by_query_language()
    value = lambda s, lang: long[(long.sampler == s) & (long.query_lang == lang) & (long.setting == "cross")
                                 & (long.metric == "map")]["mean"].item()
    row = gains[(gains.sampler == "hybrid") & (gains.language == "hi") & (gains.setting == "cross")].iloc[0]
    assert row["gain"] == pytest.approx(value("hybrid", "hi") - value("zero-shot", "hi"))
    assert row["cc100_share"] == pytest.approx(20.2 / languages.CC100_TOTAL_GIB)
    assert set(gains.sampler) == {"hybrid", "X-Y"} and "mean" not in set(gains.language)
    lead = low_resource.lead_over_baselines(gains)
    got = lead[(lead.language == "hi") & (lead.setting == "cross")]["gain"].item()
    xy = gains[(gains.sampler == "X-Y") & (gains.language == "hi") & (gains.setting == "cross")]["gain"].item()
    assert got == pytest.approx(row["gain"] - xy)


def test_spearman_rho_is_minus_one_when_gains_fall_as_data_grows():
    shares = np.array([0.01, 0.02, 0.05, 0.1, 0.2])
    gains = pd.DataFrame({"sampler": "hybrid", "setting": "multi", "cc100_share": shares, "gain": 1 - shares ** 2})
    row = low_resource.gain_size_correlation(gains).iloc[0]
    assert row["spearman rho"] == pytest.approx(-1.0) and row["languages"] == 5 and row["p_value"] < 0.05


def test_per_language_tests_compare_hybrid_on_each_languages_questions(compared):
    tests = low_resource.per_language_tests(compared, n_resamples=200)
    assert set(tests.language) == {"de", "en", "hi"} and set(tests.baseline) == {"zero-shot", "X-Y"}
    one = tests[(tests.language == "de") & (tests.baseline == "X-Y") & (tests.setting == "mono")].iloc[0]
    direct = compared["toy"].compare("hybrid", "xy", "mono", query_languages=["de"], n_resamples=200)
    assert one["margin"] == pytest.approx(direct["margin"]) and one["p_value"] == pytest.approx(direct["p_value"])
