"""Benchmark of numeric precision on this machine: fp32 against bfloat16 (prints its figures; not a test).

Measured on multilingual-e5-small (the default encoder), interleaved so that a change in the machine's load hits every
variant alike, ``--repeats`` rounds each:
1. encoding ``--texts`` mixed XQuAD-R texts (11 languages, the model's prefixes) at 64 tokens, batch 64: fp32, the
   weights cast to bf16 (``load_encoder(precision="bf16")``), and fp32 weights under ``torch.autocast`` bf16; the
   lowest and median cosine of each bf16 variant's embeddings to fp32's;
2. one training step (batch 32, 64 tokens, word embeddings frozen, in-batch negatives with the trainer's loss):
   fp32 against bf16 autocast, forward + backward + AdamW step;
3. zero-shot mAP (mono / cross / multi) and rank distance on XQuAD-R's first ``--groups`` groups, fp32 against bf16
   weights.
It starts with the CPU's model and its bfloat16 flags (:func:`hybridlib.models.bf16_support`).

    python benchmarks/bench_precision.py --texts 512 --repeats 3 --steps 4 --groups 60
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from hybridlib import encoders, models, pairs  # noqa: E402
from common import mixed_texts, zero_shot_line  # noqa: E402


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def autocast(enabled: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if enabled else contextlib.nullcontext()


def encoding(texts: list[str], repeats: int) -> None:
    fp32 = models.load_encoder("default", max_seq_length=64)
    bf16 = models.load_encoder("default", max_seq_length=64, precision="bf16")
    variants = {"fp32": (fp32, False), "bf16 weights": (bf16, False), "bf16 autocast": (fp32, True)}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    embeddings: dict[str, np.ndarray] = {}
    for name, (model, cast) in variants.items():  # warm-up: first calls allocate
        with autocast(cast), torch.inference_mode():
            model.encode(texts[:64], batch_size=64)
    for _ in range(repeats):
        for name, (model, cast) in variants.items():
            start = time.perf_counter()
            with autocast(cast), torch.inference_mode():
                out = model.encode(texts, batch_size=64, convert_to_tensor=True, normalize_embeddings=True)
            seconds[name].append(time.perf_counter() - start)
            embeddings[name] = models.normalize(out.float().numpy())  # unit length in float32, whatever computed it
    base = statistics.median(seconds["fp32"])
    for name, times in seconds.items():
        cosine = (embeddings[name] * embeddings["fp32"]).sum(axis=1)
        print(f"  {name:14s} median {statistics.median(times):6.2f} s ({len(texts) / statistics.median(times):5.1f} "
              f"texts/s; runs {', '.join(f'{t:.2f}' for t in times)}): {base / statistics.median(times):.2f}x fp32; "
              f"cosine to fp32 min {cosine.min():.4f}, median {np.median(cosine):.5f}")


def training(steps: int, repeats: int) -> None:
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    data = pairs.build_training_pairs("mlqa-r", evaluation_sets=["xquad-r"], max_groups=200, progress=False)
    rows = data.shuffle(seed=0).select(range(32 * steps))
    model = models.load_encoder("default", max_seq_length=64)
    model.train()
    from hybridlib.train import freeze_word_embeddings

    freeze_word_embeddings(model)
    loss = MultipleNegativesRankingLoss(model, scale=20.0)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
    query, passage = models.prompts_for("default")
    batches = [(rows[i:i + 32]["query"], rows[i:i + 32]["passage"]) for i in range(0, len(rows), 32)]

    def step(batch, cast: bool) -> float:
        features = [model.preprocess([query + t for t in batch[0]]), model.preprocess([passage + t for t in batch[1]])]
        start = time.perf_counter()
        with autocast(cast):
            value = loss(features, None)
        value.backward()
        optimizer.step()
        optimizer.zero_grad()
        return time.perf_counter() - start

    step(batches[0], False)  # warm-up
    step(batches[0], True)
    seconds: dict[str, list[float]] = {"fp32": [], "bf16 autocast": []}
    for _ in range(repeats):
        for name, cast in (("fp32", False), ("bf16 autocast", True)):
            seconds[name].append(sum(step(b, cast) for b in batches) / len(batches))
    base = statistics.median(seconds["fp32"])
    for name, times in seconds.items():
        print(f"  {name:14s} median {statistics.median(times):5.2f} s a step (runs "
              f"{', '.join(f'{t:.2f}' for t in times)}): {base / statistics.median(times):.2f}x fp32")


def quality(groups: int) -> None:
    for precision in ("fp32", "bf16"):
        print(zero_shot_line(precision, models.load_encoder("default", max_seq_length=64, precision=precision), groups))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--groups", type=int, default=60)
    args = ap.parse_args()
    native, why = models.bf16_support()
    print(f"{cpu_model()}, {os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads; "
          f"native bfloat16: {'yes' if native else 'no'} ({why})")
    print(f"1. encoding {args.texts} mixed XQuAD-R texts, 64 tokens, batch 64, {args.repeats} interleaved rounds")
    encoding(mixed_texts(args.texts), args.repeats)
    print(f"2. one training step, batch 32, 64 tokens, word embeddings frozen, mean of {args.steps} steps, "
          f"{args.repeats} interleaved rounds")
    training(args.steps, args.repeats)
    print(f"3. zero-shot on XQuAD-R's first {args.groups} groups (11 languages), 64 tokens")
    quality(args.groups)


if __name__ == "__main__":
    main()
