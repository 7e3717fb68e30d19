"""Issue 25, item 2: every parameter typed in one table and checked there, before any data or model loads; the
bad value named as the user wrote it; alpha checked by one function."""

from __future__ import annotations

import ast

import pytest

from hybridlib import cli, params, runner
from hybridlib.core.paths import project_root


def test_every_parameter_of_every_notebook_and_scale_has_a_typed_entry():
    declared = set().union(*(runner.declared_parameters(nb) for nb in runner.select_notebooks()))
    assert declared | set(runner.RUNNER_PARAMETERS) == set(params.PARAMETERS), \
        "a notebook parameter without an entry in hybridlib.params.PARAMETERS, or an entry no notebook declares"
    for scale in runner.scales():
        params.check_each(runner.load_parameters(scale))  # every shipped value passes its own type


@pytest.mark.parametrize("name, value, message", [
    ("max_groups", 0, "max_groups must be a positive whole number, got 0"),
    ("max_groups", 2.5, "max_groups must be a positive whole number"),
    ("max_groups", True, "max_groups must be a positive whole number"),
    ("grid_learning_rate", float("nan"), "grid_learning_rate must be a positive number"),
    ("validation_fraction", 1.0, r"validation_fraction must be in \[0, 1\)"),
    ("small_fraction", 0, r"small_fraction must be a share in \(0, 1\]"),
    ("alpha", 1.5, r"alpha must be in \[0, 1\], got 1.5"),
    ("alpha", "0.5", r"alpha must be a number in \[0, 1\]"),
    ("alpha_grid", [0.5, -0.1], r"alpha_grid: each item must be in \[0, 1\], got -0.1"),
    ("train_samplers", ["hybrid", "hybird"], r"train_samplers: each item must be one of \[.*'hybrid'.*\], got 'hybird'"),
    ("train_seeds", [0, 0], "train_seeds lists 0 twice"),
    ("train_seeds", "0", "train_seeds must be a list"),
    ("mt_targets", "es", "mt_targets must be a list"),
    ("precision", "fp16", r"precision must be one of \['fp32', 'bf16'\]"),
    ("candidate_text", "passage", "candidate_text must be one of"),
    ("ntrex_full_bitext", "no", "ntrex_full_bitext must be true or false"),
    ("directions", {"xquad-r": 3}, "directions must map each evaluation set"),
    ("model", None, r"model must not be null"),
])
def test_each_type_refuses_a_bad_value_naming_the_parameter(name, value, message):
    with pytest.raises(params.ParameterError, match=message):
        params.check_each({name: value})


def test_a_flag_is_named_as_typed_and_null_passes_where_allowed():
    with pytest.raises(params.ParameterError, match="^--max-groups must be a positive whole number, got -3"):
        params.check_each({"max_groups": -3}, as_flags=True)
    with pytest.raises(params.ParameterError, match="^--languages lists 'en' twice"):
        params.check_each({"languages": ["en", "en"]}, as_flags=True)
    params.check_each({"max_groups": None, "languages": None, "ntrex_documents": None})


def test_the_command_refuses_a_bad_value_before_any_data_or_model_loads(monkeypatch, capsys):
    """The issue's symptom: ``--max-groups -3`` was refused only after the model had loaded."""
    from hybridlib.data import lareqa
    from hybridlib.models import encoder

    def loaded(*a, **k):
        raise AssertionError("loaded data or a model before checking the flags")

    for module, name in ((encoder, "model_record"), (encoder, "load_encoder"), (lareqa, "load_lareqa"),
                         (lareqa, "load_lareqa_files")):
        monkeypatch.setattr(module, name, loaded)
    for flags, message in ((["--max-groups", "-3"], "--max-groups must be a positive whole number, got -3"),
                           (["--batch-size", "0"], "--batch-size must be a positive whole number"),
                           (["--max-seq-length", "0"], "--max-seq-length must be a positive whole number")):
        assert cli.main(["evaluate", "default", "xquad-r", *flags]) == cli.BAD_INPUT
        assert message in capsys.readouterr().err


def test_alpha_is_checked_by_one_function():
    """The issue counted five places that checked alpha; only batching.samplers.check_sampler_args says what a
    valid alpha is, and every other place calls it."""
    saying = []
    for path in sorted((project_root() / "hybridlib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                text = ast.get_source_segment(path.read_text(encoding="utf-8"), node) or ""
                if "alpha must" in text and not any("alpha must" in (ast.get_source_segment(
                        path.read_text(encoding="utf-8"), inner) or "") for inner in node.body
                        if isinstance(inner, ast.FunctionDef)):
                    saying.append(f"{path.stem}.{node.name}")
    assert saying == ["samplers.check_sampler_args"], saying


def test_a_scales_bad_value_is_refused_before_stage_01_by_its_name():
    p = runner.load_parameters("smoke")
    with pytest.raises(params.ParameterError, match="^max_groups must be a positive whole number, got -3"):
        params.check_values({**p, "max_groups": -3})
    with pytest.raises(params.ParameterError, match="^train_samplers: "):
        params.check_values({**p, "train_samplers": ["xx-mono", "x-y"]})
