"""The LAReQA loader: real counts, format, checksums, missing files and downloads."""

from __future__ import annotations

import gzip
import io
import json
import urllib.error
from pathlib import Path

import pytest

from hybridlib.data import lareqa as data
from hybridlib.data.lareqa import ChecksumError, DataError, MissingDataError, load_lareqa, parse_lareqa

from .conftest import toy_lareqa_json

XQUAD_CANDIDATES = {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244, "ru": 1219,
                    "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}
MLQA = {"ar": (517, 2545), "de": (512, 2362), "en": (1148, 6264), "es": (500, 1787), "hi": (507, 2426),
        "vi": (511, 2828), "zh": (504, 2322)}


@pytest.mark.data
def test_xquad_r_counts(real_data_dir):
    ds = load_lareqa("xquad-r", data_dir=real_data_dir)
    assert ds.languages == sorted(XQUAD_CANDIDATES)
    assert ds.questions.groupby("lang").size().to_dict() == {lang: 1190 for lang in XQUAD_CANDIDATES}
    assert ds.candidates.groupby("lang").size().to_dict() == XQUAD_CANDIDATES
    assert len(ds.candidates) == 13014
    assert ds.questions.group.nunique() == 1190
    # fully parallel: every group has exactly one answer sentence per language
    answers = ds.candidates.explode("groups").dropna(subset=["groups"])
    assert (answers.groupby("groups").lang.nunique() == 11).all()


@pytest.mark.data
def test_mlqa_r_counts(real_data_dir):
    ds = load_lareqa("mlqa-r", data_dir=real_data_dir)
    assert len(ds.questions) == 4199 and len(ds.candidates) == 20534
    assert {l: (int((ds.questions.lang == l).sum()), int((ds.candidates.lang == l).sum())) for l in MLQA} == MLQA
    langs_per_group = ds.questions.groupby("group").lang.nunique()
    assert len(langs_per_group) == 1148
    assert langs_per_group.value_counts().to_dict() == {4: 820, 3: 263, 2: 65}
    assert ds.questions.groupby("group").lang.apply(lambda s: "en" in set(s)).all()


@pytest.mark.data
def test_answer_sentence_holds_answer_start(real_data_dir):
    raw = data.read_json(data.data_file("xquad-r", "tr", real_data_dir))
    ds = load_lareqa("xquad-r", ["tr"], real_data_dir)
    cands = ds.candidates.set_index("cid")
    para = raw["data"][0]["paragraphs"][0]
    qa = para["qas"][0]
    answer = cands.loc[ds.questions.set_index("group").loc[qa["id"], "answer"]]
    start = qa["answers"][0]["answer_start"]
    idx = next(i for i, (b, e) in enumerate(para["sentence_breaks"]) if b <= start < e)
    assert answer.sentence == para["sentences"][idx]
    assert answer.context == para["context"]


def test_parse_toy_file():
    q, c = parse_lareqa(toy_lareqa_json("en", ["a", "b"], filler=2), "en")
    assert [x["group"] for x in q] == ["a", "b"]
    assert [x["groups"] for x in c] == [(), (), ("a",), (), (), ("b",)]
    assert q[0]["answer"] == c[2]["cid"] and c[2]["sentence"] == "en answer a."


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["data"][0]["paragraphs"][0].pop("sentences"), "LAReQA format"),
    (lambda d: d["data"][0]["paragraphs"][0]["sentence_breaks"].pop(), "sentence breaks"),
    (lambda d: d["data"][0]["paragraphs"][0]["qas"][0]["answers"][0].update(answer_start=10_000), "no sentence"),
])
def test_malformed_files_are_reported(mutate, message):
    obj = toy_lareqa_json("en", ["a"])
    mutate(obj)
    with pytest.raises(DataError, match=message):
        parse_lareqa(obj, "en", source="en.json")


def test_unknown_dataset_and_language():
    with pytest.raises(ValueError, match="unknown dataset 'squad'"):
        load_lareqa("squad")
    with pytest.raises(ValueError, match=r"unknown language\(s\) \['el'\] for mlqa-r"):
        load_lareqa("mlqa-r", ["en", "el"])
    with pytest.raises(TypeError, match="list of codes"):
        load_lareqa("mlqa-r", "en")


def _no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")
    monkeypatch.setattr(data.urllib.request, "urlopen", refuse)


