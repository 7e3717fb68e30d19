"""The papermill runner: notebook selection, parameter files, and failures that name notebook and cell."""

from __future__ import annotations

import re

import nbformat
import pytest

from hybridlib import runner


def test_notebooks_run_in_number_order_and_only_selects():
    names = [p.name for p in runner.select_notebooks()]
    assert names == sorted(names) and {"04_map_heatmaps.ipynb", "05_bias_analysis.ipynb"} <= set(names)
    assert [p.name for p in runner.select_notebooks(["05"])] == ["05_bias_analysis.ipynb"]
    with pytest.raises(ValueError, match="no notebook matches"):
        runner.select_notebooks(["99"])


def test_papermill_reads_every_assignment_of_the_parameters_cells():
    # papermill silently skips a parameter line it cannot parse (an "=" in the comment, say)
    for nb in runner.select_notebooks():
        cell = next(c for c in nbformat.read(nb, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
        assigned = {m.group(1) for m in re.finditer(r"^(\w+)\s*=", cell.source, re.M)}
        assert runner.declared_parameters(nb) == assigned, nb.name


def test_the_four_scales_have_parameter_files_whose_values_pass_the_checks():
    assert {"smoke", "default", "paper-xlmr", "paper-labse"} <= set(runner.scales())
    for scale in runner.scales():
        runner.check_values(runner.load_parameters(scale))


@pytest.mark.parametrize("scale", runner.scales())
def test_each_scale_sets_every_parameter_of_every_notebook(scale):
    from hybridlib.models.runs import TrainConfig

    params = runner.load_parameters(scale)
    declared = set().union(*(runner.declared_parameters(nb) for nb in runner.select_notebooks()))
    assert set(params) - set(runner.RUNNER_PARAMETERS) == declared
    assert params["scale"] == scale
    TrainConfig.load(params["train_config"])  # names a config that exists


def test_unknown_scale_and_unknown_parameter_are_refused():
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        runner.load_parameters("huge")
    with pytest.raises(ValueError, match=r"\['bach_size'\] are declared by no notebook"):
        runner.run("smoke", overrides={"bach_size": 8})
    assert runner.main(["--scale", "nope"]) == 1


@pytest.mark.parametrize("padding", [0, 2])
def test_failure_names_the_notebook_and_the_cell(tmp_path, padding):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), params]
    nb.cells += [nbformat.v4.new_code_cell("y = x + 1") for _ in range(padding)]
    nb.cells += [nbformat.v4.new_code_cell("raise ValueError(f'boom {x + 1}')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "07_broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(runner.NotebookFailed) as err:
        runner.run_notebook(path, tmp_path / "out" / path.name, {"x": 41})
    message = str(err.value)
    assert message.startswith("notebook 07_broken.ipynb failed: ValueError: boom 42"), "the parameter reached it"
    assert f"in cell {3 + padding} of 07_broken.ipynb (papermill's log: 'Executing Cell {4 + padding}'" in message
    assert (tmp_path / "out" / path.name).is_file(), "the executed copy is kept"


def _two_stages(tmp_path, monkeypatch, second: str):
    """Notebooks ``01_first`` (parameter x) and ``second`` (parameter y) of a scale ``t``, each logging its number
    when it runs; returns a function giving the numbers logged so far."""
    books = tmp_path / "notebooks"
    (books / "params").mkdir(parents=True)
    log = tmp_path / "ran.txt"
    _stage(books / "01_first.ipynb", f"x = 1\nfigures_dir = '{tmp_path / 'fig'}'",
           f"open(r'{log}', 'a').write('01\\n')")
    _stage(books / f"{second}.ipynb", "y = 1", f"open(r'{log}', 'a').write('{second[:2]}\\n')")
    (books / "params" / "t.yaml").write_text(f"x: 1\ny: 1\nfigures_dir: {tmp_path / 'fig'}\n")
    monkeypatch.setattr(runner, "notebooks_dir", lambda: books)
    return lambda: log.read_text().split() if log.exists() else []


def _stage(path, params: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_stages_are_cached_by_their_inputs_and_recorded_in_the_manifest(tmp_path, monkeypatch):
    import json

    ran = _two_stages(tmp_path, monkeypatch, "02_second")
    monkeypatch.setattr(runner, "DEPENDS_ON", {"02": ("01",)})
    out = tmp_path / "out"

    runner.run("t", output_dir=out)
    assert ran() == ["01", "02"]
    times = runner.run("t", output_dir=out)
    assert ran() == ["01", "02"] and times == {"01_first.ipynb": 0.0, "02_second.ipynb": 0.0}, "nothing changed"
    runner.run("t", output_dir=out, overrides={"y": 2})
    assert ran() == ["01", "02", "02"], "a parameter of 02 re-runs 02 only"
    runner.run("t", output_dir=out, overrides={"x": 2, "y": 2})
    assert ran() == ["01", "02", "02", "01", "02"], "a change upstream re-runs what depends on it"
    runner.run("t", output_dir=out, overrides={"x": 2, "y": 2}, force=True)
    assert ran()[-2:] == ["01", "02"] and len(ran()) == 7

    manifest = json.loads((tmp_path / "fig" / runner.MANIFEST).read_text())
    stage = manifest["stages"]["02_second.ipynb"]
    assert stage["status"] == "done" and stage["started"] <= stage["ended"] and stage["seconds"] > 0
    assert manifest["parameters"]["y"] == 2 and manifest["environment"]["packages"]["pandas"]
    assert len(manifest["data"]["xquad-r"]["en"]) == 64, "sha256 of each data file"


def test_long_stages_run_only_when_the_scale_or_only_asks(tmp_path, monkeypatch):
    ran = _two_stages(tmp_path, monkeypatch, "09_long")
    monkeypatch.setattr(runner, "DEPENDS_ON", {})
    runner.run("t", output_dir=tmp_path / "out")
    assert ran() == ["01"], "a long stage is not part of a scale's run"
    runner.run("t", output_dir=tmp_path / "out", only=["09"])
    assert ran() == ["01", "09"], "--only runs it"
    runner.run("t", output_dir=tmp_path / "out", overrides={"long_stages": True, "y": 2})
    assert ran() == ["01", "09", "09"], "long_stages: true puts it in the scale's run"


def test_the_manifest_marks_each_stage_cold_warm_or_cached_and_the_precision(tmp_path, monkeypatch):
    import json

    books = tmp_path / "notebooks"
    (books / "params").mkdir(parents=True)
    store = tmp_path / "results"
    _stage(books / "01_first.ipynb", f"x = 1\nfigures_dir = '{tmp_path / 'fig'}'",
           f"import pathlib; p = pathlib.Path(r'{store}') / str(x); p.mkdir(parents=True, exist_ok=True); "
           "(p / 'record.json').write_text('{}')")
    _stage(books / "02_second.ipynb", "y = 1\nprecision = 'fp32'", "pass")
    (books / "params" / "t.yaml").write_text(f"x: 1\ny: 1\nprecision: bf16\nfigures_dir: {tmp_path / 'fig'}\n")
    monkeypatch.setattr(runner, "notebooks_dir", lambda: books)
    monkeypatch.setattr(runner, "DEPENDS_ON", {})
    monkeypatch.setattr(runner, "BUILT", {"result records": (None, str(store), "*/record.json")})
    read = lambda: json.loads((tmp_path / "fig" / runner.MANIFEST).read_text())

    runner.run("t", output_dir=tmp_path / "out")
    manifest = read()
    first = manifest["stages"]["01_first.ipynb"]
    assert first["run"] == "cold" and first["wrote"] == {"result records": 1}, "a record computed, on an empty build"
    assert manifest["last_invocation"]["stages"] == {"01_first.ipynb": "ran cold", "02_second.ipynb": "ran cold"}
    assert manifest["precision"]["parameter"] == "bf16" and manifest["precision"]["acting"] in ("bf16", "fp32")
    runner.run("t", output_dir=tmp_path / "out", overrides={"x": 2})
    manifest = read()
    assert manifest["stages"]["01_first.ipynb"]["run"] == "warm", "the build held a record when it started"
    assert manifest["stages"]["01_first.ipynb"]["build_at_start"] == {"result records": 1}
    assert manifest["last_invocation"]["stages"]["02_second.ipynb"].startswith("read from the cache")
    cold_02 = manifest["stages"]["02_second.ipynb"]
    runner.run("t", output_dir=tmp_path / "out", overrides={"x": 2, "y": 2})  # 02 runs again, computing nothing
    again = read()["stages"]["02_second.ipynb"]
    assert again["run"] == "cached" and again["wrote"] == {"result records": 0}
    assert again["last_cold"] == {"commit": manifest["environment"]["git_commit"], "seconds": cold_02["seconds"],
                                  "ended": cold_02["ended"]}, "the stage's cold cost is carried into a cached run"
    warm_01 = read()["stages"]["01_first.ipynb"]
    assert warm_01["run"] == "warm" and "last_warm" not in warm_01 and "last_cold" in warm_01
    runner.run("t", output_dir=tmp_path / "out", overrides={"x": 2, "y": 2}, force=True)  # 01 reads its record back
    cached_01 = read()["stages"]["01_first.ipynb"]
    assert cached_01["run"] == "cached"
    assert cached_01["last_warm"] == {"commit": warm_01["commit"], "seconds": warm_01["seconds"],
                                      "ended": warm_01["ended"]}, "a warm run's cost is carried too"
    assert cached_01["last_cold"] == warm_01["last_cold"]


def test_a_failed_stage_is_recorded_outside_figures_and_not_skipped_next_time(tmp_path, monkeypatch):
    import json

    books = tmp_path / "notebooks"
    (books / "params").mkdir(parents=True)
    flag = tmp_path / "fail"
    flag.write_text("")
    _stage(books / "01_only.ipynb", f"figures_dir = '{tmp_path}'",
           f"import os\nif os.path.exists(r'{flag}'): raise RuntimeError('stop')")
    (books / "params" / "t.yaml").write_text(f"figures_dir: {tmp_path}\n")
    monkeypatch.setattr(runner, "notebooks_dir", lambda: books)
    with pytest.raises(runner.NotebookFailed, match="01_only.ipynb failed: RuntimeError: stop"):
        runner.run("t", output_dir=tmp_path / "out")
    state = json.loads((tmp_path / "out" / "state.json").read_text())
    assert state["01_only.ipynb"]["status"] == "failed"
    assert not (tmp_path / runner.MANIFEST).exists(), "a failed run leaves the figures' manifest alone"
    flag.unlink()
    assert runner.run("t", output_dir=tmp_path / "out")["01_only.ipynb"] > 0, "a failed stage runs again"
    manifest = json.loads((tmp_path / runner.MANIFEST).read_text())
    assert manifest["stages"]["01_only.ipynb"]["status"] == "done"
    assert manifest["environment"]["git_dirty"] in (True, False)
    good = (tmp_path / "out" / "01_only.ipynb").read_text()
    flag.write_text("")
    with pytest.raises(runner.NotebookFailed, match="01_only.failed.ipynb"):
        runner.run("t", output_dir=tmp_path / "out", force=True)
    assert (tmp_path / "out" / "01_only.ipynb").read_text() == good, "a failed re-run keeps the last good copy"
    after = json.loads((tmp_path / runner.MANIFEST).read_text())
    assert "01_only.ipynb" not in after["stages"], "but the record no longer says done: its outputs may be half new"
    flag.unlink()
    assert runner.run("t", output_dir=tmp_path / "out")["01_only.ipynb"] > 0, "so the next run re-runs it"


def test_a_stage_killed_midway_is_not_trusted_and_its_leftovers_are_removed(tmp_path, monkeypatch, capsys):
    """Fault 12: a stage killed after rewriting its outputs with other parameters was skipped as 'unchanged'."""
    import json

    books = tmp_path / "notebooks"
    (books / "params").mkdir(parents=True)
    out_file = tmp_path / "data.txt"
    _stage(books / "01_only.ipynb", "rows = 3\nfigures_dir = 'x'", f"open(r'{out_file}', 'w').write(str(rows))")
    (books / "params" / "t.yaml").write_text(f"figures_dir: {tmp_path}\nrows: 3\n")
    monkeypatch.setattr(runner, "notebooks_dir", lambda: books)
    runner.run("t", output_dir=tmp_path / "out")
    assert out_file.read_text() == "3"

    def killed(notebook, output, parameters, log_output=False):  # rewrites the outputs, then the process dies
        out_file.write_text(str(parameters["rows"]))
        output.write_text("half")
        raise SystemExit("killed")

    monkeypatch.setattr(runner, "run_notebook", killed)
    with pytest.raises(SystemExit):
        runner.run("t", output_dir=tmp_path / "out", overrides={"rows": 1})
    assert out_file.read_text() == "1"
    manifest = json.loads((tmp_path / runner.MANIFEST).read_text())
    assert "01_only.ipynb" not in manifest["stages"], "a started stage's record is dropped before it runs"
    # a kill -9 leaves the 'running' state and the half-written copy
    (tmp_path / "out" / "state.json").write_text(json.dumps({"01_only.ipynb": {"status": "running", "started": "t0"}}))
    (tmp_path / "out" / "01_only.running.ipynb").write_text("half")
    monkeypatch.undo()
    monkeypatch.setattr(runner, "notebooks_dir", lambda: books)
    assert runner.run("t", output_dir=tmp_path / "out")["01_only.ipynb"] > 0, "original parameters: run again"
    assert out_file.read_text() == "3"
    assert "did not finish; it runs again" in capsys.readouterr().out
    assert not (tmp_path / "out" / "01_only.running.ipynb").exists()


def test_git_dirty_leaves_out_the_runners_own_outputs(monkeypatch):
    import subprocess

    def fake(cmd, **kwargs):
        out = {"rev-parse": "abc\n", "status": " M figures/manifest.json\n M build/x\n"}[cmd[1]]
        return subprocess.CompletedProcess(cmd, 0, stdout=out, stderr="")

    monkeypatch.setattr(runner.subprocess, "run", fake)
    assert runner.environment()["git_dirty"] is False
    monkeypatch.setattr(runner.subprocess, "run", lambda cmd, **k: subprocess.CompletedProcess(
        cmd, 0, stdout={"rev-parse": "abc\n", "status": " M hybridlib/runner.py\n"}[cmd[1]], stderr=""))
    assert runner.environment()["git_dirty"] is True


def test_stale_stages_are_named_when_the_code_or_a_notebook_changes(tmp_path, monkeypatch):
    books = tmp_path / "notebooks"
    (books / "params").mkdir(parents=True)
    _stage(books / "01_first.ipynb", "figures_dir = 'x'", "print(1)")
    _stage(books / "02_second.ipynb", "figures_dir = 'x'", "print(2)")
    (books / "params" / "t.yaml").write_text(f"figures_dir: {tmp_path / 'fig'}\n")
    monkeypatch.setattr(runner, "notebooks_dir", lambda: books)
    assert runner.stale_stages("t") == ["01_first.ipynb", "02_second.ipynb"], "never run: stale"
    runner.run("t", output_dir=tmp_path / "out")
    assert runner.stale_stages("t") == []
    _stage(books / "02_second.ipynb", "figures_dir = 'x'", "print(22)")
    assert runner.stale_stages("t") == ["02_second.ipynb"]
    monkeypatch.setattr(runner, "code_fingerprint", lambda: "other code")
    assert runner.stale_stages("t") == ["01_first.ipynb", "02_second.ipynb"]


def test_a_second_runner_on_the_same_build_tree_is_refused_naming_the_holder(tmp_path, monkeypatch):
    import os

    books = tmp_path / "notebooks"
    (books / "params").mkdir(parents=True)
    _stage(books / "01_first.ipynb", "figures_dir = 'x'", "print(1)")
    (books / "params" / "t.yaml").write_text(f"figures_dir: {tmp_path / 'fig'}\n")
    monkeypatch.setattr(runner, "notebooks_dir", lambda: books)
    out = tmp_path / "build" / "t"
    with runner.build_lock(runner.lock_path()):
        for where in (out, tmp_path / "elsewhere"):  # the lock is the build tree's, whatever --output-dir says
            with pytest.raises(runner.RunnerBusy, match=f"pid {os.getpid()}, started"):
                runner.run("t", output_dir=where)
            assert not (where / "01_first.ipynb").exists(), "nothing ran"
    assert runner.run("t", output_dir=out)["01_first.ipynb"] > 0, "the lock is released with its holder"


@pytest.mark.parametrize("override, message", [
    ({"alpha": 1.5}, "alpha must be in"),
    ({"alpha": "0.5"}, "alpha must be a number"),
    ({"train_samplers": ["xx-mono", "x-y"]}, r"train_samplers: each item must be one of \[.*\], got 'x-y'"),
    ({"alpha_grid": [0.0, 2.0]}, r"alpha_grid: each item must be in \[0, 1\], got 2.0"),
    ({"languages": ["en", "klingon"]}, "klingon"),
    ({"languages": []}, "languages must not be an empty list"),
    ({"max_groups": 0}, "max_groups must be a positive"),
    ({"max_seq_length": -1}, "max_seq_length must be a positive"),
    ({"directions": {"xquad-r": "xquad-r"}}, "trained on itself"),
    ({"directions": {"squad": "mlqa-r"}}, "unknown evaluation set"),
    ({"data_fractions": [0.5, 0.0]}, r"data_fractions: each item must be a share in \(0, 1\]"),
    ({"train_config": "huge"}, "no training config"),
    ({"model": "./no/such/model"}, "does not exist"),
    ({"length_eval": "miracl"}, "length_eval must be an evaluation set"),
    ({"length_steps": [4]}, "at least two distinct lengths"),
    ({"length_steps": [2, 8]}, "length_config 'length-smoke': the config trains 4 steps"),
    ({"length_config": "smoke"}, "constant_with_warmup"),
    ({"length_full_steps": [3]}, r"length_full_steps \[3\] are not lengths of the curve \[2, 4\]"),
    ({"length_seeds": [0, 0]}, r"length_seeds lists 0 twice"),
    ({"length_samplers": ["x-y"]}, "length_samplers: each item must be one of"),
    ({"full_groups": 0}, "full_groups must be a positive"),
    ({"length_validation_batches": -2}, "length_validation_batches must be a positive"),
    ({"long_stages": "yes"}, "long_stages must be true or false"),
    ({"low_resource_source": "squad"}, "low_resource_source must be the training source"),
    ({"low_resource_seeds": [0, 5]}, r"must be among train_seeds \[0\]"),
    ({"low_resource_seeds": []}, "low_resource_seeds must not be an empty list"),
    ({"afriqa_languages": ["ha", "xx"]}, r"afriqa_languages: unknown language\(s\) \['xx'\]"),
    ({"ntrex_languages": ["de", "ha"]}, "ntrex_languages must hold 'en'"),
    ({"ntrex_documents": 200}, "NTREX-128 has 123 documents"),
    ({"afriqa_per_language": 0}, "afriqa_per_language must be a positive"),
    ({"ntrex_full_bitext": "no"}, "ntrex_full_bitext must be true or false"),
])
def test_every_value_is_checked_before_stage_01(tmp_path, override, message):
    from hybridlib.models.encoder import ModelLoadError

    with pytest.raises((ValueError, TypeError, ModelLoadError), match=message):
        runner.run("smoke", output_dir=tmp_path / "out", overrides=override)
    assert not (tmp_path / "out").exists(), "no stage started"


def test_a_notebook_run_by_hand_writes_under_build_not_the_tracked_figures():
    """Fault 5: a notebook opened in JupyterLab and run by hand overwrote the committed figures."""
    import papermill as pm

    for nb in runner.select_notebooks():
        by_hand = pm.inspect_notebook(str(nb))["figures_dir"]["default"].strip("\"'")
        assert by_hand.startswith("build/"), (nb.name, by_hand)
    assert runner.load_parameters("default")["figures_dir"] == "figures", "only make reproduce writes figures/"


def test_an_output_dir_that_cannot_be_written_is_refused_before_any_stage(tmp_path, monkeypatch):
    """Fault 15: the runner's --output-dir under a file (or read-only) failed with a raw traceback."""
    books = tmp_path / "notebooks"
    (books / "params").mkdir(parents=True)
    _stage(books / "01_first.ipynb", "figures_dir = 'x'", f"open(r'{tmp_path / 'ran'}', 'w').write('1')")
    (books / "params" / "t.yaml").write_text(f"figures_dir: {tmp_path / 'fig'}\n")
    monkeypatch.setattr(runner, "notebooks_dir", lambda: books)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"--output-dir .*file/out lies under .*file, which is a file"):
        runner.run("t", output_dir=tmp_path / "file" / "out")
    assert not (tmp_path / "ran").exists()
    assert runner.main(["--scale", "t", "--output-dir", str(tmp_path / "file" / "out"), "--quiet"]) == 1
