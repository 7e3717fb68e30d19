"""A folder of one's own LAReQA files stands wherever XQuAD-R or MLQA-R does: evaluation, leakage, directions,
tables beside the paper (which has nothing to put there) and file names."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hybridlib import runner
from hybridlib.analysis import comparison, plots
from hybridlib.data import lareqa as data
from hybridlib.data import overlap
from hybridlib.scoring.evaluate import evaluate_datasets, evaluate_lareqa

from .conftest import HashEncoder, toy_lareqa_json


@pytest.fixture()
def own(tmp_path):
    folder = tmp_path / "data" / "own-set"
    folder.mkdir(parents=True)
    for lang in ("de", "en"):
        (folder / f"{lang}.json").write_text(json.dumps(toy_lareqa_json(lang, [f"o{i}" for i in range(4)])))
    return folder


def test_a_folder_is_opened_evaluated_and_guarded_like_a_built_in_set(own):
    assert data.lareqa_languages(own) == ["de", "en"] and data.open_lareqa(str(own)).name == "own-set"
    import gzip
    (own / "en.json.gz").write_bytes(gzip.compress((own / "en.json").read_bytes()))
    assert data.lareqa_languages(own) == ["de", "en"], "a language with a plain and a gzipped file counts once"
    assert data.open_lareqa(str(own)).languages == ["de", "en"]
    by_path = evaluate_lareqa(HashEncoder(), str(own), progress=False)
    by_object = evaluate_lareqa(HashEncoder(), data.load_lareqa_files(own), progress=False)
    pd.testing.assert_frame_equal(by_path.per_query, by_object.per_query)
    assert set(evaluate_datasets(HashEncoder(), [str(own)], languages=["en"], progress=False)[str(own)].languages) == {"en"}
    rows = pd.DataFrame({"group_id": ["o1", "x"], "query": ["q", "q2"], "passage": ["p", "en answer o3."]})
    leaks = overlap.find_leaks(rows, str(own))
    assert list(leaks["reason"]) == ["group id", "passage text"]
    with pytest.raises(ValueError, match="unknown dataset"):
        data.open_lareqa(str(own.parent / "missing"))


def test_directions_take_a_folder_and_the_paper_has_nothing_beside_it(own):
    params = runner.load_parameters("smoke")
    runner.check_values({**params, "directions": {str(own): "mlqa-r", "xquad-r": "mlqa-r"}, "languages": None})
    with pytest.raises(ValueError, match="unknown evaluation set"):
        runner.check_values({**params, "directions": {str(own.parent): "mlqa-r"}})
    ev = evaluate_lareqa(HashEncoder(), str(own), progress=False)
    runs = pd.DataFrame([{"run": comparison.REFERENCE, "sampler": comparison.REFERENCE, "seed": 0, "path": "-"}])
    compared = comparison.RunEvaluations(str(own), runs, {comparison.REFERENCE: ev})
    assert comparison.paper_beside(str(own), ["hybrid"]).empty
    ours = compared.by_query_language()
    assert comparison.beside_paper_by_language(ours, str(own)).equals(ours)
    assert list(compared.rank_distance_table().columns) == ["floor", "random", "zero-shot"]
    assert not comparison.paper_beside("xquad-r", ["hybrid"]).empty, "the built-in sets keep the paper's rows"


def test_a_dataset_given_as_a_folder_names_one_file(own, tmp_path):
    written = plots.save_table(pd.DataFrame({"a": [1]}), f"04_summary_{own.parent.name}/{own.name}", tmp_path)
    assert [p.name for p in written] == ["04_summary_data_own-set.csv", "04_summary_data_own-set.md"]


@pytest.mark.parametrize("name", ["english.json", ".json", "fr (copy).json", "EN.JSON", "de.json.txt"])
def test_files_not_named_by_a_language_code_are_refused_by_name(own, name):
    """Faults 4 and 14: ``english.json`` became a language "english", ``.json`` one called '', ``EN.JSON`` and
    ``de.json.txt`` were skipped without a word."""
    (own / name).write_text((own / "en.json").read_text())
    with pytest.raises(data.DataError, match=r"lower-case ISO 639 code") as err:
        data.load_lareqa_files(own)
    assert name in str(err.value)


def test_other_files_in_the_folder_are_left_alone(own):
    (own / "README.md").write_text("notes")
    assert data.lareqa_languages(own) == ["de", "en"]


def _edit(own, lang, change):
    obj = json.loads((own / f"{lang}.json").read_text())
    change(obj["data"][0]["paragraphs"][1])
    (own / f"{lang}.json").write_text(json.dumps(obj))


@pytest.mark.parametrize("change, message", [
    (lambda p: p["sentences"].__setitem__(0, "something else entirely."), "sentence 0 'something else entirely.' is not"),
    (lambda p: p["sentences"].__setitem__(1, "  "), "sentence 1 is empty"),
    (lambda p: p["qas"][0].__setitem__("answers", []), "question o1 has no answer"),
    (lambda p: p["qas"][0]["answers"][0].__setitem__("answer_start", "34"), "question o1 answer_start '34' is not a whole"),
])
def test_wrong_own_data_is_refused_naming_the_file_paragraph_and_question(own, change, message):
    """Fault 14: sentences that disagree with their breaks, empty ones and malformed answers were scored or gave
    Python's own messages."""
    _edit(own, "de", change)
    with pytest.raises(data.DataError, match=message) as err:
        data.load_lareqa_files(own)
    assert "de.json" in str(err.value)


def test_an_empty_file_is_blamed_on_itself(own):
    (own / "en.json").write_text(json.dumps({"version": "1.1", "data": []}))
    with pytest.raises(data.DataError, match=r"en\.json holds no questions"):
        data.load_lareqa_files(own)


def test_a_missing_file_says_it_is_missing_and_how_to_point_at_the_data(tmp_path, monkeypatch):
    """Fault 4: with HYBRIDLIB_DATA unset the README's Romanian example said 'does not parse as JSON: [Errno 2]'."""
    monkeypatch.delenv("HYBRIDLIB_DATA", raising=False)
    with pytest.raises(data.MissingDataError, match=r"is missing: .*point \$HYBRIDLIB_DATA .*is 'not set'"):
        data.read_json(tmp_path / "xquad" / "xquad.ro.json.gz")


def test_the_documented_minimal_file_is_valid(tmp_path):
    """Fault 4: the format was described only in a docstring; the page's example must load as written."""
    import re

    from hybridlib.core.paths import project_root

    page = (project_root() / "docs" / "own_data.md").read_text()
    example = json.loads(re.search(r"```json\n(.*?)```", page, re.S).group(1))
    (tmp_path / "de.json").write_text(json.dumps(example))
    english = json.loads(json.dumps(example).replace("Der Rhein ist lang.", "The Rhine is long.."))
    para = english["data"][0]["paragraphs"][0]
    para["context"] = "The Rhine is long. It flows through Basel."
    para["sentences"] = ["The Rhine is long.", "It flows through Basel."]
    para["sentence_breaks"] = [[0, 18], [19, 42]]
    para["qas"][0].update(question="What does the Rhine flow through?", answers=[{"text": "Basel", "answer_start": 36}])
    (tmp_path / "en.json").write_text(json.dumps(english))
    ds = data.load_lareqa_files(tmp_path)
    assert ds.languages == ["de", "en"] and len(ds.questions) == 2
    assert set(ds.questions["answer"]) == {"de:0:0:1", "en:0:0:1"}, "the answer is the second sentence"
