"""Stage 4, scoring: a model's embeddings turned into scores. Ranking metrics (:mod:`~hybridlib.scoring.metrics`) and
bias / fairness metrics (:mod:`~hybridlib.scoring.bias`) on plain arrays; LAReQA mono / cross / multi
(:mod:`~hybridlib.scoring.evaluate`), MIRACL, AfriQA (MKQA protocol) and NTREX pooled; held-out validation
(:mod:`~hybridlib.scoring.validation`, which training calls); and the results store
(:mod:`~hybridlib.scoring.results`), which records each score once and reads it back."""
