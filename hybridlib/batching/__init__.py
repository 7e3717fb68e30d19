"""Stage 2, batching: how the paper draws its batches. One strategy class per kind (X-X-mono, X-Y, hybrid, X-X,
group-free ``any``, and sentence-transformers' own samplers) in one registry (:data:`hybridlib.batching.samplers.SAMPLERS`),
each saying what it draws, how its runs are named and which parameters it takes; the batch sampler the trainer uses and
the batch statistics of notebook 02 (:mod:`~hybridlib.batching.samplers`). It needs only the pairs' languages and
groups, so the stages above it (training, and analysis reading run specs) can name samplers without importing
training."""
