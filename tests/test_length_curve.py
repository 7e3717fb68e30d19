"""The training-length curve: a snapshot at step k of a constant-schedule run is the k-step run's model, the
held-out loss equals the trainer's, and the curve's inputs are checked before anything trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridlib.data import pairs
from hybridlib.models import encoder as models
from hybridlib.models import runs
from hybridlib.models.encoder import load_encoder
from hybridlib.scoring import validation
from hybridlib.studies import length_runs
from hybridlib.training import train

from .test_train import config, synthetic_pairs
from .tiny_models import build_tiny_xlmr


@pytest.fixture(scope="module")
def tiny_xlmr(tmp_path_factory):
    return build_tiny_xlmr(tmp_path_factory.mktemp("models") / "tiny-xlmr")


def constant(model, steps: int):
    return config(model, max_steps=steps, save_steps=2, warmup_steps=1, lr_scheduler="constant_with_warmup",
                  learning_rate=1e-3)


def test_a_snapshot_at_step_k_is_the_model_of_a_k_step_run(tiny_xlmr, tmp_path):
    data = synthetic_pairs()
    long = train.fine_tune(str(tiny_xlmr), data, sampler="hybrid", config=constant(tiny_xlmr, 5), seed=1,
                           output_dir=tmp_path / "long", progress=False, snapshot_steps=[2, 5])
    short = train.fine_tune(str(tiny_xlmr), data, sampler="hybrid", config=constant(tiny_xlmr, 2), seed=1,
                            output_dir=tmp_path / "short", progress=False)
    kept = runs.snapshots(tmp_path / "long")
    assert list(kept) == [2, 5]
    text = ["es question 7?", "de answer 3."]
    np.testing.assert_allclose(load_encoder(kept[2]).encode(text), load_encoder(short).encode(text), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(load_encoder(kept[5]).encode(text), load_encoder(long).encode(text), rtol=1e-5,
                               atol=1e-6)
    assert not np.allclose(load_encoder(kept[2]).encode(text), load_encoder(kept[5]).encode(text))
    record = models.model_record(kept[2])
    assert record.kind == "fine-tuned" and record.name == "long@2" and record.trained_on["steps"] == 2
    assert models.model_record(long).trained_on["steps"] == 5


def test_a_linear_schedule_does_not_give_the_short_run(tiny_xlmr, tmp_path):
    """The control of the test above: with linear decay the step-3 snapshot differs from a 3-step run."""
    data = synthetic_pairs()
    linear = lambda steps: config(tiny_xlmr, max_steps=steps, save_steps=2, warmup_steps=1, learning_rate=1e-3)  # noqa: E731
    train.fine_tune(str(tiny_xlmr), data, sampler="xy", config=linear(5), seed=1, output_dir=tmp_path / "long",
                    progress=False, snapshot_steps=[3])
    short = train.fine_tune(str(tiny_xlmr), data, sampler="xy", config=linear(3), seed=1,
                            output_dir=tmp_path / "short", progress=False)
    text = ["es question 7?"]
    assert not np.allclose(load_encoder(runs.snapshots(tmp_path / "long")[3]).encode(text),
                           load_encoder(short).encode(text), rtol=1e-5, atol=1e-6)


def test_validation_loss_is_the_in_batch_infonce_by_hand(tiny_xlmr):
    data = synthetic_pairs()
    encoder = load_encoder(tiny_xlmr)
    batches = validation.validation_batches(data, 4, max_batches=3)
    assert len(batches) == 3 and all(len(b) == 4 for b in batches)
    groups = np.asarray(data["group_id"])
    assert all(len(set(groups[b])) == 4 for b in batches), "no group twice in a batch"
    got = validation.validation_loss(encoder, data, batch_size=4, scale=20.0, query_prefix="q: ",
                                     passage_prefix="p: ", max_batches=3)
    by_hand = []
    for b in batches:
        q = encoder.encode(["q: " + data[i]["query"] for i in b], normalize_embeddings=True)
        p = encoder.encode(["p: " + data[i]["passage"] for i in b], normalize_embeddings=True)
        logits = 20.0 * q @ p.T
        by_hand.append(float(np.mean(np.log(np.exp(logits).sum(1)) - np.diag(logits))))
    assert got == pytest.approx(float(np.mean(by_hand)), rel=1e-4)
    encoder.train()
    validation.validation_loss(encoder, data, batch_size=4, scale=20.0, max_batches=1)
    assert encoder.training, "the model's mode is left as it was"


def test_snapshots_carry_the_held_out_loss_and_the_curve_lists_them(tiny_xlmr, tmp_path):
    split = pairs.split_by_group(synthetic_pairs(40), 0.3, seed=0)
    specs = [{"sampler": "xy", "seed": 0}, {"sampler": "hybrid", "seed": 0}]
    rows = length_runs.train_length_runs(specs, split["train"], config=constant(tiny_xlmr, 4), steps=[4, 2],
                                          models_dir=tmp_path / "m", validation_set=split["validation"],
                                          progress=False)
    assert list(rows.steps) == [2, 4, 2, 4] and list(rows.sampler) == ["xy", "xy", "hybrid", "hybrid"]
    assert rows.validation_loss.notna().all() and (rows.validation_loss > 0).all()
    assert rows.run.str.endswith(("@2", "@4")).all()
    again = length_runs.train_length_runs(specs, split["train"], config=constant(tiny_xlmr, 4), steps=[2, 4],
                                           models_dir=tmp_path / "m", validation_set=split["validation"],
                                           progress=False)
    assert again.equals(rows), "a finished curve is read back, not trained again"


@pytest.mark.parametrize("steps, match", [([20], "at least two"), ([20, 20], "at least two"), ([0, 5], "positive"),
                                          ("20", "list"), ([2, 2.5], "whole")])
def test_bad_lengths_are_refused(steps, match):
    with pytest.raises(ValueError, match=match):
        length_runs.checked_steps(steps)


def test_a_schedule_that_decays_is_refused_for_a_curve(tiny_xlmr):
    with pytest.raises(ValueError, match="constant_with_warmup"):
        length_runs.length_config(config(tiny_xlmr, max_steps=4), [2, 4])
    with pytest.raises(ValueError, match="max_steps"):
        length_runs.length_config(constant(tiny_xlmr, 8), [2, 4])
    with pytest.raises(ValueError, match="shorter than the shortest"):
        length_runs.length_config(constant(tiny_xlmr, 4), [1, 4])
    with pytest.raises(ValueError, match="lr_scheduler must be one of"):
        config(tiny_xlmr, lr_scheduler="exp")
    with pytest.raises(ValueError, match="warmup_steps"):
        config(tiny_xlmr, warmup_steps=3, max_steps=3)
    with pytest.raises(ValueError, match="snapshot_steps"):
        train.fine_tune(str(tiny_xlmr), synthetic_pairs(), config=constant(tiny_xlmr, 4), output_dir="/nonexistent",
                        snapshot_steps=[9], progress=False)
