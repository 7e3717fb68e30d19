"""LAReQA evaluation data (XQuAD-R, MLQA-R): where it comes from, checking it, and loading it.

A LAReQA file is SQuAD v1.1 JSON whose paragraphs also carry ``sentences`` and ``sentence_breaks``. Loading
yields two plain tables:

* questions: ``qid`` (``lang:id``), ``lang``, ``text``, ``group`` (the question id, shared by the translations
  of one question: the parallel group), ``paragraph``, ``answer`` (the candidate id of its answer sentence);
* candidates: ``cid`` (``lang:paragraph:sentence``), ``lang``, ``sentence``, ``context`` (its paragraph),
  ``paragraph`` and ``groups`` (the tuple of group ids it answers).

A question's answer sentence is the sentence whose ``[start, end)`` break holds the first answer's
``answer_start``; its text is taken from ``sentences``. A question's relevant candidates are the answer
sentences of its group in every language.

Files are looked up in a data folder (an explicit argument, else ``$HYBRIDLIB_DATA``, else ``data/`` in the
project root) as ``<dataset>/<lang>.json.gz`` or ``<dataset>/<lang>.json``. A missing file is downloaded from
its public source at a pinned commit; every file is checked against its sha256 before it is parsed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import urllib.error
import urllib.request
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from hybridlib.core import _io
from hybridlib.core.paths import DATA_ENV
from hybridlib.core.paths import data_dir as resolve_data_dir

RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{folder}/{lang}.json"


class DataError(RuntimeError):
    """Evaluation data is missing, corrupt or malformed."""


class MissingDataError(DataError):
    """A data file is absent and could not be downloaded."""


class ChecksumError(DataError):
    """A data file's sha256 differs from the pinned one."""


@lru_cache(maxsize=1)
def sources() -> dict[str, dict[str, Any]]:
    """The pinned public source of every dataset: repository, commit, folder, licence and per-file sha256."""
    text = resources.files("hybridlib").joinpath("resources/sources.json").read_text(encoding="utf-8")
    return json.loads(text)


def dataset_names() -> list[str]:
    """Names of the LAReQA datasets hybridlib knows."""
    return sorted(sources())


def dataset_languages(name: str) -> list[str]:
    """The languages of dataset ``name``, in the order used for matrices and pooled rankings."""
    return sorted(_source(name)["files"])


LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")  # ISO 639 with optional subtags: ro, fil, zh-Hans


def own_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """The LAReQA files of one's own in ``folder``, by language (``<lang>.json`` or ``<lang>.json.gz``; the first in
    name order where both exist); empty when ``folder`` is not a folder or holds none. A file that looks meant as one
    (``.json`` in its name) but is not named by a lower-case language code is refused, naming it."""
    folder = Path(folder).expanduser()
    paths: dict[str, Path] = {}
    if folder.is_dir():
        for f in sorted(folder.iterdir()):
            if ".json" not in f.name.lower() or f.name.startswith(".") and f.name.endswith(".tmp"):
                continue
            lang = f.name.removesuffix(".gz").removesuffix(".json")
            if not f.name.endswith((".json", ".json.gz")) or not LANGUAGE_CODE.match(lang):
                raise DataError(f"{f}: a LAReQA file of one's own is named <lang>.json or <lang>.json.gz with <lang> "
                                f"a lower-case ISO 639 code (en.json, ro.json.gz, zh-Hans.json); rename or move it")
            paths.setdefault(lang, f)
    return paths


def is_lareqa_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder holding LAReQA files of one's own (``<lang>.json`` or ``<lang>.json.gz``)."""
    return bool(own_files(path))


def is_lareqa(dataset: str | os.PathLike[str]) -> bool:
    """Whether ``dataset`` names a LAReQA set: a built-in one or a folder of one's own files."""
    return str(dataset) in dataset_names() or is_lareqa_folder(dataset)


def open_lareqa(dataset: str | os.PathLike[str] | LareqaDataset, languages: list[str] | None = None,
                data_dir: str | os.PathLike[str] | None = None) -> LareqaDataset:
    """A LAReQA dataset from what a user may name: a loaded one (restricted to ``languages``), a built-in name
    (:func:`load_lareqa`) or a folder of one's own files (:func:`load_lareqa_files`)."""
    if isinstance(dataset, LareqaDataset):
        return dataset.subset(list(languages)) if languages is not None else dataset
    if str(dataset) in dataset_names():
        return load_lareqa(str(dataset), languages, data_dir)
    if is_lareqa_folder(dataset):
        return load_lareqa_files(dataset, languages=languages)
    raise ValueError(f"unknown dataset {str(dataset)!r}: a LAReQA set is one of {', '.join(dataset_names())} or a "
                     "folder of <lang>.json[.gz] files of your own")


