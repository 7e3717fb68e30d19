"""Figures and tables of the companion: seaborn plots and atomic PNG / PDF / CSV / Markdown writers."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from hybridlib.core import _io
from hybridlib.core.paths import project_path

# seaborn 0.13's heatmap calls Colormap.set_bad, which matplotlib 3.11 marks pending deprecation: understood, harmless
warnings.filterwarnings("ignore", message="The set_bad function will be deprecated", category=PendingDeprecationWarning)


MIN_PAIR_QUESTIONS = 10  # a language pair's cell on fewer questions is shown as its count, not as a colour


def map_heatmap(
    matrix: pd.DataFrame,
    *,
    ax: plt.Axes | None = None,
    title: str | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    center: float | None = None,
    cmap: str = "viridis",
    fmt: str = ".2f",
    cbar_label: str | None = "mAP",
    cbar: bool = True,
    cbar_ax: plt.Axes | None = None,
    counts: pd.DataFrame | None = None,
    min_count: int = MIN_PAIR_QUESTIONS,
) -> plt.Axes:
    """Annotated heatmap of a query language x candidate language matrix (mAP by default); cells that round to
    zero are written ``0`` (never ``-0.00``). With ``counts`` (questions per cell, same layout), a cell resting on
    fewer than ``min_count`` questions is left uncoloured and labelled ``n=<count>``; cells without questions stay
    blank."""
    if ax is None:
        size = 0.55 * len(matrix.columns) + 2.0
        _, ax = plt.subplots(figsize=(size + 1.2, size))
    few = pd.DataFrame(False, index=matrix.index, columns=matrix.columns)
    if counts is not None:
        counts = counts.reindex(index=matrix.index, columns=matrix.columns)
        few = counts.notna() & (counts < min_count)
        matrix = matrix.mask(few)
    labels = matrix.map(lambda v: "" if pd.isna(v) else format(v, fmt)).map(
        lambda t: "0" if t.lstrip("-").strip("0.") == "" and t else t)
    sns.heatmap(matrix, ax=ax, annot=labels.to_numpy(), fmt="", vmin=vmin, vmax=vmax, center=center, cmap=cmap,
                square=True, linewidths=0.5, cbar=cbar, cbar_ax=cbar_ax,
                cbar_kws={"shrink": 0.8, "label": cbar_label} if cbar else {}, annot_kws={"fontsize": 8})
    for i, j in zip(*np.nonzero(few.to_numpy())):
        ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor="#dcdcdc", edgecolor="white", linewidth=0.5))
        ax.text(j + 0.5, i + 0.5, f"n={int(counts.iat[i, j])}", ha="center", va="center", fontsize=7,
                color="dimgrey", fontstyle="italic")
    ax.set_xlabel(matrix.columns.name or "candidate language")
    ax.set_ylabel(matrix.index.name or "query language")
    if title:
        ax.set_title(title)
    return ax


def rank_distance_bars(table: pd.DataFrame, *, sd: pd.DataFrame | None = None, levels: pd.DataFrame | None = None,
                       ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Bars of mean rank distance per query language (rows) for each model (columns) on a linear axis from zero,
    ± ``sd`` (same layout; sd over seeds) as error bars, and the ``floor`` / ``random`` columns of ``levels``
    (:func:`hybridlib.scoring.bias.reference_levels`) as reference marks across each language's bars. The axis is set by the
    models' bars; a reference level far above them is written as a note instead of stretching the axis."""
    langs, models_ = list(table.index), list(table.columns)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(7.0, 0.8 * len(langs) + 2.5), 4.2))
    width = 0.8 / max(1, len(models_))
    palette = sns.color_palette("tab10", len(models_))
    x = np.arange(len(langs))
    top = 0.0
    for i, model in enumerate(models_):
        err = None if sd is None or model not in sd else sd[model].reindex(langs).fillna(0).to_numpy()
        values = table[model].to_numpy()
        ax.bar(x + (i - (len(models_) - 1) / 2) * width, values, width, yerr=err, capsize=2,
               color=palette[i], label=model)
        top = max(top, float(np.nanmax(values + (err if err is not None else 0))))
    limit = 1.3 * top  # room for the note above the bars
    off_axis = []
    if levels is not None:
        for name, style in (("random", {"color": "black", "linestyle": "--"}),
                            ("floor", {"color": "grey", "linestyle": ":"})):
            if name not in levels:
                continue
            values = levels[name].reindex(langs).to_numpy()
            if np.nanmax(values) > limit:
                low, high = f"{np.nanmin(values):,.0f}", f"{np.nanmax(values):,.0f}"
                span = low if low == high else f"{low}-{high} (mean {np.nanmean(values):,.0f})"
                off_axis.append(f"{name} ranking: {span}, far above the bars")
                continue
            for j, v in enumerate(values):
                ax.hlines(v, j - 0.45, j + 0.45, linewidth=1.4, label=f"{name} ranking" if j == 0 else None, **style)
    ax.set_xticks(x, langs)
    ax.set_ylim(0, limit)
    ax.set_xlabel("query language")
    ax.set_ylabel("mean rank distance (lower: less bias)")
    if off_axis:
        ax.text(0.01, 0.98, "; ".join(off_axis), transform=ax.transAxes, ha="left", va="top", fontsize=8,
                color="black", bbox={"facecolor": "white", "edgecolor": "grey", "alpha": 0.9})
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def file_stem(name: str) -> str:
    """``name`` as one file name: a dataset given as a folder (``data/own``) becomes ``data_own``."""
    return re.sub(r"[^\w.+-]+", "_", name)


