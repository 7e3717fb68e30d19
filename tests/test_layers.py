"""The package is laid out by the pipeline's stages (docs/package_map.md): one subpackage a stage, and a module
imports only modules of its own stage or an earlier one; analysis never imports training (it reads results and run
specs). A new import against the pipeline fails here, as does a flat module outside the stages."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import hybridlib

STAGES = ("core", "data", "batching", "models", "scoring", "training", "analysis", "studies")  # in pipeline order
ENTRY = ("cli", "runner", "params", "__init__")  # the entry points, at the top: they may import any stage
PACKAGE = Path(hybridlib.__file__).parent


def stage_of(module: str) -> int:
    """The position of ``hybridlib.<stage>.<name>`` in :data:`STAGES` (entry points after every stage)."""
    parts = module.split(".")
    return len(STAGES) if len(parts) < 2 or parts[1] in ENTRY else STAGES.index(parts[1])


def module_names() -> dict[str, Path]:
    """Every hybridlib module and package (a package by its ``__init__``), dotted, with its file."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        names[".".join(("hybridlib", *parts))] = path
    return names


def imports() -> dict[str, set[str]]:
    """Each hybridlib module (dotted) and the hybridlib modules it imports, module-level and deferred
    (``from hybridlib.data import pairs`` imports ``hybridlib.data.pairs``; ``from hybridlib.data import open_lareqa``
    imports the package ``hybridlib.data``)."""
    names = module_names()
    found = {}
    for name, path in names.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{name}: relative import; write hybridlib's imports in full")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hybridlib"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in names else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("hybridlib.")}
        found[name] = deps - {name}
    return found


def violations() -> set[tuple[str, str]]:
    training, analysis = STAGES.index("training"), STAGES.index("analysis")
    bad = set()
    for module, deps in imports().items():
        for dep in deps:
            upward = stage_of(dep) > stage_of(module)
            if upward or (stage_of(module) == analysis and stage_of(dep) == training):
                bad.add((module, dep))
    return bad


def test_every_module_lives_in_a_stage():
    flat = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ENTRY)
    assert not flat, f"modules outside the stages' subpackages: {flat}; place them in one (and in docs/package_map.md)"
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert packages == sorted(STAGES), f"subpackages {packages} differ from the stages {STAGES}"
    for stage in STAGES:
        assert importlib.import_module(f"hybridlib.{stage}").__doc__, \
            f"hybridlib.{stage} has no docstring saying what it owns"


def test_imports_point_down_the_pipeline_and_analysis_never_imports_training():
    assert not violations(), f"imports against the pipeline: {sorted(violations())}"


def test_the_check_would_catch_an_upward_import(monkeypatch):
    """The check itself: a data module importing training, or analysis importing training, is found."""
    assert stage_of("hybridlib.data.pairs") < stage_of("hybridlib.training.train")
    assert stage_of("hybridlib.analysis.comparison") > stage_of("hybridlib.training.train")
    fake = {"hybridlib.data.pairs": {"hybridlib.training.train"},
            "hybridlib.analysis.comparison": {"hybridlib.training.train", "hybridlib.models.runs"}}
    monkeypatch.setattr(sys.modules[__name__], "imports", lambda: fake)
    assert violations() == {("hybridlib.data.pairs", "hybridlib.training.train"),
                            ("hybridlib.analysis.comparison", "hybridlib.training.train")}


def test_the_package_map_names_every_module():
    """docs/package_map.md lists every module, so the map cannot drift from the tree."""
    text = (PACKAGE.parent / "docs" / "package_map.md").read_text(encoding="utf-8")
    modules = [m for m, path in module_names().items() if path.name != "__init__.py"]
    missing = sorted(m for m in modules if f"`{m.split('.')[-1]}`" not in text)
    assert not missing, f"docs/package_map.md does not name {missing}"


def test_every_module_is_in_the_repository():
    """A module git ignores (``data/`` once matched ``hybridlib/data/``) would pass here and be missing from a clone."""
    import shutil
    import subprocess

    if shutil.which("git") is None or not (PACKAGE.parent / ".git").exists():
        import pytest

        pytest.skip("not a git checkout")
    files = [str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py")]
    ignored = subprocess.run(["git", "check-ignore", *files], cwd=PACKAGE.parent, capture_output=True, text=True)
    assert not ignored.stdout.split(), f"ignored by .gitignore, so missing from a clone: {ignored.stdout.split()}"


def test_the_flat_names_of_the_last_release_still_import_with_a_warning_naming_the_new_place():
    import subprocess

    for old, new in hybridlib.MOVED.items():
        assert f"hybridlib.{new}" in module_names(), f"hybridlib.{old} points at a module that is not there: {new}"
    code = ("import warnings; warnings.simplefilter('error')\n"
            "try:\n    import hybridlib.train\nexcept FutureWarning as w:\n    print(w)\n"
            "warnings.simplefilter('ignore')\n"
            "import hybridlib.train, hybridlib.training.train as t\n"
            "from hybridlib.comparison import compare_samplers\n"
            "from hybridlib.analysis.comparison import compare_samplers as c\n"
            "print(hybridlib.train is t, compare_samplers is c)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert done.stdout.split("\n")[:2] == [
        "hybridlib.train has moved to hybridlib.training.train; the old name goes in the next release", "True True"], \
        done.stdout + done.stderr
