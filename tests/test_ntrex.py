"""NTREX-128 pooled: a sentence retrieves its translations, never itself; hand-computed ranks and APs."""

from __future__ import annotations

import numpy as np
import pytest

from hybridlib.scoring.ntrex import pooled_ranking


def test_pooled_ranking_on_a_hand_made_case():
    eye = np.eye(3, dtype=np.float32)
    # rows: en 0-2, de 0-2 (the same vectors as en), fr 0-2 with lines 0 and 1 swapped
    emb = np.concatenate([eye, eye, eye[[1, 0, 2]]])
    langs = ["en"] * 3 + ["de"] * 3 + ["fr"] * 3
    lines = [0, 1, 2] * 3
    table = pooled_ranking(emb, langs, lines)
    row = lambda setting, q, c="*": table[(table.setting == setting) & (table.qid == q) & (table.cand_lang == c)].iloc[0]  # noqa: E731
    # en:0 in the pool of the other 8: de:0 and fr:1 score 1 (ranks 1, 2), then the zeros in pool order:
    # en:1, en:2, de:1, de:2, fr:0 (rank 7), fr:2; relevant de:0 (1) and fr:0 (7): AP = (1/1 + 2/7) / 2
    assert row("multi", "en:0")["ap"] == pytest.approx((1 + 2 / 7) / 2)
    assert row("multi", "en:0")["rank_distance"] == 6
    assert row("cross", "en:0", "de")["ap"] == 1.0 and row("cross", "en:0", "fr")["ap"] == pytest.approx(0.5)
    assert row("multi", "en:2")["ap"] == 1.0 and row("multi", "en:2")["rank_distance"] == 1, "floor: n - 1"
    assert set(table.setting) == {"cross", "multi"}, "no monolingual setting: a sentence is not its own translation"
    assert len(table) == 9 + 9 * 2, "a multi row per query and a cross row per query and other language"


def test_every_line_must_be_there_in_every_language():
    emb = np.eye(3, dtype=np.float32)
    with pytest.raises(ValueError, match="every line must appear once in every language"):
        pooled_ranking(emb, ["en", "en", "de"], [0, 1, 0])


def test_bitext_table_mines_from_the_pivot_into_every_other_language():
    from hybridlib.scoring.metrics import bitext_mining
    from hybridlib.scoring.ntrex import bitext_table

    eye = np.eye(3, dtype=np.float32)
    # rows out of line order on purpose: de given as lines 2, 0, 1; fr has lines 0 and 1 swapped
    emb = np.concatenate([eye, eye[[2, 0, 1]], eye[[1, 0, 2]]])
    langs = ["en"] * 3 + ["de"] * 3 + ["fr"] * 3
    lines = [0, 1, 2, 2, 0, 1, 0, 1, 2]
    table = bitext_table(emb, langs, lines).set_index("lang")
    assert list(table["pair"]) == ["en-de", "en-fr"]
    assert table.loc["de", "f1"] == 1.0 and table.loc["de", "accuracy"] == 1.0
    assert table.loc["fr", "accuracy"] == pytest.approx(1 / 3)
    assert table.loc["fr", "f1"] == pytest.approx(bitext_mining(eye, eye[[1, 0, 2]])["f1"])
    with pytest.raises(ValueError, match="pivot language 'xx'"):
        bitext_table(emb, langs, lines, pivot="xx")


def test_the_published_figures_name_their_source_and_cover_every_staged_language():
    from hybridlib.data import corpora
    from hybridlib.scoring.ntrex import published_bitext

    table, source = published_bitext()
    assert set(table["lang"]) == set(corpora.ntrex_languages()) - {"en"}
    assert source["repository"] == "embeddings-benchmark/results" and len(source["commit"]) == 40
    assert table.set_index("lang").loc["ha", "hf_subset"] == "eng_Latn-hau_Latn"
    assert table["published_f1"].between(0, 1).all()


def test_fairness_of_a_perfect_pool_finds_every_translation_and_never_the_sentence_itself():
    from hybridlib.scoring.ntrex import fairness

    eye = np.eye(4, dtype=np.float32)
    emb = np.concatenate([eye, eye, eye])  # three languages, four lines, translations identical
    langs, lines = ["en"] * 4 + ["de"] * 4 + ["fr"] * 4, [0, 1, 2, 3] * 3
    table = fairness(emb, langs, lines, mrc_k=2, peer_k=2, tlr_k=2)
    assert table.loc["all", "TLR@2"] == 1.0, "both translations are the two best documents"
    # two relevant documents, one per language, at ranks 1 and 2 (a tie broken by pool order): Kruskal-Wallis
    # H = 1 on one degree of freedom, whichever comes first: PEER is degenerate with one document per language
    from scipy.stats import chi2

    assert table.loc["all", "PEER@2"] == pytest.approx(chi2.sf(1.0, 1))
    assert table.loc["all", "relevant, other language"] == 1.0
    assert np.isnan(table.loc["all", "LPR"]), "no relevant document in the query's own language on NTREX"
    assert list(table.index) == ["en", "de", "fr", "all"]