def lareqa_languages(dataset: str | os.PathLike[str]) -> list[str]:
    """The languages of a built-in LAReQA set or of a folder of one's own files (from the file names)."""
    if str(dataset) in dataset_names():
        return dataset_languages(str(dataset))
    if is_lareqa_folder(dataset):
        return sorted(own_files(dataset))
    raise ValueError(f"unknown dataset {str(dataset)!r}; known: {', '.join(dataset_names())}, or a folder of "
                     "<lang>.json[.gz] files")


def _source(name: str) -> dict[str, Any]:
    try:
        return sources()[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(dataset_names())}") from None


def check_languages(name: str, languages: list[str] | tuple[str, ...] | None) -> list[str]:
    """``languages`` validated against dataset ``name`` (all of them when None), in the dataset's order."""
    available = dataset_languages(name)
    if languages is None:
        return available
    if isinstance(languages, str):
        raise TypeError(f"languages must be a list of codes, not the string {languages!r}")
    repeated = sorted({lang for lang in languages if list(languages).count(lang) > 1})
    if repeated:
        raise ValueError(f"languages lists {repeated} more than once")
    unknown = [lang for lang in languages if lang not in available]
    if unknown:
        raise ValueError(
            f"unknown language(s) {unknown} for {name}; available: {', '.join(available)}"
        )
    if not languages:
        raise ValueError("languages is empty")
    return [lang for lang in available if lang in set(languages)]


