"""Zero-shot LAReQA evaluation (XQuAD-R, MLQA-R): per-language-pair mAP, the three settings, rank distance.

Definitions (as in LAReQA, arXiv 2004.05484, and the hybrid-batch paper, arXiv 2408.10536):

* Scores are cosine similarities. Ranks come from a stable descending sort, ties kept in candidate order.
* AP is over the whole ranking, no cut-off; the relevant candidates of a question are the candidates that
  answer its parallel group.
* Pair X->Y: questions in X ranked against the pool of candidates in Y; a question with no relevant
  candidate in Y is skipped (an MLQA-R group lacks some languages).
* mono = mean of the diagonal pairs' mAP; cross = mean of the off-diagonal pairs' mAP (pairs with no
  question are left out); multi = AP against the pool of all languages' candidates, averaged per query
  language, then over languages. r@k (recall at k) = relevant in the top k / number relevant, averaged the
  same way.
* Rank distance (multi setting): for each question its highest minus its lowest rank among its relevant
  candidates; mean per query language, then over languages (see :mod:`hybridlib.scoring.bias`).
* Language preference (multi setting): the languages of each question's top ``PREFERENCE_K`` pooled candidates.

Each distinct text is encoded once per evaluation; every pair and setting is computed from the embeddings
by matrix products.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from hybridlib.data.lareqa import LareqaDataset, open_lareqa
from hybridlib.models.encoder import Encoder, embed_texts, encoding_id
from hybridlib.models.leakage import guard_evaluation
from hybridlib.scoring import bias, metrics

CANDIDATE_TEXTS = ("sentence", "sentence+context")
SETTINGS = ("mono", "cross", "multi")
MULTI = "*"  # cand_lang of the pooled (multilingual) rows of per_query
PREFERENCE_K = 10  # how many top pooled candidates' languages each multi row keeps (``top_langs``)


@dataclass
class LareqaEvaluation:
    """Result of :func:`evaluate_lareqa`: plain pandas data, one row per (setting, question) in ``per_query``.

    ``per_query`` columns: ``setting`` (mono / cross / multi), ``query_lang``, ``cand_lang`` (``"*"`` for
    multi), ``qid``, ``group``, ``n_relevant``, ``ap``, ``r@k`` for each k, ``rank_distance`` and
    ``top_langs`` (multi only: the languages of the top ``PREFERENCE_K`` pooled candidates, space-separated).
    """

    dataset: str
    model: str
    languages: list[str]
    per_query: pd.DataFrame
    ks: tuple[int, ...] = (1, 10)
    meta: dict = field(default_factory=dict)

    @property
    def metric_names(self) -> list[str]:
        return ["map"] + [f"r@{k}" for k in self.ks]

    @cached_property
    def pairs(self) -> pd.DataFrame:
        """Per language pair (mono and cross rows): number of questions and mean AP / r@k."""
        pq = self.per_query[self.per_query["setting"] != "multi"]
        agg = {"n_queries": ("qid", "size"), "map": ("ap", "mean")}
        agg.update({f"r@{k}": (f"r@{k}", "mean") for k in self.ks})
        return pq.groupby(["query_lang", "cand_lang"], sort=False).agg(**agg).reset_index()

    def matrix(self, metric: str = "map") -> pd.DataFrame:
        """Query language x candidate language matrix of ``metric`` (nan where a pair has no question)."""
        if metric not in self.metric_names:
            raise ValueError(f"unknown metric {metric!r}; one of {self.metric_names}")
        m = self.pairs.pivot(index="query_lang", columns="cand_lang", values=metric)
        m = m.reindex(index=self.languages, columns=self.languages)
        m.index.name, m.columns.name = "query language", "candidate language"
        return m

    def question_counts(self) -> pd.DataFrame:
        """Query language x candidate language: how many questions each pair's mAP rests on (nan: none)."""
        m = self.pairs.pivot(index="query_lang", columns="cand_lang", values="n_queries")
        m = m.reindex(index=self.languages, columns=self.languages)
        m.index.name, m.columns.name = "query language", "candidate language"
        return m

    @property
    def map_matrix(self) -> pd.DataFrame:
        """mAP of every (query language, candidate language) pair."""
        return self.matrix("map")

    @cached_property
    def multi(self) -> pd.DataFrame:
        """Per query language, mean AP / r@k against the pooled candidates of all languages."""
        pq = self.per_query[self.per_query["setting"] == "multi"]
        cols = {"ap": "map", **{f"r@{k}": f"r@{k}" for k in self.ks}}
        out = pq.groupby("query_lang", sort=False)[list(cols)].mean().rename(columns=cols)
        return out.reindex(self.languages)

    @cached_property
    def summary(self) -> dict[str, dict[str, float]]:
        """``{"mono"|"cross"|"multi": {"map", "r@1", "r@10"}}`` as defined in the module docstring."""
        diag = self.pairs["query_lang"] == self.pairs["cand_lang"]
        out = {}
        for setting, frame in (("mono", self.pairs[diag]), ("cross", self.pairs[~diag]), ("multi", self.multi)):
            out[setting] = {m: float(frame[m].mean()) for m in self.metric_names}
        return out

    @cached_property
    def rank_distance(self) -> pd.Series:
        """Mean rank distance per query language, plus ``"mean"`` over languages (multi setting)."""
        return bias.rank_distance_by_language(
            self.per_query[self.per_query["setting"] == "multi"], self.languages
        )

    def language_preference(self, k: int = PREFERENCE_K) -> pd.DataFrame:
        """Query language x candidate language: the share of each candidate language among the top ``k`` of
        the pooled ranking, averaged over the questions of the query language (rows sum to 1)."""
        if not 1 <= k <= PREFERENCE_K:
            raise ValueError(f"k must be between 1 and {PREFERENCE_K}, got {k}")
        multi = self.per_query[self.per_query["setting"] == "multi"]
        top = multi["top_langs"].str.split().str[:k].explode()
        counts = pd.crosstab(multi.loc[top.index, "query_lang"], top.to_numpy())
        shares = counts.div(counts.sum(axis=1), axis=0)
        shares = shares.reindex(index=self.languages, columns=self.languages, fill_value=0.0)
        shares.index.name, shares.columns.name = "query language", "candidate language"
        return shares

    def by_query_language(self) -> pd.DataFrame:
        """The paper's Tables 3-6 layout: per query language, mono / cross / multi of each metric, and ``mean``.

        mono is the X->X pair, cross the mean of the X->Y pairs (Y != X), multi the pooled ranking; the
        ``mean`` row averages the languages.
        """
        pairs = self.pairs.assign(diag=self.pairs["query_lang"] == self.pairs["cand_lang"])
        mono = pairs[pairs.diag].set_index("query_lang")[self.metric_names]
        cross = pairs[~pairs.diag].groupby("query_lang")[self.metric_names].mean()
        table = pd.concat({"mono": mono, "cross": cross, "multi": self.multi}, axis=1).reindex(self.languages)
        table.loc["mean"] = table.mean()
        table.index.name = "query_lang"
        return table

    def summary_frame(self, **labels: str) -> pd.DataFrame:
        """The summary as one row of a table: ``labels`` (model, scale, ...) then ``<setting> <metric>``."""
        row: dict[str, object] = {"dataset": self.dataset, "model": self.model, **labels}
        for setting in SETTINGS:
            for metric in self.metric_names:
                row[f"{setting} {metric}"] = self.summary[setting][metric]
        row["rank distance"] = float(self.rank_distance["mean"])
        return pd.DataFrame([row])


