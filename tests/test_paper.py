"""The paper's reported numbers: the packaged copy, and the tables built from it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from hybridlib.analysis import paper
from hybridlib.batching.samplers import kind_label
from hybridlib.core.paths import project_root


def test_packaged_copy_equals_the_shared_file():
    candidates = [project_root().parent / "shared" / "paper" / "reported_results.csv"]
    if os.environ.get("HYBRIDLIB_DATA"):
        candidates.append(Path(os.environ["HYBRIDLIB_DATA"]).resolve().parent / "paper" / "reported_results.csv")
    shared = next((p for p in candidates if p.is_file()), None)
    if shared is None:
        pytest.skip("no ../shared/paper beside the checkout")
    ours = Path(paper.__file__).parents[1] / "resources" / "reported_results.csv"
    assert ours.read_bytes() == shared.read_bytes()


def test_printed_means_mostly_agree_with_their_rows():
    # checks the transcription: a printed mean is the mean of its language rows, within rounding
    found = paper.mean_discrepancies()
    assert len(found) == 84, "every (table, model, sampler, setting, metric) cell of Tables 3-8"
    rr = paper.reported_results()
    for _, row in found.sample(10, random_state=0).iterrows():
        cell = rr[(rr.table == row.table) & (rr.model == row.model) & (rr.sampler == row.sampler)
                  & (rr.setting == row.setting) & (rr.metric == row.metric)]
        assert cell[cell.query_lang != "mean"].value.mean() == pytest.approx(row.mean_of_rows)
    assert found.beyond_rounding.mean() < 0.05, found[found.beyond_rounding]


def test_summary_rows_carry_the_mean_rows():
    rr = paper.reported_results()
    summary = paper.paper_summary("mlqa-r").set_index(["model", "sampler"])
    mean = rr[(rr.dataset == "mlqa-r") & (rr.query_lang == "mean") & (rr.metric == "map")]
    for _, r in mean.iterrows():
        label = (f"{r.model} (paper)", kind_label(r.sampler))
        assert summary.loc[label, f"{r.setting} map"] == r.value
    assert "multi r@10" in summary.columns and "multi r@1" not in summary.columns
    with pytest.raises(ValueError, match="no LAReQA numbers"):
        paper.paper_summary("miracl")


def test_beside_paper_puts_ours_first_with_common_columns():
    ours = pd.DataFrame([{"dataset": "xquad-r", "model": "m", "sampler": "zero-shot", "scale": "smoke",
                          "mono map": 0.5, "cross map": 0.4, "multi map": 0.3, "rank distance": 9.0}])
    table = paper.beside_paper(ours, "xquad-r")
    assert table.iloc[0]["model"] == "m" and len(table) == 7
    assert list(table.columns[:4]) == ["dataset", "model", "sampler", "scale"]
    assert table.columns[-1] == "rank distance"


def test_rank_distance_table_per_language():
    table = paper.paper_rank_distance("xquad-r")
    assert table.index[-1] == "mean" and len(table) == 12
    assert list(table.columns[:3]) == ["XLM-R X-X-mono (paper)", "XLM-R X-Y (paper)", "XLM-R hybrid (paper)"]
