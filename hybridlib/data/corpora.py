"""Low-resource evaluation data beyond LAReQA: AfriQA and NTREX-128, from pinned sources, checked, as plain tables.

* **AfriQA** (Ogundepo et al., Findings of EMNLP 2023; CC BY 4.0): questions written in nine African languages,
  each with its gold English (French for Fon) Wikipedia passage and a human translation of the question.
  :func:`load_afriqa` gives one row per question of a split (``test`` for scoring, ``dev`` for choices).
* **NTREX-128** (Federmann et al. 2022; CC BY-SA 4.0): the WMT19 news test set, 1,997 sentences in 123 documents,
  professionally translated and line-aligned; 29 languages staged. :func:`load_ntrex` gives one row per line and
  language.

Files are looked up as for the LAReQA sets (an explicit ``data_dir``, else ``$HYBRIDLIB_DATA``, else ``data/``), in
``<corpus>/<file>`` or ``<corpus>/<file>.gz``; every file is checked against the sha256 pinned in
``resources/corpora.json`` before it is parsed, and a missing one is downloaded from its repository at the pinned
commit (or named, with where to put it, when it cannot be). Language codes are mapped once to the project's codes
(:data:`hybridlib.data.languages.CORPUS_CODES`): ``hau`` -> ``ha``, ``zho-CN`` -> ``zh``.

Example::

    from hybridlib.data import corpora
    news = corpora.load_ntrex(["en", "ha", "zu"])      # line, document, lang, text
    afriqa = corpora.load_afriqa("test", ["ha", "sw"])  # id, lang, question, question_translated, passage, ...
"""

from __future__ import annotations

import ast
import gzip
import json
import os
import zlib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from hybridlib.core.paths import DATA_ENV
from hybridlib.core.paths import data_dir as resolve_data_dir
from hybridlib.data.languages import CORPUS_CODES
from hybridlib.data.lareqa import ChecksumError, DataError, MissingDataError, download, verify_file

RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"
AFRIQA_SPLITS = ("dev", "test")


@lru_cache(maxsize=1)
def corpora() -> dict[str, dict[str, Any]]:
    """The pinned source of every corpus: repository, commit, folder, licence, citation, and per file its upstream
    path and sha256 (of the original and of the staged gzip)."""
    text = resources.files("hybridlib").joinpath("resources/corpora.json").read_text(encoding="utf-8")
    return json.loads(text)


def corpus_file(corpus: str, name: str, data_dir: str | os.PathLike[str] | None = None, *,
                download_missing: bool = True) -> Path:
    """The verified local copy of file ``name`` of ``corpus`` (``afriqa``, ``ntrex``), downloaded first if absent."""
    if corpus not in corpora():
        raise ValueError(f"unknown corpus {corpus!r}; known: {sorted(corpora())}")
    source = corpora()[corpus]
    if name not in source["files"]:
        raise ValueError(f"{corpus} has no file {name!r}")
    expected = source["files"][name]
    folder = resolve_data_dir(data_dir) / source["folder"]
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            verify_file(candidate, expected)
            return candidate
    url = RAW_URL.format(repository=source["repository"], commit=source["commit"], path=expected["path"])
    why = "downloads are switched off"
    if download_missing:
        try:
            return download(url, folder / name, expected["sha256"])
        except MissingDataError as exc:
            why = str(exc)
    raise MissingDataError(f"{corpus} file {name} not found: looked for {folder / name}[.gz]; fetching it from {url} "
                           f"failed ({why}). Put the file there, or point ${DATA_ENV} (or data_dir=) at a folder "
                           f"that holds {source['folder']}/{name}[.gz]")


def _text(path: Path) -> str:
    """A (possibly gzipped) UTF-8 file's text, a damaged one named."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                return fh.read()
        return path.read_text(encoding="utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DataError(f"{path} does not read as UTF-8 text: {exc}") from exc


def _json_lines(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(_text(path).splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {number}: not JSON ({exc})") from exc
    return rows


def _code(corpus_code: str) -> str:
    """The project's code of a corpus's language code (``hau`` -> ``ha``)."""
    if corpus_code not in CORPUS_CODES:
        raise DataError(f"language code {corpus_code!r} is not in hybridlib.data.languages.CORPUS_CODES")
    return CORPUS_CODES[corpus_code]


def _check(asked: list[str] | None, known: list[str], what: str) -> list[str]:
    if asked is None:
        return known
    if isinstance(asked, str) or not asked:
        raise ValueError(f"languages must be a non-empty list of codes, got {asked!r}")
    unknown = sorted(set(asked) - set(known))
    if unknown:
        raise ValueError(f"{what} has no language(s) {unknown}; it has {known}")
    return [lang for lang in known if lang in set(asked)]


def ntrex_languages() -> list[str]:
    """The NTREX-128 languages staged, as the project's codes (English first)."""
    codes = [name.split(".")[1] for name in corpora()["ntrex"]["files"] if name.startswith("newstest2019-ref.")]
    mapped = sorted(_code(c) for c in codes)
    return ["en", *[c for c in mapped if c != "en"]]