def test_missing_file_offline_names_file_source_and_env(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    with pytest.raises(MissingDataError) as err:
        load_lareqa("mlqa-r", ["en"], data_dir=tmp_path)
    text = str(err.value)
    assert str(tmp_path / "mlqa-r" / "en.json") in text
    assert "354d67d1cd066854cdfbf5ad0e6105528976141d/mlqa-r/en.json" in text
    assert "HYBRIDLIB_DATA" in text


def test_env_variable_is_used(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    monkeypatch.setenv("HYBRIDLIB_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(MissingDataError, match="elsewhere"):
        load_lareqa("xquad-r", ["de"])


def test_corrupt_file_fails_its_checksum(tmp_path):
    folder = tmp_path / "xquad-r"
    folder.mkdir()
    (folder / "en.json").write_text(json.dumps(toy_lareqa_json("en", ["a"])))
    with pytest.raises(ChecksumError, match="fails its checksum"):
        load_lareqa("xquad-r", ["en"], data_dir=tmp_path)
    (folder / "en.json").unlink()
    (folder / "en.json.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ChecksumError, match="damaged"):
        load_lareqa("xquad-r", ["en"], data_dir=tmp_path)


@pytest.mark.data
def test_a_few_overwritten_bytes_in_a_real_gzip_name_the_file_and_the_fix(real_data_dir, tmp_path):
    folder = tmp_path / "mlqa-r"
    folder.mkdir()
    raw = bytearray((real_data_dir / "mlqa-r" / "en.json.gz").read_bytes())
    raw[5000:5008] = b"\xff" * 8  # inside the deflate stream: zlib's "invalid distance" kind of damage
    (folder / "en.json.gz").write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match=r"en\.json\.gz is damaged.*delete it to download it again"):
        load_lareqa("mlqa-r", ["en"], data_dir=tmp_path)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["data"][0]["paragraphs"][0]["sentence_breaks"].reverse(), "not increasing"),
    (lambda d: d["data"][0]["paragraphs"][0]["qas"].append(dict(d["data"][0]["paragraphs"][0]["qas"][0])),
     "occurs 2 times"),
])
def test_own_files_are_checked_and_named(tmp_path, mutate, message):
    from hybridlib.data.lareqa import load_lareqa_files

    for lang in ("en", "de"):
        obj = toy_lareqa_json(lang, ["a", "b"])
        if lang == "de":
            mutate(obj)
        (tmp_path / f"{lang}.json").write_text(json.dumps(obj))
    with pytest.raises(DataError, match=message) as err:
        load_lareqa_files(tmp_path)
    assert "de.json" in str(err.value)


def test_own_files_load_with_their_checksums(tmp_path):
    from hybridlib.data.lareqa import load_lareqa_files, sha256_file

    for lang in ("en", "de"):
        (tmp_path / f"{lang}.json").write_text(json.dumps(toy_lareqa_json(lang, ["a", "b"])))
    ds = load_lareqa_files({"en": tmp_path / "en.json", "de": tmp_path / "de.json"}, name="toy")
    assert ds.languages == ["en", "de"] and len(ds.questions) == 4 and ds.name == "toy"
    assert ds.checksums == {lang: sha256_file(tmp_path / f"{lang}.json") for lang in ("en", "de")}
    (tmp_path / "de.json").write_text(json.dumps(toy_lareqa_json("de", ["x", "y"])))
    with pytest.raises(DataError, match="no parallel questions"):
        load_lareqa_files(tmp_path)
    with pytest.raises(ValueError, match="no file for language"):
        load_lareqa_files(tmp_path, languages=["en", "ro"])


def test_every_file_is_checked_before_any_is_parsed(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    parsed = []
    monkeypatch.setattr(data, "parse_lareqa", lambda *a, **k: parsed.append(a) or ([], []))
    with pytest.raises(MissingDataError):
        load_lareqa("xquad-r", ["de", "en"], data_dir=tmp_path)
    assert parsed == []


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.data
def test_download_is_verified_and_atomic(tmp_path, monkeypatch, real_data_dir):
    payload = gzip.decompress((real_data_dir / "xquad-r" / "de.json.gz").read_bytes())
    urls = []
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: urls.append(url) or _Response(payload))
    path = data.data_file("xquad-r", "de", tmp_path)
    assert path == tmp_path / "xquad-r" / "de.json" and path.read_bytes() == payload
    assert urls == [data.source_url("xquad-r", "de")]
    assert "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c/xquad-r/de.json" in urls[0]

    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: _Response(payload[:-10]))
    with pytest.raises(ChecksumError, match="download"):
        data.data_file("xquad-r", "es", tmp_path)
    assert sorted(p.name for p in (tmp_path / "xquad-r").iterdir()) == ["de.json"], "nothing half-written"


def test_sources_pin_every_language():
    src = data.sources()
    assert set(src) == {"xquad-r", "mlqa-r"}
    assert src["xquad-r"]["commit"].startswith("9bc8c7f") and src["mlqa-r"]["commit"].startswith("354d67d")
    assert len(src["xquad-r"]["files"]) == 11 and len(src["mlqa-r"]["files"]) == 7
    for files in (s["files"] for s in src.values()):
        assert all(len(f["sha256"]) == 64 for f in files.values())


@pytest.mark.data
def test_pinned_checksums_match_the_shared_readme(real_data_dir):
    readme = (Path(real_data_dir) / "README.md")
    if not readme.is_file():
        pytest.skip("no README beside the data")
    text = readme.read_text()
    for name, src in data.sources().items():
        for lang, f in src["files"].items():
            assert f"`{name}/{lang}.json.gz`" in text and f["sha256"] in text and f["sha256_gz"] in text


def test_subset_keeps_paragraphs_of_kept_questions():
    from .conftest import toy_dataset

    ds = toy_dataset({"en": ["a", "b", "c"], "de": ["a", "c"]}, filler=1)
    sub = ds.subset(["de", "en"], max_groups=2)
    assert set(sub.questions.group) == {"a", "b"}
    assert set(sub.candidates.paragraph) == set(sub.questions.paragraph)
    assert all(set(gs) <= {"a", "b"} for gs in sub.candidates.groups)
    with pytest.raises(ValueError, match="not in"):
        ds.subset(["fr"])
    with pytest.raises(ValueError, match="positive"):
        ds.subset(max_groups=0)


def test_a_language_given_twice_is_refused():
    with pytest.raises(ValueError, match=r"\['en'\] more than once"):
        load_lareqa("mlqa-r", ["en", "de", "en"])
