"""Notebook 08: the samplers' models on low-resource languages, on real data, every score a record of the store.

* **AfriQA** the MKQA way (:mod:`hybridlib.scoring.afriqa`): native questions in nine African languages retrieve from the
  pooled gold English / French passages; the human English translation of each question is scored too (the
  translate-test reference). :func:`score_afriqa`.
* **NTREX-128** pooled (:mod:`hybridlib.scoring.ntrex`): a cut of news documents in 29 languages, a sentence retrieving its
  translations; cross and multi mAP, rank distance, bitext mining from English, and the language-fairness metrics.
  :func:`score_ntrex`.
* **Language fairness on LAReQA**: MRC@k, PEER@k, TLR@k and the language preference of the pooled (multi) ranking
  of XQuAD-R and MLQA-R, from the embeddings notebooks 04-05 cached. :func:`score_lareqa_fairness`.
* **Gains against resource level**: per language, each sampler's gain over the zero-shot model beside the
  language's size in CC-100 (:func:`hybridlib.data.languages.resource_levels`; "not in CC-100" said where so), and
  whether the gains (hybrid's lead) grow where data is scarcer. :func:`gains_by_resource`, :func:`gain_trend`.

Each ``score_*`` call reads its record from the results store when this model was scored the same way
(:func:`hybridlib.scoring.results.stored_tables`), so a re-run loads no model and encodes nothing.

Example::

    from hybridlib.analysis import low_resource
    from hybridlib.data import corpora
    per_query = low_resource.score_afriqa("default", corpora.load_afriqa("test"), max_seq_length=128)
    per_query.groupby(["query", "lang"])[["recall@20", "ndcg@10"]].mean()
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hybridlib.batching.samplers import PROPOSED
from hybridlib.data.corpora import corpora
from hybridlib.data.languages import resource_levels
from hybridlib.models.encoder import embed_texts, load_encoder, model_record, resolve_precision
from hybridlib.scoring import afriqa, bias, ntrex
from hybridlib.scoring.evaluate import lareqa_texts
from hybridlib.scoring.results import STORE, embedding_key, request, score_lareqa, stored_tables

if TYPE_CHECKING:
    from hybridlib.analysis.comparison import RunEvaluations

AFRIQA_QUERIES = afriqa.QUERY_COLUMNS  # native question, its human translation (translate-test)


class LazyEncoder:
    """A model loaded only when a text has to be encoded (a re-run that finds every embedding cached loads
    nothing)."""

    def __init__(self, model: str | os.PathLike[str], **kwargs: Any) -> None:
        self._model, self._kwargs, self._loaded = model, kwargs, None

    def encode(self, texts: Sequence[str], **kwargs: Any) -> Any:
        if self._loaded is None:
            self._loaded = load_encoder(self._model, **self._kwargs)
        return self._loaded.encode(texts, **kwargs)


def _sha(values: Sequence[str]) -> str:
    """A short fingerprint of a list of strings (which rows of a corpus were scored)."""
    return hashlib.sha256("\x1f".join(map(str, values)).encode()).hexdigest()[:16]


def _encoding(model: str | os.PathLike[str], max_seq_length: int, precision: str) -> tuple[str, str]:
    """The model's fingerprint and its embedding-cache key at this length and precision (the key
    :func:`hybridlib.scoring.results.score_lareqa` uses, so that cached LAReQA embeddings are found)."""
    record = model_record(model)
    acting = resolve_precision(precision)
    loaded = dataclasses.replace(record, max_seq_length=int(max_seq_length), precision=acting)
    return record.fingerprint, embedding_key(model, loaded)


def corpus_sha256(corpus: str) -> dict[str, str]:
    """The pinned sha256 of every file of ``corpus`` (what a record of its scores depends on)."""
    return {name: spec["sha256"] for name, spec in sorted(corpora()[corpus]["files"].items())}


def first_per_language(table: pd.DataFrame, per_language: int | None) -> pd.DataFrame:
    """The first ``per_language`` rows of each language of ``table`` (None: all of them), in file order."""
    if per_language is None:
        return table
    if isinstance(per_language, bool) or not isinstance(per_language, int) or per_language < 1:
        raise ValueError(f"afriqa_per_language must be a positive whole number or None, got {per_language!r}")
    return table.groupby("lang", sort=False).head(per_language).reset_index(drop=True)


def first_documents(news: pd.DataFrame, documents: int | None) -> pd.DataFrame:
    """The lines of the first ``documents`` news documents of NTREX-128 (file order; None: all 123)."""
    if documents is None:
        return news
    if isinstance(documents, bool) or not isinstance(documents, int) or documents < 1:
        raise ValueError(f"ntrex_documents must be a positive whole number or None, got {documents!r}")
    keep = list(dict.fromkeys(news["document"]))[:documents]
    return news[news["document"].isin(keep)].reset_index(drop=True)


def score_afriqa(model: str | os.PathLike[str], table: pd.DataFrame, *, max_seq_length: int,
                 precision: str = "bf16", batch_size: int = 32, cache_dir: str | None = None,
                 store_dir: str | os.PathLike[str] = STORE) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``model`` on AfriQA (rows of :func:`hybridlib.data.corpora.load_afriqa`, the pool their gold passages), with the
    native question and with its human translation as the query (column ``query``): one row per question and
    query, :data:`hybridlib.scoring.afriqa.METRICS`. Returns the table and its record's meta (seconds, from_store)."""
    fingerprint, cache_key = _encoding(model, max_seq_length, precision)
    prompts = model_record(model).prompts
    key = {"kind": "afriqa", "model": fingerprint, "data_sha256": corpus_sha256("afriqa"),
           "questions": _sha(table["id"]), "max_seq_length": int(max_seq_length),
           "precision": resolve_precision(precision), "prefixes": list(prompts)}

    def compute() -> dict[str, pd.DataFrame]:
        encoder = load_encoder(model, max_seq_length=max_seq_length, precision=precision)
        frames = [afriqa.evaluate_afriqa(encoder, table, query=query, query_prefix=prompts[0],
                                         passage_prefix=prompts[1], batch_size=batch_size, cache_dir=cache_dir,
                                         cache_key=cache_key, progress=False).per_query.assign(query=query)
                  for query in AFRIQA_QUERIES]
        return {"per_query": pd.concat(frames, ignore_index=True)}

    tables, meta = stored_tables(key, compute, store_dir)
    return tables["per_query"], meta


