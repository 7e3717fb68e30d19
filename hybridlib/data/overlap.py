"""Training data kept apart from evaluation data, by content: the rows of a training set that occur in an
evaluation set (a group id, or a question or passage text after collapsing whitespace), the guard that refuses such a
training set, and the content record of what a model trained on (group ids and text hashes) that
:mod:`hybridlib.models.leakage` checks a model against before it is evaluated.

Example::

    guard_training_rows(pairs, ["xquad-r"])        # raises LeakageError naming the rows that overlap
    leak_report(pairs, ["xquad-r", "mlqa-r"])      # how many rows share a group id, a question or a passage
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

import pandas as pd

from hybridlib.data.lareqa import LareqaDataset, open_lareqa


class LeakageError(ValueError):
    """Training data overlaps an evaluation set, or a model is evaluated on its own training data."""


def normalize_text(text: str) -> str:
    """Whitespace-collapsed text, the form in which training and evaluation texts are compared."""
    return " ".join(str(text).split())


@lru_cache(maxsize=8)
def _evaluation_keys(name: str, data_dir: str | None) -> tuple[frozenset[str], frozenset[str]]:
    ds = open_lareqa(name, data_dir=data_dir)
    texts = {normalize_text(t) for t in ds.questions["text"]} | {normalize_text(t) for t in ds.candidates["sentence"]}
    return frozenset(ds.questions["group"]), frozenset(texts)


def find_leaks(rows: pd.DataFrame, evaluation: str, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The rows of ``rows`` (columns ``group_id``, ``query``, ``passage``) that occur in ``evaluation``,
    with a ``reason`` column."""
    groups, texts = _evaluation_keys(evaluation, None if data_dir is None else str(data_dir))
    reason = pd.Series("", index=rows.index)
    reason[rows["group_id"].isin(groups)] += "group id; "
    reason[rows["query"].map(normalize_text).isin(texts)] += "question text; "
    reason[rows["passage"].map(normalize_text).isin(texts)] += "passage text; "
    leaks = rows[reason != ""].copy()
    leaks["reason"] = reason[reason != ""].str.rstrip("; ")
    return leaks


def guard_training_rows(rows: pd.DataFrame, evaluation_sets: list[str] | tuple[str, ...],
                        data_dir: str | os.PathLike[str] | None = None) -> None:
    """Raise LeakageError if any training row occurs in one of ``evaluation_sets``."""
    for name in evaluation_sets:
        leaks = find_leaks(rows, name, data_dir)
        if len(leaks):
            examples = "; ".join(f"{r.group_id}: {r.reason}" for r in leaks.head(3).itertuples())
            raise LeakageError(f"{len(leaks)} training rows occur in the evaluation set {name} "
                               f"(e.g. {examples}); drop them from the source, or evaluate on another set")


def text_hash(text: str) -> str:
    """A short sha256 of a whitespace-collapsed text: how training and evaluation texts are compared on disk."""
    return hashlib.sha256(normalize_text(text).encode()).hexdigest()[:16]


def content_record(rows: pd.DataFrame, sources: list[str] | tuple[str, ...] = ()) -> dict[str, object]:
    """What a model was trained on, as content: its sources, group ids and the hashes of every question and
    passage of ``rows`` (columns ``group_id``, ``query``, ``passage``)."""
    texts = set(rows["query"]) | set(rows["passage"])
    return {"format": 1, "sources": list(sources), "group_ids": sorted(set(map(str, rows["group_id"]))),
            "text_hashes": sorted({text_hash(t) for t in texts})}


def content_keys(dataset: str | LareqaDataset, data_dir: str | os.PathLike[str] | None) -> tuple[set[str], set[str]]:
    """Group ids and text hashes of an evaluation set (a named one is read and hashed once per process)."""
    if isinstance(dataset, str):
        return _namedcontent_keys(dataset, None if data_dir is None else str(data_dir))
    texts = set(dataset.questions["text"]) | set(dataset.candidates["sentence"])
    return set(map(str, dataset.questions["group"])), {text_hash(t) for t in texts}


@lru_cache(maxsize=8)
def _namedcontent_keys(name: str, data_dir: str | None) -> tuple[frozenset[str], frozenset[str]]:
    groups, hashes = content_keys(open_lareqa(name, data_dir=data_dir), None)
    return frozenset(groups), frozenset(hashes)


def leak_report(rows: pd.DataFrame, evaluation_sets: list[str] | tuple[str, ...],
                data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Per evaluation set, how many training rows share a group id, a question text or a passage text with it
    (all zero for a training set :func:`guard_training_rows` accepted), and how many rows were compared."""
    report = []
    for name in evaluation_sets:
        leaks = find_leaks(rows, name, data_dir)
        reasons = leaks["reason"] if len(leaks) else pd.Series(dtype=str)
        report.append({"evaluation set": name, "training rows compared": len(rows),
                       "shared group id": int(reasons.str.contains("group id").sum()),
                       "shared question text": int(reasons.str.contains("question text").sum()),
                       "shared passage text": int(reasons.str.contains("passage text").sum())})
    return pd.DataFrame(report)


def shared_articles(a: str, b: str, data_dir: str | os.PathLike[str] | None = None) -> dict[str, object]:
    """The Wikipedia articles (English titles, compared with ``_`` as a space and case folded) of two LAReQA sets
    and those both hold: a set trained on one and scored on the other shares no question or sentence, but may
    share topics."""
    from hybridlib.data.lareqa import data_file, read_json

    titles = {name: [" ".join(article["title"].replace("_", " ").split()).casefold()
                     for article in read_json(data_file(name, "en", data_dir))["data"]] for name in (a, b)}
    shared = sorted(set(titles[a]) & set(titles[b]))
    return {a: len(set(titles[a])), b: len(set(titles[b])), "shared": len(shared), "shared titles": shared}
