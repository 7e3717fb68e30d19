"""Figures and tables of the companion: seaborn plots and atomic PNG / PDF / CSV / Markdown writers."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from . import _io
from .paths import project_path


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
) -> plt.Axes:
    """Annotated heatmap of a query language x candidate language matrix (mAP by default)."""
    if ax is None:
        size = 0.55 * len(matrix.columns) + 2.0
        _, ax = plt.subplots(figsize=(size + 1.2, size))
    sns.heatmap(matrix, ax=ax, annot=True, fmt=fmt, vmin=vmin, vmax=vmax, center=center, cmap=cmap,
                square=True, linewidths=0.5, cbar_kws={"shrink": 0.8}, annot_kws={"fontsize": 8})
    ax.set_xlabel(matrix.columns.name or "candidate language")
    ax.set_ylabel(matrix.index.name or "query language")
    if title:
        ax.set_title(title)
    return ax


def rank_distance_bars(table: pd.DataFrame, *, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Grouped bars of mean rank distance per query language (rows) for each model / source (columns)."""
    long = table.reset_index(names="query language").melt(
        id_vars="query language", var_name="model", value_name="rank distance"
    ).dropna()
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(table)), 4.0))
    sns.barplot(long, x="query language", y="rank distance", hue="model", ax=ax)
    ax.set_yscale("log")
    ax.set_ylabel("mean rank distance (log scale; lower = less bias)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def rank_distance_distribution(
    per_query: pd.DataFrame, *, ax: plt.Axes | None = None, title: str | None = None
) -> plt.Axes:
    """Box plot of the per-question rank distance for each query language (multi rows of ``per_query``)."""
    multi = per_query[per_query["setting"] == "multi"]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 0.6 * multi["query_lang"].nunique()), 4.0))
    sns.boxplot(multi, x="query_lang", y="rank_distance", ax=ax, color="#8fb3d9", fliersize=1.5)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel("query language")
    ax.set_ylabel("rank distance per question")
    if title:
        ax.set_title(title)
    return ax


def save_figure(fig: plt.Figure, name: str, figures_dir: str | os.PathLike[str] = "figures") -> list[Path]:
    """Write ``fig`` as ``<figures_dir>/<name>.png`` and ``.pdf`` (atomically); returns the paths."""
    folder = project_path(figures_dir)
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
    folder = project_path(figures_dir)
    flat = table.copy()
    if isinstance(flat.columns, pd.MultiIndex):
        flat.columns = [" ".join(map(str, c)).strip() for c in flat.columns]
    show_index = not isinstance(flat.index, pd.RangeIndex)
    csv_path, md_path = folder / f"{name}.csv", folder / f"{name}.md"
    _io.write_text(csv_path, flat.to_csv(index=show_index, float_format="%.6g"))
    _io.write_text(md_path, flat.to_markdown(index=show_index, floatfmt=floatfmt) + "\n")
    return [csv_path, md_path]


def alpha_curve(table: pd.DataFrame, *, ax: plt.Axes | None = None, title: str | None = None,
                metrics: tuple[str, ...] = ("mono_map", "cross_map", "multi_map")) -> plt.Axes:
    """Validation mAP against alpha, one line per setting, mean and standard deviation over seeds."""
    long = table.melt(id_vars=["alpha", "seed"], value_vars=list(metrics), var_name="setting", value_name="mAP")
    long["setting"] = long["setting"].str.replace("_map", "")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    sns.lineplot(long, x="alpha", y="mAP", hue="setting", marker="o", errorbar="sd", ax=ax)
    ax.set_xlabel("alpha (share of X-X-mono batches)")
    ax.set_ylabel("validation mAP")
    if title:
        ax.set_title(title)
    return ax


def loss_curves(curves: pd.DataFrame, *, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Training loss per step, one line per sampler, mean and standard deviation over seeds."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    sns.lineplot(curves.dropna(subset=["loss"]), x="step", y="loss", hue="sampler", errorbar="sd", ax=ax)
    ax.set_ylabel("training loss (InfoNCE, in-batch negatives)")
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
