"""Parallel training pairs (stage 01): parallel groups, machine-translation augmentation, pairs, splits, data card.

A *parallel group* is one QA pair in several languages: the translations of one question and of its answer
passage share a ``group_id``. From a group present in languages L, :func:`pairs_from_groups` yields every
(query language, passage language) combination: the monolingual pairs (same language) and the cross-lingual
pairs (every ordered pair of different languages). Rows keep a ``source`` column: ``human`` when both sides are
human translations, else the MT backend's name.

Sources: MLQA-R (the default scale: its parallel questions and answer sentences, human translations in 7
languages), or English QA sets loaded with ``datasets`` (the paper's scale) and machine-translated.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybridlib.core import _io
from hybridlib.core.paths import project_path
from hybridlib.data import translate as mt
from hybridlib.data.lareqa import dataset_names, is_lareqa, open_lareqa
from hybridlib.data.overlap import LeakageError, guard_training_rows

PAIR_COLUMNS = ["query", "query_lang", "passage", "passage_lang", "group_id", "source"]
GROUP_COLUMNS = ["group_id", "lang", "question", "passage", "source"]
HUMAN = "human"


def parallel_groups_from_lareqa(name: str, languages: Sequence[str] | None = None,
                                data_dir: str | os.PathLike[str] | None = None,
                                max_groups: int | None = None) -> pd.DataFrame:
    """One row per (group, language) of a LAReQA set (a built-in one, or a folder of one's own files, see
    :func:`hybridlib.data.lareqa.load_lareqa_files`): the question and its answer sentence, source ``human``."""
    ds = open_lareqa(name, list(languages) if languages is not None else None, data_dir)
    if max_groups is not None:
        ds = ds.subset(max_groups=max_groups)
    sentence = ds.candidates.set_index("cid")["sentence"]
    q = ds.questions
    return pd.DataFrame({"group_id": q["group"].to_numpy(), "lang": q["lang"].to_numpy(),
                         "question": q["text"].to_numpy(), "passage": sentence.loc[q["answer"]].to_numpy(),
                         "source": HUMAN})[GROUP_COLUMNS]


def load_english_qa(name_or_path: str, *, split: str = "train", question_column: str = "question",
                    passage_column: str = "context", id_column: str | None = "id",
                    max_rows: int | None = None) -> pd.DataFrame:
    """English QA pairs as parallel groups (language ``en``), loaded with ``datasets``.

    ``name_or_path`` is a hub dataset name (needs the hub) or a local ``.json``/``.jsonl``/``.csv``/``.parquet``
    file; the column names are configurable. Rows without a question or passage are dropped.
    """
    from datasets import load_dataset

    path = Path(name_or_path).expanduser()
    formats = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}
    if path.suffix in formats:
        if not path.is_file():
            raise FileNotFoundError(f"QA file {path} does not exist")
        ds = load_dataset(formats[path.suffix], data_files=str(path), split="train")
    else:
        ds = load_dataset(name_or_path, split=split)
    missing = [c for c in (question_column, passage_column) if c not in ds.column_names]
    if missing:
        raise ValueError(f"{name_or_path} has no column(s) {missing}; it has {ds.column_names}")
    if max_rows is not None:
        ds = ds.select(range(min(max_rows, len(ds))))
    frame = ds.to_pandas()
    ids = frame[id_column].astype(str) if id_column and id_column in frame else \
        pd.Series([f"{Path(str(name_or_path)).stem}-{i}" for i in range(len(frame))])
    groups = pd.DataFrame({"group_id": ids.to_numpy(), "lang": "en", "question": frame[question_column].to_numpy(),
                           "passage": frame[passage_column].to_numpy(), "source": HUMAN})
    groups = groups.dropna(subset=["question", "passage"])
    groups = groups[(groups.question.str.strip() != "") & (groups.passage.str.strip() != "")]
    return groups.drop_duplicates(["group_id", "lang"]).reset_index(drop=True)[GROUP_COLUMNS]


def augment_with_mt(groups: pd.DataFrame, targets: Sequence[str], *, backend: str | mt.Backend = "apertium",
                    model: str | None = None, pivot: str = "en", cache: str | os.PathLike[str] | None = mt.DEFAULT_CACHE,
                    progress: bool = True, **backend_kwargs: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Translate the ``pivot`` question and passage of every group into each target language it lacks.

    Returns the groups with the new rows (``source`` = the backend's name) and a report per target: groups
    translated, rows added, and rows dropped because a translation was empty or many times too long.
    """
    engine = mt.make_backend(backend, model, **backend_kwargs)
    added, report = [], []
    for tgt in targets:
        have = set(groups.loc[groups.lang == tgt, "group_id"])
        todo = groups[(groups.lang == pivot) & ~groups.group_id.isin(have)]
        if todo.empty:
            report.append({"target": tgt, "backend": engine.name, "groups": 0, "added": 0, "dropped_empty": 0,
                           "dropped_too_long": 0})
            continue
        texts = list(todo.question) + list(todo.passage)
        out = mt.translate(texts, pivot, tgt, backend=engine, cache=cache, progress=progress)
        q_out, p_out = out[: len(todo)], out[len(todo):]
        flags = [mt.flag_translation(s, o) for s, o in zip(texts, out)]
        q_flag, p_flag = flags[: len(todo)], flags[len(todo):]
        rows = pd.DataFrame({"group_id": todo.group_id.to_numpy(), "lang": tgt, "question": q_out,
                             "passage": p_out, "source": engine.name})
        why = [qf or pf for qf, pf in zip(q_flag, p_flag)]
        keep = np.array([w is None for w in why])
        added.append(rows[keep])
        report.append({"target": tgt, "backend": engine.name, "groups": len(todo), "added": int(keep.sum()),
                       "dropped_empty": why.count("empty"), "dropped_too_long": why.count("too long")})
    out_groups = pd.concat([groups, *added], ignore_index=True) if added else groups
    return out_groups, pd.DataFrame(report)


