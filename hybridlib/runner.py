"""Run the numbered notebooks headlessly with papermill, one parameter file per scale.

    python -m hybridlib.runner --scale default          # every notebook, in number order
    python -m hybridlib.runner --scale smoke --only 04  # one stage

Parameters come from ``notebooks/params/<scale>.yaml``; each notebook receives the ones its ``parameters``
cell declares. Executed copies are kept in ``build/notebooks/<scale>/``. A failing notebook stops the run,
and the runner names the notebook and the cell that failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from .paths import project_root

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


class NotebookFailed(RuntimeError):
    """A notebook raised while it ran; the message names the notebook and the cell."""


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def scales() -> list[str]:
    """The scales that have a parameter file."""
    return sorted(p.stem for p in (notebooks_dir() / "params").glob("*.yaml"))


def load_parameters(scale: str) -> dict[str, Any]:
    """The parameters of ``scale`` (``notebooks/params/<scale>.yaml``)."""
    path = notebooks_dir() / "params" / f"{scale}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown scale {scale!r}; available: {', '.join(scales())}")
    params = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(params, dict):
        raise ValueError(f"{path} must hold a mapping of parameter names to values")
    return params


def select_notebooks(only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks in number order, or those whose number (``04``) or name is in ``only``."""
    books = sorted(notebooks_dir().glob(NOTEBOOK_GLOB))
    if not only:
        return books
    chosen = [b for b in books if any(b.name.startswith(o) or b.stem == o for o in only)]
    missing = [o for o in only if not any(b.name.startswith(o) or b.stem == o for b in books)]
    if missing:
        raise ValueError(f"no notebook matches {missing}; have: {', '.join(b.name for b in books)}")
    return chosen


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's ``parameters`` cell, as papermill reads them."""
    import papermill as pm

    return set(pm.inspect_notebook(str(notebook)))


def check_parameters(parameters: dict[str, Any], notebooks: list[Path]) -> None:
    """Refuse parameters that no notebook declares (a typo would otherwise be dropped silently)."""
    declared = set().union(*(declared_parameters(nb) for nb in notebooks)) if notebooks else set()
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise ValueError(f"parameter(s) {unknown} are declared by no notebook; known: {sorted(declared)}")


def run_notebook(notebook: Path, output: Path, parameters: dict[str, Any], log_output: bool = False) -> float:
    """Execute ``notebook`` into ``output`` with the ``parameters`` it declares; returns seconds taken.

    ``log_output`` streams the cells' output (progress bars included) to the ``papermill`` logger.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    declared = declared_parameters(notebook)
    given = {k: v for k, v in parameters.items() if k in declared}
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        pm.execute_notebook(str(notebook), str(output), parameters=given, cwd=str(notebook.parent),
                            kernel_name="python3", progress_bar=sys.stderr.isatty(), log_output=log_output)
    except PapermillExecutionError as exc:
        raise NotebookFailed(_failure_message(notebook, output, exc)) from None
    return time.perf_counter() - start


def _failure_message(notebook: Path, output: Path, exc: Any) -> str:
    """Which cell of ``notebook`` failed, counted in the source notebook (papermill's own cells left out)."""
    import nbformat

    index = exc.cell_index  # in the executed notebook before papermill added its error markers
    try:
        cells = [c for c in nbformat.read(output, as_version=4).cells
                 if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
        index -= sum("injected-parameters" in c.metadata.get("tags", []) for c in cells[:index])
    except Exception:  # noqa: BLE001 - the message is still useful without the correction
        pass
    first_line = (exc.source or "").strip().splitlines()[:1]
    return (f"notebook {notebook.name} failed in cell {index + 1} (In [{exc.exec_count}]"
            f"{': ' + first_line[0] if first_line else ''}): {exc.ename}: {exc.evalue}\n"
            f"the executed copy with the traceback: {output}")


def run(scale: str, only: list[str] | None = None, output_dir: Path | None = None,
        overrides: dict[str, Any] | None = None, log_output: bool = False) -> dict[str, float]:
    """Run the selected notebooks at ``scale`` in order; returns seconds per notebook."""
    parameters = {**load_parameters(scale), **(overrides or {})}
    check_parameters(parameters, select_notebooks())
    out_dir = output_dir or project_root() / "build" / "notebooks" / scale
    times: dict[str, float] = {}
    for nb in select_notebooks(only):
        print(f"[{scale}] running {nb.name} ...", flush=True)
        times[nb.name] = run_notebook(nb, out_dir / nb.name, parameters, log_output)
        print(f"[{scale}] {nb.name} done in {times[nb.name]:.1f} s -> {out_dir / nb.name}", flush=True)
    return times


def _parse_override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return key, yaml.safe_load(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hybridlib.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="default", help="parameter file in notebooks/params/")
    parser.add_argument("--only", action="append", help="run only this notebook (number or name); repeatable")
    parser.add_argument("--output-dir", type=Path, help="where executed copies go (build/notebooks/<scale>)")
    parser.add_argument("-p", "--parameter", action="append", type=_parse_override, default=[],
                        help="override one parameter, NAME=VALUE (VALUE is read as YAML)")
    parser.add_argument("--quiet", action="store_true", help="do not stream the notebooks' output")
    args = parser.parse_args(argv)
    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        logging.getLogger("papermill").setLevel(logging.INFO)
    try:
        run(args.scale, args.only, args.output_dir, dict(args.parameter), log_output=not args.quiet)
    except (NotebookFailed, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
