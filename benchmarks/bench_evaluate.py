"""Benchmark of the LAReQA evaluation (prints its figures; not a test).

1. Full datasets: time to encode every distinct text once, and time of everything after the embeddings
   (all pairs, the pooled setting, rank distance, summaries). Goal: the latter under 10% of the former.
2. The naive way, in the same run, on a subset (it is ~10x slower): re-encode questions and candidates for
   every language pair and for the pooled setting, against our encode-once path on the same subset;
   both must give the same numbers.

    python benchmarks/bench_evaluate.py                       # both datasets, all languages
    python benchmarks/bench_evaluate.py --datasets xquad-r --naive-groups 50
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from hybridlib.data import load_lareqa  # noqa: E402
from hybridlib.evaluate import LareqaEvaluation, _in_language_order, rank_lareqa  # noqa: E402
from hybridlib.models import embed_texts, load_encoder, model_record  # noqa: E402


def encode_once(encoder, ds, batch_size):
    """Our path: every distinct text once, then all settings from the embeddings."""
    cands = _in_language_order(ds)
    texts = list(ds.questions.text) + list(cands.sentence)
    t0 = time.perf_counter()
    emb = embed_texts(encoder, texts, batch_size=batch_size, progress=False)
    t1 = time.perf_counter()
    per_query = rank_lareqa(ds.questions, cands, emb[: len(ds.questions)], emb[len(ds.questions):], ds.languages)
    ev = LareqaEvaluation(ds.name, "bench", ds.languages, per_query)
    _ = ev.summary, ev.rank_distance, ev.by_query_language()
    t2 = time.perf_counter()
    return ev, t1 - t0, t2 - t1


def naive(encoder, ds, batch_size):
    """Re-encode per language pair and for the pooled setting, as a per-pair evaluation loop would."""
    cands = _in_language_order(ds)
    blocks = []
    t0 = time.perf_counter()
    for x in ds.languages:
        qx = ds.questions[ds.questions.lang == x]
        if qx.empty:
            continue
        pools = [(y, cands[cands.lang == y].reset_index(drop=True)) for y in ds.languages] + [("*", cands)]
        for y, pool in pools:
            if pool.empty:
                continue
            q_emb = embed_texts(encoder, list(qx.text), batch_size=batch_size, progress=False)
            c_emb = embed_texts(encoder, list(pool.sentence), batch_size=batch_size, progress=False)
            pq = rank_lareqa(qx, pool, q_emb, c_emb, ds.languages)
            blocks.append(pq[pq.setting == "multi"] if y == "*" else pq[pq.setting != "multi"])
    per_query = pd.concat(blocks, ignore_index=True)
    return LareqaEvaluation(ds.name, "naive", ds.languages, per_query), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["xquad-r", "mlqa-r"])
    ap.add_argument("--languages", nargs="+", default=None, help="restrict part 1 (default: all)")
    ap.add_argument("--max-groups", type=int, default=None, help="restrict part 1 (default: all)")
    ap.add_argument("--naive-languages", nargs="+", default=["de", "en", "es", "zh"])
    ap.add_argument("--naive-groups", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    encoder = load_encoder()
    print(f"encoder: {model_record(encoder).name} (max_seq_length {encoder.max_seq_length}), batch {args.batch_size}, "
          f"torch threads {__import__('torch').get_num_threads()}")
    for name in args.datasets:
        ds = load_lareqa(name, data_dir=args.data_dir)
        if args.languages or args.max_groups:
            ds = ds.subset([l for l in args.languages or ds.languages if l in ds.languages], args.max_groups)
        ev, t_enc, t_post = encode_once(encoder, ds, args.batch_size)
        n_texts = len(set(ds.questions.text) | set(ds.candidates.sentence))
        print(f"\n{name}: {len(ds.questions)} questions, {len(ds.candidates)} candidates, "
              f"{n_texts} distinct texts")
        print(f"  encoding:                {t_enc:8.1f} s  ({n_texts / t_enc:.0f} texts/s)")
        print(f"  after the embeddings:    {t_post:8.2f} s  = {100 * t_post / t_enc:.1f}% of encoding (goal < 10%)")
        sub = ds.subset([l for l in args.naive_languages if l in ds.languages], args.naive_groups)
        ours, s_enc, s_post = encode_once(encoder, sub, args.batch_size)
        slow, s_naive = naive(encoder, sub, args.batch_size)
        diff = float(np.nanmax(np.abs(ours.map_matrix.to_numpy() - slow.map_matrix.to_numpy())))
        multi_diff = abs(ours.summary["multi"]["map"] - slow.summary["multi"]["map"])
        print(f"{name} subset {sub.languages} x {args.naive_groups} groups "
              f"({len(sub.questions)} questions, {len(sub.candidates)} candidates):")
        print(f"  encode once + rank:      {s_enc + s_post:8.1f} s")
        print(f"  naive (re-encode/pair):  {s_naive:8.1f} s  = {s_naive / (s_enc + s_post):.1f}x slower")
        print(f"  same numbers: max |mAP difference| over pairs {diff:.2e}, multi {multi_diff:.2e}")


if __name__ == "__main__":
    main()
