"""The numbers the paper (arXiv 2408.10536) reports, for side-by-side tables.

``resources/reported_results.csv`` is a copy of ``shared/paper/reported_results.csv``: one number per row,
columns ``table, model, sampler, dataset, setting, query_lang, metric, value``. The paper's second metric
block is headed "R@1 / R@10" without saying which is which; R@1 for mono and cross and R@10 for multi is the
reading that fits its numbers, and it is an inference.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from io import StringIO

import pandas as pd

from hybridlib.batching.samplers import kind_label

PAPER_SCALE = "paper (fine-tuned, batch 100, A100)"


@lru_cache(maxsize=1)
def _reported() -> pd.DataFrame:
    text = resources.files("hybridlib").joinpath("resources/reported_results.csv").read_text(encoding="utf-8")
    return pd.read_csv(StringIO(text), keep_default_na=False, dtype={"value": float})


def reported_results() -> pd.DataFrame:
    """Every number the paper reports, in long format (a fresh copy)."""
    return _reported().copy()


def reports(dataset: str) -> bool:
    """Whether the paper reports LAReQA numbers for ``dataset`` (XQuAD-R and MLQA-R; not a set of one's own)."""
    return bool((_reported().dataset == dataset).any())


def paper_summary(dataset: str) -> pd.DataFrame:
    """The paper's macro averages (the ``mean`` rows of Tables 3-6) in :meth:`summary_frame`'s columns.

    One row per (model, sampler); the metrics the paper does not report are missing (nan), and the
    rank distance comes from Tables 7-8.
    """
    rr = _reported()
    rows = rr[(rr.dataset == dataset) & (rr.query_lang == "mean")]
    if rows.empty:
        raise ValueError(f"the paper reports no LAReQA numbers for {dataset!r}")
    out = []
    for (model, sampler), g in rows.groupby(["model", "sampler"], sort=False):
        row = {"dataset": dataset, "model": f"{model} (paper)", "sampler": kind_label(sampler),
               "scale": PAPER_SCALE}
        for _, r in g.iterrows():
            name = "rank distance" if r.metric == "rank_distance" else f"{r.setting} {r.metric.lower()}"
            row[name] = r.value
        out.append(row)
    return pd.DataFrame(out)


def paper_rank_distance(dataset: str) -> pd.DataFrame:
    """Rank distance per query language (rows, with ``mean``) for each model and sampler (columns)."""
    rr = _reported()
    rows = rr[(rr.dataset == dataset) & (rr.metric == "rank_distance")]
    if rows.empty:
        raise ValueError(f"the paper reports no rank distance for {dataset!r}")
    rows = rows.assign(column=rows.model + " " + rows.sampler.map(kind_label) + " (paper)")
    table = rows.pivot(index="query_lang", columns="column", values="value")
    order = [l for l in rows.query_lang.unique() if l != "mean"] + ["mean"]
    return table.reindex(index=order, columns=list(rows.column.unique()))


def beside_paper(ours: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Our summary rows (from :meth:`LareqaEvaluation.summary_frame`) above the paper's, in common columns."""
    table = pd.concat([ours, paper_summary(dataset)], ignore_index=True)
    labels = ["dataset", "model", "sampler", "scale"]
    metrics = [c for c in table.columns if c not in labels]
    settings = {"mono": 0, "cross": 1, "multi": 2}
    metrics.sort(key=lambda c: (c == "rank distance", c.split(" ")[-1], settings.get(c.split(" ")[0], 3)))
    return table[[c for c in labels if c in table.columns] + metrics]


def mean_discrepancies(tolerance: float = 6e-4, rank_tolerance: float = 0.06) -> pd.DataFrame:
    """Cells of Tables 3-8 whose printed ``mean`` differs from the mean of its per-language rows.

    The paper prints 4 decimals (rank distance: 1), so a difference within rounding is expected; larger ones
    are listed with both values. Used to check the transcription and to report the paper's own slips.
    """
    rr = _reported()
    rr = rr[rr.dataset.isin(["xquad-r", "mlqa-r"])]
    rows = []
    for key, g in rr.groupby(["table", "model", "sampler", "dataset", "setting", "metric"], sort=False):
        printed = g.loc[g.query_lang == "mean", "value"]
        per_language = g.loc[g.query_lang != "mean", "value"]
        if len(printed) != 1 or per_language.empty:
            continue
        diff = per_language.mean() - printed.item()
        tol = rank_tolerance if key[-1] == "rank_distance" else tolerance
        rows.append((*key, len(per_language), per_language.mean(), printed.item(), diff, abs(diff) > tol))
    cols = ["table", "model", "sampler", "dataset", "setting", "metric", "n_languages", "mean_of_rows",
            "printed_mean", "difference", "beyond_rounding"]
    return pd.DataFrame(rows, columns=cols)
