"""Loading encoders (default offline model, local folders, hub ids) and embedding texts once, resumably."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hybridlib.models import encoder as models
from hybridlib.models.encoder import ModelLoadError, embed_texts, load_encoder, resolve_model

from .conftest import HashEncoder
from .tiny_models import build_tiny_xlmr


def test_resolve_model_paths_and_hub_ids(tmp_path):
    where, local = resolve_model("default")
    assert local and (Path(where) / "hybridlib_conversion.json").is_file()
    assert resolve_model("all-MiniLM-L6-v2") == (str(models.minilm_path()), True)
    assert resolve_model("xlm-roberta-base") == ("xlm-roberta-base", False)
    assert resolve_model("sentence-transformers/LaBSE") == ("sentence-transformers/LaBSE", False)
    assert resolve_model(tmp_path) == (str(tmp_path), True)
    for missing in ("/no/such/model", "./build/no-model", "a/b/c", str(tmp_path / "absent")):
        with pytest.raises(ModelLoadError, match="does not exist"):
            resolve_model(missing)
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="is a file"):
        resolve_model(tmp_path / "weights.bin")


def test_missing_model_fails_before_any_work():
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_encoder("/no/such/model")


def test_hub_id_offline_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="needs the Hugging Face hub"):
        load_encoder("hybridlib-test/not-a-cached-model")


@pytest.mark.model
def test_default_encoder_loads_offline_and_ranks_a_paraphrase_first():
    enc = load_encoder()
    emb = embed_texts(enc, ["How many points did the defense give up?",
                            "The defense allowed 308 points.", "Paris is the capital of France."], progress=False)
    assert emb.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2]
    assert models.encoding_id(enc) == models.encoding_id(load_encoder())
    assert not any(name.startswith("hybridlib") for name in vars(enc)), "nothing patched onto the model object"


def test_plain_transformer_checkpoint_gets_mean_pooling(tmp_path):
    # the code path of the paper's xlm-roberta-base, on a tiny local XLM-R
    path = build_tiny_xlmr(tmp_path / "tiny-xlmr")
    enc = load_encoder(path, max_seq_length=64)
    assert enc.max_seq_length == 64
    assert "mean" in str(enc).lower()
    emb = embed_texts(enc, ["Query: where?", "Passage: here."], progress=False)
    assert emb.shape == (2, 32)


def test_encode_accepts_an_encoder_that_takes_only_the_list():
    class Bare:
        def encode(self, texts):
            return [[len(t), 1.0] for t in texts]

    out = models.encode(Bare(), ["a", "bbb"])
    assert out.dtype == np.float32 and out.tolist() == [[1.0, 1.0], [3.0, 1.0]]
    with pytest.raises(ValueError, match="nothing to encode"):
        models.encode(Bare(), [])

    class Wrong:
        def encode(self, texts):
            return np.zeros(len(texts))

    with pytest.raises(ValueError, match="expected \\(n, dim\\)"):
        models.encode(Wrong(), ["a"])


def test_interrupted_encoding_resumes_from_the_cache(tmp_path):
    texts = [f"text number {i}" + "x" * (i % 7) for i in range(50)]

    class Flaky(HashEncoder):
        def encode(self, batch):
            if self.calls == 2:
                raise KeyboardInterrupt
            return super().encode(batch)

    with pytest.raises(KeyboardInterrupt):
        embed_texts(Flaky(), texts, cache_dir=tmp_path, cache_key="m", chunk_size=10, progress=False)
    resumed = HashEncoder()
    out = embed_texts(resumed, texts, cache_dir=tmp_path, cache_key="m", chunk_size=10, progress=False)
    assert len(resumed.texts) == 30, "the two finished chunks come from the cache"
    np.testing.assert_allclose(out, embed_texts(HashEncoder(), texts, progress=False), rtol=1e-6)
    assert not list(tmp_path.rglob("*.tmp*")), "no partial files"


def test_duplicates_are_encoded_once_and_rows_follow_the_input():
    enc = HashEncoder()
    out = embed_texts(enc, ["b", "a", "b", "a", "c"], progress=False)
    assert sorted(enc.texts) == ["a", "b", "c"]
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[1], out[3])


def test_static_grid_encoder_is_deterministic_per_seed():
    texts = ["hello world again", "hola mundo otra vez", "hallo welt nochmal"] * 50
    make = lambda seed: models.build_static_encoder(texts, vocab_size=120, dim=16, seed=seed)
    a, b, c = (m.encode(["hello mundo"]) for m in (make(3), make(3), make(4)))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert models.model_record(make(3)).kind == "static" and models.encoding_id(make(3)).startswith("static-")
    with pytest.raises(ValueError, match="needs texts"):
        models.build_static_encoder([])


def test_static_vocabulary_is_the_same_every_time_and_spells_every_word():
    texts = ["Der Hund läuft.", "the dog runs", "the cat runs", "el perro corre"] * 3 + ["zebra"]
    vocab = models.static_vocabulary(texts, vocab_size=60)
    assert vocab == models.static_vocabulary(list(reversed(texts)), vocab_size=60), "order of texts does not matter"
    assert vocab[:2] == ["[PAD]", "[UNK]"] and len(vocab) == len(set(vocab))
    words = vocab[vocab.index("##ä") + 1:] if "##ä" in vocab else []
    assert words[:2] == ["runs", "the"], "most frequent first: runs and the, 6 times each, ties alphabetical"
    tokenizer = models.build_static_encoder(texts, vocab_size=60, dim=4)[0].tokenizer
    assert "[UNK]" not in tokenizer.encode("zebra läuft").tokens, "any word of the texts is spelt from its characters"


def test_a_damaged_embedding_chunk_is_named_dropped_and_recomputed(tmp_path):
    """Fault 16: a truncated cache chunk made every later run fail without naming the file."""
    from .conftest import HashEncoder

    texts = [f"text {i}" for i in range(5)]
    first = embed_texts(HashEncoder(), texts, cache_dir=tmp_path, cache_key="m", progress=False)
    (chunk,) = list(tmp_path.rglob("*.npy"))
    chunk.write_bytes(chunk.read_bytes()[:100])
    encoder = HashEncoder()
    with pytest.warns(UserWarning, match=f"damaged embedding cache file {chunk}"):
        again = embed_texts(encoder, texts, cache_dir=tmp_path, cache_key="m", progress=False)
    np.testing.assert_array_equal(first, again)
    assert encoder.calls == 1, "recomputed"
    assert np.load(chunk).shape == (5, 16), "and written back whole"


def test_every_door_scores_at_one_default_length(tmp_path):
    """Fault 3: the CLI and load_encoder scored at the model's own 512 tokens where every scale uses 64."""
    from hybridlib.models import registry as encoders
    from hybridlib.models.encoder import default_max_seq_length
    from hybridlib.runner import load_parameters

    path = build_tiny_xlmr(tmp_path / "tiny-xlmr")
    assert load_encoder(path).max_seq_length == encoders.DEFAULT_MAX_SEQ_LENGTH
    assert default_max_seq_length(path) == (encoders.DEFAULT_MAX_SEQ_LENGTH, "hybridlib's default (every scale's)")
    assert load_parameters("default")["max_seq_length"] == encoders.DEFAULT_MAX_SEQ_LENGTH
    (path / "hybridlib_training.json").write_text('{"config": {"max_seq_length": 32}}')
    assert load_encoder(path).max_seq_length == 32, "a model hybridlib trained: the length it trained at"


