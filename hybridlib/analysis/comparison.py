"""Comparing samplers: every trained run evaluated on LAReQA, mean +- sd over seeds, paired tests, verdicts.

The paper reports one run per sampler and no significance test. Here each sampler has several seeds: tables
give the mean and the standard deviation over seeds, and a paired randomization test on per-question scores
(each question's AP, r@k or rank distance averaged over the seeds of each sampler) says whether hybrid's margin
over a baseline is larger than swapping the two samplers' labels question by question would give.

Example::

    runs = find_runs(specs, splits["train"], config="default", models_dir="build/models")
    compared = comparison.evaluate_runs(runs, "xquad-r", max_groups=240, cache_dir="build/cache/embeddings")
    compared.summary()            # one row per sampler: mean and sd of every setting's metrics
    compared.significance()       # hybrid against each baseline, per setting, with p-values
    comparison.verdicts(compared) # the paper's claims, each with margin, p-value and whether we agree
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from hybridlib.analysis import paper
from hybridlib.batching.samplers import PROPOSED, XY, XXMono, kind_label
from hybridlib.data.pairs import load_training_set, training_set_path
from hybridlib.models.encoder import load_encoder, model_record, prompts_for, resolve_model
from hybridlib.models.leakage import LeakageError, guard_evaluation
from hybridlib.models.runs import TrainConfig, find_runs, run_grid
from hybridlib.scoring.evaluate import SETTINGS, LareqaEvaluation
from hybridlib.scoring.results import score_lareqa
from hybridlib.scoring.validation import validation_evaluation, validation_metrics

REFERENCE = "zero-shot"  # sampler label of the untuned encoder's row
KEYS = ["setting", "query_lang", "cand_lang", "qid"]
HIGHER_IS_BETTER = {"map": True, "r@1": True, "r@10": True, "rank_distance": False}

# The paper's claims about hybrid batches (its abstract and Section 5): (baseline, setting, metric, claim).
CLAIMS = (
    (XXMono.name, "mono", "map", "hybrid >= X-X-mono on mono mAP"),
    (XY.name, "cross", "map", "hybrid >= X-Y on cross mAP"),
    (XY.name, "multi", "map", "hybrid >= X-Y on multi mAP"),
    (XXMono.name, "multi", "rank_distance", "hybrid lowers rank distance against X-X-mono"),
)


def label(sampler: str) -> str:
    """The paper's name of a sampler (``xx-mono`` -> ``X-X-mono``; the reference keeps its own)."""
    return kind_label(sampler)