def pairs_from_groups(groups: pd.DataFrame) -> pd.DataFrame:
    """Every (query, passage) pair of every group: one per ordered pair of its languages, the same one included."""
    q = groups.rename(columns={"lang": "query_lang", "question": "query", "source": "query_source"})
    p = groups.rename(columns={"lang": "passage_lang", "passage": "passage_text", "source": "passage_source"})
    pairs = q[["group_id", "query_lang", "query", "query_source"]].merge(
        p[["group_id", "passage_lang", "passage_text", "passage_source"]], on="group_id")
    pairs = pairs.rename(columns={"passage_text": "passage"})
    human = (pairs.query_source == HUMAN) & (pairs.passage_source == HUMAN)
    pairs["source"] = np.where(human, HUMAN, np.where(pairs.query_source != HUMAN, pairs.query_source,
                                                      pairs.passage_source))
    return pairs[PAIR_COLUMNS].reset_index(drop=True)


def groups_from_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """The parallel groups behind a pair table (the inverse of :func:`pairs_from_groups`): one row per group
    and language, its question and passage taken from the monolingual pair."""
    mono = table[table["query_lang"] == table["passage_lang"]].drop_duplicates(["group_id", "query_lang"])
    return pd.DataFrame({"group_id": mono["group_id"].to_numpy(), "lang": mono["query_lang"].to_numpy(),
                         "question": mono["query"].to_numpy(), "passage": mono["passage"].to_numpy(),
                         "source": mono["source"].to_numpy()})[GROUP_COLUMNS]


def build_training_pairs(
    source: str = "mlqa-r",
    *,
    languages: Sequence[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    evaluation_sets: Sequence[str] = ("xquad-r",),
    mt_targets: Sequence[str] = (),
    mt_backend: str | mt.Backend = "apertium",
    mt_model: str | None = None,
    mt_cache: str | os.PathLike[str] | None = mt.DEFAULT_CACHE,
    max_groups: int | None = None,
    qa_options: dict[str, Any] | None = None,
    progress: bool = True,
):
    """Training pairs as a ``datasets.Dataset`` (columns ``query, query_lang, passage, passage_lang, group_id,
    source``) from a LAReQA set (``"mlqa-r"``, or a folder of one's own ``<lang>.json[.gz]`` files) or an English
    QA set (a hub name or local file, see :func:`load_english_qa`), optionally machine-translated into
    ``mt_targets``.

    Refuses (LeakageError) a source that is one of ``evaluation_sets`` and any row whose group id, question or
    passage occurs in one of them. The dataset's ``info.description`` records the sources and the MT report.
    """
    from datasets import Dataset

    evaluation_sets = list(evaluation_sets)
    unknown = [e for e in evaluation_sets if not is_lareqa(e)]
    if unknown:
        raise ValueError(f"unknown evaluation set(s) {unknown}; known: {dataset_names()}, or a folder of "
                         "<lang>.json[.gz] files")
    if source in evaluation_sets:
        raise LeakageError(f"{source} is one of the evaluation sets {evaluation_sets}: train on another source")
    for lang in mt_targets:
        mt.check_language(lang)
    if max_groups is not None and max_groups < 1:
        raise ValueError(f"max_groups must be positive, got {max_groups}")
    if is_lareqa(source):
        groups = parallel_groups_from_lareqa(source, languages, data_dir, max_groups)
    else:
        check_training_source(source)
        groups = load_english_qa(source, **(qa_options or {}))
        if max_groups is not None:
            groups = groups[groups.group_id.isin(groups.group_id.unique()[:max_groups])]
    report = pd.DataFrame()
    if mt_targets:
        groups, report = augment_with_mt(groups, mt_targets, backend=mt_backend, model=mt_model, cache=mt_cache,
                                         progress=progress)
    pairs = pairs_from_groups(groups)
    guard_training_rows(pairs, evaluation_sets, data_dir)
    meta = {"sources": [source] + sorted(set(pairs.source) - {HUMAN}), "evaluation_sets_excluded": evaluation_sets,
            "languages": sorted(set(groups.lang)), "mt": report.to_dict(orient="records")}
    dataset = Dataset.from_pandas(pairs, preserve_index=False)
    dataset.info.description = json.dumps(meta)
    return dataset


def check_training_source(source: str) -> None:
    """Refuse a training source that is neither a LAReQA set, a local QA file nor a hub dataset id, naming the
    known ones (a misspelt ``xquad_r`` must not go to the hub)."""
    import difflib

    path = Path(str(source)).expanduser()
    if path.suffix in (".json", ".jsonl", ".csv", ".parquet") or path.exists():
        return
    close = difflib.get_close_matches(str(source).lower().replace("_", "-"), dataset_names(), n=1, cutoff=0.6)
    if close or "/" not in str(source):
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown training source {source!r}: {hint}a training source is a LAReQA set "
                         f"({', '.join(dataset_names())}), a local .json/.jsonl/.csv/.parquet file, or a hub "
                         "dataset id such as 'rajpurkar/squad'")


