"""studies.conditions: notebook 06's loops over data conditions as one call, and models.runs.run_grid."""

from __future__ import annotations

from hybridlib.models import runs
from hybridlib.studies.conditions import static_conditions
from hybridlib.training import train

from .test_train import synthetic_pairs


def test_run_grid_lists_every_sampler_alpha_and_seed_in_that_order():
    assert runs.run_grid(["xy", "hybrid"], [0, 1]) == [
        {"sampler": "xy", "alpha": 0.5, "seed": 0}, {"sampler": "xy", "alpha": 0.5, "seed": 1},
        {"sampler": "hybrid", "alpha": 0.5, "seed": 0}, {"sampler": "hybrid", "alpha": 0.5, "seed": 1}]
    assert [(r["alpha"], r["seed"]) for r in runs.run_grid(["hybrid"], [3], [0.0, 1.0])] == [(0.0, 3), (1.0, 3)]


def test_each_condition_is_trained_once_and_scored_on_the_same_held_out_pairs(tmp_path):
    data = synthetic_pairs(n_groups=24)
    half = data.select(range(len(data) // 2))
    config = train.static_grid_config(2, 4, 0.1)
    specs = runs.run_grid(["hybrid"], [0], [0.0, 1.0])
    scored = static_conditions({"all": data, "half": half}, specs, config=config, models_dir=tmp_path, dim=8,
                               validation=data, label_by_alpha=True)
    assert list(scored) == ["all", "half"]
    assert set(scored["all"].runs["path"]).isdisjoint(scored["half"].runs["path"]), "one set of runs a condition"
    for evaluations in scored.values():
        assert evaluations.runs["sampler"].tolist() == ["0", "1"], "runs named by their alpha"
    sizes = {ev.meta["n_questions"] for e in scored.values() for ev in e.evaluations.values()}
    assert len(sizes) == 1, "every run scored on the same held-out pairs"
    weights = sorted(tmp_path.rglob("final/model.safetensors"))
    stamps = [w.stat().st_mtime_ns for w in weights]
    again = static_conditions({"all": data}, specs, config=config, models_dir=tmp_path, dim=8, validation=data)
    assert again["all"].runs["path"].tolist() == scored["all"].runs["path"].tolist()
    assert [w.stat().st_mtime_ns for w in weights] == stamps, "found again, not trained again"
    assert again["all"].runs["sampler"].tolist() == ["hybrid", "hybrid"]
