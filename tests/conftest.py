"""Shared fixtures: the real data folder (when present), toy LAReQA data and toy encoders."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from hybridlib.core.paths import project_root
from hybridlib.data.lareqa import LareqaDataset, parse_lareqa

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="session")
def _trained_models_index(tmp_path_factory):
    """Models the tests train are remembered by their weights in a folder of the test session, not in build/."""
    from hybridlib.models import leakage

    old = leakage.TRAINED_INDEX
    leakage.TRAINED_INDEX = str(tmp_path_factory.mktemp("trained-models"))
    yield
    leakage.TRAINED_INDEX = old


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real data: $HYBRIDLIB_DATA must hold it when set (CI); otherwise data/ if present, else skip."""
    env = os.environ.get("HYBRIDLIB_DATA")
    if env:
        path = Path(env)
        assert (path / "xquad-r").is_dir(), f"HYBRIDLIB_DATA={env} has no xquad-r/"
        return path
    local = project_root() / "data"
    if (local / "xquad-r").is_dir():
        return local
    pytest.skip("real LAReQA data not available (set HYBRIDLIB_DATA)")


def toy_lareqa_json(lang: str, groups: list[str], filler: int = 2) -> dict:
    """A LAReQA-format file: one paragraph per group, the answer sentence after ``filler`` others."""
    paragraphs = []
    for g in groups:
        sentences = [f"{lang} filler {g} {i}." for i in range(filler)] + [f"{lang} answer {g}."]
        breaks, pos = [], 0
        for s in sentences:
            breaks.append([pos, pos + len(s)])
            pos += len(s) + 1
        context = " ".join(sentences)
        paragraphs.append({
            "context": context, "sentences": sentences, "sentence_breaks": breaks,
            "qas": [{"id": g, "question": f"{lang} question {g}?",
                     "answers": [{"answer_start": breaks[-1][0] + 2, "text": "x"}]}],
        })
    return {"data": [{"title": "toy", "paragraphs": paragraphs}], "version": "1.1"}


def toy_dataset(layout: dict[str, list[str]], filler: int = 2, name: str = "toy") -> LareqaDataset:
    """A LareqaDataset with the groups of each language given by ``layout``."""
    import pandas as pd

    qs, cs = [], []
    for lang, groups in layout.items():
        q, c = parse_lareqa(toy_lareqa_json(lang, groups, filler), lang)
        qs += q
        cs += c
    return LareqaDataset(name, list(layout), pd.DataFrame(qs), pd.DataFrame(cs))


class HashEncoder:
    """Deterministic pseudo-random unit vectors per text; ``encode`` takes only the list. Counts its work."""

    def __init__(self, dim: int = 16):
        self.dim = dim
        self.calls = 0
        self.texts: list[str] = []

    def encode(self, texts):
        self.calls += 1
        self.texts += list(texts)
        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            out.append(np.random.default_rng(seed).standard_normal(self.dim))
        return np.array(out, dtype=np.float32)


class PerfectEncoder:
    """A question on its group's axis, a candidate on the axes of the groups it answers, the rest on a noise axis.

    Every relevant candidate then scores above every irrelevant one (cosine > 0 against exactly 0).
    """

    def __init__(self, dataset: LareqaDataset):
        groups = list(dict.fromkeys(dataset.questions["group"]))
        gi = {g: i for i, g in enumerate(groups)}
        self.axes: dict[str, list[int]] = {}
        for t, g in zip(dataset.questions["text"], dataset.questions["group"]):
            self.axes[t] = [gi[g]]
        for s, gs in zip(dataset.candidates["sentence"], dataset.candidates["groups"]):
            self.axes.setdefault(s, [])
            self.axes[s] += [gi[g] for g in gs]
        self.dim = len(groups) + 1

    def encode(self, texts, batch_size=32, **kwargs):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, self.axes.get(t) or [self.dim - 1]] = 1.0
        return out