def evaluate_lareqa(
    encoder: Encoder,
    dataset: str | LareqaDataset,
    *,
    languages: Sequence[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    max_groups: int | None = None,
    candidate_text: str = "sentence",
    query_prefix: str = "",
    passage_prefix: str = "",
    ks: Sequence[int] = (1, 10),
    batch_size: int = 64,
    cache_dir: str | os.PathLike[str] | None = None,
    model_name: str | None = None,
    allow_trained_on: bool = False,
    progress: bool = True,
    leakage_check: str | None = None,
) -> LareqaEvaluation:
    """Evaluate ``encoder`` zero-shot on a LAReQA dataset (``"xquad-r"``, ``"mlqa-r"``, a folder of one's own
    files or a loaded one).

    ``languages`` and ``max_groups`` restrict the evaluation (see :meth:`LareqaDataset.subset`);
    ``candidate_text="sentence+context"`` appends each sentence's paragraph (LAReQA's variant); the prefixes
    are prepended to questions and candidates. ``cache_dir`` keeps the embeddings on disk keyed by the model
    (``model_name`` or its record's ``encoding_id``: content, length, precision) so that a re-run encodes nothing.
    A model trained on this dataset (its group ids, questions or passages as recorded beside its weights, or the dataset's name as
    a source) is refused unless ``allow_trained_on`` is set; ``meta["leakage_check"]`` says how it was checked
    (``leakage_check``: how a caller that guarded this evaluation itself already checked it; the guard is then not
    run again).
    """
    if candidate_text not in CANDIDATE_TEXTS:
        raise ValueError(f"candidate_text must be one of {CANDIDATE_TEXTS}, got {candidate_text!r}")
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be positive integers, got {ks}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    provenance = leakage_check or guard_evaluation(encoder, dataset, allow_trained_on, data_dir)
    if not isinstance(dataset, LareqaDataset):
        dataset = open_lareqa(dataset, list(languages) if languages is not None else None, data_dir)
    if languages is not None or max_groups is not None:
        dataset = dataset.subset(list(languages) if languages is not None else None, max_groups)
    model_id = model_name or encoding_id(encoder)

    questions, candidates, texts = lareqa_texts(dataset, (query_prefix, passage_prefix), candidate_text)
    emb = embed_texts(encoder, texts, batch_size=batch_size, cache_dir=cache_dir,
                      cache_key=model_id, progress=progress, desc=f"encoding {dataset.name}")
    q_emb, c_emb = emb[: len(questions)], emb[len(questions):]

    per_query = rank_lareqa(questions, candidates, q_emb, c_emb, dataset.languages, ks, progress=progress)
    meta = {"candidate_text": candidate_text, "query_prefix": query_prefix, "passage_prefix": passage_prefix,
            "n_questions": len(questions), "n_candidates": len(candidates), "max_groups": max_groups,
            "leakage_check": provenance}
    return LareqaEvaluation(dataset.name, model_name or type(encoder).__name__, list(dataset.languages),
                            per_query, ks, meta)


def lareqa_texts(dataset: LareqaDataset, prefixes: tuple[str, str], candidate_text: str = "sentence"
                 ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The questions, the candidates (in the dataset's language order) and the texts a LAReQA evaluation encodes:
    every question after ``prefixes[0]``, then every candidate after ``prefixes[1]`` (with its paragraph appended
    when ``candidate_text="sentence+context"``). Every scorer of a LAReQA set encodes these, so that they share one
    embedding cache."""
    questions, candidates = dataset.questions, _in_language_order(dataset)
    q_texts = [prefixes[0] + t for t in questions["text"]]
    c_texts = [prefixes[1] + s for s in candidates["sentence"]]
    if candidate_text == "sentence+context":
        c_texts = [f"{s} {c}" for s, c in zip(c_texts, candidates["context"])]
    return questions, candidates, q_texts + c_texts


def _in_language_order(dataset: LareqaDataset) -> pd.DataFrame:
    order = {lang: i for i, lang in enumerate(dataset.languages)}
    c = dataset.candidates
    return c.iloc[np.argsort(c["lang"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)


def rank_lareqa(
    questions: pd.DataFrame,
    candidates: pd.DataFrame,
    q_emb: np.ndarray,
    c_emb: np.ndarray,
    languages: Sequence[str],
    ks: Sequence[int] = (1, 10),
    progress: bool = False,
) -> pd.DataFrame:
    """Per-question AP, r@k and rank distance in every pair and the pooled setting, from unit-norm embeddings.

    ``questions`` needs ``qid``, ``lang``, ``group``; ``candidates`` needs ``lang`` and ``groups`` and must
    be grouped by language in ``languages`` order (that order breaks ties).
    """
    c_lang = candidates["lang"].to_numpy()
    bounds: dict[str, tuple[int, int]] = {}
    start = 0
    for lang in languages:
        n = int((c_lang == lang).sum())
        if n and not (c_lang[start : start + n] == lang).all():
            raise ValueError("candidates must be grouped by language in the order of `languages`")
        bounds[lang] = (start, start + n)
        start += n
    by_group: dict[str, list[int]] = {}
    for pos, groups in enumerate(candidates["groups"]):
        for g in groups:
            by_group.setdefault(g, []).append(pos)

    blocks = []
    q_lang = questions["lang"].to_numpy()
    for x in tqdm(languages, desc="ranking", disable=not progress):
        rows = np.flatnonzero(q_lang == x)
        if not len(rows):
            continue
        qx = questions.iloc[rows]
        scores = q_emb[rows] @ c_emb.T
        relevant = [by_group.get(g, []) for g in qx["group"]]
        multi = _score_block(qx, scores, relevant, "multi", x, MULTI, ks, with_distance=True)
        multi["top_langs"] = top_languages(scores, c_lang)[multi.index]
        blocks.append(multi)
        for y in languages:
            lo, hi = bounds[y]
            local = [[p - lo for p in rel if lo <= p < hi] for rel in relevant]
            keep = np.flatnonzero([len(r) > 0 for r in local])
            if not len(keep):
                continue
            setting = "mono" if x == y else "cross"
            blocks.append(_score_block(qx.iloc[keep], scores[keep, lo:hi], [local[i] for i in keep],
                                       setting, x, y, ks))
    return pd.concat(blocks, ignore_index=True)


def top_languages(scores: np.ndarray, cand_langs: np.ndarray, k: int = PREFERENCE_K) -> np.ndarray:
    """Per row of ``scores``, the languages of its ``k`` best candidates, best first, space-separated
    (ties broken by candidate order, as in the ranks)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -top_scores), axis=1)
    best = np.take_along_axis(part, order, axis=1)
    return np.array([" ".join(row) for row in cand_langs[best]], dtype=object)


def _score_block(
    qx: pd.DataFrame,
    scores: np.ndarray,
    relevant: list[list[int]],
    setting: str,
    query_lang: str,
    cand_lang: str,
    ks: Sequence[int],
    with_distance: bool = False,
) -> pd.DataFrame:
    ranks = metrics.relevant_ranks(scores, metrics.pad_positions(relevant))
    block = pd.DataFrame({
        "setting": setting, "query_lang": query_lang, "cand_lang": cand_lang,
        "qid": qx["qid"].to_numpy(), "group": qx["group"].to_numpy(),
        "n_relevant": [len(r) for r in relevant], "ap": metrics.average_precision(ranks),
    })
    for k in ks:
        block[f"r@{k}"] = metrics.recall_at_k(ranks, k)
    block["rank_distance"] = bias.rank_distance(ranks) if with_distance else np.nan
    block["top_langs"] = None
    return block[block["n_relevant"] > 0]


def evaluate_datasets(
    encoder: Encoder,
    datasets: Sequence[str],
    *,
    languages: Sequence[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    **kwargs,
) -> dict[str, LareqaEvaluation]:
    """:func:`evaluate_lareqa` on each dataset, keeping the ``languages`` each one has (all when None).

    Every dataset, language and data file is checked before the first encoding starts.
    """
    from hybridlib.data.lareqa import lareqa_languages

    have = {name: lareqa_languages(name) for name in datasets}  # validates the names (or own folders)
    if languages is not None:
        unknown = sorted(set(languages) - set().union(*have.values()))
        if unknown:
            raise ValueError(f"unknown language(s) {unknown}; {', '.join(datasets)} have "
                             f"{sorted(set().union(*have.values()))}")
    plan = {}
    for name in datasets:
        keep = None if languages is None else [lang for lang in have[name] if lang in set(languages)]
        if keep == []:
            raise ValueError(f"none of the languages {list(languages)} is in {name} ({have[name]})")
        plan[name] = keep
    loaded = {name: open_lareqa(name, keep, data_dir) for name, keep in plan.items()}
    return {name: evaluate_lareqa(encoder, ds, **kwargs) for name, ds in loaded.items()}


from hybridlib.scoring.miracl import MiraclEvaluation, evaluate_miracl  # noqa: E402  (MIRACL lives in its own module)

__all__ = ["LareqaEvaluation", "MiraclEvaluation", "evaluate_lareqa", "evaluate_datasets", "evaluate_miracl",
           "rank_lareqa", "top_languages"]
