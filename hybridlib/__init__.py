"""hybridlib: a reproducible companion to "Synergistic Approach for Simultaneous Optimization of Monolingual,
Cross-lingual, and Multilingual Information Retrieval" (arXiv 2408.10536).

The package is laid out by the pipeline's stages (docs/package_map.md), each a subpackage whose imports point
only down the pipeline: :mod:`~hybridlib.core` (paths, atomic writes), :mod:`~hybridlib.data` (LAReQA, AfriQA,
NTREX-128, languages, translation, training pairs), :mod:`~hybridlib.batching` (the paper's samplers),
:mod:`~hybridlib.models` (encoders, model records, run specs), :mod:`~hybridlib.scoring` (metrics, evaluations, the
results store), :mod:`~hybridlib.training` (fine-tuning), :mod:`~hybridlib.analysis` (seeds, paired tests, verdicts,
figures) and :mod:`~hybridlib.studies` (train-and-score sweeps); :mod:`~hybridlib.cli` and :mod:`~hybridlib.runner`
are the entry points.
"""

import warnings

# tqdm.auto falls back to its text bar in a kernel without ipywidgets (papermill's), and says so on every import
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
