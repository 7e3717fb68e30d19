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

# The flat modules of hybridlib 0.1 and where they live now (issue 25): ``import hybridlib.train`` and
# ``from hybridlib import samplers`` keep working for this release, with a FutureWarning naming the new place.
# ``hybridlib.data`` and ``hybridlib.models`` are packages that re-export what their old modules' users call.
MOVED = {
    "paths": "core.paths", "_io": "core._io", "corpora": "data.corpora", "languages": "data.languages",
    "translate": "data.translate", "pairs": "data.pairs", "leakage": "models.leakage", "samplers": "batching.samplers",
    "encoders": "models.registry", "model_record": "models.model_record", "e5_conversion": "models.e5_conversion",
    "metrics": "scoring.metrics", "bias": "scoring.bias", "evaluate": "scoring.evaluate", "miracl": "scoring.miracl",
    "afriqa": "scoring.afriqa", "ntrex": "scoring.ntrex", "results": "scoring.results",
    "mteb_adapter": "scoring.mteb_adapter", "validation": "scoring.validation", "train": "training.train",
    "cost": "training.cost", "comparison": "analysis.comparison", "experiments": "analysis.experiments",
    "domains": "analysis.domains", "length_curve": "analysis.length_curve", "low_resource": "analysis.low_resource",
    "paper": "analysis.paper", "plots": "analysis.plots", "sweeps": "studies.sweeps",
}


class _MovedModules:
    """A finder that answers an old module name with the module now in its place (the same object, so that
    ``hybridlib.train.fine_tune`` and ``hybridlib.training.train.fine_tune`` are one function)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        import importlib.util

        old = name.removeprefix(f"{__name__}.")
        if name.startswith(f"{__name__}.") and old in MOVED:
            return importlib.util.spec_from_loader(name, _MovedModules)
        return None

    @staticmethod
    def create_module(spec):
        import importlib

        new = f"{__name__}.{MOVED[spec.name.removeprefix(f'{__name__}.')]}"
        warnings.warn(f"{spec.name} has moved to {new}; the old name goes in the next release", FutureWarning,
                      stacklevel=2)
        return importlib.import_module(new)

    @staticmethod
    def exec_module(module):
        pass


def _install_moved_modules() -> None:
    import sys

    if not any(f is _MovedModules for f in sys.meta_path):
        sys.meta_path.append(_MovedModules)


_install_moved_modules()
