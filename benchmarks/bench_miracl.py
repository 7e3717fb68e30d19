"""What a full MIRACL run needs: encoding time and index memory / time per million passages (prints its figures).

The MIRACL corpus is not reachable here, so encoding is measured on Wikipedia paragraphs of the same kind (MLQA-R's
contexts, as title-less passages, at MIRACL's usual 256 tokens), and the faiss indexes on synthetic unit vectors of
the encoder's dimension drawn around 1,000 random centres (embeddings cluster by topic; uniformly random vectors
would be a worst case for graph search), as many as fit comfortably (default 1,000,000 for the exact index,
200,000 for HNSW); per-million figures are extrapolated linearly. Index sizes are faiss' serialized bytes.

    python benchmarks/bench_miracl.py [--passages 2000] [--vectors 1000000] [--hnsw-vectors 200000]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def bench_encoding(n_passages: int, max_seq_length: int, batch_size: int) -> tuple[float, int]:
    from hybridlib.data import load_lareqa
    from hybridlib.miracl import build_index
    from hybridlib.models import load_encoder

    ds = load_lareqa("mlqa-r")
    contexts = list(dict.fromkeys(ds.candidates["context"]))[:n_passages]
    passages = [{"docid": f"p{i}", "title": "", "text": t} for i, t in enumerate(contexts)]
    encoder = load_encoder("default", max_seq_length=max_seq_length)
    start = time.perf_counter()
    index = build_index(encoder, passages, chunk_size=512, batch_size=batch_size, progress=True, desc="sample")
    seconds = time.perf_counter() - start
    mean_words = np.mean([len(t.split()) for t in contexts])
    print(f"encoding: {len(passages)} passages (mean {mean_words:.0f} words, max {max_seq_length} tokens), "
          f"all-MiniLM-L6-v2, batch {batch_size}: {seconds:.1f} s = {len(passages) / seconds:.1f} passages/s "
          f"-> {1e6 / (len(passages) / seconds) / 3600:.1f} h per million passages on this CPU")
    return seconds, index.index.d


def clustered(rng: np.random.Generator, centres: np.ndarray, n: int, spread: float = 0.6) -> np.ndarray:
    """``n`` unit vectors, each a random centre plus Gaussian noise."""
    import faiss

    x = centres[rng.integers(0, len(centres), n)] + spread * rng.standard_normal((n, centres.shape[1])) / np.sqrt(
        centres.shape[1])
    x = x.astype(np.float32)
    faiss.normalize_L2(x)
    return x


def bench_index(kind: str, n: int, dim: int, n_queries: int = 1000, k: int = 100) -> None:
    import faiss

    from hybridlib.miracl import make_index, overlap_at_k

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((1000, dim)) / np.sqrt(dim)
    index = make_index(kind, dim)
    exact = make_index("flat", dim) if kind != "flat" else None
    start = time.perf_counter()
    for lo in range(0, n, 100_000):
        x = clustered(rng, centres, min(100_000, n - lo))
        index.add(x)
        if exact is not None:
            exact.add(x)
    build = time.perf_counter() - start
    q = clustered(rng, centres, n_queries)
    start = time.perf_counter()
    _, ids = index.search(q, k)
    search = time.perf_counter() - start
    line = (f"{kind:>5}: {n:,} vectors x {dim}: build {build:.1f} s ({build / n * 1e6:.1f} s per million), "
            f"{n_queries} queries top-{k} in {search:.2f} s ({search / n_queries * 1e3:.2f} ms a query), "
            f"index {faiss.serialize_index(index).nbytes / 2**30:.2f} GiB "
            f"({faiss.serialize_index(index).nbytes / n * 1e6 / 2**30:.2f} GiB per million)")
    if exact is not None:
        _, exact_ids = exact.search(q, k)
        line += f", recall@{k} against exact {overlap_at_k(ids, exact_ids):.3f}"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--hnsw-vectors", type=int, default=200_000)
    args = parser.parse_args()
    import torch

    print(f"torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs")
    _, dim = bench_encoding(args.passages, args.max_seq_length, args.batch_size)
    bench_index("flat", args.vectors, dim)
    print(f"peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    bench_index("hnsw", args.hnsw_vectors, dim)


if __name__ == "__main__":
    main()