def source_url(name: str, lang: str) -> str:
    """The public URL of one language file of dataset ``name`` at its pinned commit."""
    src = _source(name)
    return RAW_URL.format(lang=lang, **{k: src[k] for k in ("repository", "commit", "folder")})


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes (read once per process while the file's size and time stay the same: loading
    a set verifies and records each file)."""
    stat = os.stat(path)
    return _sha256_of(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path: Path, expected: dict[str, Any]) -> None:
    """Raise ChecksumError unless ``path`` (plain, or gzipped) has the pinned content."""
    digest = sha256_file(path)
    if path.suffix == ".gz":
        if digest == expected.get("sha256_gz"):
            return
        try:
            with gzip.open(path, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
        except (OSError, EOFError, zlib.error) as exc:
            raise ChecksumError(f"{path} is damaged: it fails its checksum and does not decompress ({exc}); delete "
                                "it to download it again, or copy a good one there") from exc
    if digest != expected["sha256"]:
        raise ChecksumError(
            f"{path} fails its checksum: sha256 {digest}, expected {expected['sha256']} "
            "(a corrupt or different file; delete it to download it again)"
        )


def download(url: str, dest: Path, sha256: str, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` atomically, refusing content whose sha256 is not ``sha256``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise MissingDataError(f"could not download {url}: {exc}") from exc
    digest = hashlib.sha256(payload).hexdigest()
    if digest != sha256:
        raise ChecksumError(f"download of {url} has sha256 {digest}, expected {sha256}")
    with _io.atomic_open(dest, "wb") as fh:
        fh.write(payload)
    return dest


def data_file(
    name: str, lang: str, data_dir: str | os.PathLike[str] | None = None, *, download_missing: bool = True
) -> Path:
    """The verified local file of ``name``/``lang``, downloaded first if it is absent."""
    src = _source(name)
    check_languages(name, [lang])
    expected = src["files"][lang]
    folder = resolve_data_dir(data_dir) / src["folder"]
    for candidate in (folder / f"{lang}.json.gz", folder / f"{lang}.json"):
        if candidate.is_file():
            verify_file(candidate, expected)
            return candidate
    url = source_url(name, lang)
    dest = folder / f"{lang}.json"
    if not download_missing:
        raise MissingDataError(_missing_message(name, lang, folder, url, "downloads are switched off"))
    try:
        return download(url, dest, expected["sha256"])
    except MissingDataError as exc:
        raise MissingDataError(_missing_message(name, lang, folder, url, str(exc))) from exc


def _missing_message(name: str, lang: str, folder: Path, url: str, why: str) -> str:
    return (
        f"{name} file for '{lang}' not found: looked for {folder / (lang + '.json.gz')} and "
        f"{folder / (lang + '.json')}; fetching it from its public source {url} failed ({why}). "
        f"Put the file there, or point ${DATA_ENV} (or data_dir=) at a folder that holds {name}/{lang}.json[.gz]."
    )


def read_json(path: Path) -> dict[str, Any]:
    """Parse a JSON or gzipped JSON file, reporting a file that does not parse as a DataError."""
    opener = gzip.open if path.suffix == ".gz" else open
    if not Path(path).is_file():
        raise MissingDataError(f"{path} is missing{' (it is a folder)' if Path(path).is_dir() else ''}: put the file "
                               f"there, or point ${DATA_ENV} at the data folder that holds it ({DATA_ENV} is "
                               f"{os.environ.get(DATA_ENV, 'not set')!r})")
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} does not parse as JSON: {exc}") from exc


def parse_lareqa(obj: dict[str, Any], lang: str, source: str = "<memory>",
                 strict: bool = False) -> tuple[list[dict], list[dict]]:
    """Question rows and candidate rows of one LAReQA language file (see the module docstring). ``strict`` (files of
    one's own) also refuses an empty sentence, a sentence that is not the text of its break span (whitespace
    aside), and a question without an answer or with a non-integer ``answer_start``."""
    questions: list[dict] = []
    candidates: list[dict] = []
    try:
        articles = obj["data"]
        for a_idx, article in enumerate(articles):
            for p_idx, para in enumerate(article["paragraphs"]):
                paragraph = f"{lang}:{a_idx}:{p_idx}"
                sentences, breaks = para["sentences"], para["sentence_breaks"]
                if len(sentences) != len(breaks):
                    raise DataError(f"{source}: paragraph {paragraph} has {len(sentences)} sentences "
                                    f"but {len(breaks)} sentence breaks")
                ends = [0] + [e for _, e in breaks]
                if any(not (ends[i] <= b < e <= len(para["context"]) + 1) for i, (b, e) in enumerate(breaks)):
                    raise DataError(f"{source}: paragraph {paragraph} has sentence breaks that are not increasing "
                                    f"[start, end) spans inside its context: {breaks}")
                if strict:
                    _check_sentences(para, paragraph, source)
                first = len(candidates)
                for s_idx, sentence in enumerate(sentences):
                    candidates.append({"cid": f"{paragraph}:{s_idx}", "lang": lang, "sentence": sentence,
                                       "context": para["context"], "paragraph": paragraph, "groups": []})
                for qa in para["qas"]:
                    start = _answer_start(qa, source) if strict else qa["answers"][0]["answer_start"]
                    hits = [i for i, (b, e) in enumerate(breaks) if b <= start < e]
                    if not hits:
                        raise DataError(f"{source}: question {qa['id']} answer_start {start} lies in no sentence")
                    answer = candidates[first + hits[0]]
                    answer["groups"].append(qa["id"])
                    questions.append({"qid": f"{lang}:{qa['id']}", "lang": lang, "text": qa["question"],
                                      "group": qa["id"], "paragraph": paragraph, "answer": answer["cid"]})
    except (KeyError, TypeError, IndexError) as exc:
        raise DataError(f"{source} is not in LAReQA format (SQuAD JSON with sentences and "
                        f"sentence_breaks): missing or malformed {exc}") from exc
    for cand in candidates:
        cand["groups"] = tuple(dict.fromkeys(cand["groups"]))
    return questions, candidates


def _check_sentences(para: dict[str, Any], paragraph: str, source: str) -> None:
    """Refuse an empty sentence, or one that is not its break span's text (whitespace collapsed)."""
    for s_idx, (sentence, (b, e)) in enumerate(zip(para["sentences"], para["sentence_breaks"])):
        if not isinstance(sentence, str) or not sentence.strip():
            raise DataError(f"{source}: paragraph {paragraph} sentence {s_idx} is empty")
        span = para["context"][b:e]
        if " ".join(sentence.split()) != " ".join(span.split()):
            raise DataError(f"{source}: paragraph {paragraph} sentence {s_idx} {sentence[:60]!r} is not the text of "
                            f"its break [{b}, {e}) in the context ({span[:60]!r}); sentences must be the context's "
                            "text at their breaks")


def _answer_start(qa: dict[str, Any], source: str) -> int:
    """The first answer's ``answer_start`` of a question, refused clearly when absent or not a whole number."""
    qid = qa.get("id", "<no id>")
    answers = qa.get("answers")
    if not isinstance(answers, list) or not answers or not isinstance(answers[0], dict):
        raise DataError(f"{source}: question {qid} has no answer (answers must be a non-empty list of "
                        "{'text', 'answer_start'})")
    start = answers[0].get("answer_start")
    if isinstance(start, bool) or not isinstance(start, int):
        raise DataError(f"{source}: question {qid} answer_start {start!r} is not a whole number (a character "
                        "offset into the context)")
    return start


