"""NTREX-128 pooled: a sentence retrieves its translations, never itself; hand-computed ranks and APs."""

from __future__ import annotations

import numpy as np
import pytest

from hybridlib.ntrex import pooled_ranking


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