def load_ntrex(languages: list[str] | None = None, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per line and language of NTREX-128: ``line`` (0-based, shared by a sentence's translations),
    ``document`` (its news document), ``lang`` and ``text``; every file checked, and all of the same length,
    before any row is returned. English is the reference translation (``eng-US``), not the source file."""
    langs = _check(languages, ntrex_languages(), "NTREX-128")
    by_code = {_code(name.split(".")[1]): name for name in corpora()["ntrex"]["files"]
               if name.startswith("newstest2019-ref.")}
    documents = _text(corpus_file("ntrex", "DOCUMENT_IDS.tsv", data_dir)).splitlines()
    frames = []
    for lang in langs:
        path = corpus_file("ntrex", by_code[lang], data_dir)
        lines = _text(path).splitlines()
        if len(lines) != len(documents):
            raise DataError(f"{path} has {len(lines)} lines, DOCUMENT_IDS.tsv {len(documents)}: not line-aligned")
        frames.append(pd.DataFrame({"line": range(len(lines)), "document": documents, "lang": lang, "text": lines}))
    return pd.concat(frames, ignore_index=True)


def afriqa_languages(split: str = "test") -> list[str]:
    """The AfriQA languages with gold passages in ``split``, as the project's codes."""
    if split not in AFRIQA_SPLITS:
        raise ValueError(f"split must be one of {AFRIQA_SPLITS}, got {split!r}")
    return sorted(_code(name.split(".")[2]) for name in corpora()["afriqa"]["files"]
                  if name.startswith("gold_span_passages.") and name.endswith(f".{split}.json"))


def load_afriqa(split: str = "test", languages: list[str] | None = None,
                data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per AfriQA question of ``split`` with a gold passage: ``id`` (``<lang>:<id>``), ``lang``,
    ``question`` (in ``lang``), ``question_translated`` (its human translation into the passage's language),
    ``answers`` (in ``lang``), ``answers_translated`` (in the passage, the spans retrieval is judged by),
    ``passage``, ``title`` and ``passage_lang`` (``en``, or ``fr`` for Fon). Every file is checked first. The few
    rows whose gold passage is empty upstream (4 of 3,111 in test) are left out; ``attrs["without_passage"]`` names
    them."""
    langs = _check(languages, afriqa_languages(split), f"AfriQA {split}")
    files = corpora()["afriqa"]["files"]
    frames, dropped = [], []
    for lang in langs:
        name = next(n for n in files if n.startswith("gold_span_passages.") and n.endswith(f".{split}.json")
                    and _code(n.split(".")[2]) == lang)
        pivot = name.split(".")[3]
        rows = _json_lines(corpus_file("afriqa", name, data_dir))
        dropped += [f"{lang}:{r.get('id')}" for r in rows if not r.get("context")]
        rows = [r for r in rows if r.get("context")]
        missing = [k for k in ("id", "question_lang", "question_translated", "context", "answer_pivot")
                   if rows and k not in rows[0]]
        if missing:
            raise DataError(f"{name}: rows lack {missing}")
        frames.append(pd.DataFrame({
            "id": [f"{lang}:{r['id']}" for r in rows], "lang": lang, "question": [r["question_lang"] for r in rows],
            "question_translated": [r["question_translated"] for r in rows],
            "answers": [_answers(r.get("answer_lang")) for r in rows],
            "answers_translated": [list(r["answer_pivot"].get("text", [])) for r in rows],
            "passage": [r["context"] for r in rows], "title": [r.get("title", "") for r in rows],
            "passage_lang": _code(pivot)}))
    table = pd.concat(frames, ignore_index=True)
    if table["id"].duplicated().any():
        raise DataError(f"AfriQA {split}: question ids repeat within a language: "
                        f"{table.loc[table['id'].duplicated(), 'id'].head(3).tolist()}")
    table.attrs["without_passage"] = dropped
    return table


def _answers(value: Any) -> list[str]:
    """An answer field as a list: AfriQA writes some as a Python-list string (``"['Doha']"``), some as text."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value.startswith("["):
        try:
            return [str(v) for v in ast.literal_eval(value)]
        except (ValueError, SyntaxError):
            pass
    return [] if value is None else [str(value)]


__all__ = ["ChecksumError", "DataError", "MissingDataError", "afriqa_languages", "corpora", "corpus_file",
           "load_afriqa", "load_ntrex", "ntrex_languages"]