def save_figure(fig: plt.Figure, name: str, figures_dir: str | os.PathLike[str] = "figures") -> list[Path]:
    """Write ``fig`` as ``<figures_dir>/<name>.png`` and ``.pdf`` (atomically); returns the paths."""
    folder, name = project_path(figures_dir), file_stem(name)
    paths = []
    # no creation date in the PDF, so that re-running a notebook rewrites identical files
    for ext, kwargs in (("png", {"dpi": 150}), ("pdf", {"metadata": {"CreationDate": None}})):
        path = folder / f"{name}.{ext}"
        with _io.atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, bbox_inches="tight", **kwargs)
        paths.append(path)
    return paths


def save_table(
    table: pd.DataFrame, name: str, figures_dir: str | os.PathLike[str] = "figures", floatfmt: str = ".4f"
) -> list[Path]:
    """Write ``table`` as ``<figures_dir>/<name>.csv`` and ``.md`` (atomically); returns the paths."""
    folder, name = project_path(figures_dir), file_stem(name)
    flat = table.copy()
    if isinstance(flat.columns, pd.MultiIndex):
        flat.columns = [" ".join(map(str, c)).strip() for c in flat.columns]
    show_index = not isinstance(flat.index, pd.RangeIndex)
    csv_path, md_path = folder / f"{name}.csv", folder / f"{name}.md"
    _io.write_text(csv_path, flat.to_csv(index=show_index, float_format="%.6g"))
    _io.write_text(md_path, flat.to_markdown(index=show_index, floatfmt=floatfmt) + "\n")
    return [csv_path, md_path]


