"""hybridlib: a reproducible companion to "Synergistic Approach for Simultaneous Optimization of Monolingual,
Cross-lingual, and Multilingual Information Retrieval" (arXiv 2408.10536).

Modules follow the paper's concepts: :mod:`~hybridlib.data` (LAReQA evaluation sets), :mod:`~hybridlib.models`
(encoders), :mod:`~hybridlib.evaluate` (mAP per language pair, mono / cross / multi), :mod:`~hybridlib.bias`
(rank distance), :mod:`~hybridlib.paper` (the paper's reported numbers), :mod:`~hybridlib.plots` and
:mod:`~hybridlib.runner` (notebooks under papermill).
"""

__version__ = "0.1.0"
