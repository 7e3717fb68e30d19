"""The package's imports point down the pipeline (docs/package_map.md): a module imports only modules of its own stage
or an earlier one, and analysis never imports training. The violations that stand today are listed by name
(issue 25 removes them); a new one fails here, and so does a listed one that has gone (strike it from the list)."""

from __future__ import annotations

import ast
from pathlib import Path

import hybridlib

STAGES = {  # in pipeline order
    "foundation": ("paths", "_io", "encoders", "metrics", "bias"),
    "data": ("data", "corpora", "languages", "translate", "pairs"),
    "models": ("model_record", "e5_conversion", "models", "leakage"),
    "scoring": ("evaluate", "miracl", "afriqa", "ntrex", "results", "mteb_adapter"),  # training validates with it
    "training": ("samplers", "validation", "train", "cost"),
    "analysis": ("comparison", "experiments", "domains", "sweeps", "length_curve", "low_resource", "paper", "plots"),
    "entry": ("cli", "runner", "__init__"),
}
STAGE_OF = {module: i for i, modules in enumerate(STAGES.values()) for module in modules}
# Standing violations (module -> module it should not import), to be removed by issue 25's layout
KNOWN = {
    ("pairs", "leakage"),
    ("comparison", "train"), ("comparison", "validation"), ("comparison", "samplers"), ("experiments", "samplers"),
    ("length_curve", "train"), ("length_curve", "validation"), ("low_resource", "samplers"), ("paper", "samplers"),
    ("sweeps", "samplers"), ("sweeps", "train"),
}


def imports() -> dict[str, set[str]]:
    """Each hybridlib module's imports of other hybridlib modules (module-level and deferred)."""
    folder = Path(hybridlib.__file__).parent
    found = {}
    for path in folder.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        found[path.stem] = deps - {path.stem}
    return found


def violations() -> set[tuple[str, str]]:
    training, analysis = list(STAGES).index("training"), list(STAGES).index("analysis")
    bad = set()
    for module, deps in imports().items():
        for dep in deps:
            if dep not in STAGE_OF:
                continue
            upward = STAGE_OF[dep] > STAGE_OF[module]
            if upward or (STAGE_OF[module] == analysis and STAGE_OF[dep] == training):
                bad.add((module, dep))
    return bad


def test_every_module_has_a_stage():
    assert set(imports()) == set(STAGE_OF), "place a new module in STAGES (and docs/package_map.md)"


def test_imports_point_down_the_pipeline_and_analysis_never_imports_training():
    new = violations() - KNOWN
    assert not new, f"imports against the pipeline: {sorted(new)}"
    gone = KNOWN - violations()
    assert not gone, f"these violations are gone, strike them from KNOWN: {sorted(gone)}"