@dataclass(frozen=True)
class LareqaDataset:
    """A LAReQA retrieval set: questions and the candidate sentences of all its languages.

    Rows are ordered by language (in ``languages`` order), then as in the source files; that order is the
    candidate order used to break ties in rankings.
    """

    name: str
    languages: list[str]
    questions: pd.DataFrame
    candidates: pd.DataFrame
    files: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)  # sha256 per language file as read

    def __repr__(self) -> str:
        return (f"LareqaDataset({self.name!r}, languages={self.languages}, "
                f"questions={len(self.questions)}, candidates={len(self.candidates)})")

    def content_key(self) -> str:
        """A short sha256 of which questions and candidates this set holds (their ids, in order): two subsets of
        one set with the same name tell apart by it."""
        import hashlib

        ids = [*self.questions["qid"].astype(str), "\x1e", *self.candidates["cid"].astype(str)]
        return hashlib.sha256("\x1f".join(ids).encode()).hexdigest()[:16]

    @property
    def groups(self) -> pd.Index:
        """The parallel group ids, in order of first appearance."""
        return pd.Index(self.questions["group"].unique())

    def subset(self, languages: list[str] | None = None, max_groups: int | None = None,
               groups: Collection[str] | None = None) -> LareqaDataset:
        """The same dataset restricted to ``languages``, to the parallel groups in ``groups`` (all when None) and
        of those to the first ``max_groups``.

        Candidates are kept from the paragraphs that hold a kept question, so the pools shrink with the
        questions; a kept candidate's groups are cut to the kept groups.
        """
        langs = self.languages if languages is None else [l for l in self.languages if l in set(languages)]
        if languages is not None:
            unknown = sorted(set(languages) - set(self.languages))
            if unknown:
                raise ValueError(f"languages {unknown} are not in {self!r}")
        if max_groups is not None and max_groups < 1:
            raise ValueError(f"max_groups must be positive, got {max_groups}")
        q = self.questions[self.questions["lang"].isin(langs)]
        if groups is not None:
            wanted = set(map(str, groups))
            q = q[q["group"].astype(str).isin(wanted)]
            if q.empty:
                raise ValueError(f"none of the {len(wanted)} groups asked for is in {self!r}")
        order = list(dict.fromkeys(q["group"]))
        keep = set(order if max_groups is None else order[:max_groups])
        q = q[q["group"].isin(keep)].reset_index(drop=True)
        c = self.candidates[self.candidates["paragraph"].isin(set(q["paragraph"]))].copy()
        c["groups"] = [tuple(g for g in gs if g in keep) for gs in c["groups"]]
        return LareqaDataset(self.name, langs, q, c.reset_index(drop=True), dict(self.files), dict(self.checksums))


