"""AfriQA and NTREX-128 loaders: checked files, the counts their data card gives, clear errors."""

from __future__ import annotations

import gzip
import shutil

import pandas as pd
import pytest

from hybridlib.data import corpora
from hybridlib.data.lareqa import ChecksumError, MissingDataError

pytestmark = pytest.mark.data


def test_ntrex_lines_are_aligned_across_languages_with_their_documents(real_data_dir):
    news = corpora.load_ntrex(["zu", "en", "ha"], data_dir=real_data_dir)
    assert list(news["lang"].unique()) == ["en", "ha", "zu"], "the registry's order, English first"
    assert len(news) == 3 * 1997 and news.groupby("lang")["line"].nunique().eq(1997).all()
    assert news["document"].nunique() == 123, "123 news documents (the data card)"
    with gzip.open(real_data_dir / "ntrex" / "newstest2019-ref.hau.txt.gz", "rt", encoding="utf-8") as fh:
        hausa = fh.read().splitlines()
    assert news[news["lang"] == "ha"]["text"].tolist() == hausa
    assert len(corpora.ntrex_languages()) == 29 and {"am", "ti", "zh", "ro"} <= set(corpora.ntrex_languages())


def test_afriqa_test_split_has_the_rows_of_its_data_card(real_data_dir):
    table = corpora.load_afriqa("test", data_dir=real_data_dir)
    dropped = pd.Series([i.split(":")[0] for i in table.attrs["without_passage"]]).value_counts()
    counts = table.groupby("lang").size().add(dropped, fill_value=0).astype(int).to_dict()
    assert counts == {"bem": 309, "fon": 386, "ha": 300, "ig": 409, "rw": 347, "sw": 295, "tw": 486, "yo": 254,
                      "zu": 325}, "test rows per language (shared/data/README.md), the 4 without a passage included"
    assert sorted(table.attrs["without_passage"]) == ["bem:312", "rw:250", "rw:69", "yo:205"]
    assert table["passage"].str.len().min() > 0
    assert table.groupby("lang")["passage"].nunique().sum() == 2975 - 3, "the card counts the empty one of bem, rw, yo"
    assert set(table.loc[table["lang"] == "fon", "passage_lang"]) == {"fr"} and set(table["passage_lang"]) == {"en", "fr"}
    first = table[table["id"] == "ha:0"].iloc[0]
    assert first["question_translated"] == "What region is Anambra State in Nigeria?"
    assert first["answers_translated"] == ["southeastern"] and "southeastern" in first["passage"]
    assert "wo" not in corpora.afriqa_languages("test"), "Wolof has queries only"


def test_a_damaged_or_missing_file_is_named_before_anything_is_parsed(real_data_dir, tmp_path):
    (tmp_path / "ntrex").mkdir()
    shutil.copy(real_data_dir / "ntrex" / "DOCUMENT_IDS.tsv", tmp_path / "ntrex")
    with pytest.raises(MissingDataError, match="newstest2019-ref.hau.txt not found.*HYBRIDLIB_DATA"):
        corpora.corpus_file("ntrex", "newstest2019-ref.hau.txt", tmp_path, download_missing=False)
    damaged = tmp_path / "ntrex" / "newstest2019-ref.hau.txt"
    damaged.write_text("not the news\n", encoding="utf-8")
    with pytest.raises(ChecksumError, match="newstest2019-ref.hau.txt fails its checksum"):
        corpora.load_ntrex(["ha"], data_dir=tmp_path)


def test_unknown_languages_and_splits_are_refused_by_name():
    with pytest.raises(ValueError, match=r"NTREX-128 has no language\(s\) \['xx'\]"):
        corpora.load_ntrex(["en", "xx"])
    with pytest.raises(ValueError, match="split must be one of"):
        corpora.load_afriqa("train")
    with pytest.raises(ValueError, match="unknown corpus"):
        corpora.corpus_file("mkqa", "x")
