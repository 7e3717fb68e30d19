"""The full scale's estimate: rates measured on this machine, and the planned work priced by hand."""

from __future__ import annotations

import pytest

from hybridlib import runner
from hybridlib.data.lareqa import open_lareqa
from hybridlib.models.runs import TrainConfig
from hybridlib.training import cost

from .tiny_models import build_tiny_xlmr


def test_measured_rates_are_positive_and_say_where_they_were_measured(tmp_path):
    model = build_tiny_xlmr(tmp_path / "tiny")
    rates = cost.measure_rates(str(model), max_seq_length=16, batch_size=4, precision="fp32",
                               texts=["a question?", "an answer."] * 20, steps=2)
    assert rates["device"] == "cpu" and rates["precision"] == "fp32" and rates["batch_size"] == 4
    assert rates["texts_per_second"] > 0 and rates["seconds_per_step"] > 0


def test_the_estimate_prices_the_planned_work_by_hand():
    params = runner.load_parameters("smoke")
    rates = {"texts_per_second": 100.0, "seconds_per_step": 2.0}
    table = cost.estimate(params, rates).set_index("work")
    config = TrainConfig.load(params["train_config"])
    runs = len(params["train_samplers"]) * len(params["train_seeds"])
    steps = runs * 2 * config.max_steps  # two training sources
    assert table.loc[f"03: train {runs} runs x 2 sources", "seconds"] == round(steps * 2.0)
    for name in ("xquad-r", "mlqa-r"):
        ds = open_lareqa(name).subset(params["languages"], params["max_groups"])
        texts = len(ds.questions) + len(ds.candidates)
        assert table.loc[f"04-05: score {runs + 1} models on {name}", "seconds"] == round((runs + 1) * texts / 100.0)
    assert table.loc["total", "seconds"] == pytest.approx(table["seconds"].iloc[:-1].sum(), abs=2)


def test_the_full_scale_scores_every_group_and_asks_for_the_estimate(monkeypatch, capsys):
    params = runner.load_parameters("full")
    assert params["max_groups"] is None and params["estimate_cost"] is True
    assert TrainConfig.load(params["train_config"]).batch_size == 100  # the paper's
    monkeypatch.setattr(cost, "measure_rates", lambda *a, **k: {
        "device": "cpu", "precision": "bf16", "max_seq_length": 128, "batch_size": 100, "texts_per_second": 250.0,
        "seconds_per_step": 6.0})
    runner.print_estimate("full", {k: v for k, v in params.items() if k not in runner.RUNNER_PARAMETERS})
    out = capsys.readouterr().out
    assert "estimated cost on this machine (cpu, bf16: 250.0 texts/s, 6.0 s a step" in out and "total" in out
