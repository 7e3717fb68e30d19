"""pyproject.toml and environment.yml pin the same packages."""

from __future__ import annotations

import tomllib

import yaml

from hybridlib.core.paths import project_root


def _normal(req: str) -> str:
    name, _, version = req.partition("==")
    return f"{name.strip().lower().replace('_', '-')}=={version.strip()}"


def test_environment_yml_matches_pyproject():
    root = project_root()
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pinned = project["dependencies"] + project["optional-dependencies"]["dev"]
    assert all("==" in r for r in pinned), "every dependency is pinned exactly"
    env = yaml.safe_load((root / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = [r for r in pip if "==" in r]
    assert sorted(map(_normal, conda_pins)) == sorted(map(_normal, pinned))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11"
