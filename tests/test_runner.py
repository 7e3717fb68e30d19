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


@pytest.mark.parametrize("scale", ["smoke", "default"])
def test_each_scale_sets_every_parameter_of_every_notebook(scale):
    params = runner.load_parameters(scale)
    declared = set().union(*(runner.declared_parameters(nb) for nb in runner.select_notebooks()))
    assert set(params) == declared


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
    assert f"07_broken.ipynb failed in cell {3 + padding}" in message
    assert "ValueError: boom 42" in message, "the parameter reached the notebook"
    assert (tmp_path / "out" / path.name).is_file(), "the executed copy is kept"