@dataclass
class RunEvaluations:
    """Evaluations of several runs on one dataset: ``runs`` has ``run``, ``sampler``, ``seed`` (one row per
    model, the zero-shot reference included as sampler ``"zero-shot"``); ``evaluations`` maps run to result."""

    dataset: str
    runs: pd.DataFrame
    evaluations: dict[str, LareqaEvaluation]
    _per_query: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)

    @property
    def samplers(self) -> list[str]:
        return list(dict.fromkeys(self.runs["sampler"]))

    @property
    def languages(self) -> list[str]:
        return next(iter(self.evaluations.values())).languages

    def _of(self, sampler: str) -> list[LareqaEvaluation]:
        """The evaluations of ``sampler``'s runs (one per seed)."""
        rows = self.runs[self.runs["sampler"] == sampler]
        if rows.empty:
            raise ValueError(f"no run of sampler {sampler!r}; have {self.samplers}")
        return [self.evaluations[run] for run in rows["run"]]

    def _seed_mean(self, sampler: str, get: Callable[[LareqaEvaluation], Any]) -> Any:
        """``get(evaluation)`` (a frame or series) averaged over the seeds of ``sampler``."""
        values = [get(ev) for ev in self._of(sampler)]
        return sum(values[1:], values[0]) / len(values)

    def per_run(self) -> pd.DataFrame:
        """One row per run: sampler, seed and the summary of every setting (``mono map`` ..., ``rank distance``)."""
        frames = [ev.summary_frame(sampler=r.sampler, seed=str(r.seed), run=r.run)
                  for r in self.runs.itertuples() for ev in [self.evaluations[r.run]]]
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Per sampler (rows), mean and sd over seeds of every summary metric (columns ``(metric, mean|sd)``)."""
        table = self.per_run().drop(columns=["dataset", "model", "seed", "run"])
        out = table.groupby("sampler", sort=False).agg(["mean", "std"])
        out = out.rename(columns={"std": "sd"}, level=1)
        out.index = [label(s) for s in out.index]
        out.index.name = "sampler"
        return out

    def per_query(self, sampler: str) -> pd.DataFrame:
        """Per-question scores of ``sampler``, averaged over its seeds (one row per setting, pair and question);
        computed once per sampler, as every test reads it (the frame is shared: copy it before changing it)."""
        if sampler not in self._per_query:
            frames = [ev.per_query for ev in self._of(sampler)]
            metrics = [c for c in frames[0].columns if c in ("ap", "rank_distance") or c.startswith("r@")]
            stacked = pd.concat(frames, ignore_index=True)
            self._per_query[sampler] = stacked.groupby(KEYS, sort=False)[metrics].mean().reset_index()
        return self._per_query[sampler]

    def matrix(self, sampler: str, metric: str = "map") -> pd.DataFrame:
        """Query language x candidate language ``metric``, mean over the seeds of ``sampler``."""
        return self._seed_mean(sampler, lambda ev: ev.matrix(metric))

    def question_counts(self) -> pd.DataFrame:
        """How many questions each language pair's mAP rests on (every model is scored on the same questions)."""
        return self._of(self.samplers[0])[0].question_counts()

    def language_preference(self, sampler: str, k: int = 10) -> pd.DataFrame:
        """Share of each candidate language among the top ``k`` pooled candidates, mean over seeds."""
        return self._seed_mean(sampler, lambda ev: ev.language_preference(k))

    def by_query_language(self) -> pd.DataFrame:
        """Long table of the paper's Tables 3-6 layout: sampler, query language (and ``mean``), setting,
        metric, mean and sd over seeds."""
        rows = []
        for sampler in self.samplers:
            stacked = pd.concat([_long(ev.by_query_language()) for ev in self._of(sampler)])
            agg = stacked.groupby(["query_lang", "setting", "metric"], sort=False)["value"].agg(["mean", "std"])
            rows.append(agg.rename(columns={"std": "sd"}).reset_index().assign(sampler=label(sampler)))
        cols = ["sampler", "query_lang", "setting", "metric", "mean", "sd"]
        return pd.concat(rows, ignore_index=True)[cols]

    def rank_distance(self) -> pd.DataFrame:
        """Mean rank distance per query language (rows, with ``mean``) and sampler (columns), mean over seeds."""
        return pd.DataFrame({label(s): self._seed_mean(s, lambda ev: ev.rank_distance) for s in self.samplers})

    def differences(self, sampler: str = PROPOSED) -> dict[str, pd.DataFrame]:
        """``sampler``'s mAP matrix minus each other sampler's (means over seeds), keyed ``"hybrid - X-Y"``; empty
        when ``sampler`` was not run."""
        if sampler not in self.samplers:
            return {}
        return {f"{label(sampler)} - {label(b)}": self.matrix(sampler) - self.matrix(b)
                for b in self.samplers if b != sampler}

    def rank_distance_table(self) -> pd.DataFrame:
        """Per query language (and ``mean``): the ``floor`` and ``random`` reference levels of this pool, every
        sampler's mean rank distance (over seeds) and the paper's values for the dataset (on its full pool)."""
        from hybridlib.analysis.paper import paper_rank_distance
        from hybridlib.scoring.bias import reference_levels

        ref = self.evaluations[REFERENCE] if REFERENCE in self.evaluations else next(iter(self.evaluations.values()))
        multi = ref.per_query[ref.per_query.setting == "multi"]
        levels = reference_levels(multi, ref.meta["n_candidates"], self.languages)
        reported = [paper_rank_distance(self.dataset).reindex(levels.index)] if paper.reports(self.dataset) else []
        return pd.concat([levels, self.rank_distance(), *reported], axis=1)

    def rank_distance_sd(self) -> pd.DataFrame:
        """Standard deviation over seeds of the mean rank distance, laid out as :meth:`rank_distance` (NaN for a
        sampler with one seed)."""
        return pd.DataFrame({label(s): pd.concat([ev.rank_distance for ev in self._of(s)], axis=1).std(axis=1)
                             for s in self.samplers})

    def rank_distance_per_question(self) -> pd.DataFrame:
        """Per-question rank distance (mean over seeds) of every sampler: ``sampler``, ``query_lang``, ``qid``,
        ``rank_distance``."""
        frames = []
        for sampler in self.samplers:
            pq = self.per_query(sampler)
            pq = pq[pq["setting"] == "multi"][["query_lang", "qid", "rank_distance"]]
            frames.append(pq.assign(sampler=label(sampler)))
        return pd.concat(frames, ignore_index=True)

    def language_preferences(self, k: int = 10) -> pd.DataFrame:
        """:meth:`language_preference` of every sampler, long: ``sampler``, ``query language``,
        ``candidate language``, ``share``."""
        frames = []
        for sampler in self.samplers:
            shares = self.language_preference(sampler, k)
            long = shares.stack().rename("share").reset_index()
            frames.append(long.assign(sampler=label(sampler)))
        return pd.concat(frames, ignore_index=True)[["sampler", "query language", "candidate language", "share"]]

    def compare(self, sampler: str, baseline: str, setting: str, metric: str = "map", *,
                query_languages: Sequence[str] | None = None, n_resamples: int = 10_000,
                seed: int = 0) -> dict[str, float]:
        """``sampler`` against ``baseline`` in one setting (optionally only the questions in ``query_languages``):
        both values, the margin and the paired randomization test's p-value (:func:`compare_between`)."""
        return compare_between(self, sampler, self, baseline, setting, metric, query_languages=query_languages,
                               n_resamples=n_resamples, seed=seed)

    def significance(self, sampler: str = PROPOSED, baselines: Sequence[str] | None = None, *,
                     n_resamples: int = 10_000, seed: int = 0) -> pd.DataFrame:
        """``sampler`` against each trained baseline in every setting (mAP) and on rank distance."""
        baselines = [b for b in (baselines or self.samplers) if b not in (sampler, REFERENCE)]
        tests = [(s, "map") for s in SETTINGS] + [("multi", "rank_distance")]
        rows = []
        for base, (setting, metric) in itertools.product(baselines, tests):
            res = self.compare(sampler, base, setting, metric, n_resamples=n_resamples, seed=seed)
            rows.append({"sampler": label(sampler), "baseline": label(base), "setting": setting,
                         "metric": metric, **res})
        return pd.DataFrame(rows)