def alpha_curve(table: pd.DataFrame, *, title: str | None = None,
                metrics: tuple[str, ...] = ("mono_map", "cross_map", "multi_map")) -> plt.Figure:
    """Validation mAP against alpha, one line per setting, and rank distance against alpha in a second panel:
    the line is the mean over seeds, the band one standard deviation either side."""
    long = table.melt(id_vars=["alpha", "seed"], value_vars=list(metrics), var_name="setting", value_name="mAP")
    long["setting"] = long["setting"].str.replace("_map", "")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    sns.lineplot(long, x="alpha", y="mAP", hue="setting", marker="o", errorbar="sd", ax=left)
    left.set_ylabel("validation mAP")
    left.legend(title="setting (band: ± sd over seeds)", fontsize=7, title_fontsize=7, frameon=False)
    if "rank_distance" in table:
        sns.lineplot(table, x="alpha", y="rank_distance", marker="o", errorbar="sd", ax=right, color="black")
        right.set_ylabel("mean rank distance (lower: less bias)")
        right.set_ylim(bottom=0)
    for ax in (left, right):
        ax.set_xlabel("alpha (share of X-X-mono batches)")
        ax.set_xticks(sorted(set(table["alpha"])))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def validation_loss_curve(table: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """Held-out loss against training steps (log axis), one line per sampler: mean over seeds, ± sd as error bars
    (``table``: ``steps``, ``sampler``, ``seed``, ``validation_loss``)."""
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    stats = table.groupby(["sampler", "steps"], sort=False)["validation_loss"].agg(["mean", "std"]).reset_index()
    samplers = list(dict.fromkeys(stats["sampler"]))
    for sampler, color in zip(samplers, sns.color_palette("tab10", len(samplers))):
        rows = stats[stats["sampler"] == sampler]
        ax.errorbar(rows["steps"], rows["mean"], yerr=rows["std"].fillna(0), marker="o", capsize=3, label=sampler,
                    color=color)
    xs = sorted(set(stats["steps"]))
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(xs, [str(v) for v in xs])
    ax.set_xlabel("training steps")
    ax.set_ylabel("held-out loss (InfoNCE, the same batches for every sampler)")
    ax.legend(title="sampler (error bars: ± sd over seeds)", fontsize=7, title_fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def loss_curves(curves: pd.DataFrame, *, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Training loss per step, one line per sampler, mean and standard deviation over seeds."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    sns.lineplot(curves.dropna(subset=["loss"]), x="step", y="loss", hue="sampler", errorbar="sd", ax=ax)
    ax.set_ylabel("training loss (InfoNCE, in-batch negatives)")
    ax.legend(title="sampler (line: mean over seeds, band: ± sd)", fontsize=7, title_fontsize=7, frameon=False)
    ax.annotate("losses do not compare across samplers: each draws batches of a different difficulty",
                xy=(0.0, -0.2), xycoords="axes fraction", fontsize=7, color="dimgrey")
    if title:
        ax.set_title(title)
    return ax


def share_bars(shares: pd.DataFrame, *, ax: plt.Axes | None = None, title: str | None = None,
               ylabel: str = "share of sampled pairs") -> plt.Axes:
    """Grouped bars of a (sampler x category) table of shares."""
    long = shares.reset_index(names="sampler").melt(id_vars="sampler", var_name="category", value_name="share")
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 0.5 * shares.shape[1] * 1.5), 4))
    sns.barplot(long, x="category", y="share", hue="sampler", ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        ax.set_title(title)
    return ax


def heatmap_grid(
    matrices: dict[str, pd.DataFrame],
    *,
    title: str | None = None,
    difference: bool = False,
    fmt: str = ".2f",
    ncols: int | None = None,
    value_label: str = "mAP",
    counts: pd.DataFrame | None = None,
    min_count: int = MIN_PAIR_QUESTIONS,
) -> plt.Figure:
    """One annotated heatmap per entry of ``matrices`` (panel title = key) on one shared, labelled colour bar:
    the data's range rounded out to tenths, or with ``difference`` a diverging scale centred on zero and symmetric
    about it (blue above zero, red below). With ``counts`` (questions per language pair), cells on fewer than
    ``min_count`` questions show their count instead of a colour (:func:`map_heatmap`), and a note under the
    panels says so."""
    n = len(matrices)
    if n == 0:
        raise ValueError("no matrices to plot")
    if counts is not None:  # the scale is set by the cells that are shown
        matrices = {k: m.mask(counts.reindex(index=m.index, columns=m.columns) < min_count)
                    for k, m in matrices.items()}
    ncols = min(ncols or (2 if n == 4 else 3), n)  # four panels as 2 x 2, no empty slot
    nrows = -(-n // ncols)
    size = 0.5 * max(len(m.columns) for m in matrices.values()) + 2.0
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size + 1.2, nrows * size + 0.6), squeeze=False)
    if difference:
        bound = max(float(abs(m).max().max()) for m in matrices.values()) or 1e-9
        scale = {"vmin": -bound, "vmax": bound, "center": 0.0, "cmap": "RdBu"}
        label = f"{value_label} difference (scale symmetric about 0, ±{bound:.2f})"
    else:
        low = min(float(m.min().min()) for m in matrices.values())
        high = max(float(m.max().max()) for m in matrices.values())
        low, high = np.floor(low * 10) / 10, np.ceil(high * 10) / 10
        scale = {"vmin": low, "vmax": high if high > low else low + 0.1, "center": None, "cmap": "viridis"}
        label = f"{value_label} (colour scale {scale['vmin']:.1f}-{scale['vmax']:.1f}, from the data)"
    fig.subplots_adjust(right=0.88, top=0.9 if title else 0.96, hspace=0.35, wspace=0.3)
    cbar_ax = fig.add_axes((0.9, 0.15, 0.015, 0.7))
    for i, (ax, (name, matrix)) in enumerate(zip(axes.flat, matrices.items())):
        map_heatmap(matrix, ax=ax, title=name, fmt=fmt, cbar=i == 0, cbar_ax=cbar_ax if i == 0 else None,
                    cbar_label=label, counts=counts, min_count=min_count, **scale)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if counts is not None:
        fig.text(0.5, 0.005, f"grey cells marked n=...: the pair rests on fewer than {min_count} questions, too few "
                 "to compare, so no value;\nblank cells: no question of that pair in these groups",
                 ha="center", va="bottom", fontsize=8, color="dimgrey")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def language_preference(
    shares: pd.DataFrame,
    *,
    title: str | None = None,
    k: int = 10,
) -> plt.Figure:
    """Stacked bars, one panel per sampler: for each query language, the share of each candidate language
    among the top-``k`` of the pooled ranking. ``shares`` is long: ``sampler``, ``query language``,
    ``candidate language``, ``share``."""
    samplers = list(dict.fromkeys(shares["sampler"]))
    langs = list(dict.fromkeys(shares["candidate language"]))
    palette = sns.color_palette("tab20")
    colours = dict(zip(langs, (palette[0::2] + palette[1::2])[: len(langs)]))  # the 10 strong colours first
    fig, axes = plt.subplots(len(samplers), 1, figsize=(8.0, 1.0 + 1.6 * len(samplers)), sharex=True,
                             squeeze=False)
    for ax, sampler in zip(axes[:, 0], samplers):
        table = shares[shares["sampler"] == sampler].pivot(
            index="query language", columns="candidate language", values="share")
        table = table.reindex(index=list(dict.fromkeys(shares["query language"])), columns=langs)
        table.plot.bar(stacked=True, ax=ax, color=[colours[c] for c in langs], width=0.85, legend=False)
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"{sampler}\nshare of top {k}", fontsize=8)
        ax.set_xlabel("query language")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[c]) for c in langs]
    fig.legend(handles, langs, title="candidate language", loc="center left", bbox_to_anchor=(1.0, 0.5),
               frameon=False, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def rank_distance_by_sampler(per_query: pd.DataFrame, *, ax: plt.Axes | None = None,
                             title: str | None = None) -> plt.Axes:
    """Box plots of the per-question rank distance per query language, one hue per sampler (long frame
    with ``sampler``, ``query_lang``, ``rank_distance``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(max(7.0, 0.9 * per_query["query_lang"].nunique()), 4.2))
    sns.boxplot(per_query, x="query_lang", y="rank_distance", hue="sampler", ax=ax, fliersize=1.0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("query language")
    ax.set_ylabel("rank distance per question")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        ax.set_title(title)
    return ax


def summary_panels(
    table: pd.DataFrame,
    *,
    x: str,
    hue: str,
    metrics: tuple[str, ...] = ("mono map", "cross map", "multi map", "rank distance"),
    kind: str = "line",
    title: str | None = None,
    logx: bool = False,
    reference: dict[str, float] | None = None,
    reference_label: str = "zero-shot",
) -> plt.Figure:
    """One panel per metric: its mean (``<metric> mean``) against ``x``, one line (or bar group) per ``hue``,
    with ± sd over seeds (``<metric> sd``) as error bars, the ticks at the data's own ``x`` values (on a log axis
    with ``logx``). ``table`` is one row per (x, hue), as from :func:`hybridlib.analysis.experiments.summaries`;
    ``reference`` (metric -> value) draws a dashed line per panel, labelled ``reference_label``."""
    if kind not in ("line", "bar"):
        raise ValueError(f"kind must be 'line' or 'bar', got {kind!r}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.4), squeeze=False)
    hues = list(dict.fromkeys(table[hue]))
    xs = list(dict.fromkeys(table[x]))
    palette = dict(zip(hues, sns.color_palette("tab10", len(hues))))
    width = 0.8 / max(1, len(hues))
    for ax, metric in zip(axes[0], metrics):
        for i, h in enumerate(hues):
            rows = table[table[hue] == h].set_index(x).reindex(xs)
            mean, sd = rows[f"{metric} mean"], rows.get(f"{metric} sd")
            err = None if sd is None else sd.fillna(0).to_numpy()
            if kind == "line":
                ax.errorbar(xs, mean.to_numpy(), yerr=err, marker="o", capsize=3, label=str(h), color=palette[h])
            else:
                pos = np.arange(len(xs)) + (i - (len(hues) - 1) / 2) * width
                ax.bar(pos, mean.to_numpy(), width, yerr=err, capsize=2, label=str(h), color=palette[h])
        if reference is not None and metric in reference:
            ax.axhline(reference[metric], color="grey", linestyle="--", linewidth=1, label=reference_label)
        if kind == "bar":
            ax.set_xticks(np.arange(len(xs)), [str(v) for v in xs])
        else:
            if logx:
                ax.set_xscale("log")
                ax.minorticks_off()
            ax.set_xticks(xs, [f"{v:g}" if isinstance(v, float) else str(v) for v in xs])
        name = metric.replace(" map", " mAP")
        ax.set_title(name)
        ax.set_ylabel(name if metric != "rank distance" else "mean rank distance (lower: less bias)")
        ax.set_xlabel(x)
    axes[0, -1].legend(fontsize=7, title=f"{hue}\n(error bars: ± sd over seeds)", title_fontsize=7,
                       loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def gain_bars(table: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """Gain in mAP over the zero-shot reference per setting, one bar per sampler, one panel per language group
    (``seen`` / ``unseen``), from :func:`hybridlib.analysis.experiments.seen_unseen`."""
    groups = list(dict.fromkeys(table["languages"]))
    fig, axes = plt.subplots(1, len(groups), figsize=(5.0 * len(groups), 3.6), sharey=True, squeeze=False)
    for ax, group in zip(axes[0], groups):
        sns.barplot(table[table["languages"] == group], x="setting", y="gain over zero-shot", hue="sampler", ax=ax)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(f"{group} query languages")
        ax.legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def domain_map(table: pd.DataFrame, vectors: np.ndarray, names: list[str], *, title: str | None = None) -> plt.Figure:
    """The articles (``table`` of :func:`hybridlib.analysis.domains.articles` with a ``domain`` column) on the first two
    principal components of their embeddings, coloured by domain (named by ``names``), one marker per dataset."""
    from sklearn.decomposition import PCA

    xy = PCA(n_components=2, random_state=0).fit_transform(vectors)
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    palette = sns.color_palette("tab10", len(names))
    markers = dict(zip(dict.fromkeys(table["dataset"]), "os^Dv"))
    for d, name in enumerate(names):
        for dataset, marker in markers.items():
            sel = (table["domain"].to_numpy() == d) & (table["dataset"].to_numpy() == dataset)
            ax.scatter(xy[sel, 0], xy[sel, 1], s=22 if dataset == table["dataset"].iloc[0] else 10, marker=marker,
                       color=palette[d], alpha=0.8, label=f"{d}: {name} ({dataset})")
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
              title="domain: nearest titles (dataset)", title_fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def gain_scatter(gains: pd.DataFrame, *, x: str = "cc100_share", title: str | None = None) -> plt.Figure:
    """Gain over the zero-shot model against a language's share of pretraining data (log scale), one panel per
    setting, one colour per sampler, one marker per dataset, each point labelled with its language."""
    settings = list(dict.fromkeys(gains["setting"]))
    samplers = list(dict.fromkeys(gains["sampler"]))
    palette = dict(zip(samplers, sns.color_palette("tab10", len(samplers))))
    markers = dict(zip(dict.fromkeys(gains["dataset"]), "os^Dv"))
    fig, axes = plt.subplots(1, len(settings), figsize=(4.3 * len(settings), 3.8), sharey=True, squeeze=False)
    for ax, setting in zip(axes[0], settings):
        rows = gains[gains["setting"] == setting]
        for (sampler, dataset), g in rows.groupby(["sampler", "dataset"], sort=False):
            ax.scatter(g[x], g["gain"], color=palette[sampler], marker=markers[dataset], s=24,
                       label=f"{sampler} ({dataset})")
            if sampler == samplers[-1]:
                for _, r in g.iterrows():
                    ax.annotate(r["language"], (r[x], r["gain"]), fontsize=6, xytext=(3, 2),
                                textcoords="offset points")
        ax.set_xscale("log")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(f"{setting} mAP")
        ax.set_xlabel("share of CC-100 (log scale)")
    axes[0, 0].set_ylabel("gain over zero-shot (mAP)")
    axes[0, -1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def margin_bars(tests: pd.DataFrame, *, hue: str, panel: str, label: str,
                title: str | None = None) -> plt.Figure:
    """The margins of paired tests (mAP per setting), one panel per value of ``panel``, one bar per ``hue``, a star
    over each bar whose p-value is below 0.05; ``label`` names what the margin is (``"domain - general"``)."""
    rows = tests[tests["metric"] == "map"]
    panels = list(dict.fromkeys(rows[panel]))
    hues = list(dict.fromkeys(rows[hue]))
    settings = list(dict.fromkeys(rows["setting"]))
    palette = dict(zip(hues, sns.color_palette("tab10", len(hues))))
    width = 0.8 / max(1, len(hues))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), sharey=True, squeeze=False)
    for ax, key in zip(axes[0], panels):
        for i, h in enumerate(hues):
            sel = rows[(rows[panel] == key) & (rows[hue] == h)].set_index("setting").reindex(settings)
            pos = np.arange(len(settings)) + (i - (len(hues) - 1) / 2) * width
            ax.bar(pos, sel["margin"].to_numpy(), width, color=palette[h], label=str(h))
            for x, m, p in zip(pos, sel["margin"], sel["p_value"]):
                if p < 0.05:
                    ax.annotate("*", (x, m), ha="center", va="bottom" if m >= 0 else "top", fontsize=10)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(np.arange(len(settings)), [f"{s} mAP" for s in settings])
        ax.set_title(f"{panel}: {key}")
    axes[0, 0].set_ylabel(f"{label} (mAP; *: p < 0.05)")
    axes[0, -1].legend(fontsize=7, title=hue, title_fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _model_colours(names: list[str]) -> dict[str, tuple]:
    """One colour per model label, the untuned model grey, the others tab10 in order (the same sampler the same
    colour in every panel of a figure)."""
    others = [n for n in names if n != "zero-shot"]
    colours = dict(zip(others, sns.color_palette("tab10", len(others))))
    return {"zero-shot": (0.6, 0.6, 0.6), **colours}


def afriqa_recall(table: pd.DataFrame, *, metric: str = "recall@20", title: str | None = None) -> plt.Figure:
    """AfriQA ``metric`` per question language, one bar per model (sampler), one panel for the native questions and
    one for their human translations (``table``: one row per ``query``, ``sampler`` and ``lang``)."""
    queries = list(dict.fromkeys(table["query"]))
    fig, axes = plt.subplots(1, len(queries), figsize=(6.0 * len(queries), 3.6), sharey=True, squeeze=False)
    names = {"question": "native question", "question_translated": "its human translation (translate-test)"}
    colours = _model_colours(list(dict.fromkeys(table["sampler"])))
    for ax, query in zip(axes[0], queries):
        sns.barplot(table[table["query"] == query], x="lang", y=metric, hue="sampler", palette=colours, ax=ax)
        ax.set_title(names.get(query, query))
        ax.set_xlabel("question language")
        ax.set_ylim(0, 1)
        ax.get_legend().remove()
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def published_beside(gap: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """Our F1 against the published one per language (``gap``: :func:`hybridlib.analysis.low_resource.conversion_gap`),
    the diagonal drawn, languages more than the threshold below it in red, each point labelled."""
    fig, ax = plt.subplots(figsize=(5.6, 5.0))
    colours = np.where(gap["conversion_suspect"], "tab:red", "tab:blue")
    ax.scatter(gap["published_f1"], gap["ours_f1"], c=colours, s=22)
    for _, r in gap.iterrows():
        ax.annotate(r["lang"], (r["published_f1"], r["ours_f1"]), fontsize=7, xytext=(3, 2), textcoords="offset points")
    low = float(min(gap["published_f1"].min(), gap["ours_f1"].min())) - 0.05
    ax.plot([low, 1], [low, 1], color="black", linewidth=0.8)
    ax.set_xlim(low, 1.01)
    ax.set_ylim(low, 1.01)
    ax.set_xlabel("published F1 (float32 original, mteb)")
    ax.set_ylabel("our F1 (4-bit weights dequantized)")
    ax.scatter([], [], c="tab:red", s=22, label="ours more than 0.05 below")
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def gains_by_resource(gains: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """Each sampler's gain over the untuned model per language, languages left to right from the scarcest in CC-100
    (those not in it first), one panel per ``data`` (``gains``: :func:`hybridlib.analysis.low_resource.gains_by_resource`
    rows with a ``data`` column); each tick names the language and its CC-100 size."""
    panels = list(dict.fromkeys(gains["data"]))
    widths = [gains.loc[gains["data"] == d, "lang"].nunique() for d in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(7.0, 0.42 * max(widths)), 3.4 * len(panels)), squeeze=False)
    for ax, d in zip(axes[:, 0], panels):
        rows = gains[gains["data"] == d]
        order = list(dict.fromkeys(rows["lang"]))
        sns.barplot(rows, x="lang", y="gain", hue="sampler", order=order, ax=ax,
                    palette=_model_colours(list(dict.fromkeys(gains["sampler"]))))
        sizes = rows.drop_duplicates("lang").set_index("lang")["resource"]
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels([f"{lang}\n{sizes[lang].replace('not in CC-100', 'none').replace(' GiB', '')}"
                            for lang in order], fontsize=7)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(f"{d}: gain over the untuned model (tick: language, CC-100 GiB)", fontsize=9)
        ax.set_xlabel("")
        ax.legend(fontsize=7, frameon=False, ncols=3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
