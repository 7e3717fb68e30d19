"""Benchmark of the batch samplers (prints its figures; not a test).

In one run, on the same training pairs and model: the time our samplers take to draw a batch, and training
steps per second with each of our samplers and with sentence-transformers' default sampler. Goal: drawing a
batch costs under 2% of a training step.

    python benchmarks/bench_samplers.py --training-set build/data/training/mlqa-r --steps 10
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hybridlib import pairs, train  # noqa: E402
from hybridlib.samplers import KINDS, PairMeta, ParallelBatchSampler  # noqa: E402


def draw_time(meta: PairMeta, kind: str, batch_size: int, n_batches: int = 2000) -> float:
    """Seconds per batch drawn (the sampler alone)."""
    s = ParallelBatchSampler(range(len(meta)), batch_size, meta=meta, kind=kind, steps_per_epoch=n_batches)
    start = time.perf_counter()
    for _ in s:
        pass
    return (time.perf_counter() - start) / n_batches


def default_sampler_steps(train_set, config: train.TrainConfig, steps: int) -> float:
    """Steps per second of the same training with sentence-transformers' default batch sampler."""
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from hybridlib.models import load_encoder

    model = load_encoder(config.model, max_seq_length=config.max_seq_length)
    with tempfile.TemporaryDirectory() as out:
        args = SentenceTransformerTrainingArguments(
            output_dir=out, max_steps=steps, per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate, save_strategy="no", report_to="none", disable_tqdm=True,
            prompts={"query": config.query_prefix, "passage": config.passage_prefix}, use_cpu=True)
        trainer = SentenceTransformerTrainer(model=model, args=args, loss=MultipleNegativesRankingLoss(model),
                                             train_dataset=train_set.select_columns(["query", "passage"]))
        start = time.perf_counter()
        trainer.train()
        return steps / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--training-set", default="build/data/training/mlqa-r")
    ap.add_argument("--config", default="default")
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    splits = pairs.load_training_set(args.training_set)
    config = train.TrainConfig.load(args.config, max_steps=args.steps, save_steps=10**6, logging_steps=10**6)
    meta = PairMeta.from_dataset(splits["train"])
    print(f"{len(meta)} training pairs, model {config.model}, batch {config.batch_size}, "
          f"max_seq_length {config.max_seq_length}, {args.steps} steps per run")
    base = default_sampler_steps(splits["train"], config, args.steps)
    print(f"  sentence-transformers default sampler: {base:.3f} steps/s ({1 / base:.2f} s a step)")
    for kind in KINDS:
        per_batch = draw_time(meta, kind, config.batch_size)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            train.fine_tune(config.model, splits["train"], sampler=kind, config=config, output_dir=out,
                            resume=False, progress=False)
            rate = args.steps / (time.perf_counter() - start)
        print(f"  {kind:8s}: {rate:.3f} steps/s (incl. loading and saving); drawing a batch {1e3 * per_batch:.3f} ms "
              f"= {100 * per_batch * base:.3f}% of a step (goal < 2%)")


if __name__ == "__main__":
    main()