def compare_between(a: RunEvaluations, sampler_a: str, b: RunEvaluations, sampler_b: str, setting: str,
                    metric: str = "map", *, query_languages: Sequence[str] | None = None,
                    n_resamples: int = 10_000, seed: int = 0) -> dict[str, float]:
    """``sampler_a`` of ``a`` against ``sampler_b`` of ``b``, evaluated on the same questions (two samplers of one
    comparison, or one sampler trained on two data sets): both values, the margin and the p-value."""
    column = "ap" if metric == "map" else metric
    frames = []
    for compared, sampler in ((a, sampler_a), (b, sampler_b)):
        pq = compared.per_query(sampler)
        keep = pq["setting"] == setting
        if query_languages is not None:
            keep &= pq["query_lang"].isin(list(query_languages))
        frames.append(pq[keep])
    test = paired_randomization_test(frames[0], frames[1], column, n_resamples=n_resamples, seed=seed)
    return {"value": test["mean_a"], "baseline_value": test["mean_b"], "margin": test["difference"],
            "p_value": test["p_value"], "n_questions": test["n_units"]}


def validation_runs(runs: pd.DataFrame, validation, *, progress: bool = True) -> RunEvaluations:
    """Every run (rows of :func:`train.train_runs`) evaluated on held-out validation pairs
    (:func:`hybridlib.scoring.validation.validation_evaluation`) with the prefixes it was trained with, as a
    :class:`RunEvaluations`."""
    table = validation.to_pandas() if hasattr(validation, "to_pandas") else validation
    evaluations = {}
    for r in tqdm(list(runs.itertuples()), desc="validation", disable=not progress):
        query_prefix, passage_prefix = prompts_for(r.path)
        evaluations[r.run] = validation_evaluation(load_encoder(r.path), table, query_prefix=query_prefix,
                                                   passage_prefix=passage_prefix)
    return RunEvaluations("validation", runs[["run", "sampler", "seed", "path"]].reset_index(drop=True),
                          evaluations)


