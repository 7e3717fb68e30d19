"""Fine-tuning with the trainer: the saved model and its record, resume, the paper configs, two processes."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from transformers import TrainerCallback

from hybridlib.analysis import comparison
from hybridlib.batching.samplers import SamplerError
from hybridlib.core.paths import project_root
from hybridlib.data import pairs
from hybridlib.models import encoder as models
from hybridlib.models import runs
from hybridlib.models.encoder import ModelLoadError, load_encoder
from hybridlib.scoring import validation
from hybridlib.training import train

from .tiny_models import build_tiny_labse, build_tiny_xlmr

LANGS = ("de", "en", "es")


def synthetic_pairs(n_groups: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        for lang in LANGS[: 2 + int(rng.integers(0, 2))]:
            rows.append({"group_id": f"g{g}", "lang": lang, "question": f"{lang} question {g}?",
                         "passage": f"{lang} answer {g}.", "source": "human"})
    from datasets import Dataset

    table = pairs.pairs_from_groups(pd.DataFrame(rows))
    ds = Dataset.from_pandas(table, preserve_index=False)
    ds.info.description = json.dumps({"sources": ["toy"]})
    return ds


@pytest.fixture(scope="module")
def tiny_xlmr(tmp_path_factory):
    return build_tiny_xlmr(tmp_path_factory.mktemp("models") / "tiny-xlmr")


def config(model, **kw):
    values = dict(model=str(model), max_seq_length=16, batch_size=4, max_steps=3, save_steps=1, logging_steps=1,
                  warmup_ratio=0.0, device="cpu")
    return runs.TrainConfig(**{**values, **kw})


def test_fine_tune_saves_a_model_with_its_record(tiny_xlmr, tmp_path):
    split = pairs.split_by_group(synthetic_pairs(), 0.25, seed=0)
    path = train.fine_tune(str(tiny_xlmr), split["train"], sampler="hybrid", alpha=0.25, config=config(tiny_xlmr),
                           seed=3, eval_set=split["validation"], output_dir=tmp_path / "run", progress=False)
    record = json.loads((path / "hybridlib_training.json").read_text())
    assert (record["sampler"], record["alpha"], record["seed"]) == ("hybrid", 0.25, 3)
    assert record["sources"] == ["toy"] and record["config"]["batch_size"] == 4
    assert record["best_checkpoint"], "best checkpoint by validation loss"
    curve = runs.loss_curve(path)
    assert curve.loss.notna().sum() == 3 and curve.eval_loss.notna().sum() >= 1
    model = load_encoder(path)
    record = models.model_record(model)
    assert record.sources == ("toy",) and record.kind == "fine-tuned" and record == models.model_record(path)
    assert record.trained_on["languages"] and record.trained_on["groups"] > 0 and record.trained_on["sampler"] == "hybrid"
    before = load_encoder(tiny_xlmr).encode(["de question 1?"])
    assert not np.allclose(model.encode(["de question 1?"]), before), "the weights moved"
    again = train.fine_tune(str(tiny_xlmr), split["train"], sampler="hybrid", alpha=0.25, config=config(tiny_xlmr),
                            seed=3, output_dir=tmp_path / "run")
    assert again == path, "a finished run is not trained again"


def test_validation_map_selects_by_map(tiny_xlmr, tmp_path):
    split = pairs.split_by_group(synthetic_pairs(), 0.25, seed=0)
    path = train.fine_tune(str(tiny_xlmr), split["train"], sampler="xy", config=config(tiny_xlmr, select_by="map",
                           max_steps=2), eval_set=split["validation"], output_dir=tmp_path / "run", progress=False)
    history = json.loads((path / "hybridlib_training.json").read_text())["log_history"]
    maps = [h["eval_validation_multi_map"] for h in history if "eval_validation_multi_map" in h]
    assert len(maps) == 2, "validation mAP at each of the 2 saves"
    record = json.loads((path / "hybridlib_training.json").read_text())
    best = max(range(2), key=lambda i: maps[i])
    assert record["best_checkpoint"].endswith(f"checkpoint-{best + 1}"), "the checkpoint with the higher mAP"


class Interrupt(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise KeyboardInterrupt


def interrupted_run(tiny_xlmr, tmp_path, save_steps: int):
    """A whole run of 4 steps and the same run killed after step 3 (in ``tmp_path/cut``): data, config, whole."""
    data = synthetic_pairs()
    cfg = config(tiny_xlmr, max_steps=4, save_steps=save_steps)
    whole = train.fine_tune(str(tiny_xlmr), data, sampler="hybrid", config=cfg, seed=1,
                            output_dir=tmp_path / "whole", progress=False)
    with pytest.raises(KeyboardInterrupt):
        train.fine_tune(str(tiny_xlmr), data, sampler="hybrid", config=cfg, seed=1, output_dir=tmp_path / "cut",
                        progress=False, callbacks=[Interrupt()])
    return data, cfg, whole


def test_resume_after_an_interruption_continues_the_same_run(tiny_xlmr, tmp_path):
    data, cfg, whole = interrupted_run(tiny_xlmr, tmp_path, save_steps=2)
    assert train.last_checkpoint(tmp_path / "cut").endswith("checkpoint-2")
    resumed = train.fine_tune(str(tiny_xlmr), data, sampler="hybrid", config=cfg, seed=1,
                              output_dir=tmp_path / "cut", progress=False)
    record = json.loads((resumed / "hybridlib_training.json").read_text())
    assert record["resumed_from"].endswith("checkpoint-2")
    a, b = runs.loss_curve(whole), runs.loss_curve(resumed)
    late = lambda c: c[c.step > 2].loss.dropna().to_numpy()
    np.testing.assert_allclose(late(b), late(a), rtol=1e-4)
    np.testing.assert_allclose(load_encoder(resumed).encode(["en question 3?"]),
                               load_encoder(whole).encode(["en question 3?"]), rtol=1e-4, atol=1e-6)


def test_a_run_without_checkpoints_writes_none_and_trains_the_same_model(tiny_xlmr, tmp_path):
    data = synthetic_pairs()
    cfg = config(tiny_xlmr, max_steps=3, save_steps=1)
    kept = train.fine_tune(str(tiny_xlmr), data, sampler="hybrid", config=cfg, seed=2, output_dir=tmp_path / "kept",
                           progress=False, prune_checkpoints=False)
    bare = train.fine_tune(str(tiny_xlmr), data, sampler="hybrid", config=cfg, seed=2, output_dir=tmp_path / "bare",
                           progress=False, prune_checkpoints=False, checkpoints=False)
    assert len(list((tmp_path / "kept" / "checkpoints").glob("checkpoint-*"))) == 2  # save_total_limit
    assert not list((tmp_path / "bare").rglob("checkpoint-*"))
    np.testing.assert_allclose(runs.loss_curve(bare).loss.dropna(), runs.loss_curve(kept).loss.dropna(), rtol=1e-6)
    np.testing.assert_allclose(load_encoder(bare).encode(["de question 5?"]),
                               load_encoder(kept).encode(["de question 5?"]), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="checkpoints=False cannot keep the best checkpoint"):
        train.fine_tune(str(tiny_xlmr), data, config=cfg, eval_set=data, output_dir=tmp_path / "c", progress=False,
                        checkpoints=False)
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("name, builder", [("paper-xlmr", build_tiny_xlmr), ("paper-labse", build_tiny_labse)])
def test_paper_configs_load_and_run_a_step_on_a_tiny_model_of_their_architecture(name, builder, tmp_path):
    paper = runs.TrainConfig.load(name)
    assert (paper.learning_rate, paper.weight_decay, paper.batch_size) == (3e-5, 0.01, 100)
    assert paper.model in ("xlm-roberta-base", "sentence-transformers/LaBSE")
    tiny = builder(tmp_path / "tiny")
    cfg = runs.TrainConfig.load(name, model=str(tiny), max_steps=1, batch_size=4, save_steps=1, device="cpu",
                                 max_seq_length=16, select_by="loss", logging_steps=1)
    path = train.fine_tune(cfg.model, synthetic_pairs(), sampler="hybrid", alpha=0.5, config=cfg,
                           output_dir=tmp_path / "run", progress=False)
    assert runs.loss_curve(path).loss.notna().sum() == 1


def test_bad_inputs_fail_before_training(tiny_xlmr, tmp_path):
    data = synthetic_pairs()
    with pytest.raises(ValueError, match="alpha must be in"):
        train.fine_tune(str(tiny_xlmr), data, alpha=1.5, config=config(tiny_xlmr), output_dir=tmp_path / "a")
    with pytest.raises(SamplerError, match="cannot fill a batch of 64"):
        train.fine_tune(str(tiny_xlmr), data, config=config(tiny_xlmr, batch_size=64), output_dir=tmp_path / "b")
    with pytest.raises(ModelLoadError, match="does not exist"):
        train.fine_tune("./no/such/model", data, config=config("./no/such/model"), output_dir=tmp_path / "c")
    with pytest.raises(ValueError, match="lacks the column"):
        train.fine_tune(str(tiny_xlmr), data.remove_columns("group_id"), config=config(tiny_xlmr),
                        output_dir=tmp_path / "d")
    with pytest.raises(ValueError, match="no training config 'huge'"):
        runs.TrainConfig.load("huge")
    with pytest.raises(ValueError, match="unknown setting"):
        runs.TrainConfig.load("smoke", batchsize=3)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        config(tiny_xlmr, batch_size=0)
    assert not any((tmp_path / d / "final").exists() for d in "abcd")


@pytest.mark.skipif(sys.platform != "linux", reason="torchrun with gloo on Linux")
def test_two_processes_train_on_the_same_kind_at_each_step(tiny_xlmr, tmp_path):
    data = synthetic_pairs(40)
    split = pairs.split_by_group(data, 0.2, seed=0)
    pairs.save_training_set(split, tmp_path / "training")
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(project_root())}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517",
           "-m", "hybridlib.cli", "train", "--training-set", str(tmp_path / "training"), "--sampler", "hybrid",
           "--alpha", "0.5", "--config", "smoke", "--set", f"model={tiny_xlmr}", "--set", "max_seq_length=16",
           "--set", "batch_size=3", "--set", "max_steps=6", "--set", "save_steps=6", "--set", "device=cpu",
           "--no-validation", "--record-batches", "--output", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = split["train"].to_pandas().set_index(["query", "passage"])
    ranks = [json.loads((out / f"batches-rank{r}.json").read_text()) for r in (0, 1)]
    assert len(ranks[0]) >= 6 and len(ranks[1]) >= 6  # the data loader may collate one batch ahead
    for step in range(6):
        rows = [table.loc[tuple(pair)] for rank in ranks for pair in rank[step]]
        mono = {r.query_lang == r.passage_lang for r in rows}
        assert len(mono) == 1, f"step {step}: both processes draw one kind"
        if mono == {True}:
            assert len({r.query_lang for r in rows}) == 1, "X-X-mono: one language across processes"
        groups = [r.group_id for r in rows]
        assert len(set(groups)) == 6, "no group shared between the two processes' batches"


def test_train_runs_skips_finished_runs_and_static_grid_model(tmp_path):
    from hybridlib.models.encoder import build_static_encoder

    data = synthetic_pairs()
    texts = list(data["query"]) + list(data["passage"])
    cfg = runs.TrainConfig(model="static", max_seq_length=None, batch_size=4, max_steps=3, save_steps=3,
                            logging_steps=1, learning_rate=0.1, warmup_ratio=0.0)
    specs = [{"sampler": "hybrid", "alpha": a, "seed": 0} for a in (0.0, 1.0)]
    built = []
    make = lambda s: built.append(s) or build_static_encoder(texts, vocab_size=100, dim=8, seed=s)
    first = train.train_runs(specs, data, config=cfg, models_dir=tmp_path, build_model=make, progress=False)
    assert [r.rsplit("-", 1)[0] for r in first.run] == ["hybrid-a0-s0", "hybrid-a1-s0"] and len(built) == 2
    again = train.train_runs(specs, data, config=cfg, models_dir=tmp_path, build_model=make, progress=False)
    assert list(again.path) == list(first.path) and len(built) == 2, "finished runs build no model"
    table = comparison.validation_table(first, data)
    direct = validation.validation_map(load_encoder(first.path[0]), data.to_pandas(), query_prefix="Query: ",
                                       passage_prefix="Passage: ")
    assert table.iloc[0][list(direct)].to_dict() == pytest.approx(direct), "each run scored with its own prefixes"
    with pytest.raises(ValueError, match="alpha must be in"):
        train.train_runs([{"sampler": "hybrid", "alpha": 2}], data, config=cfg, models_dir=tmp_path)


def test_validation_map_matches_the_lareqa_protocol_for_a_perfect_encoder():
    from hybridlib.data.lareqa import LareqaDataset

    from .conftest import PerfectEncoder

    table = synthetic_pairs().to_pandas()
    questions, candidates = validation.validation_pool(table)
    fake = LareqaDataset("v", sorted(set(questions.lang)), questions, candidates.assign(cid=range(len(candidates))))
    scores = validation.validation_map(PerfectEncoder(fake), table)
    assert scores["multi_map"] == pytest.approx(1.0) and scores["cross_map"] == pytest.approx(1.0)


def test_a_finished_run_with_other_settings_is_not_reused(tiny_xlmr, tmp_path):
    data = synthetic_pairs()
    cfg = config(tiny_xlmr, max_steps=1)
    train.fine_tune(str(tiny_xlmr), data, sampler="xy", config=cfg, output_dir=tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="other settings"):
        train.fine_tune(str(tiny_xlmr), data, sampler="xx", config=cfg, output_dir=tmp_path / "run")
    names = {runs.run_name("xy", 0.5, 0, c, d) for c, d in
             ((cfg, data), (config(tiny_xlmr, max_steps=2), data), (cfg, data.select(range(10))))}
    assert len(names) == 3, "the folder name changes with the settings and with the data"
    assert runs.run_name("xy", 0.5, 0, cfg, data) == runs.run_name("xy", 0.5, 0, cfg, synthetic_pairs())


def test_validation_batches_are_chosen_by_dataset_not_by_length():
    from hybridlib.batching.samplers import PairMeta

    train_set, eval_set = synthetic_pairs(24, seed=0), synthetic_pairs(24, seed=0)
    eval_set = eval_set.map(lambda r: {"group_id": "v" + r["group_id"]})  # other groups, the same length
    assert len(train_set) == len(eval_set)
    train_cols, eval_cols = train_set.select_columns(["query", "passage"]), eval_set.select_columns(["query", "passage"])
    factory = train.TrainSamplerFactory(PairMeta.from_dataset(train_set), "xx-mono", 0.5, 7, {},
                                        PairMeta.from_dataset(eval_set), eval_cols._fingerprint)
    for_eval, for_train = factory(eval_cols, 4), factory(train_cols, 4)
    assert (for_eval.kind, for_train.kind) == ("any", "xx-mono")
    assert for_eval.meta is factory.eval_meta and for_train.meta is factory.meta
    with pytest.raises(ValueError, match="go together"):
        train.TrainSamplerFactory(PairMeta.from_dataset(train_set), "xx-mono", 0.5, 7, {}, PairMeta.from_dataset(eval_set))


def test_prefixes_come_from_the_base_models_registry_entry(tmp_path):
    assert (runs.TrainConfig().query_prefix, runs.TrainConfig().passage_prefix) == ("query: ", "passage: ")
    minilm = runs.TrainConfig(model="all-MiniLM-L6-v2")
    assert (minilm.query_prefix, minilm.passage_prefix) == ("Query: ", "Passage: ")
    own = runs.TrainConfig(model="all-MiniLM-L6-v2", query_prefix="q> ", passage_prefix="p> ")
    assert (own.query_prefix, own.passage_prefix) == ("q> ", "p> ")
    for bad in (0, -3):
        with pytest.raises(ValueError, match="max_seq_length"):
            runs.TrainConfig(max_seq_length=bad)


def test_resume_skips_a_checkpoint_a_kill_left_incomplete_and_cleans_it(tiny_xlmr, tmp_path):
    data, cfg, whole = interrupted_run(tiny_xlmr, tmp_path, save_steps=1)
    checkpoints = tmp_path / "cut" / "checkpoints"
    last = checkpoints / "checkpoint-2"
    for f in last.iterdir():  # a kill while checkpoint-2 was written: only its config made it
        if f.name != "config.json":
            shutil.rmtree(f) if f.is_dir() else f.unlink()
    (checkpoints / "tmp-model.safetensors.tmp").write_bytes(b"\0" * 1024)
    assert not train.checkpoint_is_complete(last) and train.checkpoint_is_complete(checkpoints / "checkpoint-1")
    assert train.last_checkpoint(tmp_path / "cut").endswith("checkpoint-1")
    assert not last.exists() and not (checkpoints / "tmp-model.safetensors.tmp").exists(), "the kill's leftovers go"
    resumed = train.fine_tune(str(tiny_xlmr), data, sampler="hybrid", config=cfg, seed=1,
                              output_dir=tmp_path / "cut", progress=False)
    assert json.loads((resumed / "hybridlib_training.json").read_text())["resumed_from"].endswith("checkpoint-1")
    np.testing.assert_allclose(load_encoder(resumed).encode(["en question 3?"]),
                               load_encoder(whole).encode(["en question 3?"]), rtol=1e-4, atol=1e-6)
    assert not checkpoints.exists(), "a finished run keeps its final model only"


def test_a_config_field_added_later_renames_no_run_unless_it_is_set():
    @dataclasses.dataclass(frozen=True)
    class Extended(runs.TrainConfig):
        new_option: int = 0

    data = synthetic_pairs(n_groups=8)
    base = runs.run_name("hybrid", 0.5, 0, runs.TrainConfig(model="m"), data)
    assert runs.run_name("hybrid", 0.5, 0, Extended(model="m"), data) == base
    assert runs.run_name("hybrid", 0.5, 0, Extended(model="m", new_option=1), data) != base
    assert runs.run_name("hybrid", 0.5, 0, runs.TrainConfig(model="m", batch_size=8), data) != base


def test_a_run_is_evaluated_at_the_length_it_was_trained_with(tiny_xlmr, tmp_path):
    from hybridlib.analysis.comparison import evaluate_runs
    from hybridlib.models.encoder import default_max_seq_length

    from .conftest import toy_dataset

    path = train.fine_tune(str(tiny_xlmr), synthetic_pairs(), sampler="xy", config=config(tiny_xlmr, max_steps=1,
                           max_seq_length=8), output_dir=tmp_path / "run", progress=False)
    assert default_max_seq_length(path)[0] == 8 and default_max_seq_length(tiny_xlmr)[0] == 64
    ds = toy_dataset({lang: [f"e{i}" for i in range(3)] for lang in ("de", "en")}, name="toy-eval")
    runs = pd.DataFrame([{"run": "r", "sampler": "xy", "seed": 0, "path": str(path)}])
    ev = evaluate_runs(runs, ds, reference=str(tiny_xlmr), max_seq_length=32, progress=False).evaluations
    assert ":len8" in ev["r"].model and ":len32" in ev["zero-shot"].model


def test_a_run_that_reloads_its_best_checkpoint_prints_no_loading_bar(tiny_xlmr, tmp_path, capfd):
    """Fault 6: the test log carried a "Loading weights" bar for every model loaded."""
    data = synthetic_pairs()
    split = pairs.split_by_group(data, 0.25, seed=0)
    train.fine_tune(str(tiny_xlmr), split["train"], config=config(tiny_xlmr, max_steps=2, save_steps=1),
                    eval_set=split["validation"], output_dir=tmp_path / "run", progress=False)
    load_encoder(tmp_path / "run" / "final")
    assert "Loading weights" not in capfd.readouterr().err


def test_bf16_training_runs_under_autocast_and_the_model_record_says_so(tiny_xlmr, tmp_path, monkeypatch):
    import torch
    from sentence_transformers import SentenceTransformer

    seen: list[bool] = []
    real = SentenceTransformer.forward
    monkeypatch.setattr(SentenceTransformer, "forward",
                        lambda self, *a, **k: seen.append(torch.is_autocast_enabled("cpu")) or real(self, *a, **k))
    monkeypatch.setattr(models, "bf16_support", lambda: (True, "test"))
    data = synthetic_pairs()
    path = train.fine_tune(str(tiny_xlmr), data, sampler="xy", config=config(tiny_xlmr, max_steps=2, precision="bf16",
                           save_steps=2), output_dir=tmp_path / "bf16", progress=False, checkpoints=False)
    assert seen and all(seen), "every forward pass of training under bfloat16 autocast"
    record = models.model_record(path)
    assert record.precision == "bf16" and record.kind == "fine-tuned"
    weights = load_encoder(path)
    assert next(weights.parameters()).dtype == torch.float32, "autocast keeps the saved weights float32"
    seen.clear()
    monkeypatch.setattr(models, "bf16_support", lambda: (False, "the CPU has neither avx512_bf16 nor amx_bf16"))
    with pytest.warns(UserWarning, match="bf16 falls back to fp32"):
        fallback = train.fine_tune(str(tiny_xlmr), data, sampler="xy", config=config(tiny_xlmr, max_steps=2,
                                   precision="bf16", save_steps=2), output_dir=tmp_path / "fallback",
                                   progress=False, checkpoints=False)
    assert seen and not any(seen) and models.model_record(fallback).precision == "fp32"
    fp32 = config(tiny_xlmr, precision="fp32")
    assert runs.run_name("xy", 0.5, 0, fp32, data) == runs.run_name("xy", 0.5, 0, config(tiny_xlmr), data)
    assert runs.run_name("xy", 0.5, 0, config(tiny_xlmr, precision="bf16"), data) != \
        runs.run_name("xy", 0.5, 0, fp32, data), "a bf16 run is another run"
    with pytest.raises(ValueError, match="precision must be one of"):
        config(tiny_xlmr, precision="fp16")


def test_a_run_finished_before_model_records_is_kept_and_given_one(tiny_xlmr, tmp_path):
    data = synthetic_pairs()
    cfg = config(tiny_xlmr, max_steps=1, save_steps=1)
    path = train.fine_tune(str(tiny_xlmr), data, sampler="xy", config=cfg, output_dir=tmp_path / "run",
                           progress=False, checkpoints=False)
    training = json.loads((path / "hybridlib_training.json").read_text())
    del training["config"]["precision"]  # as an older hybridlib wrote it
    (path / "hybridlib_training.json").write_text(json.dumps(training))
    (path / "hybridlib_model.json").unlink()
    weights = (path / "model.safetensors").stat().st_mtime_ns
    again = train.fine_tune(str(tiny_xlmr), data, sampler="xy", config=cfg, output_dir=tmp_path / "run",
                            progress=False, checkpoints=False)
    assert again == path and (path / "model.safetensors").stat().st_mtime_ns == weights, "not trained again"
    record = models.model_record(path)
    assert (path / "hybridlib_model.json").is_file() and record.precision == "fp32" and record.sources
