"""The questions the paper leaves open (notebook 06): unseen languages, training-data scale, machine- versus
human-translated training data, and the best alpha when data is small.

Plain data in, plain data out: training sets are ``datasets.Dataset`` pair tables (:mod:`hybridlib.data.pairs`), results
are :class:`~hybridlib.analysis.comparison.RunEvaluations` and pandas tables. The training-heavy questions use the
static-embedding grid model of notebook 02 (fast enough for grids of seeds on CPU; labelled as such).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hybridlib.analysis import comparison
from hybridlib.analysis.comparison import REFERENCE, RunEvaluations, label
from hybridlib.batching.samplers import PROPOSED
from hybridlib.data import pairs
from hybridlib.scoring.evaluate import SETTINGS


def subsample_groups(dataset, fraction: float | None = None, seed: int = 0, *, n_groups: int | None = None):
    """The rows of a random ``fraction`` (or of ``n_groups``) of ``dataset``'s parallel groups (whole groups, every
    language kept); all of it when ``n_groups`` is at least the number of groups."""
    if (fraction is None) == (n_groups is None):
        raise ValueError("give exactly one of fraction and n_groups")
    if fraction is not None and not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if n_groups is not None and n_groups < 1:
        raise ValueError(f"n_groups must be positive, got {n_groups}")
    groups = np.array(sorted(set(dataset["group_id"])))
    if fraction == 1.0 or (n_groups is not None and n_groups >= len(groups)):
        return dataset
    n = n_groups if n_groups is not None else max(1, int(round(fraction * len(groups))))
    return select_groups(dataset, np.random.default_rng(seed).permutation(groups)[:n].tolist())


def select_groups(dataset, groups: Sequence[str]):
    """The rows of a pair dataset whose ``group_id`` is in ``groups``, in their order, keeping the dataset's
    record of its sources; raises when none is there."""
    keep = set(map(str, groups))
    subset = dataset.select(np.flatnonzero([g in keep for g in dataset["group_id"]]))
    if len(subset) == 0:
        raise ValueError(f"none of the {len(keep)} groups asked for is in the training set")
    subset.info.description = dataset.info.description
    return subset


def human_and_mt_sets(dataset, target: str = "es", *, pivot: str = "en", backend=None, model: str | None = None,
                      cache=pairs.mt.DEFAULT_CACHE, progress: bool = True) -> dict[str, pd.DataFrame]:
    """Two bilingual training pair tables over the same groups: every group with a human ``pivot`` and ``target``
    version, its ``pivot`` and human ``target`` rows (``"human"``), and its ``pivot`` rows with ``backend``'s
    translation as the ``target`` rows (key: the backend's name). Other languages are left out, so that the two
    differ only in where the ``target`` text came from."""
    groups = pairs.groups_from_pairs(dataset.to_pandas() if hasattr(dataset, "to_pandas") else dataset)
    human = groups[groups["source"] == pairs.HUMAN]
    have = set(human.loc[human["lang"] == target, "group_id"]) & set(human.loc[human["lang"] == pivot, "group_id"])
    if not have:
        raise ValueError(f"no group has both a human {pivot} and a human {target} translation")
    human = human[human["group_id"].isin(have) & human["lang"].isin([pivot, target])]
    translated, report = pairs.augment_with_mt(human[human["lang"] != target], [target],
                                               backend=backend or "apertium", model=model, pivot=pivot,
                                               cache=cache, progress=progress)
    dropped = set(have) - set(translated.loc[translated["lang"] == target, "group_id"])
    human = human[~human["group_id"].isin(dropped)]  # the same groups on both sides
    translated = translated[~translated["group_id"].isin(dropped)]
    name = str(report["backend"].iloc[0])
    return {pairs.HUMAN: pairs.pairs_from_groups(human), name: pairs.pairs_from_groups(translated)}


def seen_unseen(compared: RunEvaluations, seen: Sequence[str]) -> pd.DataFrame:
    """Per sampler, setting and query-language group (``seen`` in training or not): mean mAP over the group's
    query languages (mean over seeds) and its gain over the zero-shot reference."""
    long = compared.by_query_language()
    long = long[(long["metric"] == "map") & (long["query_lang"] != "mean")].copy()
    long["languages"] = np.where(long["query_lang"].isin(list(seen)), "seen", "unseen")
    table = long.groupby(["sampler", "languages", "setting"], sort=False)["mean"].mean().rename("map").reset_index()
    reference = table[table["sampler"] == label(REFERENCE)].set_index(["languages", "setting"])["map"]
    table["gain over zero-shot"] = table["map"] - reference.reindex(
        pd.MultiIndex.from_frame(table[["languages", "setting"]])).to_numpy()
    return table


def seen_unseen_tests(compared: RunEvaluations, seen: Sequence[str], *, n_resamples: int = 10_000) -> pd.DataFrame:
    """Hybrid against each baseline, separately on the questions in seen and in unseen query languages, in
    every setting: margin and paired randomization p-value."""
    groups = {"seen": [lang for lang in compared.languages if lang in set(seen)],
              "unseen": [lang for lang in compared.languages if lang not in set(seen)]}
    rows = []
    for group, langs in groups.items():
        if not langs:
            continue
        for base in compared.samplers:
            if base == PROPOSED:
                continue
            for setting in SETTINGS:
                res = compared.compare(PROPOSED, base, setting, query_languages=langs, n_resamples=n_resamples)
                rows.append({"languages": group, "baseline": label(base), "setting": setting, **res})
    return pd.DataFrame(rows)


def summaries(conditions: dict[object, RunEvaluations], name: str) -> pd.DataFrame:
    """The :meth:`RunEvaluations.summary` of each condition (a data fraction, a data variant, ...), stacked with
    the condition in a column called ``name``: one row per condition and sampler."""
    frames = []
    for key, compared in conditions.items():
        frames.append(comparison.flat_columns(compared.summary()).reset_index().assign(**{name: key}))
    table = pd.concat(frames, ignore_index=True)
    return table[[name, "sampler", *[c for c in table.columns if c not in (name, "sampler")]]]


def tests_per_condition(conditions: dict[object, RunEvaluations], name: str, *,
                        n_resamples: int = 10_000) -> pd.DataFrame:
    """Hybrid against each baseline in each condition (:meth:`RunEvaluations.significance`), stacked."""
    return pd.concat([c.significance(n_resamples=n_resamples).assign(**{name: key})
                      for key, c in conditions.items() if PROPOSED in c.samplers], ignore_index=True)


def variant_tests(conditions: dict[str, RunEvaluations], a: str, b: str, *,
                  n_resamples: int = 10_000) -> pd.DataFrame:
    """Each sampler trained on data variant ``a`` against the same sampler trained on ``b`` (evaluated on the
    same questions), per setting and on rank distance."""
    rows = []
    for sampler in [s for s in conditions[a].samplers if s != REFERENCE]:  # the untuned model is the same on both
        for setting, metric in [(s, "map") for s in SETTINGS] + [("multi", "rank_distance")]:
            res = comparison.compare_between(conditions[a], sampler, conditions[b], sampler, setting, metric,
                                             n_resamples=n_resamples)
            rows.append({"sampler": label(sampler), "setting": setting, "metric": metric,
                         a: res["value"], b: res["baseline_value"], "margin": res["margin"],
                         "p_value": res["p_value"]})
    return pd.DataFrame(rows)


def best_alpha(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """For each value of ``by`` and each setting, the alpha with the highest mean mAP (``table`` as from
    :func:`summaries` with an ``alpha`` sampler label per row)."""
    rows = []
    for key, g in table.groupby(by, sort=False):
        for setting in SETTINGS:
            best = g.loc[g[f"{setting} map mean"].idxmax()]
            rows.append({by: key, "setting": setting, "best alpha": best["alpha"],
                         "map": best[f"{setting} map mean"]})
    return pd.DataFrame(rows)


def best_alpha_tests(best: pd.DataFrame, conditions: dict[object, RunEvaluations], by: str, *,
                     reference: float = 0.5, n_resamples: int = 10_000) -> pd.DataFrame:
    """:func:`best_alpha` with the p-value of each best alpha against ``reference`` (the paper's 0.5) on the same
    questions (NaN where the best is the reference)."""
    p_values = [conditions[r[by]].compare(f"{r['best alpha']:g}", f"{reference:g}", r["setting"],
                                          n_resamples=n_resamples)["p_value"]
                if r["best alpha"] != reference else float("nan") for _, r in best.iterrows()]
    return best.assign(**{f"p vs alpha {reference:g}": p_values})


def as_training_set(table: pd.DataFrame, sources: Sequence[str]):
    """A pair table as a ``datasets.Dataset`` that records its ``sources`` (as notebook 01's training set does)."""
    import json

    from datasets import Dataset

    dataset = Dataset.from_pandas(table[pairs.PAIR_COLUMNS].reset_index(drop=True), preserve_index=False)
    dataset.info.description = json.dumps({"sources": list(sources)})
    return dataset


def by_alpha(runs: pd.DataFrame) -> pd.DataFrame:
    """Hybrid runs relabelled by their alpha (``sampler`` = ``"0.5"``), so that summaries group by alpha."""
    return runs.assign(sampler=[f"{a:g}" for a in runs["alpha"]])


def tally(tests: pd.DataFrame, ahead: str, behind: str, *, level: float = 0.05) -> str:
    """One sentence that counts paired tests (rows with ``metric``, ``margin``, ``p_value``; a positive margin puts
    ``ahead`` ahead on mAP, and behind on rank distance, where lower is better): in how many ``ahead`` wins beyond
    chance, in how many ``behind`` does, and how many are ties."""
    better = np.where(tests["metric"] == "rank_distance", -tests["margin"], tests["margin"])
    significant = tests["p_value"].to_numpy() < level
    wins, losses = int((significant & (better > 0)).sum()), int((significant & (better < 0)).sum())
    return (f"{ahead} is ahead beyond chance (p < {level:g}) in {wins} of {len(tests)} comparisons, {behind} in "
            f"{losses}, neither in {len(tests) - wins - losses}.")
