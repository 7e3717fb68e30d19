"""The results store: a second consumer of the same evaluation loads no model and encodes nothing; a changed key
field is another record; records read back exactly and heal when damaged."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hybridlib.scoring import results

from .conftest import toy_lareqa_json
from .tiny_models import build_tiny_xlmr


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    folder = root / "toy-set"
    folder.mkdir()
    for lang in ("de", "en"):
        (folder / f"{lang}.json").write_text(json.dumps(toy_lareqa_json(lang, [f"g{i}" for i in range(6)])))
    return build_tiny_xlmr(root / "tiny"), folder, root / "results"


def _counting(monkeypatch):
    loads = []
    real = results.load_encoder
    monkeypatch.setattr(results, "load_encoder", lambda *a, **k: loads.append(a) or real(*a, **k))
    return loads


def test_a_second_consumer_reads_the_record_and_loads_no_model(setup, monkeypatch):
    model, data, store = setup
    loads = _counting(monkeypatch)
    first = results.score_lareqa(model, str(data), store_dir=store, max_groups=4)
    again = results.score_lareqa(model, str(data), store_dir=store, max_groups=4)
    assert len(loads) == 1, "the second consumer encodes nothing"
    assert first.meta["from_store"] is False and again.meta["from_store"] is True
    assert first.meta["record"] == again.meta["record"]
    pd.testing.assert_frame_equal(first.per_query, again.per_query)
    assert again.summary == first.summary and again.languages == ["de", "en"]
    record = json.loads((Path(again.meta["record"]) / results.RECORD).read_text())
    assert record["key"]["max_groups"] == 4 and record["key"]["max_seq_length"] == 64
    assert record["summary"]["multi"]["map"] == pytest.approx(first.summary["multi"]["map"])
    assert set(record["map_matrix"]) == {"de", "en"} and "seconds_scoring" in record["meta"]
    told = results.record_summary(again)
    assert told == results.record_summary(first), "a record read back tells when it was computed, not when read"
    assert told["written"] == record["provenance"]["written"] and told["seconds_scoring"] > 0


@pytest.mark.parametrize("change", [{"max_groups": 3}, {"max_seq_length": 16}, {"query_prefix": "q: "},
                                    {"languages": ["en"]}, {"candidate_text": "sentence+context"},
                                    {"precision": "fp32"}])
def test_a_changed_key_field_computes_a_new_record(setup, monkeypatch, change):
    from hybridlib.models import encoder as models

    monkeypatch.setattr(models, "bf16_support", lambda: (True, "test"))  # bf16 acts, whatever this CPU has
    model, data, store = setup
    base = results.score_lareqa(model, str(data), store_dir=store, max_groups=4, precision="bf16")
    loads = _counting(monkeypatch)
    other = results.score_lareqa(model, str(data), store_dir=store, **{"max_groups": 4, **change})
    assert len(loads) == 1 and other.meta["record"] != base.meta["record"]
    assert base.meta["precision"] == "bf16" and other.meta["precision"] == change.get("precision", "bf16")


def test_the_key_reads_the_model_record_and_survives_a_moved_folder(setup, tmp_path, monkeypatch):
    """The record's fingerprint is the model's content: a copy of the folder elsewhere is the same model."""
    import shutil

    from hybridlib.models import encoder as models

    model, data, store = setup
    first = results.score_lareqa(model, str(data), store_dir=store, max_groups=5, precision="fp32")
    copy = shutil.copytree(model, tmp_path / "moved")
    assert models.model_record(copy).fingerprint == models.model_record(model).fingerprint
    loads = _counting(monkeypatch)
    again = results.score_lareqa(copy, str(data), store_dir=store, max_groups=5, precision="fp32")
    assert loads == [] and again.meta["record"] == first.meta["record"]


def test_a_damaged_record_is_computed_again(setup, monkeypatch):
    model, data, store = setup
    ev = results.score_lareqa(model, str(data), store_dir=store, max_groups=2)
    (Path(ev.meta["record"]) / results.PER_QUERY).write_bytes(b"\x80\x05trunc")
    loads = _counting(monkeypatch)
    with pytest.warns(UserWarning, match="damaged result record"):
        again = results.score_lareqa(model, str(data), store_dir=store, max_groups=2)
    assert len(loads) == 1
    pd.testing.assert_frame_equal(ev.per_query, again.per_query)


def test_two_subsets_of_one_set_are_two_records_and_a_lookup_computes_nothing(setup, monkeypatch):
    """A set cut by groups keeps its name and has no max_groups: the key tells the cuts apart by their items."""
    from hybridlib.data.lareqa import load_lareqa_files

    model, data, store = setup
    full = load_lareqa_files(data)
    first, second = full.subset(groups=["g0", "g1"]), full.subset(groups=["g2", "g3"])
    assert results.stored_lareqa(model, first, store_dir=store, precision="fp32") is None, "a lookup only"
    a = results.score_lareqa(model, first, store_dir=store, precision="fp32")
    b = results.score_lareqa(model, second, store_dir=store, precision="fp32")
    assert a.meta["record"] != b.meta["record"] and set(a.per_query["qid"]).isdisjoint(b.per_query["qid"])
    loads = _counting(monkeypatch)
    back = results.stored_lareqa(model, first, store_dir=store, precision="fp32")
    assert loads == [] and back.meta["record"] == a.meta["record"]
