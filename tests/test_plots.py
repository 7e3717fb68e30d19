"""Figure and table writers: both formats, atomic, readable back."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hybridlib.analysis import plots  # noqa: E402


def test_heatmap_saved_as_png_and_pdf(tmp_path):
    m = pd.DataFrame(np.array([[0.9, 0.2], [0.3, 0.8]]), index=["de", "en"], columns=["de", "en"])
    ax = plots.map_heatmap(m, title="t")
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["0.20", "0.30", "0.80", "0.90"], "every cell annotated with its value"
    png, pdf = plots.save_figure(ax.figure, "heat", tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heat.pdf", "heat.png"], "no temporary files left"


def test_table_round_trips_through_csv(tmp_path):
    table = pd.DataFrame({"mono map": [0.123456, 0.5]}, index=pd.Index(["a", "b"], name="lang"))
    csv, md = plots.save_table(table, "t", tmp_path)
    back = pd.read_csv(csv, index_col=0)
    assert back["mono map"].tolist() == [0.123456, 0.5]
    assert "0.1235" in md.read_text() and md.read_text().startswith("| lang")


def test_margin_bars_mark_the_significant_margins():
    from hybridlib.analysis import plots

    tests = pd.DataFrame({"metric": "map", "setting": ["mono", "cross", "mono", "cross"], "sampler": ["a", "a", "b", "b"],
                          "scored on": "x", "margin": [0.01, -0.02, 0.0, 0.03], "p_value": [0.5, 0.01, 0.9, 0.04]})
    fig = plots.margin_bars(tests, hue="sampler", panel="scored on", label="a minus b")
    ax = fig.axes[0]
    assert sorted(round(p.get_height(), 3) for p in ax.patches) == [-0.02, 0.0, 0.01, 0.03]
    assert [t.get_text() for t in ax.texts] == ["*", "*"]


def test_cells_on_few_questions_show_their_count_not_a_colour():
    """Fault 9: a cell on one question looked as solid as one on 160."""
    m = pd.DataFrame([[0.5, 1.0], [0.02, np.nan]], index=["de", "es"], columns=["de", "es"])
    counts = pd.DataFrame([[160, 1], [3, np.nan]], index=m.index, columns=m.columns)
    fig = plots.heatmap_grid({"a": m, "b": m - 0.1}, counts=counts)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "0.50" in texts and "n=1" in texts and "n=3" in texts
    assert "1.00" not in texts and "0.02" not in texts, "too few questions: no value, no colour"
    assert "colour scale 0.4-0.5" in fig.axes[-1].get_ylabel(), "the scale ignores them (else 0.0-1.0)"
    assert any("fewer than 10 questions" in t.get_text() for t in fig.texts)
    grey = [p for p in fig.axes[0].patches if p.get_facecolor()[:3] == pytest.approx((0.8627, 0.8627, 0.8627), abs=1e-3)]
    assert len(grey) == 2, "the two few-question cells are greyed, the empty one is not"


def test_rank_distance_axis_is_set_by_the_models_and_the_random_level_is_a_note():
    """Fault 8: the axis ran to the random level (~996), so bars of 60-85 could not be read."""
    table = pd.DataFrame({"zero-shot": [150.0, 120.0], "hybrid": [70.0, 65.0]}, index=["de", "en"])
    levels = pd.DataFrame({"floor": [10.0, 10.0], "random": [995.0, 997.0]}, index=["de", "en"])
    ax = plots.rank_distance_bars(table, levels=levels)
    assert 150 < ax.get_ylim()[1] < 300
    assert any("random ranking: 995-997 (mean 996)" in t.get_text() for t in ax.texts)
    levels["random"] = 996.0
    one = plots.rank_distance_bars(table, levels=levels)
    assert any(t.get_text().startswith("random ranking: 996, far above") for t in one.texts)
    assert "floor ranking" in [t.get_text() for t in ax.get_legend().get_texts()], "the floor stays drawn"