def validation_table(runs: pd.DataFrame, validation) -> pd.DataFrame:
    """The validation metrics (:func:`hybridlib.scoring.validation.validation_metrics`) of every trained run (rows of
    :func:`train.train_runs`), one row per run, each run scored with the prefixes it was trained with."""
    evaluations = validation_runs(runs, validation, progress=False).evaluations
    return pd.DataFrame([{"run": run.run, "sampler": run.sampler, "alpha": run.alpha, "seed": run.seed,
                          **validation_metrics(evaluations[run.run])} for run in runs.itertuples()])


def compare_samplers(
    directions: dict[str, str],
    *,
    training_dir: str,
    models_dir: str,
    train_config: str,
    samplers: Sequence[str],
    seeds: Sequence[int],
    alpha: float = 0.5,
    precision: str = "fp32",
    **kwargs,
) -> dict[str, RunEvaluations]:
    """Notebooks 04-06's evaluation: for each evaluation set and the training source it is paired with in
    ``directions`` (``{"xquad-r": "mlqa-r", "mlqa-r": "xquad-r"}``: XQuAD-R scores the models trained on MLQA-R, and
    the reverse), the runs notebook 03 trained (``samplers`` x ``seeds``, ``train_config``) on that source's
    training set under ``training_dir``, with the zero-shot reference, every model trained and scored at
    ``precision`` (the scale's). ``kwargs`` go to :func:`evaluate_runs`. Every direction's runs are found before
    the first encoding starts."""
    config = TrainConfig.load(train_config, precision=precision)
    specs = run_grid(samplers, seeds, [alpha])
    runs = {}
    for dataset, source in directions.items():
        if dataset == source:
            raise LeakageError(f"{dataset} cannot be scored by models trained on itself: pair it with another source")
        train_set = load_training_set(training_set_path(training_dir, source))["train"]
        runs[dataset] = find_runs(specs, train_set, config=config, models_dir=models_dir)
    return {dataset: evaluate_runs(runs[dataset], dataset, precision=precision, **kwargs) for dataset in directions}


def seed_summary(scores: pd.DataFrame, by: str = "sampler",
                 metrics: Sequence[str] = ("mono_map", "cross_map", "multi_map", "rank_distance")) -> pd.DataFrame:
    """Mean and sd over seeds of per-run ``metrics`` (rows of :func:`validation_table`), one row
    per value of ``by`` in order of appearance, samplers under the paper's names."""
    table = scores.groupby(by, sort=False)[list(metrics)].agg(["mean", "std"])
    return table.rename(index=label) if by == "sampler" else table


def summary_table(compared: RunEvaluations, tests: pd.DataFrame) -> pd.DataFrame:
    """The summary (mean and sd per sampler) flattened to ``<metric> mean|sd`` columns, with each baseline's
    p-value against hybrid per setting (columns ``p <setting> map``, ``p rank distance``)."""
    summary = flat_columns(compared.summary())
    for (setting, metric), sel in tests.groupby(["setting", "metric"], sort=False):
        name = "p rank distance" if metric == "rank_distance" else f"p {setting} {metric}"
        summary[name] = sel.set_index("baseline")["p_value"].reindex(summary.index)
    return summary


def flat_columns(summary: pd.DataFrame) -> pd.DataFrame:
    """:meth:`RunEvaluations.summary` with its ``(metric, mean|sd)`` columns named ``<metric> mean|sd``."""
    summary = summary.copy()
    summary.columns = [f"{metric} {stat}" for metric, stat in summary.columns]
    return summary


