"""Benchmark: a whole LAReQA evaluation against the pure encoding of the same texts (prints its figures; not a test).

The evaluation (:func:`hybridlib.evaluate.evaluate_lareqa`, no embedding cache) encodes each distinct text once,
longest first, then ranks every setting; the pure encoding is one ``model.encode`` call on the same distinct texts
(sentence-transformers sorts them by length itself) and nothing else. Goal (issue "Each model scored once"): the
evaluation at most 1.15x the pure encoding. Interleaved, ``--repeats`` times each (which goes first alternates), the
median reported.

    python benchmarks/bench_encoding_limit.py                              # XQuAD-R, first 160 groups, bf16
    python benchmarks/bench_encoding_limit.py --dataset mlqa-r --precision fp32
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hybridlib.data import load_lareqa  # noqa: E402
from hybridlib.evaluate import _in_language_order, evaluate_lareqa  # noqa: E402
from hybridlib.models import load_encoder, model_record  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="xquad-r")
    ap.add_argument("--max-groups", type=int, default=160, help="the default scale's cut (default: 160)")
    ap.add_argument("--precision", default="bf16", choices=("fp32", "bf16"))
    ap.add_argument("--max-seq-length", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32, help="the default scale's (32)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    encoder = load_encoder("default", max_seq_length=args.max_seq_length, precision=args.precision)
    prompts = model_record(encoder).prompts
    ds = load_lareqa(args.dataset).subset(max_groups=args.max_groups)
    texts = list(dict.fromkeys([prompts[0] + t for t in ds.questions["text"]]
                               + [prompts[1] + s for s in _in_language_order(ds)["sentence"]]))
    print(f"{args.dataset}, first {args.max_groups} groups: {len(ds.questions)} questions, {len(ds.candidates)} "
          f"candidates, {len(texts)} distinct texts; {args.precision} ({model_record(encoder).precision} acting), "
          f"{args.max_seq_length} tokens, batch {args.batch_size}")
    def timed(run) -> float:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start

    encode = lambda: encoder.encode(texts, batch_size=args.batch_size, show_progress_bar=False,  # noqa: E731
                                    convert_to_numpy=True)
    evaluate = lambda: evaluate_lareqa(encoder, ds, query_prefix=prompts[0], passage_prefix=prompts[1],  # noqa: E731
                                       batch_size=args.batch_size, progress=False)
    encode()  # warm-up, not counted
    pure, whole = [], []
    for repeat in range(args.repeats):
        order = (("pure", encode), ("whole", evaluate))[:: 1 if repeat % 2 == 0 else -1]
        for name, run in order:
            (pure if name == "pure" else whole).append(timed(run))
    p, w = statistics.median(pure), statistics.median(whole)
    print(f"  pure encoding (model.encode, distinct texts): {p:7.1f} s  runs {[round(x, 1) for x in pure]}")
    print(f"  whole evaluation (evaluate_lareqa):           {w:7.1f} s  runs {[round(x, 1) for x in whole]}")
    print(f"  ratio: {w / p:.3f}x (goal <= 1.15x)")


if __name__ == "__main__":
    main()