def score_ntrex(model: str | os.PathLike[str], news: pd.DataFrame, *, max_seq_length: int, precision: str = "bf16",
                batch_size: int = 32, cache_dir: str | None = None, pivot: str = "en", fairness: bool = True,
                store_dir: str | os.PathLike[str] = STORE) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """``model`` on the NTREX-128 sentences ``news`` (rows of :func:`hybridlib.data.corpora.load_ntrex`, a cut of one's
    choice), each embedded once with the model's query prompt: ``per_query`` (:func:`hybridlib.scoring.ntrex.pooled_ranking`),
    ``bitext`` (:func:`hybridlib.scoring.ntrex.bitext_table` from ``pivot``) and, with ``fairness``, ``fairness``
    (:func:`hybridlib.scoring.ntrex.fairness`). Returns the tables and the record's meta."""
    fingerprint, cache_key = _encoding(model, max_seq_length, precision)
    prefix = model_record(model).prompts[0]
    key = {"kind": "ntrex", "model": fingerprint, "data_sha256": corpus_sha256("ntrex"),
           "sentences": _sha(news["lang"] + ":" + news["line"].astype(str)), "max_seq_length": int(max_seq_length),
           "precision": resolve_precision(precision), "prefix": prefix, "pivot": pivot, "fairness": fairness,
           "fairness_ks": bias.FAIRNESS_KS, "fairness_version": bias.FAIRNESS_VERSION}

    def compute() -> dict[str, pd.DataFrame]:
        encoder = LazyEncoder(model, max_seq_length=max_seq_length, precision=precision)
        emb = ntrex.embed_ntrex(encoder, news, prefix=prefix, batch_size=batch_size, cache_dir=cache_dir,
                                cache_key=cache_key, progress=False)
        langs, lines = news["lang"].tolist(), news["line"].tolist()
        out = {"per_query": ntrex.pooled_ranking(emb, langs, lines), "bitext": ntrex.bitext_table(emb, langs, lines, pivot)}
        if fairness:
            out["fairness"] = ntrex.fairness(emb, langs, lines, **bias.FAIRNESS_KS)
        return out

    return stored_tables(key, compute, store_dir)


