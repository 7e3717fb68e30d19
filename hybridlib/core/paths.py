"""Where the project keeps things: the project root, data, caches and figures.

Relative paths given to hybridlib are resolved against the project root (the folder holding
``pyproject.toml`` next to the ``hybridlib`` package), so a notebook gives the same answer whether it runs in
JupyterLab (cwd ``notebooks/``), under papermill or under nbval (cwd elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "HYBRIDLIB_DATA"


def project_root() -> Path:
    """The repository root when hybridlib runs from a checkout, else the current directory."""
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").is_file() and (here / "hybridlib").is_dir():
        return here
    return Path.cwd()


def project_path(path: str | os.PathLike[str]) -> Path:
    """``path`` itself if absolute (or ``~``-prefixed), else the same path under the project root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else project_root() / p


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: ``explicit``, else ``$HYBRIDLIB_DATA``, else ``data/`` in the project root."""
    if explicit is not None:
        return project_path(explicit)
    env = os.environ.get(DATA_ENV)
    if env:
        return project_path(env)
    return project_root() / "data"
