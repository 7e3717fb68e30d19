"""What a scale will cost on the machine at hand, from rates measured on it before the run starts.

:func:`measure_rates` times the scale's encoder on this machine (texts encoded a second at the scale's length and
precision; seconds a training step at its config's batch, length and precision) on real texts of the evaluation
sets; :func:`estimate` multiplies them by the work the scale plans (training steps of notebook 03, texts each
model encodes in 04-05). The runner prints it before a scale that asks for it (``estimate_cost: true``, the
``full`` scale) starts, and ``python -m hybridlib.runner --scale full --estimate`` prints it alone.

Example::

    rates = measure_rates("default", max_seq_length=128, batch_size=100, precision="bf16")
    estimate(load_parameters("full"), rates)      # one row per piece of work, seconds and hours
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd


def sample_texts(datasets: list[str], n: int = 512, data_dir: str | None = None) -> list[str]:
    """``n`` texts of the evaluation sets (questions and candidate sentences alternately), for timing."""
    from hybridlib.data.lareqa import open_lareqa

    texts: list[str] = []
    for name in datasets:
        ds = open_lareqa(name, None, data_dir)
        texts += [t for pair in zip(ds.questions["text"], ds.candidates["sentence"]) for t in pair][: n]
    return texts[:n] if texts else ["a question?", "an answer."] * (n // 2)


def measure_rates(model: str, *, max_seq_length: int, batch_size: int, precision: str, texts: list[str],
                  freeze_word_embeddings: bool = False, steps: int = 3) -> dict[str, Any]:
    """Texts a second the model encodes (``texts``, at ``max_seq_length`` and ``precision``) and seconds a training
    step takes (a batch of ``batch_size`` query-passage pairs from ``texts``, in-batch InfoNCE, AdamW; bfloat16
    autocast when ``precision`` is bf16), each after one warm-up, on this machine's device."""
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from hybridlib.models.encoder import load_encoder, resolve_device, resolve_precision
    from hybridlib.training.train import freeze_word_embeddings as freeze

    acting = resolve_precision(precision)
    encoder = load_encoder(model, max_seq_length=max_seq_length, precision=acting)
    encoder.encode(texts[:32], batch_size=32)
    start = time.perf_counter()
    encoder.encode(texts, batch_size=64)
    texts_per_second = len(texts) / (time.perf_counter() - start)
    del encoder

    trained = load_encoder(model, max_seq_length=max_seq_length)
    if freeze_word_embeddings:
        freeze(trained)
    trained.train()
    loss = MultipleNegativesRankingLoss(trained)
    optimizer = torch.optim.AdamW([p for p in trained.parameters() if p.requires_grad], lr=1e-6)
    device = resolve_device("auto")
    pairs = [(texts[(2 * i) % len(texts)], texts[(2 * i + 1) % len(texts)]) for i in range(batch_size)]

    def step() -> None:
        prepare = getattr(trained, "preprocess", None) or trained.tokenize
        features = [prepare([q for q, _ in pairs]), prepare([p for _, p in pairs])]
        features = [{k: v.to(trained.device) if hasattr(v, "to") else v for k, v in f.items()} for f in features]
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=acting == "bf16"):
            value = loss(features, None)
        value.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds_per_step = (time.perf_counter() - start) / steps
    return {"device": device, "precision": acting, "max_seq_length": max_seq_length, "batch_size": batch_size,
            "texts_per_second": round(texts_per_second, 1), "seconds_per_step": round(seconds_per_step, 3)}


def pool_texts(dataset: str, *, languages: list[str] | None, max_groups: int | None,
               data_dir: str | None = None) -> int:
    """How many texts one model encodes to score ``dataset`` as cut: its questions and candidate sentences."""
    from hybridlib.data.lareqa import open_lareqa

    ds = open_lareqa(dataset, languages, data_dir)
    if max_groups is not None or languages is not None:
        ds = ds.subset(languages, max_groups)
    return len(ds.questions) + len(ds.candidates)


def estimate(parameters: dict[str, Any], rates: dict[str, Any]) -> pd.DataFrame:
    """The scale's planned work priced at ``rates`` (:func:`measure_rates`): notebook 03's training (one run per
    training source, sampler and seed, ``max_steps`` each) and notebooks 04-05's scoring (the runs and the zero-shot
    model on each evaluation set, as cut by ``languages`` and ``max_groups``); one row each, with seconds and hours."""
    from hybridlib.models.runs import TrainConfig

    p = parameters
    config = TrainConfig.load(p["train_config"])
    runs = len(p["train_samplers"]) * len(p["train_seeds"])
    sources = list(dict.fromkeys(p["directions"].values()))
    rows = [{"work": f"03: train {runs} runs x {len(sources)} sources", "units": runs * len(sources) * config.max_steps,
             "unit": "steps", "seconds": runs * len(sources) * config.max_steps * rates["seconds_per_step"]}]
    for dataset in p["directions"]:
        texts = pool_texts(dataset, languages=p.get("languages"), max_groups=p.get("max_groups"),
                           data_dir=p.get("data_dir"))
        rows.append({"work": f"04-05: score {runs + 1} models on {dataset}", "units": (runs + 1) * texts,
                     "unit": "texts", "seconds": (runs + 1) * texts / rates["texts_per_second"]})
    table = pd.DataFrame(rows)
    total = pd.DataFrame([{"work": "total", "units": "", "unit": "", "seconds": table["seconds"].sum()}])
    table = pd.concat([table, total], ignore_index=True)
    table["hours"] = (table["seconds"] / 3600).round(2)
    table["seconds"] = table["seconds"].round(0)
    return table
