"""Notebook 04 opens and runs in JupyterLab: a headless Chromium, driven by Playwright, runs it at smoke scale.

Needs Debian's ``chromium`` (``make system-deps`` installs it as root) and the smoke-scale models that
``python -m hybridlib.runner --scale smoke`` trains, so ``make test`` runs it after the smoke notebooks
(``pytest -m browser``). It is skipped when either is missing, unless ``HYBRIDLIB_REQUIRE_BROWSER=1`` (set by
``make test``) turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from hybridlib import runner
from hybridlib.core.paths import project_root

pytestmark = pytest.mark.browser

NOTEBOOK = "04_map_heatmaps.ipynb"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing(reason: str):
    if os.environ.get("HYBRIDLIB_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer at {url} within {timeout} s")


@pytest.fixture
def smoke_notebook(tmp_path) -> Path:
    """Notebook 04 with the smoke parameters injected (as papermill would), outputs empty, in ``tmp_path``."""
    import papermill as pm

    params = runner.load_parameters("smoke")
    if not (project_root() / params["models_dir"]).is_dir():
        _missing("no smoke-scale models: run `python -m hybridlib.runner --scale smoke` first")
    params["figures_dir"] = str(tmp_path / "figures")
    source = runner.notebooks_dir() / NOTEBOOK
    given = {k: v for k, v in params.items() if k in runner.declared_parameters(source)}
    out = tmp_path / NOTEBOOK
    pm.execute_notebook(str(source), str(out), parameters=given, prepare_only=True, kernel_name="python3")
    return out


@pytest.fixture
def lab(smoke_notebook):
    """A JupyterLab server on localhost serving ``smoke_notebook``'s folder; yields its base URL and token."""
    port, token = _free_port(), "hybridlib-test"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "JUPYTER_PLATFORM_DIRS": "1"}
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={smoke_notebook.parent}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False", "--allow-root"]
    log = open(smoke_notebook.parent / "jupyter.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=smoke_notebook.parent)
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", proc)
        yield f"http://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_notebook_04_runs_in_jupyterlab_and_renders_a_heatmap(lab, smoke_notebook, tmp_path):
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        _missing("Debian's chromium is not installed (make system-deps, as root)")
    from playwright.sync_api import sync_playwright

    base, token = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                                   "&& window.jupyterapp.shell.currentWidget.sessionContext "
                                   "&& window.jupyterapp.shell.currentWidget.sessionContext.session", timeout=90_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            # a heatmap renders as an image in an output area
            page.wait_for_selector(".jp-OutputArea-output img", timeout=300_000)
            # then every code cell finishes: no "[*]" prompt left and the last cell numbered
            page.wait_for_function(
                "() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
                ".map(e => e.textContent.trim());"
                " return p.length > 0 && !p.some(t => t.includes('*')) && /\\[\\d+\\]/.test(p[p.length - 1]); }",
                timeout=300_000)
            images = page.locator(".jp-OutputArea-output img").count()
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] "
                                  ":text('Traceback')").count()
            page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
            page.wait_for_timeout(2000)
            page.screenshot(path=str(tmp_path / "jupyterlab.png"), full_page=True)
        finally:
            browser.close()

    assert images >= 2, "the per-sampler heatmaps and the difference heatmaps render as images"
    assert errors == 0
    saved = nbformat.read(smoke_notebook, as_version=4)
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "JupyterLab ran every code cell"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    heatmap = next(c for c in code if "heatmap_grid(matrices" in c.source)
    assert any("image/png" in o.get("data", {}) for o in heatmap.outputs), "the heatmap cell shows a PNG"
    assert (tmp_path / "figures" / "04_map_heatmaps_xquad-r.png").is_file(), "and wrote the figure"