def training_meta(dataset) -> dict[str, Any]:
    """The record :func:`build_training_pairs` keeps in a dataset's ``info.description``."""
    try:
        return json.loads(dataset.info.description or "{}")
    except json.JSONDecodeError:
        return {}


def split_by_group(dataset, validation_fraction: float = 0.1, seed: int = 0):
    """A ``DatasetDict`` with ``train`` and ``validation`` splits that share no parallel group."""
    from datasets import DatasetDict

    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    groups = np.array(sorted(set(dataset["group_id"])))
    rng = np.random.default_rng(seed)
    n_val = int(round(validation_fraction * len(groups)))
    if validation_fraction > 0 and n_val == 0:
        raise ValueError(f"{len(groups)} groups are too few for a {validation_fraction:.0%} validation split")
    held_out = set(rng.permutation(groups)[:n_val].tolist())
    is_val = np.array([g in held_out for g in dataset["group_id"]])
    split = DatasetDict({"train": dataset.select(np.flatnonzero(~is_val)),
                         "validation": dataset.select(np.flatnonzero(is_val))})
    for part in split.values():
        part.info.description = dataset.info.description
    return split


def data_card(pairs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Counts of a pair table: per language, per language pair, pairs per group, and per source."""
    kind = np.where(pairs.query_lang == pairs.passage_lang, "mono", "cross")
    languages = sorted(set(pairs.query_lang) | set(pairs.passage_lang))
    per_language = pd.DataFrame({
        "as query": pairs.groupby("query_lang").size(),
        "as passage": pairs.groupby("passage_lang").size(),
        "monolingual pairs": pairs[kind == "mono"].groupby("query_lang").size(),
        "groups": pairs.groupby("query_lang").group_id.nunique(),
    }).reindex(languages).fillna(0).astype(int)
    per_language.loc["total"] = [len(pairs), len(pairs), int((kind == "mono").sum()), pairs.group_id.nunique()]
    per_pair = pd.crosstab(pairs.query_lang, pairs.passage_lang).reindex(index=languages, columns=languages,
                                                                       fill_value=0)
    per_pair.index.name, per_pair.columns.name = "query language", "passage language"
    per_group = pairs.groupby("group_id").size().value_counts().sort_index().rename_axis("pairs per group")
    per_source = pd.crosstab(pairs.source, pd.Series(kind, name="kind", index=pairs.index))
    return {"per_language": per_language, "per_pair": per_pair,
            "pairs_per_group": per_group.rename("groups").to_frame(), "per_source": per_source}


def save_training_set(splits, path: str | os.PathLike[str]) -> Path:
    """Save a ``DatasetDict`` to ``path`` atomically (a reader sees the old set or the whole new one)."""
    target = project_path(path)
    with _io.atomic_dir(target) as tmp:
        splits.save_to_disk(str(tmp))
    return target


def training_set_path(training_dir: str | os.PathLike[str], source: str) -> Path:
    """Where notebook 01 saves the training set built from ``source`` (a LAReQA set or a QA file / hub name)."""
    import re

    return project_path(training_dir) / re.sub(r"[^\w.-]+", "_", Path(str(source)).name)


def load_training_set(path: str | os.PathLike[str]):
    """The ``DatasetDict`` saved by :func:`save_training_set`, with a clear error when it is missing."""
    from datasets import load_from_disk

    target = project_path(path)
    if not (target / "dataset_dict.json").is_file():
        raise FileNotFoundError(f"no training set at {target}: run notebook 01 (or build_training_pairs and "
                                "save_training_set) first")
    return load_from_disk(str(target))
