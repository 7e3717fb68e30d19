"""Sweeps: every run trained, scored like a saved model, its model removed, and never trained twice."""

from __future__ import annotations

import pandas as pd
import pytest

from hybridlib.batching.samplers import SamplerError
from hybridlib.models.encoder import load_encoder
from hybridlib.scoring.evaluate import evaluate_lareqa
from hybridlib.studies import sweeps

from .conftest import toy_dataset
from .test_train import config, synthetic_pairs, tiny_xlmr  # noqa: F401 - the fixture


@pytest.fixture(scope="module")
def eval_sets():
    layout = {lang: [f"e{i}" for i in range(5)] for lang in ("de", "en", "es")}
    return {"held out": toy_dataset(layout, name="toy-eval")}


def test_a_sweep_scores_every_run_removes_its_model_and_resumes_from_scores(tiny_xlmr, eval_sets, tmp_path,
                                                                            monkeypatch):
    data = synthetic_pairs(n_groups=16)
    cfg = config(tiny_xlmr, max_steps=2, save_steps=2, learning_rate=1e-3)
    conditions = {"all": data, "three quarters": data.filter(lambda r: int(r["group_id"][1:]) % 4 != 0)}
    store = tmp_path / "store"
    out = sweeps.sweep(conditions, ["hybrid", "st-default"], [0], eval_sets=eval_sets, config=cfg,
                       work_dir=tmp_path / "runs", store_dir=store, progress=False)
    runs = out["held out"]["all"]
    assert runs.samplers == ["zero-shot", "hybrid", "st-default"] and set(out["held out"]) == set(conditions)
    assert not list(tmp_path.rglob("*.safetensors")), "weights are removed once scored"
    assert len(list((tmp_path / "runs").rglob("hybridlib_model.json"))) == 4, "each run's model record is kept"
    assert len(list(store.glob("*/record.json"))) == 5, "four runs and the zero-shot model, one record each"

    zero = evaluate_lareqa(load_encoder(tiny_xlmr, max_seq_length=16), eval_sets["held out"], progress=False,
                           query_prefix="Query: ", passage_prefix="Passage: ")
    pd.testing.assert_frame_equal(runs.evaluations["zero-shot"].per_query, zero.per_query)  # the base is untouched
    hybrid = runs.runs.loc[runs.runs.sampler == "hybrid", "run"].item()
    assert not runs.evaluations[hybrid].per_query["ap"].equals(zero.per_query["ap"]), "training changed the model"

    def no_training(*args, **kwargs):
        raise AssertionError("a scored run was trained again")

    from hybridlib.scoring import results

    monkeypatch.setattr(sweeps, "fine_tune", no_training)
    monkeypatch.setattr(results, "load_encoder", no_training)
    again = sweeps.sweep(conditions, ["hybrid", "st-default"], [0], eval_sets=eval_sets, config=cfg,
                         work_dir=tmp_path / "runs", store_dir=store, progress=False)
    pd.testing.assert_frame_equal(again["held out"]["all"].evaluations[hybrid].per_query,
                                  runs.evaluations[hybrid].per_query)


def test_a_swept_model_scores_as_its_saved_folder_does(tiny_xlmr, eval_sets, tmp_path):
    data = synthetic_pairs(n_groups=16)
    cfg = config(tiny_xlmr, max_steps=2, save_steps=2, learning_rate=1e-3)
    out = sweeps.sweep({"all": data}, ["xy"], [1], eval_sets=eval_sets, config=cfg, work_dir=tmp_path / "runs",
                       store_dir=tmp_path / "store", keep_models=True, progress=False)["held out"]["all"]
    run = out.runs.loc[out.runs.sampler == "xy", "run"].item()
    final = next(tmp_path.rglob("final"))
    precision = out.evaluations[run].meta["precision"]
    saved = evaluate_lareqa(load_encoder(final, max_seq_length=16, precision=precision), eval_sets["held out"],
                            progress=False, query_prefix="Query: ", passage_prefix="Passage: ")
    pd.testing.assert_frame_equal(out.evaluations[run].per_query, saved.per_query, atol=1e-6)
    assert "content checked" in out.evaluations[run].meta["leakage_check"], "the guard read the run's record"


def test_a_batch_larger_than_a_conditions_data_fails_before_any_training(tiny_xlmr, eval_sets, tmp_path):
    data = synthetic_pairs(n_groups=16)
    cfg = config(tiny_xlmr, batch_size=8)
    with pytest.raises(SamplerError, match="condition 'tiny', sampler 'hybrid'"):
        sweeps.sweep({"big": data, "tiny": data.select(range(6))}, ["hybrid"], [0], eval_sets=eval_sets,
                     config=cfg, work_dir=tmp_path, store_dir=tmp_path / "store", progress=False)
    assert not any(tmp_path.iterdir()), "nothing was trained"
