"""What several benchmarks share: a fixed sample of mixed-language texts and one line of zero-shot scores."""

from __future__ import annotations

import time

import numpy as np

from hybridlib import models
from hybridlib.data import load_lareqa
from hybridlib.evaluate import evaluate_lareqa


def mixed_texts(n: int) -> list[str]:
    """``n`` XQuAD-R questions and sentences, all 11 languages interleaved, with the model's prefixes."""
    ds = load_lareqa("xquad-r")
    query, passage = models.prompts_for("default")
    texts = [query + t for t in ds.questions.text] + [passage + s for s in ds.candidates.sentence]
    rng = np.random.default_rng(0)
    return [texts[i] for i in rng.choice(len(texts), size=n, replace=False)]


def zero_shot_line(label: str, model, groups: int) -> str:
    """The default encoder's zero-shot mono / cross / multi mAP and rank distance on XQuAD-R's first ``groups``
    groups, as one printed line ending in the seconds it took."""
    query, passage = models.prompts_for("default")
    start = time.perf_counter()
    ev = evaluate_lareqa(model, "xquad-r", max_groups=groups, query_prefix=query, passage_prefix=passage,
                         progress=False)
    s = ev.summary
    return (f"  {label}: mono {s['mono']['map']:.4f}, cross {s['cross']['map']:.4f}, multi {s['multi']['map']:.4f}, "
            f"rank distance {ev.rank_distance['mean']:.2f}; {time.perf_counter() - start:.0f} s")