def beside_paper_by_language(ours: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Our :meth:`RunEvaluations.by_query_language` rows with the paper's value for the same sampler, query
    language, setting and metric, one column per paper model (empty where the paper reports none)."""
    if not paper.reports(dataset):  # a set of one's own: nothing to put beside
        return ours
    reported = paper_by_query_language(dataset).pivot_table(
        index=["sampler", "query_lang", "setting", "metric"], columns="model", values="mean")
    reported.columns.name = None
    return ours.merge(reported.reset_index(), on=["sampler", "query_lang", "setting", "metric"], how="left")


def _long(table: pd.DataFrame) -> pd.DataFrame:
    """A (setting, metric)-column table per query language as long rows with a ``value`` column."""
    table = table.copy()
    table.columns = table.columns.set_names(["setting", "metric"])
    return table.stack(["setting", "metric"], future_stack=True).rename("value").reset_index()


def evaluate_runs(
    runs: pd.DataFrame,
    dataset: str,
    *,
    reference: str | None = "default",
    max_seq_length: int | None = None,
    progress: bool = True,
    **kwargs,
) -> RunEvaluations:
    """Evaluate every run (rows with ``run``, ``sampler``, ``seed``, ``path``, as :func:`hybridlib.models.runs.find_runs`
    gives) and the untuned ``reference`` encoder (None to leave it out) on ``dataset``, each with its own prefixes
    (its model record, :func:`hybridlib.models.encoder.model_record`: a run's are those it was trained with) and a run at
    the length it was trained with; ``max_seq_length`` is the reference's (and that of a model hybridlib did not
    fine-tune).

    ``kwargs`` go to :func:`hybridlib.scoring.results.score_lareqa` (``languages``, ``max_groups``, ``cache_dir``,
    ``store_dir``, ...): a model already scored the same way is read from the results store, not scored again.
    Every model folder is checked, and refused if it was trained on ``dataset``, before the first encoding starts.
    """
    missing = {"run", "sampler", "seed", "path"} - set(runs.columns)
    if missing:
        raise ValueError(f"runs needs the columns {sorted(missing)}")
    if runs.empty and reference is None:
        raise ValueError("nothing to evaluate: no runs and no reference model")
    checks: dict[str, str] = {}
    for r in runs.itertuples():  # every run checked before the first encoding (and not again when scored)
        try:
            checks[r.run] = guard_evaluation(resolve_model(r.path)[0], dataset, data_dir=kwargs.get("data_dir"))
        except LeakageError as exc:
            raise LeakageError(f"run {r.run}: {exc}") from None
    table = runs[["run", "sampler", "seed", "path"]].copy()
    if reference is not None:
        resolve_model(reference)
        table = pd.concat([pd.DataFrame([{"run": REFERENCE, "sampler": REFERENCE, "seed": 0,
                                          "path": reference}]), table], ignore_index=True)
    evaluations = {}
    for r in tqdm(list(table.itertuples()), desc=f"models on {dataset}", disable=not progress):
        length = model_record(r.path).trained_length or max_seq_length
        evaluations[r.run] = score_lareqa(r.path, dataset, max_seq_length=length, leakage_check=checks.get(r.run),
                                          progress=False, **kwargs)
    return RunEvaluations(dataset, table, evaluations)


def paired_randomization_test(
    a: pd.DataFrame,
    b: pd.DataFrame,
    column: str,
    *,
    unit: str = "qid",
    cell: Sequence[str] = ("query_lang", "cand_lang"),
    n_resamples: int = 10_000,
    seed: int = 0,
) -> dict[str, float]:
    """Two-sided paired randomization (sign-flip) test of mean(a) - mean(b) on ``column``.

    ``a`` and ``b`` hold the same rows (matched on ``cell`` and ``unit``). The statistic is the difference of
    macro averages, as the summaries are computed: mean over ``cell`` of the mean over its rows. Under the
    null the two systems are exchangeable per ``unit`` (a question, with all its rows), so each unit's
    contribution flips sign at random. Exact over all 2^n sign vectors when that is at most ``n_resamples``,
    else Monte Carlo with p = (1 + #{|T*| >= |T|}) / (1 + n_resamples).

    Reference: Smucker, Allan and Carterette, "A comparison of statistical significance tests for
    information retrieval evaluation", CIKM 2007.
    """
    keys = [*cell, unit]
    merged = a[keys + [column]].merge(b[keys + [column]], on=keys, how="outer", suffixes=("_a", "_b"),
                                      indicator=True)
    if (merged["_merge"] != "both").any() or len(merged) != len(a) or len(merged) != len(b):
        raise ValueError("a and b must hold the same rows (same cells and units, once each)")
    if merged.empty:
        raise ValueError("nothing to compare: no rows")
    cells = merged.groupby(list(cell), sort=False)[unit].transform("size")
    weight = 1.0 / (cells * merged.groupby(list(cell), sort=False).ngroups)
    contrib = (weight * (merged[f"{column}_a"] - merged[f"{column}_b"])).groupby(merged[unit], sort=False).sum()
    d = contrib.to_numpy(dtype=np.float64)
    observed = float(d.sum())
    p = _sign_flip_p(d, observed, n_resamples, seed)
    mean_a = float((weight * merged[f"{column}_a"]).sum())
    return {"mean_a": mean_a, "mean_b": mean_a - observed, "difference": observed, "p_value": p,
            "n_units": int(len(d))}


def _sign_flip_p(d: np.ndarray, observed: float, n_resamples: int, seed: int, chunk: int = 1000) -> float:
    threshold = abs(observed) * (1 - 1e-9) - 1e-15  # float tolerance: the observed split counts as extreme
    n = len(d)
    if n <= 20 and 2**n <= n_resamples:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        return float(np.mean(np.abs(signs @ d) >= threshold))
    rng = np.random.default_rng(seed)
    hits = 0
    for lo in range(0, n_resamples, chunk):
        signs = rng.choice(np.array([-1.0, 1.0]), size=(min(chunk, n_resamples - lo), n))
        hits += int((np.abs(signs @ d) >= threshold).sum())
    return (1 + hits) / (1 + n_resamples)


def verdicts(compared: RunEvaluations, *, alpha_level: float = 0.05, n_resamples: int = 10_000,
             seed: int = 0) -> pd.DataFrame:
    """The paper's claims about hybrid (:data:`CLAIMS`), each with our values, margin (positive when the
    claim's direction holds), p-value and verdict: ``agrees`` or ``disagrees``, and whether the margin is
    significant at ``alpha_level``. Claims whose baseline was not trained are left out."""
    rows = []
    for baseline, setting, metric, claim in CLAIMS:
        if baseline not in compared.samplers or PROPOSED not in compared.samplers:
            continue
        res = compared.compare(PROPOSED, baseline, setting, metric, n_resamples=n_resamples, seed=seed)
        margin = res["margin"] if HIGHER_IS_BETTER[metric] else -res["margin"]
        significant = res["p_value"] < alpha_level
        rows.append({"claim": claim, "dataset": compared.dataset, PROPOSED: res["value"],
                     "baseline": label(baseline), "baseline value": res["baseline_value"], "margin": margin,
                     "p_value": res["p_value"],
                     "verdict": ("agrees" if margin >= 0 else "disagrees")
                     + (" (significant)" if significant else " (not significant)")})
    return pd.DataFrame(rows, columns=["claim", "dataset", PROPOSED, "baseline", "baseline value", "margin",
                                       "p_value", "verdict"])


def format_mean_sd(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:func:`summary_table` for reading: ``mean ± sd`` strings (rank distance with one decimal), p-values
    with four decimals."""
    out = pd.DataFrame(index=table.index)
    for col in table.columns:
        if col.endswith(" mean"):
            metric = col[: -len(" mean")]
            fmt = f"{{:.{1 if metric == 'rank distance' else digits}f}}"
            sd = table.get(f"{metric} sd", pd.Series(np.nan, index=table.index))
            out[metric] = [fmt.format(m) + ("" if pd.isna(d) else " ± " + fmt.format(d))
                           for m, d in zip(table[col], sd)]
        elif col.startswith("p "):
            out[col] = ["" if pd.isna(v) else f"{v:.4f}" for v in table[col]]
    return out


def paper_beside(dataset: str, samplers: Sequence[str]) -> pd.DataFrame:
    """The paper's summary rows (Tables 1-2: mean rows of Tables 3-8) for the samplers it reports (none for a set
    of one's own)."""
    if not paper.reports(dataset):
        return pd.DataFrame(columns=["dataset", "model", "sampler", "scale"])
    reported = paper.paper_summary(dataset)
    return reported[reported["sampler"].isin([label(s) for s in samplers])]


def paper_by_query_language(dataset: str) -> pd.DataFrame:
    """The paper's Tables 3-6 per query language in :meth:`RunEvaluations.by_query_language`'s long layout
    (``model`` column added; its R@1 / R@10 as lower-case metric names)."""
    rr = paper.reported_results()
    rr = rr[(rr["dataset"] == dataset) & (rr["metric"] != "rank_distance")]
    if rr.empty:
        raise ValueError(f"the paper reports no per-language LAReQA numbers for {dataset!r}")
    return pd.DataFrame({"model": rr["model"] + " (paper)", "sampler": rr["sampler"].map(label),
                         "query_lang": rr["query_lang"], "setting": rr["setting"],
                         "metric": rr["metric"].str.lower(), "mean": rr["value"]}).reset_index(drop=True)
