"""Comparing samplers: seed aggregation, the paired randomization test (against scipy), verdicts, preference."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hybridlib.analysis import comparison, plots
from hybridlib.models import runs
from hybridlib.models.leakage import LeakageError
from hybridlib.scoring import evaluate
from hybridlib.training import train

from .conftest import HashEncoder, PerfectEncoder, toy_dataset
from .test_train import synthetic_pairs

LAYOUT = {"de": [f"g{i}" for i in range(8)], "en": [f"g{i}" for i in range(8)], "es": [f"g{i}" for i in range(6)]}


@pytest.fixture(scope="module")
def dataset():
    return toy_dataset(LAYOUT, filler=3)


def evaluation(encoder, dataset):
    return evaluate.evaluate_lareqa(encoder, dataset, progress=False)


def compared_from(evals: dict[tuple[str, int], evaluate.LareqaEvaluation]) -> comparison.RunEvaluations:
    runs = pd.DataFrame([{"run": f"{s}-{seed}", "sampler": s, "seed": seed, "path": "-"} for s, seed in evals])
    return comparison.RunEvaluations("toy", runs, {f"{s}-{seed}": ev for (s, seed), ev in evals.items()})


@pytest.fixture(scope="module")
def compared(dataset):
    return compared_from({
        ("xx-mono", 0): evaluation(HashEncoder(4), dataset),
        ("xx-mono", 1): evaluation(HashEncoder(6), dataset),
        ("hybrid", 0): evaluation(PerfectEncoder(dataset), dataset),
        ("hybrid", 1): evaluation(HashEncoder(64), dataset),
    })


def test_exact_p_value_matches_scipy_permutation_test():
    rng = np.random.default_rng(3)
    a, b = rng.random(10), rng.random(10) * 0.8
    frame = lambda v: pd.DataFrame({"query_lang": "x", "cand_lang": "x", "qid": range(10), "ap": v})
    ours = comparison.paired_randomization_test(frame(a), frame(b), "ap", n_resamples=5000)
    ref = stats.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type="samples",
                                 alternative="two-sided", n_resamples=np.inf)
    assert ours["p_value"] == pytest.approx(ref.pvalue, abs=1e-12)
    assert ours["difference"] == pytest.approx(np.mean(a - b))
    # Monte Carlo with many resamples lands near the exact value
    mc = comparison.paired_randomization_test(frame(a), frame(b), "ap", n_resamples=200)
    assert 2**10 > 200 and abs(mc["p_value"] - ref.pvalue) < 0.1


def test_identical_systems_give_p_one_and_a_large_gap_a_small_p():
    frame = lambda v: pd.DataFrame({"query_lang": "x", "cand_lang": "x", "qid": range(len(v)), "ap": v})
    v = np.linspace(0, 1, 40)
    assert comparison.paired_randomization_test(frame(v), frame(v), "ap")["p_value"] == 1.0
    far = comparison.paired_randomization_test(frame(v + 0.5), frame(v), "ap", n_resamples=999)
    assert far["p_value"] == pytest.approx(1 / 1000)


def test_misaligned_rows_are_refused():
    a = pd.DataFrame({"query_lang": "x", "cand_lang": "x", "qid": [1, 2], "ap": [0.1, 0.2]})
    with pytest.raises(ValueError, match="same rows"):
        comparison.paired_randomization_test(a, a.iloc[:1], "ap")


def test_margins_are_the_differences_of_the_seed_averaged_summaries(compared):
    summary = compared.summary()
    for setting in ("mono", "cross", "multi"):
        res = compared.compare("hybrid", "xx-mono", setting)
        per_seed = {s: [compared.evaluations[f"{s}-{k}"].summary[setting]["map"] for k in (0, 1)]
                    for s in ("hybrid", "xx-mono")}
        assert res["value"] == pytest.approx(np.mean(per_seed["hybrid"]))
        assert res["margin"] == pytest.approx(np.mean(per_seed["hybrid"]) - np.mean(per_seed["xx-mono"]))
        assert summary.loc["hybrid", (f"{setting} map", "sd")] == pytest.approx(np.std(per_seed["hybrid"], ddof=1))
    rd = compared.compare("hybrid", "xx-mono", "multi", "rank_distance")
    assert rd["value"] == pytest.approx(compared.rank_distance().loc["mean", "hybrid"])


def test_verdicts_follow_the_direction_of_each_claim(dataset):
    good, bad = PerfectEncoder(dataset), HashEncoder(4)
    agree = comparison.verdicts(compared_from({("hybrid", 0): evaluation(good, dataset),
                                               ("xx-mono", 0): evaluation(bad, dataset)}))
    assert list(agree.claim) == ["hybrid >= X-X-mono on mono mAP", "hybrid lowers rank distance against X-X-mono"]
    assert (agree.margin > 0).all() and agree.verdict.str.startswith("agrees").all()
    disagree = comparison.verdicts(compared_from({("hybrid", 0): evaluation(bad, dataset),
                                                  ("xx-mono", 0): evaluation(good, dataset)}))
    assert (disagree.margin < 0).all() and disagree.verdict.str.startswith("disagrees").all()


def test_significance_and_summary_table_carry_every_baseline(compared):
    tests = compared.significance(n_resamples=500)
    assert set(tests.baseline) == {"X-X-mono"} and len(tests) == 4
    table = comparison.summary_table(compared, tests)
    assert table.loc["X-X-mono", "p mono map"] == tests.query("setting == 'mono'").p_value.item()
    assert np.isnan(table.loc["hybrid", "p mono map"])
    shown = comparison.format_mean_sd(table)
    assert shown.loc["hybrid", "mono map"].count("±") == 1


def test_top_languages_break_ties_by_candidate_order():
    scores = np.array([[0.1, 0.9, 0.5, 0.9], [0.0, 0.0, 0.0, 1.0]])
    langs = np.array(["de", "en", "es", "zh"], dtype=object)
    assert list(evaluate.top_languages(scores, langs, k=3)) == ["en zh es", "zh de en"]


def test_language_preference_is_the_share_of_each_language_in_the_top_k():
    per_query = pd.DataFrame({"setting": "multi", "query_lang": ["de", "de", "en"], "cand_lang": "*",
                              "qid": [1, 2, 3], "top_langs": ["de de en", "en en en", "en de de"]})
    ev = evaluate.LareqaEvaluation("toy", "m", ["de", "en"], per_query)
    shares = ev.language_preference(k=2)
    assert shares.loc["de"].to_dict() == {"de": 0.5, "en": 0.5}
    assert shares.loc["en"].to_dict() == {"de": 0.5, "en": 0.5}
    assert ev.language_preference(k=3).loc["de", "en"] == pytest.approx(4 / 6)


def test_evaluations_keep_the_top_languages_of_the_pooled_ranking(dataset):
    ev = evaluation(PerfectEncoder(dataset), dataset)
    multi = ev.per_query[ev.per_query.setting == "multi"]
    first = multi.iloc[0]  # a de question of a group in all three languages: its 3 answers come first
    assert sorted(first.top_langs.split()[:3]) == ["de", "en", "es"]
    shares = ev.language_preference(k=3)
    # the perfect encoder ranks a group's answers first: a de question of a group in 3 languages has one per
    # language in its top 3; of the 2 de-en-only groups (g6, g7), 2 answers in de and en plus one filler
    assert shares.loc["es", "es"] == pytest.approx(1 / 3)


def test_find_runs_names_what_is_missing_and_finds_what_train_runs_wrote(tmp_path):
    from hybridlib.models.encoder import build_static_encoder

    data = synthetic_pairs()
    cfg = runs.TrainConfig(model="static", max_seq_length=None, batch_size=4, max_steps=1, save_steps=1,
                            logging_steps=1, learning_rate=0.1, warmup_ratio=0.0)
    specs = [{"sampler": "xy", "seed": 0}]
    with pytest.raises(FileNotFoundError, match=r"1 run\(s\) not trained yet.*xy-s0-"):
        runs.find_runs(specs, data, config=cfg, models_dir=tmp_path)
    texts = list(data["query"]) + list(data["passage"])
    trained = train.train_runs(specs, data, config=cfg, models_dir=tmp_path, progress=False,
                               build_model=lambda s: build_static_encoder(texts, vocab_size=100, dim=8, seed=s))
    found = runs.find_runs(specs, data, config=cfg, models_dir=tmp_path)
    assert found[["run", "sampler", "seed", "path"]].equals(trained[["run", "sampler", "seed", "path"]])


def test_a_model_trained_on_the_evaluation_set_is_refused_before_any_work(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "hybridlib_training.json").write_text(json.dumps({"sources": ["xquad-r"]}))
    runs = pd.DataFrame([{"run": "r", "sampler": "xy", "seed": 0, "path": str(model)}])
    with pytest.raises(LeakageError, match="run r: this model was trained on xquad-r"):
        comparison.evaluate_runs(runs, "xquad-r")
    with pytest.raises(ValueError, match="columns"):
        comparison.evaluate_runs(runs.drop(columns="path"), "xquad-r")


def test_difference_heatmaps_share_a_scale_centred_on_zero():
    m = pd.DataFrame([[0.1, -0.3], [0.0, 0.2]], index=["de", "en"], columns=["de", "en"])
    fig = plots.heatmap_grid({"a": m, "b": m / 2}, difference=True)
    panels = [ax for ax in fig.axes if ax.get_title() in ("a", "b")]
    assert len(panels) == 2
    assert all((ax.collections[0].norm.vmin, ax.collections[0].norm.vmax) == (-0.3, 0.3) for ax in panels)


def test_paper_per_language_rows_line_up_with_ours(compared):
    reported = comparison.paper_by_query_language("xquad-r")
    assert set(reported.model) == {"XLM-R (paper)", "LaBSE (paper)"}
    assert set(reported.metric) == {"map", "r@1", "r@10"}
    row = reported.query("model == 'XLM-R (paper)' and sampler == 'hybrid' and query_lang == 'ar' "
                         "and setting == 'mono' and metric == 'map'")
    assert row["mean"].item() == 0.7619  # Table 3 as transcribed in reported_results.csv


def test_difference_matrices_and_seed_summaries_are_computed_from_the_runs(compared):
    diffs = compared.differences("hybrid")
    assert list(diffs) == ["hybrid - X-X-mono"]
    hybrid = (compared.evaluations["hybrid-0"].map_matrix + compared.evaluations["hybrid-1"].map_matrix) / 2
    mono = (compared.evaluations["xx-mono-0"].map_matrix + compared.evaluations["xx-mono-1"].map_matrix) / 2
    pd.testing.assert_frame_equal(diffs["hybrid - X-X-mono"], hybrid - mono, check_names=False)
    assert compared.differences("xy") == {}
    scores = pd.DataFrame({"sampler": ["xy", "xy", "hybrid"], "mono_map": [0.2, 0.4, 0.5], "cross_map": [1, 3, 2],
                           "multi_map": [0, 0, 0], "rank_distance": [10, 20, 30]})
    table = comparison.seed_summary(scores)
    assert list(table.index) == ["X-Y", "hybrid"]
    assert table.loc["X-Y", ("mono_map", "mean")] == pytest.approx(0.3)
    assert table.loc["X-Y", ("cross_map", "std")] == pytest.approx(np.sqrt(2))


def test_rank_distance_table_holds_reference_levels_ours_and_the_papers(dataset):
    c = compared_from({("xx-mono", 0): evaluation(HashEncoder(4), dataset),
                       (comparison.REFERENCE, 0): evaluation(HashEncoder(5), dataset)})
    c.dataset = "xquad-r"  # the paper's values are looked up by dataset name
    table = c.rank_distance_table()
    assert list(table.columns[:3]) == ["floor", "random", "X-X-mono"]
    # g0-g5 have 3 relevant answers (floor 2), g6-g7 only de and en (floor 1): de and en 1.75, es 2
    assert table.loc[["de", "en", "es"], "floor"].tolist() == [1.75, 1.75, 2.0]
    assert table.loc["mean", "X-X-mono"] == pytest.approx(c.evaluations["xx-mono-0"].rank_distance["mean"])
    assert table.loc["mean", "XLM-R hybrid (paper)"] == pytest.approx(286.6, abs=0.05)


def _static_runs(tmp_path, data, cfg, specs):
    from hybridlib.models.encoder import build_static_encoder

    texts = list(data["query"]) + list(data["passage"])
    return train.train_runs(specs, data, config=cfg, models_dir=tmp_path, progress=False,
                            build_model=lambda s: build_static_encoder(texts, vocab_size=100, dim=8, seed=s))


def _static_config(**changes):
    return runs.TrainConfig(**{"model": "static", "max_seq_length": None, "batch_size": 4, "max_steps": 1,
                                "save_steps": 1, "logging_steps": 1, "learning_rate": 0.1, "warmup_ratio": 0.0,
                                **changes})


def test_runs_are_found_by_their_recorded_spec_not_by_rebuilding_their_names(tmp_path, monkeypatch):
    """Issue 25: deleting one field from NAMED_FIELDS renamed every run and all tests passed. A run's spec is now
    recorded in its folder, and runs are found by reading specs: a change to the naming renames no finished run."""
    import json

    data, cfg, specs = synthetic_pairs(), _static_config(), [{"sampler": "xy", "seed": 0}]
    trained = _static_runs(tmp_path, data, cfg, specs)
    folder = tmp_path / trained["run"].iloc[0]
    spec = json.loads((folder / runs.RUN_SPEC).read_text())
    assert spec["sampler"] == "xy" and spec["alpha"] == 0.0 and spec["config"]["learning_rate"] == 0.1
    monkeypatch.setattr(runs, "NAMED_FIELDS", tuple(f for f in runs.NAMED_FIELDS if f != "weight_decay"))
    assert runs.run_name("xy", 0.5, 0, cfg, data) != trained["run"].iloc[0], "the naming changed"
    found = runs.find_runs(specs, data, config=cfg, models_dir=tmp_path)
    assert found["path"].tolist() == trained["path"].tolist(), "yet the run is found where it is"
    again = _static_runs(tmp_path, data, cfg, specs)
    assert again["run"].tolist() == trained["run"].tolist(), "and not trained again"
    with pytest.raises(FileNotFoundError, match="not trained yet"):
        runs.find_runs(specs, data, config=_static_config(learning_rate=0.2), models_dir=tmp_path)


def test_a_run_made_before_specs_is_found_by_its_name_and_one_with_an_unknown_setting_is_refused(tmp_path):
    import json

    data, cfg, specs = synthetic_pairs(), _static_config(), [{"sampler": "xy", "seed": 0}]
    trained = _static_runs(tmp_path, data, cfg, specs)
    folder = tmp_path / trained["run"].iloc[0]
    (folder / runs.RUN_SPEC).unlink()  # as a run trained before run specs existed
    found = runs.find_runs(specs, data, config=cfg, models_dir=tmp_path)
    assert found["path"].tolist() == trained["path"].tolist() and (folder / runs.RUN_SPEC).is_file(), \
        "found by its name, and its spec recorded"
    spec = json.loads((folder / runs.RUN_SPEC).read_text())
    spec["config"]["retired_option"] = 3  # a setting a later version dropped
    (folder / runs.RUN_SPEC).write_text(json.dumps(spec))
    with pytest.raises(ValueError, match=r"setting\(s\) \['retired_option'\] that this version of hybridlib does not know"):
        runs.find_runs(specs, data, config=cfg, models_dir=tmp_path)


def test_a_config_field_added_later_still_matches_a_recorded_spec_at_its_default(tmp_path):
    import json

    data, cfg, specs = synthetic_pairs(), _static_config(), [{"sampler": "xy", "seed": 0}]
    trained = _static_runs(tmp_path, data, cfg, specs)
    path = tmp_path / trained["run"].iloc[0] / runs.RUN_SPEC
    spec = json.loads(path.read_text())
    del spec["config"]["lr_scheduler"]  # as recorded before the field existed
    path.write_text(json.dumps(spec))
    assert runs.find_runs(specs, data, config=cfg, models_dir=tmp_path)["path"].tolist() == trained["path"].tolist()
    assert not runs.spec_matches(spec, {**runs.run_spec("xy", 0.5, 0, _static_config(lr_scheduler="cosine"),
                                                           runs.data_key(data))})


def test_a_runs_identity_is_a_hash_of_its_whole_spec_recorded_in_its_folder(tmp_path):
    """Issue 25, item 1: the identity changes where the spec does (any field, not only named ones) and only there:
    a field at its default (as one added since) leaves it alone; the folder's run_spec.json records it."""
    import json

    data = synthetic_pairs()
    key = runs.data_key(data)
    base = runs.run_spec("xy", 0.5, 0, _static_config(), key)
    ident = runs.spec_id(base)
    assert runs.spec_id({**base, "config": {k: v for k, v in base["config"].items() if k != "lr_scheduler"}}) == ident
    for changed in ({"logging_steps": 2}, {"precision": "bf16"}, {"warmup_steps": 0}):  # not all are in NAMED_FIELDS
        assert runs.spec_id(runs.run_spec("xy", 0.5, 0, _static_config(**changed), key)) != ident, changed
    assert runs.spec_id(runs.run_spec("xy", 0.5, 1, _static_config(), key)) != ident
    assert runs.spec_id(runs.run_spec("hybrid", 0.5, 0, _static_config(), key)) != ident
    assert runs.spec_id(runs.run_spec("xy", 0.5, 0, _static_config(), runs.data_key(data.select(range(8))))) != ident
    assert runs.spec_id(runs.run_spec("xy", 0.9, 0, _static_config(), key)) == ident, "alpha does not act on xy"
    trained = _static_runs(tmp_path, data, _static_config(), [{"sampler": "xy", "seed": 0}])
    assert json.loads((tmp_path / trained["run"].iloc[0] / runs.RUN_SPEC).read_text())["id"] == ident


def test_an_unknown_setting_is_refused_only_where_it_would_be_the_run_asked_for(tmp_path):
    """One folder with a setting this version does not know blocks no other run from being found."""
    import json

    data, cfg = synthetic_pairs(), _static_config()
    trained = _static_runs(tmp_path, data, cfg, [{"sampler": "xy", "seed": 0}, {"sampler": "xy", "seed": 1}])
    path = tmp_path / trained["run"].iloc[1] / runs.RUN_SPEC
    spec = json.loads(path.read_text())
    spec["config"]["retired_option"] = 3
    path.write_text(json.dumps(spec))
    found = runs.find_runs([{"sampler": "xy", "seed": 0}], data, config=cfg, models_dir=tmp_path)
    assert found["path"].tolist() == trained["path"].tolist()[:1]
    with pytest.raises(ValueError, match="retired_option"):
        runs.find_runs([{"sampler": "xy", "seed": 1}], data, config=cfg, models_dir=tmp_path)