def score_lareqa_fairness(model: str | os.PathLike[str], dataset: str, *, cache_dir: str | None = None,
                          batch_size: int = 32, store_dir: str | os.PathLike[str] = STORE, **settings: Any
                          ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The language-fairness metrics (:func:`hybridlib.scoring.bias.fairness_table`) of ``model``'s pooled ranking of a
    LAReQA set, cut and scored as :func:`hybridlib.scoring.results.score_lareqa` scores it with the same ``settings``
    (``max_groups``, ``max_seq_length``, ``precision``, ``languages``, ...), whose record it reads first (so the
    leakage guard runs) and whose cached embeddings it reuses; plus the record's mean ``rank_distance``."""
    ev = score_lareqa(model, dataset, store_dir=store_dir, cache_dir=cache_dir, batch_size=batch_size, **settings)
    req = request(model, dataset, store_dir=store_dir, **settings)
    fingerprint, cache_key = _encoding(model, req.max_seq_length, req.precision)
    key = {"kind": "lareqa-fairness", "lareqa_record": req.key, "fairness_ks": bias.FAIRNESS_KS,
           "fairness_version": bias.FAIRNESS_VERSION}

    def compute() -> dict[str, pd.DataFrame]:
        questions, candidates, texts = lareqa_texts(req.dataset, req.prefixes, req.candidate_text)
        encoder = LazyEncoder(model, max_seq_length=req.max_seq_length, precision=req.precision)
        emb = embed_texts(encoder, texts, batch_size=batch_size, cache_dir=cache_dir, cache_key=cache_key,
                          progress=False)
        q_emb, c_emb = emb[: len(questions)], emb[len(questions):]
        positions: dict[str, list[int]] = {}
        for pos, groups in enumerate(candidates["groups"]):
            for g in groups:
                positions.setdefault(g, []).append(pos)
        relevant = [positions.get(g, []) for g in questions["group"]]
        table = bias.fairness_table(q_emb @ c_emb.T, questions["lang"].tolist(), questions["group"].tolist(),
                                    relevant, candidates["lang"].tolist(), **bias.FAIRNESS_KS)
        return {"fairness": table}

    tables, meta = stored_tables(key, compute, store_dir)
    return tables["fairness"].assign(rank_distance=ev.rank_distance.rename({"mean": "all"})), meta


def gains_by_resource(scores: pd.DataFrame, metric: str, reference: str = "zero-shot") -> pd.DataFrame:
    """Per sampler and language (``scores``: one row per model with ``sampler``, ``seed``, ``lang`` and
    ``metric``): the mean over seeds, the ``reference`` model's value, the gain, and the language's resource level
    (:func:`hybridlib.data.languages.resource_levels`), sorted from the scarcest language up."""
    means = scores.groupby(["sampler", "lang"], sort=False)[metric].mean().rename("value").reset_index()
    if reference not in set(means["sampler"]):
        raise ValueError(f"no {reference!r} rows among the samplers {sorted(set(means['sampler']))}")
    zero = means[means["sampler"] == reference].set_index("lang")["value"]
    gains = means[means["sampler"] != reference].assign(**{"zero-shot": lambda d: d["lang"].map(zero)})
    gains["gain"] = gains["value"] - gains["zero-shot"]
    levels = resource_levels(sorted(gains["lang"].unique()))
    gains = gains.join(levels, on="lang")
    return gains.sort_values(["cc100_gib", "lang"], kind="stable").reset_index(drop=True)


def gain_trend(gains: pd.DataFrame, lead_of: str | None = PROPOSED) -> pd.DataFrame:
    """Whether gains grow where data is scarcer: Spearman's rho between each sampler's gain and the language's
    CC-100 size (languages not in CC-100 ranked lowest, tied), with its p-value, and the mean gain on the languages
    not in CC-100 and on those in it. With ``lead_of``, the same for that sampler's lead over each other sampler
    (``"hybrid - X-Y"``): a negative rho there means hybrid leads most where data is scarcest."""
    table = gains[["sampler", "lang", "gain", "cc100_gib"]]
    if lead_of is not None:
        table = pd.concat([table, _leads(gains, ["lang"], "cc100_gib", lead_of, sort=True)], ignore_index=True)
    return _size_correlation(table, ["sampler"], "cc100_gib", "spearman rho (gain, CC-100 size)", lambda g: {
        "mean gain, not in CC-100": float(g.loc[g["cc100_gib"] == 0, "gain"].mean()),
        "mean gain, in CC-100": float(g.loc[g["cc100_gib"] > 0, "gain"].mean())})


def _leads(gains: pd.DataFrame, keys: list[str], size: str, lead_of: str, *, sort: bool) -> pd.DataFrame:
    """``lead_of``'s gain minus each other sampler's per ``keys`` (sampler ``"hybrid - X-Y"``, ``gain`` the
    difference), with each row's ``size`` column (``sort``: the samplers and keys in sorted order, else as they
    come)."""
    wide = gains.pivot_table(index=keys, columns="sampler", values="gain", sort=sort)
    if lead_of not in wide.columns:
        raise ValueError(f"no {lead_of!r} gains; have {list(wide.columns)}")
    sizes = gains.drop_duplicates(keys).set_index(keys)[size]
    return pd.concat([pd.DataFrame({"sampler": f"{lead_of} - {other}", "gain": wide[lead_of] - wide[other],
                                    size: sizes.reindex(wide.index)}).reset_index()
                      for other in wide.columns if other != lead_of], ignore_index=True)


def _size_correlation(table: pd.DataFrame, by: list[str], size: str, rho: str, extra=None) -> pd.DataFrame:
    """Per group of ``by``: Spearman's rho between ``gain`` and ``size`` (named ``rho``) over the group's rows, its
    two-sided p-value, and ``extra(group)``'s columns."""
    from scipy.stats import spearmanr

    rows = []
    for key, g in table.groupby(by if len(by) > 1 else by[0], sort=False):
        r, p = spearmanr(g[size], g["gain"]) if len(g) > 2 else (np.nan, np.nan)
        names = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        rows.append({**names, "languages": len(g), rho: float(r), "p_value": float(p), **(extra(g) if extra else {})})
    return pd.DataFrame(rows)


def conversion_gap(ours: pd.DataFrame, threshold: float = 0.05) -> pd.DataFrame:
    """Our zero-shot bitext F1 per English -> X pair (``ours``: :func:`hybridlib.scoring.ntrex.bitext_table` rows of the
    full 1,997 lines) beside multilingual-e5-small's published float32 figure (:func:`hybridlib.scoring.ntrex.published_bitext`),
    the gap, and ``conversion_suspect`` where ours falls more than ``threshold`` below it (the 4-bit conversion,
    bf16 or our shorter length, not a sampler, may then explain a low score on that language)."""
    published, _ = ntrex.published_bitext()
    table = ours[["lang", "f1"]].rename(columns={"f1": "ours_f1"}).merge(published, on="lang", how="left")
    table["gap"] = table["ours_f1"] - table["published_f1"]
    table["conversion_suspect"] = table["gap"] < -threshold
    return table.join(resource_levels(table["lang"].tolist())[["name", "resource"]], on="lang")


def findings(afriqa_by_language: pd.DataFrame, gains: pd.DataFrame, trend: pd.DataFrame, bias_table: pd.DataFrame,
             gap: pd.DataFrame | None = None, *, reference: str = "zero-shot", lead: str = PROPOSED) -> str:
    """The notebook's findings as Markdown sentences, each computed from its table (whichever way it goes):
    what the native language costs on AfriQA, whether ``lead``'s gains are largest where data is scarcest, which
    model is least language-biased by each metric, and where the conversion may explain a low score."""
    lines = []
    macro = afriqa_by_language.groupby(["query", "sampler"], sort=False)["recall@20"].mean()
    native, translated = macro.get(("question", reference)), macro.get(("question_translated", reference))
    if native is not None and translated is not None:
        best = macro.loc["question"].drop(reference).idxmax() if len(macro.loc["question"]) > 1 else reference
        lines.append(f"- **AfriQA**: the untuned model's macro Recall@20 is {native:.3f} with native questions and "
                     f"{translated:.3f} with their human English translations: asking in the language costs "
                     f"{translated - native:.3f}. Best fine-tuned on native questions: {best} "
                     f"({macro.loc[('question', best)]:.3f}, {macro.loc[('question', best)] - native:+.3f}).")
    for d, t in trend.groupby("data", sort=False):
        t = t.set_index("sampler")
        if lead not in t.index:
            continue
        own = t.loc[lead]
        leads = t[t.index.str.startswith(f"{lead} - ")]
        lead_text = "; ".join(f"{name}: rho {r['spearman rho (gain, CC-100 size)']:+.2f} (p {r['p_value']:.2f})"
                              for name, r in leads.iterrows())
        scarce = own["spearman rho (gain, CC-100 size)"] < 0 and (leads["spearman rho (gain, CC-100 size)"] < 0).all()
        significant = own["p_value"] < 0.05 and (leads["p_value"] < 0.05).all()
        if np.isnan(own["spearman rho (gain, CC-100 size)"]):
            verdict = "not tested here (too few languages, or a constant gain)"
        else:
            verdict = ("largest where data is scarcest" + ("" if significant else ", though not significantly")
                       if scarce else "not largest where data is scarcest")
        outside = ("no language outside CC-100 here" if np.isnan(own["mean gain, not in CC-100"]) else
                   f"{own['mean gain, not in CC-100']:+.3f} on the languages not in CC-100")
        lines.append(f"- **{d}**: {lead}'s mean gain is {outside} and {own['mean gain, in CC-100']:+.3f} on those in "
                     f"CC-100; its gain against CC-100 size: rho {own['spearman rho (gain, CC-100 size)']:+.2f} "
                     f"(p {own['p_value']:.2f}); its lead over each baseline against size: {lead_text}. "
                     f"{lead}'s gains are {verdict}.")
    better = {"MRC@10": "max", "PEER@100": "max", "TLR@20": "max", "rank_distance": "min"}
    for d, t in bias_table.groupby(level="data", sort=False):
        t = t.droplevel("data")
        parts = [f"{m} {getattr(t[m], 'idxmax' if how == 'max' else 'idxmin')()}" for m, how in better.items()
                 if m in t and t[m].notna().any()]
        lines.append(f"- **Language bias on {d}** (least biased by each metric): {', '.join(parts)}.")
    if gap is not None:
        suspect = gap[gap["conversion_suspect"]]
        names = ", ".join(f"{r['name']} ({r['gap']:+.2f})" for _, r in suspect.iterrows()) or "none"
        lines.append(f"- **Conversion**: the untuned model's bitext F1 is more than 0.05 below the published float32 "
                     f"figure on {len(suspect)} of {len(gap)} languages: {names}; the mean gap is "
                     f"{gap['gap'].mean():+.3f}. Results on those languages may reflect the 4-bit conversion "
                     f"(and bf16, and the shorter input) more than the samplers.")
    return "\n".join(lines)


def score_runs(score: Any, runs: pd.DataFrame, what: str, **kwargs: Any) -> tuple[list[tuple[Any, Any]], list[dict]]:
    """``score(path, **kwargs)`` (a ``score_*`` function of this module) for every model of ``runs`` (rows with
    ``run``, ``sampler``, ``seed``, ``path``): each model's tables tagged by ``(sampler, seed)``, and one line per
    record read or written (``what``, ``run``, its meta)."""
    results, records = [], []
    for r in runs.itertuples():
        tables, meta = score(r.path, **kwargs)
        results.append(((r.sampler, r.seed), tables))
        records.append({"what": what, "run": r.run, **meta})
    return results, records


def tagged(results: list[tuple[Any, Any]], table: str | None = None) -> pd.DataFrame:
    """The tables of :func:`score_runs` (``table``: which of each model's dict) stacked with ``sampler`` and ``seed``
    columns."""
    return pd.concat([(tables if table is None else tables[table]).assign(sampler=sampler, seed=seed)
                      for (sampler, seed), tables in results], ignore_index=True)


def mean_over_seeds(scores: pd.DataFrame, by: Sequence[str], values: Sequence[str]) -> pd.DataFrame:
    """``values`` averaged per model (``by`` plus ``seed``) first, then over seeds: one row per ``by``."""
    by = list(by)
    per_model = scores.groupby([*by[:-1], "seed", by[-1]], sort=False)[list(values)].mean()
    return per_model.groupby(by, sort=False).mean().reset_index()


def per_model(scores: pd.DataFrame, value: str, lang: str = "lang") -> pd.DataFrame:
    """One row per model and language: the mean ``value`` of its queries (``sampler``, ``seed``, ``lang``)."""
    return (scores.groupby(["sampler", "seed", lang], sort=False)[value].mean().reset_index()
            .rename(columns={lang: "lang"}))


def cross_matrices(per_query: pd.DataFrame, samplers: Sequence[str], order: Sequence[str]) -> dict[str, pd.DataFrame]:
    """NTREX cross mAP per (query language, candidate language), mean over seeds, one matrix per sampler in
    ``samplers`` that was run, languages in ``order``."""
    pairs = (per_query[per_query["setting"] == "cross"].groupby(["sampler", "query_lang", "cand_lang"], sort=False)["ap"]
             .mean().reset_index())
    return {s: pairs[pairs["sampler"] == s].pivot(index="query_lang", columns="cand_lang", values="ap")
            .reindex(index=list(order), columns=list(order)) for s in samplers if s in set(pairs["sampler"])}


def language_bias_table(lareqa: pd.DataFrame, ntrex_fairness: list[tuple[Any, Any]],
                        ntrex_per_query: pd.DataFrame) -> pd.DataFrame:
    """Every fairness metric's ``all`` row per data set and sampler, mean over seeds, with the mean rank distance
    (``lareqa``: rows of :func:`score_lareqa_fairness`'s ``all`` rows with ``data``, ``sampler``, ``seed``;
    ``ntrex_fairness``: :func:`score_runs` results of NTREX's fairness tables; ``ntrex_per_query``: its pooled rows,
    tagged)."""
    multi = ntrex_per_query[ntrex_per_query["setting"] == "multi"]
    rows = [lareqa]
    for (sampler, seed), table in ntrex_fairness:
        distance = multi[(multi["sampler"] == sampler) & (multi["seed"] == seed)]["rank_distance"].mean()
        rows.append(table.loc["all"].rename(None).to_frame().T.assign(data="ntrex", sampler=sampler, seed=seed,
                                                                      rank_distance=distance))
    return (pd.concat(rows, ignore_index=True).drop(columns=["lpr_queries"])
            .groupby(["data", "sampler"], sort=False).mean(numeric_only=True).drop(columns=["seed"]))


def lareqa_fairness_runs(compared: dict[str, Any], label: Any, *, max_seq_length: int, **kwargs: Any
                         ) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`score_lareqa_fairness` of every model of each set of ``compared`` (``{dataset: RunEvaluations}``),
    each at the length it was trained at (else ``max_seq_length``): their ``all`` rows with ``data``, ``sampler``
    (``label(sampler)``) and ``seed``, and the records."""
    rows, records = [], []
    for name, c in compared.items():
        for r in c.runs.itertuples():
            length = model_record(r.path).trained_length or max_seq_length
            table, meta = score_lareqa_fairness(r.path, name, max_seq_length=length, **kwargs)
            rows.append(table.loc["all"].rename(None).to_frame().T.assign(data=name, sampler=label(r.sampler),
                                                                          seed=r.seed))
            records.append({"what": f"{name} fairness", "run": r.run, **meta})
    return pd.concat(rows, ignore_index=True), records


# ---- Notebook 07's low-resource question on LAReQA: gains per query language against CC-100 share ------------


def gains_over_zero_shot(compared: dict[str, "RunEvaluations"], metric: str = "map") -> pd.DataFrame:
    """Per evaluation set, sampler, query language and setting: the sampler's mean ``metric`` over seeds, the
    zero-shot model's, the gain, and the language's CC-100 share (``compared``: ``{dataset: RunEvaluations}``
    with the zero-shot reference)."""
    from hybridlib.analysis.comparison import REFERENCE, label
    from hybridlib.data.languages import pretraining_share

    frames = []
    for dataset, runs in compared.items():
        long = runs.by_query_language()
        long = long[(long["metric"] == metric) & (long["query_lang"] != "mean")]
        wide = long.pivot_table(index=["query_lang", "setting"], columns="sampler", values="mean", sort=False)
        zero = wide.pop(label(REFERENCE))
        gains = wide.stack().rename("value").reset_index().rename(columns={"query_lang": "language"})
        gains["zero-shot"] = zero.reindex(pd.MultiIndex.from_frame(gains[["language", "setting"]])).to_numpy()
        gains["gain"] = gains["value"] - gains["zero-shot"]
        frames.append(gains.assign(dataset=dataset))
    table = pd.concat(frames, ignore_index=True)
    table["cc100_share"] = pretraining_share(sorted(table["language"].unique())).reindex(table["language"]).to_numpy()
    return table[["dataset", "sampler", "language", "setting", "value", "zero-shot", "gain", "cc100_share"]]


def gain_size_correlation(gains: pd.DataFrame) -> pd.DataFrame:
    """Per sampler and setting, Spearman's rho between a language's gain and its CC-100 share over every (set,
    language) row of :func:`gains_over_zero_shot`, with its two-sided p-value: a negative rho means larger gains
    where pretraining data was scarcer."""
    return _size_correlation(gains, ["sampler", "setting"], "cc100_share", "spearman rho")


def lead_over_baselines(gains: pd.DataFrame, sampler: str | None = None) -> pd.DataFrame:
    """``sampler``'s gain minus each other sampler's, per set, language and setting, in the layout of
    :func:`gains_over_zero_shot` (sampler ``"hybrid - X-Y"``, ``gain`` the difference), so that
    :func:`gain_size_correlation` asks whether hybrid leads most where pretraining data was scarcest (``sampler``:
    by default the paper's proposal, :data:`hybridlib.batching.samplers.PROPOSED`)."""
    return _leads(gains, ["dataset", "language", "setting"], "cc100_share", sampler or PROPOSED, sort=False)


def per_language_tests(compared: dict[str, "RunEvaluations"], sampler: str | None = None, *,
                       n_resamples: int = 10_000) -> pd.DataFrame:
    """``sampler`` against every other run of each set (the zero-shot model included), on the questions of each
    query language separately, in every setting: margin and paired randomization p-value (``sampler``: by default
    :data:`hybridlib.batching.samplers.PROPOSED`)."""
    from hybridlib.analysis.comparison import label
    from hybridlib.scoring.evaluate import SETTINGS

    sampler = sampler or PROPOSED
    rows = []
    for dataset, runs in compared.items():
        for lang in runs.languages:
            for base in runs.samplers:
                if base == sampler:
                    continue
                for setting in SETTINGS:
                    res = runs.compare(sampler, base, setting, query_languages=[lang], n_resamples=n_resamples)
                    rows.append({"dataset": dataset, "language": lang, "baseline": label(base), "setting": setting,
                                 "margin": res["margin"], "p_value": res["p_value"]})
    return pd.DataFrame(rows)
