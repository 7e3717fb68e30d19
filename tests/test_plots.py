"""Figure and table writers: both formats, atomic, readable back."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from hybridlib import plots  # noqa: E402


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
    from hybridlib import plots

    tests = pd.DataFrame({"metric": "map", "setting": ["mono", "cross", "mono", "cross"], "sampler": ["a", "a", "b", "b"],
                          "scored on": "x", "margin": [0.01, -0.02, 0.0, 0.03], "p_value": [0.5, 0.01, 0.9, 0.04]})
    fig = plots.margin_bars(tests, hue="sampler", panel="scored on", label="a minus b")
    ax = fig.axes[0]
    assert sorted(round(p.get_height(), 3) for p in ax.patches) == [-0.02, 0.0, 0.01, 0.03]
    assert [t.get_text() for t in ax.texts] == ["*", "*"]