def load_lareqa(
    name: str,
    languages: list[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download_missing: bool = True,
) -> LareqaDataset:
    """Load XQuAD-R (``"xquad-r"``) or MLQA-R (``"mlqa-r"``), all languages unless ``languages`` is given.

    Every file is found (or downloaded) and checksummed before any is parsed, so a bad input fails early.
    """
    langs = check_languages(name, languages)
    paths = {lang: data_file(name, lang, data_dir, download_missing=download_missing) for lang in langs}
    questions: list[dict] = []
    candidates: list[dict] = []
    for lang, path in paths.items():
        q, c = parse_lareqa(read_json(path), lang, source=str(path))
        questions += q
        candidates += c
    return LareqaDataset(
        name=name,
        languages=langs,
        questions=pd.DataFrame(questions, columns=["qid", "lang", "text", "group", "paragraph", "answer"]),
        candidates=pd.DataFrame(candidates, columns=["cid", "lang", "sentence", "context", "paragraph", "groups"]),
        files={lang: str(p) for lang, p in paths.items()},
        checksums={lang: sha256_file(p) for lang, p in paths.items()},
    )


def load_lareqa_files(
    files: str | os.PathLike[str] | dict[str, str | os.PathLike[str]],
    *,
    name: str | None = None,
    languages: list[str] | None = None,
    extends: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> LareqaDataset:
    """A LAReQA dataset from files of your own: a folder of ``<lang>.json[.gz]`` files or a ``{lang: path}``
    mapping (plain or gzipped JSON), checked as the built-in sets are (sentences and breaks agree, every answer
    lies in a sentence, question ids unique per language and shared with the other languages), each file's sha256
    recorded in ``checksums`` (there is no pin to check it against). ``extends`` adds these languages to a
    built-in set (``"xquad-r"`` plus ``ro``, say); a language it already has is refused.

    Example::

        ds = load_lareqa_files("my-data/", extends="xquad-r")       # my-data/ro.json
        evaluate_lareqa(model, ds, query_prefix="query: ", passage_prefix="passage: ")
    """
    if isinstance(files, dict):
        paths = {str(lang): Path(p).expanduser() for lang, p in files.items()}
        label = name or "own"
    else:
        folder = Path(files).expanduser()
        if not folder.is_dir():
            raise MissingDataError(f"{folder} is not a folder of <lang>.json[.gz] LAReQA files")
        paths = own_files(folder)
        label = name or folder.name
    if languages is not None:
        if isinstance(languages, str):
            raise TypeError(f"languages must be a list of codes, not the string {languages!r}")
        missing = sorted(set(languages) - set(paths))
        if missing:
            raise ValueError(f"no file for language(s) {missing}; found {sorted(paths)}")
        paths = {lang: paths[lang] for lang in dict.fromkeys(languages)}
    if not paths:
        raise MissingDataError(f"no LAReQA files (<lang>.json or <lang>.json.gz) in {files}")
    for lang, path in paths.items():
        if not path.is_file():
            raise MissingDataError(f"the {lang} file {path} does not exist")
    base = load_lareqa(extends, data_dir=data_dir) if extends is not None else None
    if base is not None:
        clash = sorted(set(paths) & set(base.languages))
        if clash:
            raise ValueError(f"{extends} already has language(s) {clash}; give only new languages to extend it")
    questions, candidates = ([base.questions], [base.candidates]) if base is not None else ([], [])
    for lang, path in paths.items():
        q, c = parse_lareqa(read_json(path), lang, source=str(path), strict=True)
        if not q:
            raise DataError(f"{path} holds no questions (a LAReQA file needs data -> paragraphs -> qas)")
        q = pd.DataFrame(q, columns=["qid", "lang", "text", "group", "paragraph", "answer"])
        dup = q["group"][q["group"].duplicated()]
        if len(dup):
            raise DataError(f"{path}: question id {dup.iloc[0]!r} occurs {int((q['group'] == dup.iloc[0]).sum())} "
                            "times; ids must be unique within a language (they name the parallel group)")
        questions.append(q)
        candidates.append(pd.DataFrame(c, columns=["cid", "lang", "sentence", "context", "paragraph", "groups"]))
    langs = (base.languages if base is not None else []) + list(paths)
    all_q = pd.concat(questions, ignore_index=True)
    if len(langs) > 1:
        for lang, path in paths.items():
            own = set(all_q.loc[all_q.lang == lang, "group"])
            if not own & set(all_q.loc[all_q.lang != lang, "group"]):
                raise DataError(f"{path}: none of its {len(own)} question ids occurs in another language, so it "
                                "has no parallel questions; parallel questions must share their id across files")
    files_ = {**(base.files if base is not None else {}), **{lang: str(p) for lang, p in paths.items()}}
    checksums = {**(base.checksums if base is not None else {}), **{lang: sha256_file(p) for lang, p in paths.items()}}
    return LareqaDataset(f"{extends}+{label}" if base is not None else label, langs, all_q,
                         pd.concat(candidates, ignore_index=True), files_, checksums)


def lareqa_from_squad(squad: dict[str, Any]) -> dict[str, Any]:
    """A SQuAD v1.1 file (such as XQuAD's ``ro``) in LAReQA format: each context split into sentences after
    ``.``, ``!``, ``?`` or ``。`` followed by white space (a simple rule: check its output for your language), the
    breaks covering the whole context so that every answer lies in a sentence."""
    import re

    out = {"version": squad.get("version", "1.1"), "data": []}
    for article in squad["data"]:
        paragraphs = []
        for para in article["paragraphs"]:
            context = para["context"]
            starts = [0] + [m.end() for m in re.finditer(r"(?<=[.!?。])\s+", context) if m.end() < len(context)]
            ends = starts[1:] + [len(context)]
            breaks = [[b, e] for b, e in zip(starts, ends)]
            paragraphs.append({**para, "sentences": [context[b:e].strip() for b, e in breaks],
                               "sentence_breaks": breaks})
        out["data"].append({**article, "paragraphs": paragraphs})
    return out
