"""Translation: the transformers backend on a tiny local Marian model, Apertium where installed, the cache."""

from __future__ import annotations

import shutil

import pytest

from hybridlib.data import translate as mt

from .tiny_models import build_tiny_marian


class Recorder:
    """A backend that uppercases, recording each batch it is given."""

    name = "recorder"
    model_id = "upper"

    def __init__(self, fail_after: int | None = None):
        self.batches: list[list[str]] = []
        self.fail_after = fail_after

    def check(self, src, tgt):
        pass

    def translate_batch(self, texts, src, tgt):
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            raise KeyboardInterrupt
        self.batches.append(list(texts))
        return [t.upper() for t in texts]


def test_cache_translates_each_text_once_and_resumes(tmp_path):
    cache = tmp_path / "mt.sqlite"
    texts = [f"sentence {i}" for i in range(10)] + ["sentence 0"]
    with pytest.raises(KeyboardInterrupt):
        mt.translate(texts, "en", "es", backend=Recorder(fail_after=2), cache=cache, batch_size=3, progress=False)
    resumed = Recorder()
    out = mt.translate(texts, "en", "es", backend=resumed, cache=cache, batch_size=3, progress=False)
    assert out == [t.upper() for t in texts]
    assert sum(map(len, resumed.batches)) == 4, "the 6 texts of the two finished batches came from the cache"
    again = Recorder()
    mt.translate(texts, "en", "es", backend=again, cache=cache, progress=False)
    assert again.batches == []
    other_direction = Recorder()
    mt.translate(texts[:2], "en", "de", backend=other_direction, cache=cache, progress=False)
    assert other_direction.batches, "the key includes the direction"


class Neighbourly(Recorder):
    """A context-dependent engine, as Apertium is: each output carries the text before it in the batch."""

    context_dependent = True

    def translate_batch(self, texts, src, tgt):
        self.batches.append(list(texts))
        return [f"{t.upper()} (after {prev})" for prev, t in zip(["-", *texts[:-1]], texts)]


def test_a_context_dependent_engine_gives_what_the_inputs_alone_decide(tmp_path):
    cache = tmp_path / "mt.sqlite"
    small, large = ["b", "c"], ["a", "b", "c", "d"]
    mt.translate(small, "en", "es", backend=Neighbourly(), cache=cache, progress=False)  # an earlier stage
    fresh = mt.translate(large, "en", "es", backend=Neighbourly(), cache=None, progress=False)
    cached = mt.translate(large, "en", "es", backend=Neighbourly(), cache=cache, progress=False)
    assert cached == fresh, "what an earlier call cached in another batch is not reused"
    again = Neighbourly()
    assert mt.translate(large, "en", "es", backend=again, cache=cache, progress=False) == fresh
    assert again.batches == [], "the same batch is read back from the cache"


def test_bad_requests_fail_before_translating(tmp_path):
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        mt.translate(["a"], "en", "xx", backend=Recorder(), cache=None)
    with pytest.raises(ValueError, match="both 'en'"):
        mt.translate(["a"], "en", "en", backend=Recorder(), cache=None)
    with pytest.raises(ValueError, match="unknown translation backend"):
        mt.translate(["a"], "en", "es", backend="babelfish", cache=None)
    with pytest.raises(ValueError, match="needs model="):
        mt.translate(["a"], "en", "es", backend="transformers", cache=None)
    with pytest.raises(mt.TranslationError, match="does not exist"):
        mt.translate(["a"], "en", "es", backend="transformers", model="./no/such/mt-model", cache=None)
    recorder = Recorder()
    with pytest.raises(TypeError, match="not one string"):
        mt.translate("Hello world", "en", "es", backend=recorder, cache=None)
    with pytest.raises(ValueError, match="NUL character"):
        mt.translate(["fine", "a\x00b"], "en", "es", backend=recorder, cache=None)
    assert recorder.batches == [], "refused before translating"


def test_language_codes_per_family():
    assert mt.language_code("nllb", "es") == "spa_Latn"
    assert mt.language_code("nllb", "zh") == "zho_Hans"
    assert mt.language_code("m2m100", "hi") == "hi"
    assert mt.language_code("marian", "de") == "deu"
    assert {mt.language_code("nllb", l) for l in ["ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh"]} == {
        "arb_Arab", "deu_Latn", "eng_Latn", "spa_Latn", "hin_Deva", "rus_Cyrl", "tha_Thai", "tur_Latn", "zho_Hans"}
    with pytest.raises(ValueError):
        mt.language_code("opus", "es")


def test_flags():
    assert mt.flag_translation("hello", "") == "empty"
    assert mt.flag_translation("hello", "x" * 200) == "too long"
    assert mt.flag_translation("hello there", "hola") is None


def test_chrf_is_sacrebleu_and_orders_hypotheses():
    ref = ["the cat sat on the mat"]
    assert mt.chrf(ref, ref) == pytest.approx(100.0)
    assert mt.chrf(["the cat sat on a mat"], ref) > mt.chrf(["a dog stood"], ref)


def test_transformers_backend_on_a_tiny_local_marian(tmp_path):
    path = build_tiny_marian(tmp_path / "tiny-marian")
    backend = mt.TransformersBackend(path, batch_size=2, max_length=8)
    assert backend.family == "marian"
    texts, extra = backend._generation_inputs(["where is it"], "en", "es")
    assert texts == [">>spa<< where is it"] and extra == {}, "multi-target Marian gets its target token"
    calls = []
    generate = backend._model.generate
    backend._model.generate = lambda **kw: calls.append(kw["input_ids"].shape[0]) or generate(**kw)
    sentences = [f"the answer is here {i}" for i in range(5)]
    out = mt.translate(sentences, "en", "es", backend=backend, cache=tmp_path / "c.sqlite", progress=False)
    assert len(out) == 5 and all(isinstance(o, str) for o in out)
    assert calls == [2, 2, 1], "batches of batch_size"
    again = mt.translate(sentences, "en", "es", backend=backend, cache=tmp_path / "c.sqlite", progress=False)
    assert again == out and calls == [2, 2, 1], "served from the cache"


needs_apertium = pytest.mark.skipif(shutil.which("apertium") is None, reason="Debian's apertium is not installed")


@needs_apertium
def test_apertium_translates_english_to_spanish(tmp_path):
    out = mt.translate(["The house is red.", "Where is the dog?", "The house is red."], "en", "es",
                       backend="apertium", cache=tmp_path / "c.sqlite", progress=False)
    assert len(out) == 3 and out[0] == out[2]
    assert "casa" in out[0].lower() and "perro" in out[1].lower()


@needs_apertium
def test_apertium_names_the_missing_pair():
    with pytest.raises(mt.TranslationError, match="apertium-eng-fra|no eng-fra mode"):
        mt.translate(["hello"], "en", "fr", backend="apertium", cache=None)
    with pytest.raises(mt.TranslationError, match="no mapping for 'de'"):
        mt.translate(["hello"], "en", "de", backend="apertium", cache=None)


@needs_apertium
@pytest.mark.data
def test_mt_quality_beats_copying_the_source(real_data_dir, tmp_path):
    table = mt.mt_quality(["apertium", "transformers:./no/such/model"], n=20, data_dir=real_data_dir,
                          cache=tmp_path / "c.sqlite", progress=False)
    scores = table.pivot_table(index=["direction", "field"], columns="backend", values="chrF")
    assert (scores["apertium"] > scores["copy source (no MT)"] + 10).all()
    missing = table[table.backend.str.startswith("transformers")]
    assert missing.chrF.isna().all() and missing.note.str.contains("does not exist").all()