@pytest.mark.model
def test_a_damaged_built_encoder_is_rebuilt_naming_it(tmp_path, monkeypatch):
    """Fault 16: a truncated encoder under build/cache/encoders/ made every later run fail."""
    from hybridlib.models import encoder as models

    monkeypatch.setattr(models, "ENCODER_CACHE", str(tmp_path))
    folder = models.e5_path()
    (weights,) = [f for f in folder.rglob("*.safetensors")]
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.warns(UserWarning, match=f"the built encoder {folder} does not load"):
        enc = load_encoder("default")
    assert embed_texts(enc, ["query: a"], progress=False).shape == (1, 384)


def test_bf16_casts_the_weights_where_native_and_falls_back_with_a_warning(tmp_path, monkeypatch):
    import torch

    from hybridlib.models import encoder as models

    with pytest.raises(ValueError, match="precision must be one of"):
        models.resolve_precision("fp16")
    path = build_tiny_xlmr(tmp_path / "tiny-xlmr")
    fp32 = load_encoder(path)
    monkeypatch.setattr(models, "bf16_support", lambda: (True, "test"))
    bf16 = load_encoder(path, precision="bf16")
    assert next(bf16.parameters()).dtype == torch.bfloat16 and models.encoding_id(bf16).endswith(":bf16")
    assert models.model_record(bf16).precision == "bf16" and models.model_record(fp32).precision == "fp32"
    texts = ["Query: where is it?", "Passage: it is here."]
    a, b = embed_texts(fp32, texts, progress=False), embed_texts(bf16, texts, progress=False)
    assert b.dtype == np.float32 and (a * b).sum(axis=1).min() > 0.98
    monkeypatch.setattr(models, "bf16_support", lambda: (False, "the CPU has neither avx512_bf16 nor amx_bf16"))
    with pytest.warns(UserWarning, match="bf16 falls back to fp32: the CPU has neither"):
        fallback = load_encoder(path, precision="bf16")
    assert next(fallback.parameters()).dtype == torch.float32 and models.encoding_id(fallback) == models.encoding_id(fp32)
