"""Stage 5, training: fine-tuning with sentence-transformers' trainer (:mod:`~hybridlib.training.train`: InfoNCE with
in-batch negatives, the paper's samplers, checkpoints, resume, snapshots, the run spec written before a run trains)
and the cost of a scale on this machine (:mod:`~hybridlib.training.cost`). Nothing in analysis imports it."""
