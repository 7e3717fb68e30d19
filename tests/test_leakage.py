"""The leakage guard compares content: what a model trained on, recorded beside its weights, against the
evaluation set, whatever object or path the model arrives as."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hybridlib.data import overlap, pairs
from hybridlib.models import encoder as models
from hybridlib.models import leakage, runs
from hybridlib.models.leakage import LeakageError
from hybridlib.scoring.evaluate import evaluate_lareqa
from hybridlib.training import train

from .conftest import HashEncoder, toy_dataset
from .tiny_models import build_tiny_xlmr


def _pairs_of(dataset, groups):
    """Training pairs whose questions and passages are the toy dataset's own (a leak by content)."""
    from datasets import Dataset

    q = dataset.questions[dataset.questions.group.isin(groups)]
    sentence = dataset.candidates.set_index("cid")["sentence"]
    rows = pd.DataFrame({"group_id": "copy-" + q.group, "lang": q.lang, "question": q.text.to_numpy(),
                         "passage": sentence.loc[q.answer].to_numpy(), "source": "human"})
    return Dataset.from_pandas(pairs.pairs_from_groups(rows), preserve_index=False)  # no sources recorded


@pytest.fixture(scope="module")
def leaked_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("leak")
    dataset = toy_dataset({"en": [f"g{i}" for i in range(8)], "de": [f"g{i}" for i in range(8)]})
    data = _pairs_of(dataset, ["g0", "g1", "g2", "g3"])
    config = runs.TrainConfig(model=str(build_tiny_xlmr(root / "tiny")), max_seq_length=16, batch_size=2,
                               max_steps=1, save_steps=1, logging_steps=1, warmup_ratio=0.0, device="cpu")
    path = train.fine_tune(config.model, data, sampler="xx", config=config, output_dir=root / "run", progress=False)
    return dataset, path


def test_the_record_beside_the_weights_holds_hashes_not_texts(leaked_model):
    _, path = leaked_model
    record = json.loads((path / leakage.TRAINED_ON).read_text())
    assert record["group_ids"] == ["copy-g0", "copy-g1", "copy-g2", "copy-g3"]
    assert overlap.text_hash("en  question g0?") in record["text_hashes"], "whitespace-collapsed"
    assert not any("question" in h for h in record["text_hashes"])


def test_a_model_opened_any_way_is_refused_on_data_it_trained_on(leaked_model):
    from sentence_transformers import SentenceTransformer

    dataset, path = leaked_model
    plain = SentenceTransformer(str(path), device="cpu")  # not loaded by hybridlib: it has no model record
    assert models.model_record(plain) is None
    for model in (plain, path, str(path)):
        with pytest.raises(LeakageError, match="0 group ids, 16 questions or passages"):
            leakage.guard_evaluation(model, dataset)
    with pytest.raises(LeakageError, match="not zero-shot"):
        evaluate_lareqa(plain, dataset, progress=False)
    unseen = toy_dataset({"en": ["h1", "h2"], "de": ["h1", "h2"]})
    ev = evaluate_lareqa(plain, unseen, progress=False)
    assert ev.meta["leakage_check"].startswith("content checked") and "0 group ids and 0 texts" in ev.meta["leakage_check"]
    allowed = leakage.guard_evaluation(plain, dataset, allow=True)
    assert "0 group ids and 16 texts shared" in allowed


def test_an_encoder_without_a_record_is_said_to_be_unverified():
    ev = evaluate_lareqa(HashEncoder(), toy_dataset({"en": ["g1", "g2"]}), progress=False)
    assert "zero-shot not verified" in ev.meta["leakage_check"]


def test_a_copy_saved_elsewhere_or_without_its_record_is_still_recognised(leaked_model, tmp_path):
    """Fault 13: ``model.save(other)`` does not carry the record, and a deleted record hid the training data."""
    import shutil

    from sentence_transformers import SentenceTransformer

    dataset, path = leaked_model
    plain = SentenceTransformer(str(path), device="cpu")
    plain.save(str(tmp_path / "copy"))  # sentence-transformers' own save: no hybridlib files
    assert not (tmp_path / "copy" / leakage.TRAINED_ON).exists()
    stripped = tmp_path / "stripped"
    shutil.copytree(path, stripped)
    (stripped / leakage.TRAINED_ON).unlink()
    (stripped / "hybridlib_training.json").unlink()
    for model in (tmp_path / "copy", SentenceTransformer(str(tmp_path / "copy"), device="cpu"), stripped):
        with pytest.raises(LeakageError, match="16 questions or passages"):
            leakage.guard_evaluation(model, dataset)
    assert leakage.weights_fingerprint(plain) == leakage.weights_fingerprint(tmp_path / "copy")
    unseen = toy_dataset({"en": ["h1", "h2"], "de": ["h1", "h2"]})
    assert "recognised by its weights" in leakage.guard_evaluation(stripped, unseen)


def test_a_fine_tuned_model_has_another_fingerprint_than_its_base(leaked_model, tmp_path):
    _, path = leaked_model
    base = build_tiny_xlmr(tmp_path / "base")
    assert leakage.weights_fingerprint(base) != leakage.weights_fingerprint(path)


def test_unverified_zero_shot_is_a_visible_warning():
    with pytest.warns(UserWarning, match="zero-shot on toy not verified"):
        evaluate_lareqa(HashEncoder(), toy_dataset({"en": ["g1", "g2"]}), progress=False)


def test_a_damaged_record_is_named(leaked_model, tmp_path):
    import shutil

    from hybridlib.models.encoder import ModelLoadError

    dataset, path = leaked_model
    broken = tmp_path / "broken"
    shutil.copytree(path, broken)
    (broken / leakage.TRAINED_ON).write_text('{"group_ids": [')
    with pytest.raises(ModelLoadError, match=f"{leakage.TRAINED_ON} is damaged"):
        leakage.guard_evaluation(broken, dataset)
