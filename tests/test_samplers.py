"""Properties of the batch samplers: kinds, alpha, no repeated group, determinism, coverage, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlib.batching.samplers import (
    KINDS,
    PairMeta,
    ParallelBatchSampler,
    SamplerError,
    default_batches,
    group_collisions,
    make_sampler,
)


def synthetic_meta(n_groups: int = 120, langs=("ar", "de", "en", "es", "zh"), seed: int = 0) -> PairMeta:
    """Groups present in 2-5 languages, every ordered language pair of a group one row (like MLQA-R)."""
    rng = np.random.default_rng(seed)
    q, p, g = [], [], []
    for gi in range(n_groups):
        present = rng.choice(langs, size=rng.integers(2, len(langs) + 1), replace=False)
        for a in present:
            for b in present:
                q.append(a), p.append(b), g.append(f"g{gi}")
    return PairMeta.from_columns(q, p, g)


META = synthetic_meta()


def sampler(kind="hybrid", batch_size=8, **kw):
    return ParallelBatchSampler(range(len(META)), batch_size, meta=META, kind=kind, **kw)


def check_kind(kind, rows, meta=META):
    q, p = meta.query_lang[rows], meta.passage_lang[rows]
    if kind == "xx-mono":
        return (q == p).all() and len(set(q)) == 1
    if kind == "xy":
        return (q != p).all()
    if kind == "xx":
        return (q == p).all()
    raise AssertionError(f"unknown kind {kind!r}")


@pytest.mark.parametrize("kind", KINDS)
def test_every_batch_is_of_one_kind_full_and_group_free(kind):
    s = sampler(kind, seed=3)
    batches = list(s.batches())
    assert len(batches) == len(s) == len(list(iter(s)))
    for got, _, rows in batches:
        assert len(rows) == 8 and check_kind(got, np.array(rows))
        assert len(set(META.group[rows])) == len(rows), "no parallel group twice in a batch"
        if kind != "hybrid":
            assert got == kind


def test_xx_mixes_languages_and_xx_mono_does_not():
    mixed = [len(set(META.query_lang[rows])) for _, _, rows in sampler("xx").batches()]
    assert max(mixed) > 1
    single = [len(set(META.query_lang[rows])) for _, _, rows in sampler("xx-mono").batches()]
    assert set(single) == {1}


def test_the_kind_table_names_runs_and_alpha_as_before():
    from hybridlib.batching.samplers import KIND_TABLE, acting_alpha, kind_label, run_stem

    assert KINDS == ("xx-mono", "xy", "hybrid", "xx") and "any" in KIND_TABLE and "any" not in KINDS
    assert [kind_label(k) for k in KINDS] == ["X-X-mono", "X-Y", "hybrid", "X-X"] and kind_label("zero-shot") == "zero-shot"
    assert [acting_alpha(k, 0.25) for k in KINDS] == [1.0, 0.0, 0.25, None]
    assert run_stem("hybrid", 0.5, 2) == "hybrid-a0.5-s2" and run_stem("xy", 0.5, 1) == "xy-s1", "finished runs keep their folders"


def test_xy_pair_mode_holds_one_language_pair_per_batch():
    for _, key, rows in sampler("xy", xy_pairing="pair", batch_size=4).batches():
        assert {(a, b) for a, b in zip(META.query_lang[rows], META.passage_lang[rows])} == {key}


@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.8])
def test_share_of_mono_batches_is_alpha(alpha):
    s = sampler("hybrid", alpha=alpha, seed=11, steps_per_epoch=4000)
    kinds = [k for k, _, _ in s.batches()]
    share = kinds.count("xx-mono") / len(kinds)
    assert abs(share - alpha) < 4 * np.sqrt(alpha * (1 - alpha) / len(kinds))


def test_alpha_extremes_reduce_exactly_to_the_pure_samplers():
    for alpha, pure in ((1.0, "xx-mono"), (0.0, "xy")):
        a = list(iter(sampler("hybrid", alpha=alpha, seed=5, steps_per_epoch=50)))
        b = list(iter(sampler(pure, seed=5, steps_per_epoch=50)))
        assert a == b


def test_languages_are_drawn_uniformly_per_batch():
    langs = [key for _, key, _ in sampler("xx-mono", seed=2, steps_per_epoch=5000).batches()]
    counts = np.array([langs.count(l) for l in sorted(set(langs))])
    assert len(counts) == 5 and np.abs(counts / counts.sum() - 0.2).max() < 0.03


def test_deterministic_per_seed_and_new_each_epoch():
    a, b = sampler(seed=1), sampler(seed=1)
    assert list(iter(a)) == list(iter(b))
    a.set_epoch(1)
    assert list(iter(a)) != list(iter(b))
    b.set_epoch(1)
    assert list(iter(a)) == list(iter(b))
    assert list(iter(sampler(seed=2))) != list(iter(sampler(seed=1)))


def test_trainer_seed_is_replaced_by_the_experiment_seed():
    factory = make_sampler(META, "hybrid", alpha=0.5, seed=7)
    from_trainer = factory(range(len(META)), 8, False, None, None, seed=0)
    assert list(iter(from_trainer)) == list(iter(sampler(seed=7)))
    assert pickle.loads(pickle.dumps(factory)).seed == 7, "the trainer pickles its arguments"


@pytest.mark.parametrize("kind", ["xx-mono", "xy", "xx"])
def test_one_pass_covers_the_pool(kind):
    pool = np.flatnonzero(META.mono if kind != "xy" else ~META.mono)
    steps = int(np.ceil(1.3 * len(pool) / 8))
    if kind == "xx-mono":  # languages are drawn uniformly: the largest language sets the pace
        largest = max(np.sum(META.query_lang[pool] == l) for l in set(META.query_lang[pool]))
        steps = int(np.ceil(1.5 * largest * len(set(META.query_lang[pool])) / 8))
    seen = {r for _, _, rows in sampler(kind, steps_per_epoch=steps).batches() for r in rows}
    assert seen == set(pool.tolist())


def test_world_size_gives_each_process_a_share_of_the_same_batch():
    s = sampler("hybrid", batch_size=4, world_size=2, seed=9)
    per_process = list(iter(s))
    assert len(per_process) == len(s) and len(s) % 2 == 0
    for i in range(0, len(per_process), 2):
        both = np.array(per_process[i] + per_process[i + 1])
        assert len(set(META.group[both])) == 8, "no group repeats across the processes of a step"
        mono = META.mono[both]
        assert mono.all() or not mono.any()
        if mono.all():
            assert len(set(META.query_lang[both])) == 1, "X-X-mono: one language for the whole step"


def test_clear_errors_before_training():
    with pytest.raises(ValueError, match="alpha must be in"):
        sampler(alpha=1.5)
    for not_a_number in ("0.5", True, None):
        with pytest.raises(TypeError, match="alpha must be a number"):
            sampler(alpha=not_a_number)
    with pytest.raises(ValueError, match="unknown sampler"):
        sampler("x-y")
    with pytest.raises(SamplerError, match="cannot fill a batch of 500"):
        sampler("xx-mono", batch_size=500)
    with pytest.raises(ValueError, match="meta describes"):
        ParallelBatchSampler(range(10), 4, meta=META, kind="xy")
    mono_only = PairMeta.from_columns(["en", "de"], ["en", "de"], ["a", "b"])
    with pytest.raises(SamplerError, match="no xy pairs"):
        ParallelBatchSampler(range(2), 1, meta=mono_only, kind="hybrid", alpha=0.5)
    ParallelBatchSampler(range(2), 1, meta=mono_only, kind="hybrid", alpha=1.0)  # X-Y never drawn: fine


def test_the_default_sampler_puts_translations_together():
    hit, extra = group_collisions(default_batches(len(META), 16, seed=0), META.group)
    assert hit > 0 and extra >= hit
    ours = [rows for _, _, rows in sampler("xx", batch_size=16).batches()]
    assert group_collisions(ours, META.group) == (0, 0)


@settings(max_examples=30, deadline=None)
@given(n_groups=st.integers(10, 40), batch=st.integers(1, 8), alpha=st.floats(0, 1), seed=st.integers(0, 99))
def test_properties_hold_on_random_data(n_groups, batch, alpha, seed):
    meta = synthetic_meta(n_groups, seed=seed)
    # independently: a needed pool (each language's monolingual pairs when alpha > 0, the cross-lingual pairs when
    # alpha < 1) with fewer distinct groups than a batch cannot be filled without repeating a group
    mono_groups = [len(set(meta.group[meta.mono & (meta.query_lang == lang)])) for lang in set(meta.query_lang[meta.mono])]
    too_few = (alpha > 0 and min(mono_groups) < batch) or (alpha < 1 and len(set(meta.group[~meta.mono])) < batch)
    try:
        s = ParallelBatchSampler(range(len(meta)), batch, meta=meta, kind="hybrid", alpha=alpha, seed=seed)
    except SamplerError:
        assert too_few, "refused although every needed pool can fill a batch"
        return
    assert not too_few, "accepted although a needed pool cannot fill a batch"
    for kind, _, rows in s.batches():
        assert len(rows) == batch and len(set(meta.group[rows])) == batch
        assert check_kind(kind, np.array(rows), meta)


def test_any_mixes_kinds_without_repeating_a_group():
    kinds = set()
    for _, _, rows in sampler("any", batch_size=16, seed=4).batches():
        kinds.add(bool(META.mono[rows].all()) if META.mono[rows].all() or not META.mono[rows].any() else "mixed")
        assert len(set(META.group[rows])) == 16
    assert "mixed" in kinds


def test_batch_statistics_count_kinds_and_repeats():
    from hybridlib.batching.samplers import batch_statistics, sampled_rows

    sampled = sampled_rows(META, batch_size=8, alpha=0.5, seed=0)
    stats = batch_statistics(sampled)
    assert list(stats.index) == ["xx-mono", "xy", "hybrid", "xx", "default"]
    assert stats.loc["xx-mono", "xx_mono_batches"] == 1.0 and stats.loc["xy", "monolingual_pairs"] == 0.0
    assert (stats.loc[["xx-mono", "xy", "hybrid", "xx"], "repeated_rows"] == 0).all()
    expected = group_collisions(default_batches(len(META), 8, 0), META.group)
    assert (stats.loc["default", "batches_with_a_repeated_group"], stats.loc["default", "repeated_rows"]) == expected


def test_false_negatives_are_counted_per_ordered_pair_of_one_group():
    from hybridlib.batching.samplers import false_negatives_per_batch

    group = np.array([1, 1, 2, 3, 3, 3, 4])
    table = false_negatives_per_batch([[0, 1, 2, 3, 4, 5], [2, 6]], group)
    assert table.to_dict("list") == {"size": [6, 2], "repeated_rows": [3, 0], "false_negatives": [2 + 6, 0]}
    assert group_collisions([[0, 1, 2, 3, 4, 5], [2, 6]], group) == (1, 3)


def toy_pair_dataset(n_groups=12, langs=("de", "en", "es")):
    from datasets import Dataset

    rows = [{"query": f"{q} q{g}", "passage": f"{p} p{g}", "query_lang": q, "passage_lang": p, "group_id": f"g{g}"}
            for g in range(n_groups) for q in langs for p in langs]
    return Dataset.from_list(rows)


def test_reference_samplers_are_sentence_transformers_own_and_seeded():
    from hybridlib.batching.samplers import reference_sampler

    ds = toy_pair_dataset()
    texts = ds.select_columns(["query", "passage"])
    epoch = [r for b in reference_sampler("st-default", texts, 8, seed=1) for r in b]
    assert sorted(epoch) == list(range(len(ds))), "one shuffled pass over every row"
    again = [r for b in reference_sampler("st-default", texts, 8, seed=1) for r in b]
    other = [r for b in reference_sampler("st-default", texts, 8, seed=2) for r in b]
    assert epoch == again and epoch != other
    for batch in reference_sampler("st-no-duplicates", texts, 8, seed=1):
        strings = [s for r in batch for s in (ds[r]["query"], ds[r]["passage"])]
        assert len(strings) == len(set(strings)), "no identical string twice in a batch"
    with pytest.raises(SamplerError, match="cannot fill"):
        reference_sampler("st-default", texts.select(range(5)), 8)


def test_false_negative_rates_are_zero_for_group_free_batches_only():
    from hybridlib.batching.samplers import false_negative_rates, reference_sampler

    ds = toy_pair_dataset()
    rates = false_negative_rates(ds, ["any", "hybrid", "st-default", "st-no-duplicates"], batch_size=8, seed=0)
    by = rates.set_index("sampler")
    assert by.loc["mixed, group-free", "false negatives per batch"] == 0 == by.loc["hybrid", "false negatives per batch"]
    assert by.loc["ST default", "batches with a repeated group"] > 0.5, "12 groups of 9 rows: batches of 8 collide"
    batches = list(reference_sampler("st-default", ds.select_columns(["query", "passage"]), 8, seed=0))
    group = np.array([int(g[1:]) for g in ds["group_id"]])
    brute = sum(sum(group[i] == group[j] for i in b for j in b if i != j) for b in batches)
    share = brute / sum(len(b) * (len(b) - 1) for b in batches)
    assert by.loc["ST default", "false share of in-batch negatives"] == pytest.approx(share)


def test_no_module_but_samplers_tests_a_sampler_by_its_name():
    """Issue 25: what a kind draws, how it is named and whether it takes alpha was decided by ``if kind == ...`` in
    several modules; now the registry of hybridlib.batching.samplers holds it and every other module asks it."""
    import ast
    from pathlib import Path

    import hybridlib
    from hybridlib.batching.samplers import SAMPLER_NAMES

    found = []
    for path in sorted(Path(hybridlib.__file__).parent.rglob("*.py")):
        if path.name == "samplers.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        found += [f"{path.name}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value in SAMPLER_NAMES and id(node) not in docstrings]
    assert not found, f"sampler names written outside the registry: {found}"


def test_the_registry_says_what_each_sampler_is():
    from hybridlib.batching import samplers

    assert samplers.PROPOSED == "hybrid" and samplers.SAMPLERS["hybrid"].takes_alpha
    assert [samplers.SAMPLERS[k].acting_alpha(0.3) for k in ("xx-mono", "xy", "hybrid", "xx", "any")] == [1.0, 0.0, 0.3, None, None]
    assert not samplers.SAMPLERS["any"].reported and "any" not in samplers.KINDS, "no paper reports it"
    meta = PairMeta.from_columns(["en", "de"] * 8, ["en", "en"] * 8, [f"g{i}" for i in range(16)])
    assert len(list(ParallelBatchSampler(range(16), 4, meta=meta, kind="any"))) == 4, "but it trains (notebook 07)"
    for spec in samplers.SAMPLERS.values():
        assert spec.name and spec.label
    with pytest.raises(ValueError, match="unknown sampler 'x-y'"):
        samplers.sampler_spec("x-y")
