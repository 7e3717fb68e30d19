"""evaluate_lareqa against independent references: sklearn per question, a perfect encoder, definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from hybridlib.models.encoder import normalize
from hybridlib.scoring.evaluate import evaluate_datasets, evaluate_lareqa

from .conftest import HashEncoder, PerfectEncoder, toy_dataset

# MLQA-R-like layout: groups present in 2 or 3 languages, English always among them
LAYOUT = {"de": ["g1", "g2", "g4"], "en": ["g1", "g2", "g3", "g4", "g5"], "zh": ["g2", "g3", "g5"]}


def test_perfect_encoder_scores_one_and_minimal_rank_distance():
    ds = toy_dataset(LAYOUT)
    ev = evaluate_lareqa(PerfectEncoder(ds), ds, progress=False)
    for setting in ("mono", "cross", "multi"):
        assert ev.summary[setting]["map"] == pytest.approx(1.0)
        assert ev.summary[setting]["r@10"] == pytest.approx(1.0)
    multi = ev.per_query[ev.per_query.setting == "multi"]
    assert (multi.rank_distance == multi.n_relevant - 1).all()
    expected = (multi.n_relevant - 1).groupby(multi.query_lang).mean()
    assert ev.rank_distance.drop("mean").to_dict() == pytest.approx(expected.to_dict())
    assert ev.rank_distance["mean"] == pytest.approx(expected.mean())


def test_every_question_ap_matches_sklearn_on_random_embeddings():
    ds = toy_dataset(LAYOUT, filler=4)
    enc = HashEncoder(dim=8)
    ev = evaluate_lareqa(enc, ds, progress=False)
    # independent reference: encode again, cosine, sklearn AP per question and pool
    q = normalize(HashEncoder(8).encode(list(ds.questions.text)))
    c = normalize(HashEncoder(8).encode(list(ds.candidates.sentence)))
    ref = []
    for i, row in ds.questions.iterrows():
        for pool_lang in ds.languages + ["*"]:
            in_pool = (ds.candidates.lang == pool_lang) if pool_lang != "*" else np.ones(len(c), bool)
            y = np.array([row.group in gs for gs in ds.candidates.groups])[in_pool]
            if not y.any():
                continue
            setting = "multi" if pool_lang == "*" else ("mono" if pool_lang == row.lang else "cross")
            ref.append((setting, row.qid, pool_lang, average_precision_score(y, c[in_pool] @ q[i])))
    ref = pd.DataFrame(ref, columns=["setting", "qid", "cand_lang", "ap_ref"])
    merged = ev.per_query.merge(ref, on=["setting", "qid", "cand_lang"], how="outer", indicator=True)
    assert (merged._merge == "both").all(), "the same (setting, question, pool) rows, none skipped wrongly"
    np.testing.assert_allclose(merged.ap, merged.ap_ref, atol=1e-6)

    # aggregates follow the documented definitions
    pair_map = ref[ref.setting != "multi"].groupby(["qid", "cand_lang"]).ap_ref.first().reset_index()
    pair_map["query_lang"] = pair_map.qid.str.split(":").str[0]
    matrix = pair_map.groupby(["query_lang", "cand_lang"]).ap_ref.mean().unstack()
    assert ev.map_matrix.to_numpy() == pytest.approx(matrix.reindex(index=ds.languages, columns=ds.languages)
                                                     .to_numpy(), nan_ok=True)
    diag = np.diag(matrix.to_numpy())
    off = matrix.to_numpy()[~np.eye(len(matrix), dtype=bool)]
    assert ev.summary["mono"]["map"] == pytest.approx(np.nanmean(diag))
    assert ev.summary["cross"]["map"] == pytest.approx(np.nanmean(off))
    multi = ref[ref.setting == "multi"].assign(lang=lambda d: d.qid.str.split(":").str[0])
    assert ev.summary["multi"]["map"] == pytest.approx(multi.groupby("lang").ap_ref.mean().mean())


def test_pairs_without_questions_are_left_out():
    ds = toy_dataset(LAYOUT)
    ev = evaluate_lareqa(HashEncoder(), ds, progress=False)
    # no group is shared by de and zh beyond g2, g4 is de/en only: pair de->zh has only g2's question
    assert ev.pairs.set_index(["query_lang", "cand_lang"]).loc[("de", "zh"), "n_queries"] == 1
    # every question appears once in multi and once per language holding its group
    per_group_langs = {g: sum(g in gs for gs in LAYOUT.values()) for g in ["g1", "g2", "g3", "g4", "g5"]}
    pairs = ev.per_query[ev.per_query.setting != "multi"]
    assert len(pairs) == sum(per_group_langs[g] ** 2 for g in per_group_langs)


def test_each_distinct_text_is_encoded_once_and_the_cache_skips_encoding(tmp_path):
    ds = toy_dataset(LAYOUT)
    same = "the same sentence in every paragraph."  # repeated texts: each must be encoded once
    ds.candidates.loc[ds.candidates.sentence.str.contains("filler .* 0", regex=True), "sentence"] = same
    assert (ds.candidates.sentence == same).sum() > 3
    enc = HashEncoder()
    first = evaluate_lareqa(enc, ds, cache_dir=tmp_path, model_name="hash", progress=False)
    distinct = set(ds.questions.text) | set(ds.candidates.sentence)
    assert sorted(enc.texts) == sorted(distinct), "each distinct text once"
    enc2 = HashEncoder()
    second = evaluate_lareqa(enc2, ds, cache_dir=tmp_path, model_name="hash", progress=False)
    assert enc2.calls == 0
    pd.testing.assert_frame_equal(first.per_query, second.per_query)
    enc3 = HashEncoder()
    evaluate_lareqa(enc3, ds, cache_dir=tmp_path, model_name="other-model", progress=False)
    assert enc3.calls > 0, "a different model must not reuse the cache"


def test_prefixes_and_candidate_text_reach_the_encoder():
    ds = toy_dataset({"en": ["g1"], "de": ["g1"]})
    enc = HashEncoder()
    evaluate_lareqa(enc, ds, query_prefix="Query: ", passage_prefix="Passage: ",
                    candidate_text="sentence+context", progress=False)
    questions = {t for t in enc.texts if t.startswith("Query: ")}
    assert questions == {"Query: " + q for q in ds.questions.text}, "questions get the query prefix, and only they"
    assert len(enc.texts) == len(questions) + len(ds.candidates)
    assert all(t.startswith("Passage: ") for t in set(enc.texts) - questions)
    answer = next(t for t in enc.texts if "answer g1" in t and t.startswith("Passage: en"))
    assert "filler" in answer, "the paragraph follows the sentence"


def test_subset_restricts_languages_and_groups():
    ds = toy_dataset(LAYOUT)
    ev = evaluate_lareqa(HashEncoder(), ds, languages=["en", "zh"], max_groups=2, progress=False)
    assert ev.languages == ["en", "zh"]
    assert set(ev.per_query.group) == {"g1", "g2"}
    assert ev.map_matrix.shape == (2, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"candidate_text": "paragraph"}, "candidate_text"),
    ({"ks": (0,)}, "ks must be"),
    ({"batch_size": 0}, "batch_size"),
    ({"languages": ["xx"]}, "not in"),
])
def test_bad_arguments_fail_before_encoding(kwargs, message):
    enc = HashEncoder()
    with pytest.raises(ValueError, match=message):
        evaluate_lareqa(enc, toy_dataset(LAYOUT), progress=False, **kwargs)
    assert enc.calls == 0


def test_evaluate_datasets_checks_every_language_first():
    enc = HashEncoder()
    with pytest.raises(ValueError, match="unknown language"):
        evaluate_datasets(enc, ["xquad-r", "mlqa-r"], languages=["en", "klingon"])
    with pytest.raises(ValueError, match="unknown dataset"):
        evaluate_datasets(enc, ["xquad-r", "squad"])
    assert enc.calls == 0


@pytest.mark.data
def test_real_xquad_r_subset_with_perfect_encoder(real_data_dir):
    from hybridlib.data.lareqa import load_lareqa

    ds = load_lareqa("xquad-r", ["en", "de", "th"], real_data_dir).subset(max_groups=30)
    ev = evaluate_lareqa(PerfectEncoder(ds), ds, progress=False)
    assert ev.summary["multi"]["map"] == pytest.approx(1.0)
    assert ev.rank_distance["mean"] == pytest.approx(2.0)  # 3 parallel answers: ranks 1..3


def test_rank_distance_matches_a_brute_force_count_on_random_embeddings():
    ds = toy_dataset(LAYOUT, filler=3)
    ev = evaluate_lareqa(HashEncoder(8), ds, progress=False)
    enc = HashEncoder(8)
    q = normalize(enc.encode(list(ds.questions.text)))
    cands = ds.candidates.sort_values("lang", kind="stable", key=lambda c: c.map({l: i for i, l in enumerate(ds.languages)}))
    c = normalize(enc.encode(list(cands.sentence)))
    multi = ev.per_query[ev.per_query.setting == "multi"].set_index("qid")
    for i, row in enumerate(ds.questions.itertuples()):
        scores = c @ q[i]
        order = np.argsort(-scores, kind="stable")
        rank = np.empty(len(order), int)
        rank[order] = np.arange(1, len(order) + 1)
        relevant = [j for j, groups in enumerate(cands.groups) if row.group in groups]
        expected = rank[relevant].max() - rank[relevant].min()
        assert multi.loc[row.qid, "rank_distance"] == expected, row.qid
