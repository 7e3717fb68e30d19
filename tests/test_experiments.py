"""Notebook 06's building blocks: group subsampling, the human / MT variants, seen vs unseen, best alpha."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridlib.analysis import experiments
from hybridlib.data import pairs

from .conftest import HashEncoder, PerfectEncoder, toy_dataset
from .test_comparison import compared_from, evaluation
from .test_train import synthetic_pairs


def test_subsampling_keeps_whole_groups():
    data = synthetic_pairs(n_groups=40)
    half = experiments.subsample_groups(data, 0.5, seed=1)
    groups = set(half["group_id"])
    assert len(groups) == 20
    full = data.to_pandas()
    assert len(half) == int(full.group_id.isin(groups).sum()), "every row of a kept group is kept"
    assert experiments.subsample_groups(data, 0.5, seed=1)["group_id"] == half["group_id"], "deterministic"
    assert experiments.subsample_groups(data, 1.0) is data
    with pytest.raises(ValueError, match="fraction"):
        experiments.subsample_groups(data, 0.0)


class UpperBackend:
    """A stand-in MT engine: upper-cases the text and marks the target language."""

    name = "upper"
    model_id = "upper-1"

    def check(self, src, tgt):
        pass

    def translate_batch(self, texts, src, tgt):
        return [f"[{tgt}] {t.upper()}" for t in texts]


def test_human_and_mt_sets_differ_only_in_the_target_text(tmp_path):
    data = synthetic_pairs(n_groups=30)
    sets = experiments.human_and_mt_sets(data, "es", backend=UpperBackend(), cache=tmp_path / "mt.sqlite",
                                         progress=False)
    human, machine = sets["human"], sets["upper"]
    table = data.to_pandas()
    with_es = set(table.loc[table.query_lang == "es", "group_id"])
    assert set(human.group_id) == set(machine.group_id) == with_es
    assert set(human.query_lang) == set(machine.query_lang) == {"en", "es"}
    assert len(human) == len(machine) == 4 * len(with_es), "en-en, en-es, es-en, es-es per group"
    en = lambda t: t[(t.query_lang == "en") & (t.passage_lang == "en")].sort_values("group_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(en(human), en(machine))
    es_machine = machine[(machine.query_lang == "es") & (machine.passage_lang == "es")]
    assert es_machine["query"].str.startswith("[es] EN QUESTION").all()
    assert (es_machine["source"] == "upper").all() and (en(human)["source"] == pairs.HUMAN).all()


def test_seen_unseen_gains_are_differences_from_the_zero_shot_reference():
    layout = {"de": [f"g{i}" for i in range(6)], "en": [f"g{i}" for i in range(6)],
              "th": [f"g{i}" for i in range(6)]}
    dataset = toy_dataset(layout, filler=3)
    compared = compared_from({("zero-shot", 0): evaluation(HashEncoder(4), dataset),
                              ("hybrid", 0): evaluation(PerfectEncoder(dataset), dataset)})
    table = experiments.seen_unseen(compared, seen=["de", "en"]).set_index(["sampler", "languages", "setting"])
    mono = compared.evaluations["hybrid-0"].by_query_language()[("mono", "map")]
    ref = compared.evaluations["zero-shot-0"].by_query_language()[("mono", "map")]
    assert table.loc[("hybrid", "unseen", "mono"), "map"] == pytest.approx(mono["th"])
    assert table.loc[("hybrid", "seen", "mono"), "gain over zero-shot"] == pytest.approx(
        np.mean([mono["de"], mono["en"]]) - np.mean([ref["de"], ref["en"]]))
    tests = experiments.seen_unseen_tests(compared, seen=["de", "en"], n_resamples=200)
    assert set(tests.languages) == {"seen", "unseen"}
    unseen = tests[(tests.languages == "unseen") & (tests.setting == "mono")]
    assert unseen.n_questions.item() == 6 and unseen.value.item() == pytest.approx(mono["th"])


def test_best_alpha_picks_the_highest_mean_per_data_size_and_setting():
    rows = []
    for fraction, best in ((0.1, 0.0), (1.0, 1.0)):
        for a in (0.0, 0.5, 1.0):
            score = 0.5 - abs(a - best) / 4
            rows.append({"fraction": fraction, "alpha": a, "mono map mean": score, "cross map mean": 0.3,
                         "multi map mean": score / 2})
    best = experiments.best_alpha(pd.DataFrame(rows), "fraction").set_index(["fraction", "setting"])
    assert best.loc[(0.1, "mono"), "best alpha"] == 0.0 and best.loc[(1.0, "multi"), "best alpha"] == 1.0
    assert best.loc[(1.0, "cross"), "best alpha"] == 0.0, "ties go to the first alpha"


def test_tally_counts_wins_by_direction_and_flips_rank_distance():
    tests = pd.DataFrame({"metric": ["map", "map", "map", "rank_distance", "rank_distance"],
                          "margin": [0.02, -0.01, 0.03, -5.0, 4.0], "p_value": [0.01, 0.001, 0.4, 0.0001, 0.02]})
    assert experiments.tally(tests, "A", "B") == ("A is ahead beyond chance (p < 0.05) in 2 of 5 comparisons, B in 2, "
                                                  "neither in 1.")
