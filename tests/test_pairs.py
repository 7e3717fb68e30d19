"""Stage 01: parallel groups, pairs, MT augmentation, the group split, the data card and the leakage guard."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hybridlib.data import pairs
from hybridlib.data.overlap import find_leaks
from hybridlib.models.leakage import LeakageError, guard_evaluation
from hybridlib.models.model_record import ModelRecord, remember
from hybridlib.scoring.evaluate import evaluate_lareqa

from .conftest import HashEncoder, toy_dataset
from .test_translate import Recorder

GROUPS = pd.DataFrame({
    "group_id": ["a", "a", "a", "b", "b", "c"],
    "lang": ["en", "de", "zh", "en", "de", "en"],
    "question": ["qa-en", "qa-de", "qa-zh", "qb-en", "qb-de", "qc-en"],
    "passage": ["pa-en", "pa-de", "pa-zh", "pb-en", "pb-de", "pc-en"],
    "source": "human",
})


def test_pairs_are_every_ordered_language_pair_of_a_group():
    table = pairs.pairs_from_groups(GROUPS)
    assert list(table.columns) == pairs.PAIR_COLUMNS
    assert len(table) == 3 * 3 + 2 * 2 + 1
    mono = table[table.query_lang == table.passage_lang]
    assert len(mono) == len(GROUPS)
    row = table[(table.group_id == "a") & (table.query_lang == "zh") & (table.passage_lang == "de")].iloc[0]
    assert (row.query, row.passage) == ("qa-zh", "pa-de")


def test_mt_augmentation_fills_missing_targets_and_marks_the_rows(tmp_path):
    class Picky(Recorder):
        def translate_batch(self, texts, src, tgt):
            return ["" if t == "pb-en" else t.upper() for t in texts]

    out, report = pairs.augment_with_mt(GROUPS, ["zh", "es"], backend=Picky(), cache=tmp_path / "c.sqlite",
                                        progress=False)
    added = out[out.source == "recorder"]
    assert set(added[added.lang == "zh"].group_id) == {"c"}, "b's empty passage is dropped, a already has zh"
    assert set(added[added.lang == "es"].group_id) == {"a", "c"}
    assert added.set_index(["group_id", "lang"]).loc[("c", "es"), "question"] == "QC-EN"
    rep = report.set_index("target")
    assert rep.loc["zh", "groups"] == 2 and rep.loc["zh", "added"] == 1 and rep.loc["zh", "dropped_empty"] == 1
    table = pairs.pairs_from_groups(out)
    mixed = table[(table.group_id == "a") & (table.query_lang == "en") & (table.passage_lang == "es")]
    assert mixed.source.item() == "recorder", "a pair with an MT side is marked MT"


def _dataset(frame):
    from datasets import Dataset

    return Dataset.from_pandas(frame, preserve_index=False)


def test_split_by_group_is_disjoint_deterministic_and_validated():
    table = pairs.pairs_from_groups(pd.concat([GROUPS.assign(group_id=GROUPS.group_id + str(i)) for i in range(10)]))
    ds = _dataset(table)
    split = pairs.split_by_group(ds, 0.2, seed=3)
    train, val = set(split["train"]["group_id"]), set(split["validation"]["group_id"])
    assert not train & val and len(val) == 6 and split.num_rows["train"] + split.num_rows["validation"] == len(ds)
    assert split["validation"]["group_id"] == pairs.split_by_group(ds, 0.2, seed=3)["validation"]["group_id"]
    assert set(pairs.split_by_group(ds, 0.2, seed=4)["validation"]["group_id"]) != val
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        pairs.split_by_group(ds, 1.5)
    with pytest.raises(ValueError, match="too few"):
        pairs.split_by_group(_dataset(pairs.pairs_from_groups(GROUPS)), 0.01)


def test_data_card_counts():
    card = pairs.data_card(pairs.pairs_from_groups(GROUPS))
    assert card["per_pair"].loc["en", "de"] == 2 and card["per_pair"].loc["zh", "en"] == 1
    assert card["per_language"].loc["total", "monolingual pairs"] == 6
    assert card["pairs_per_group"]["groups"].to_dict() == {1: 1, 4: 1, 9: 1}
    assert card["per_source"].loc["human"].to_dict() == {"cross": 8, "mono": 6}


@pytest.mark.data
def test_mlqa_r_gives_the_expected_pairs(real_data_dir):
    ds = pairs.build_training_pairs("mlqa-r", data_dir=real_data_dir, progress=False)
    table = ds.to_pandas()
    mono = table.query_lang == table.passage_lang
    assert mono.sum() == 4199 and (~mono).sum() == 11548
    assert set(table.source) == {"human"}
    meta = pairs.training_meta(ds)
    assert meta["sources"] == ["mlqa-r"] and meta["evaluation_sets_excluded"] == ["xquad-r"]


@pytest.mark.data
def test_training_on_an_evaluation_set_is_refused(real_data_dir):
    with pytest.raises(LeakageError, match="is one of the evaluation sets"):
        pairs.build_training_pairs("mlqa-r", data_dir=real_data_dir, evaluation_sets=["mlqa-r"])
    with pytest.raises(ValueError, match="unknown evaluation set"):
        pairs.build_training_pairs("mlqa-r", data_dir=real_data_dir, evaluation_sets=["squad"])


@pytest.mark.data
def test_guard_catches_group_ids_and_texts_from_the_evaluation_set(real_data_dir, tmp_path):
    from hybridlib.data.lareqa import load_lareqa

    x = load_lareqa("xquad-r", ["en"], real_data_dir)
    q = x.questions.iloc[0]
    sentence = x.candidates.set_index("cid").loc[q.answer, "sentence"]
    rows = pd.DataFrame({
        "group_id": [q.group, "fresh-1", "fresh-2", "fresh-3"],
        "query": ["unrelated one", "  " + q.text.replace(" ", "  ") + " ", "unrelated two", "unrelated three"],
        "passage": ["p1", "p2", sentence, "p4"],
    })
    leaks = find_leaks(rows, "xquad-r", real_data_dir)
    assert leaks.group_id.tolist() == [q.group, "fresh-1", "fresh-2"]
    assert leaks.reason.tolist() == ["group id", "question text", "passage text"]
    qa_file = tmp_path / "qa.jsonl"
    qa_file.write_text("\n".join(json.dumps({"id": f"id{i}", "question": t, "context": "a passage"})
                                 for i, t in enumerate(["clean question", q.text])))
    with pytest.raises(LeakageError, match="1 training rows occur in the evaluation set xquad-r"):
        pairs.build_training_pairs(str(qa_file), data_dir=real_data_dir, progress=False)


def test_english_qa_from_a_local_file_with_mt(tmp_path):
    qa_file = tmp_path / "qa.jsonl"
    qa_file.write_text("\n".join(json.dumps({"qid": f"id{i}", "q": f"question {i}?", "ctx": f"passage {i}."})
                                 for i in range(4)) + "\n" + json.dumps({"qid": "bad", "q": "", "ctx": "x"}))
    groups = pairs.load_english_qa(str(qa_file), question_column="q", passage_column="ctx", id_column="qid")
    assert groups.group_id.tolist() == ["id0", "id1", "id2", "id3"]
    with pytest.raises(ValueError, match="no column"):
        pairs.load_english_qa(str(qa_file))
    with pytest.raises(FileNotFoundError):
        pairs.load_english_qa(str(tmp_path / "missing.jsonl"))
    out, _ = pairs.augment_with_mt(groups, ["es"], backend=Recorder(), cache=None, progress=False)
    table = pairs.pairs_from_groups(out)
    assert len(table) == 4 * 4 and set(table.source) == {"human", "recorder"}


def test_save_and_load_training_set(tmp_path):
    split = pairs.split_by_group(_dataset(pairs.pairs_from_groups(GROUPS)), 0.34, seed=0)
    path = pairs.save_training_set(split, tmp_path / "training")
    pairs.save_training_set(split, tmp_path / "training")  # overwriting works
    back = pairs.load_training_set(path)
    assert back.num_rows == split.num_rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["training"], "no temporary folders left"
    with pytest.raises(FileNotFoundError, match="run notebook 01"):
        pairs.load_training_set(tmp_path / "nothing")


def test_evaluating_on_training_data_is_refused_unless_allowed():
    ds = toy_dataset({"en": ["g1"], "de": ["g1"]}, name="mlqa-r")
    enc = HashEncoder()
    remember(enc, ModelRecord("fine-tuned", "toy", "", "toy", ("", ""), 8, trained_on={"sources": ["mlqa-r"]}))
    with pytest.raises(LeakageError, match="trained on mlqa-r"):
        evaluate_lareqa(enc, ds, progress=False)
    assert enc.calls == 0
    ev = evaluate_lareqa(enc, ds, allow_trained_on=True, progress=False)
    assert ev.summary["mono"]["map"] > 0
    guard_evaluation(enc, "xquad-r")  # another set is fine


def test_a_misspelt_training_source_is_named_not_sent_to_the_hub():
    with pytest.raises(ValueError, match="did you mean 'xquad-r'"):
        pairs.build_training_pairs("xquad_r", evaluation_sets=["mlqa-r"])
    with pytest.raises(ValueError, match="hub dataset id"):
        pairs.check_training_source("squad")
    pairs.check_training_source("rajpurkar/squad")  # a hub id passes the check (loading it needs the hub)


def test_a_folder_of_own_lareqa_files_is_a_training_source(real_data_dir, tmp_path):
    from hybridlib.data.lareqa import lareqa_from_squad, read_json

    from .conftest import toy_lareqa_json

    own = tmp_path / "own"
    own.mkdir()
    for lang in ("de", "en"):
        (own / f"{lang}.json").write_text(json.dumps(toy_lareqa_json(lang, [f"t{i}" for i in range(5)])))
    ds = pairs.build_training_pairs(str(own), evaluation_sets=["xquad-r"], data_dir=real_data_dir, progress=False)
    table = ds.to_pandas()
    assert set(table.group_id) == {f"t{i}" for i in range(5)} and len(table) == 5 * 4, "de/en x de/en per group"
    assert pairs.training_meta(ds)["sources"] == [str(own)]
    row = table[(table.group_id == "t2") & (table.query_lang == "de") & (table.passage_lang == "en")].iloc[0]
    assert row["query"] == "de question t2?" and row["passage"] == "en answer t2."
    # XQuAD's Romanian shares XQuAD-R's question ids: as training data for an XQuAD-R evaluation it is refused
    leaky = tmp_path / "ro"
    leaky.mkdir()
    squad = read_json(real_data_dir / "xquad" / "xquad.ro.json.gz")
    (leaky / "ro.json").write_text(json.dumps(lareqa_from_squad(squad), ensure_ascii=False), encoding="utf-8")
    with pytest.raises(LeakageError):
        pairs.build_training_pairs(str(leaky), evaluation_sets=["xquad-r"], data_dir=real_data_dir, progress=False)
