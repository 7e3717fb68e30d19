"""hybridlib: a reproducible companion to "Synergistic Approach for Simultaneous Optimization of Monolingual,
Cross-lingual, and Multilingual Information Retrieval" (arXiv 2408.10536).

Modules follow the paper's concepts: :mod:`~hybridlib.data` (LAReQA evaluation sets), :mod:`~hybridlib.models`
(encoders), :mod:`~hybridlib.samplers` and :mod:`~hybridlib.train` (the batches and fine-tuning),
:mod:`~hybridlib.evaluate` (mAP per language pair, mono / cross / multi), :mod:`~hybridlib.bias` (rank distance),
:mod:`~hybridlib.comparison` (seeds, paired tests, verdicts), :mod:`~hybridlib.paper` (the paper's reported
numbers), :mod:`~hybridlib.domains`, :mod:`~hybridlib.sweeps` and :mod:`~hybridlib.languages` (notebook 07),
:mod:`~hybridlib.plots` and :mod:`~hybridlib.runner` (notebooks under papermill).
"""

import warnings

# tqdm.auto falls back to its text bar in a kernel without ipywidgets (papermill's), and says so on every import
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
