"""The ``hybridlib`` command as a user runs it: a subprocess, real files, its outputs read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hybridlib.data.lareqa import lareqa_from_squad, read_json, sha256_file


def hybridlib(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "hybridlib"
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "hybridlib.cli"]
    return subprocess.run(command + list(args), capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def romanian(real_data_dir, tmp_path_factory):
    """Romanian in LAReQA format, built from the real XQuAD ro file (it shares XQuAD-R's question ids)."""
    folder = tmp_path_factory.mktemp("own")
    squad = read_json(real_data_dir / "xquad" / "xquad.ro.json.gz")
    (folder / "ro.json").write_text(json.dumps(lareqa_from_squad(squad), ensure_ascii=False), encoding="utf-8")
    return folder


def test_every_subcommand_has_help_with_an_example():
    for sub in ("evaluate", "train", "reproduce"):
        out = hybridlib(sub, "--help")
        assert out.returncode == 0, out.stderr
        assert "hybridlib" in out.stdout or "python -m" in out.stdout
    assert "example" in hybridlib("evaluate", "--help").stdout
    assert hybridlib().returncode == 2, "no subcommand: a usage error"


@pytest.mark.data
@pytest.mark.model
def test_evaluate_scores_xquad_r_plus_a_language_of_ones_own(romanian, real_data_dir, tmp_path):
    out = tmp_path / "eval"
    done = hybridlib("evaluate", "default", str(romanian), "--extends", "xquad-r", "--languages", "en", "ro",
                     "--max-groups", "6", "--max-seq-length", "64", "--data-dir", str(real_data_dir),
                     "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "multilingual-e5-small on xquad-r+own" in done.stdout and "| multi" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    prov = summary["provenance"]
    assert prov["languages"] == ["en", "ro"] and prov["prefixes"] == ["query: ", "passage: "]
    assert prov["data_sha256"]["ro"] == sha256_file(romanian / "ro.json")
    assert prov["leakage_check"].startswith("an untuned encoder of the registry")
    matrix = (out / "map_matrix.csv").read_text().splitlines()
    assert matrix[0].split(",")[1:] == ["en", "ro"] and len(matrix) == 3
    per_question = (out / "per_question.csv").read_text().splitlines()
    assert len(per_question) - 1 == 6 * 2 * 3, "6 groups x 2 languages, in en, ro and the pooled setting"
    assert 0.0 < summary["summary"]["cross"]["map"] <= 1.0 and summary["summary"]["mono"]["map"] > 0.5


@pytest.mark.data
def test_bad_input_exits_3_with_a_message_before_any_work(romanian, real_data_dir):
    cases = {
        ("default", "squad-r"): "neither a known set",
        ("default", "xquad-r", "--languages", "en", "xx"): "xx",
        ("default", "xquad-r", "--languages", "en", "en"): "twice",
        ("/no/such/model", "xquad-r"): "does not exist",
        ("default", str(romanian), "--extends", "mlqa-r", "--languages", "ro"): None,
    }
    for args, message in cases.items():
        done = hybridlib("evaluate", *args, "--data-dir", str(real_data_dir), "--max-groups", "1", "--quiet")
        if message is None:
            assert done.returncode == 3 and "no parallel questions" in done.stderr, done.stderr
        else:
            assert done.returncode == 3 and message in done.stderr, (args, done.stderr)


def test_train_and_reproduce_help_name_the_command_the_user_typed():
    """Fault 2: ``hybridlib train --help`` showed ``python -m hybridlib.training.train``."""
    for sub in ("train", "reproduce"):
        out = hybridlib(sub, "--help")
        assert f"usage: hybridlib {sub}" in out.stdout, out.stdout[:200]


@pytest.fixture(scope="module")
def tiny_training_set(tmp_path_factory):
    from hybridlib.data import pairs
    from tests.test_train import synthetic_pairs

    folder = tmp_path_factory.mktemp("train") / "training"
    pairs.save_training_set(pairs.split_by_group(synthetic_pairs(40), 0.2, seed=0), folder)
    return folder


def test_train_answers_bad_input_with_exit_3_and_the_flag_before_any_model_loads(tiny_training_set, tmp_path):
    """Fault 17: every bad input of ``hybridlib train`` was a traceback with exit 1 (and a NaN learning rate passed)."""
    base = ["train", "--training-set", str(tiny_training_set), "--config", "smoke", "--output", str(tmp_path / "r")]
    cases = {
        ("--alpha", "1.5"): "--alpha must be in [0, 1], got 1.5",
        ("--set", "max_steps=0"): "max_steps must be positive",
        ("--set", "learning_rate=.nan"): "must be finite numbers",
        ("--set", "bogus=1"): "unknown setting(s) ['bogus']",
        ("--set", "bogus"): "--set 'bogus': expected KEY=VALUE",
        ("--set", "batch_size=500"): "batch_size 500 is larger than the",
    }
    for extra, message in cases.items():
        done = hybridlib(*base, *extra)
        assert done.returncode == 3, (extra, done.stderr[-500:])
        assert message in done.stderr and "Traceback" not in done.stderr, (extra, done.stderr[-500:])
    done = hybridlib("train", "--training-set", str(tmp_path / "nowhere"), "--output", str(tmp_path / "r"))
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "--training-set" in done.stderr and "hybridlib reproduce --only 01" in done.stderr
    done = hybridlib(*base[:-2], "--config", "nosuch", "--output", str(tmp_path / "r"))
    assert done.returncode == 3 and "no training config 'nosuch'" in done.stderr
    assert not (tmp_path / "r" / "final").exists()


def test_a_second_train_into_the_same_output_is_refused(tiny_training_set, tmp_path):
    from hybridlib.core import _io

    out = tmp_path / "r"
    with _io.exclusive_lock(out / "train.lock"):
        done = hybridlib("train", "--training-set", str(tiny_training_set), "--config", "smoke", "--output", str(out))
    assert done.returncode == 3 and "another run is training into" in done.stderr


@pytest.mark.data
def test_output_folder_problems_are_refused_before_the_model_loads(real_data_dir, tmp_path):
    """Fault 15: a read-only --out or one under a file failed after encoding, with a traceback."""
    import os

    afile = tmp_path / "file"
    afile.write_text("x")
    crowded = tmp_path / "crowded"
    crowded.mkdir()
    (crowded / "notes.txt").write_text("mine")
    cases = {str(afile): "is a file", str(afile / "sub"): "which is a file", str(crowded): "holds other files"}
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        cases[str(locked / "out")] = "not writable"
    for out, message in cases.items():
        done = hybridlib("evaluate", "default", "xquad-r", "--languages", "en", "--data-dir", str(real_data_dir),
                         "--out", out, "--quiet")
        assert done.returncode == 3 and message in done.stderr, (out, done.stderr[-400:])
        assert "Traceback" not in done.stderr
    assert (crowded / "notes.txt").read_text() == "mine"


@pytest.mark.data
@pytest.mark.model
def test_a_language_subset_needs_only_its_files_and_its_outputs_can_be_opened(real_data_dir, tmp_path):
    """Faults 18, 3 and 7: ``--languages en de`` needed every file of the set; the CLI scored at 512 tokens where
    every scale uses 64; outputs were mode 600 and the rank distance printed as ``nan nan``."""
    import os
    import shutil
    import stat

    partial = tmp_path / "data"
    (partial / "xquad-r").mkdir(parents=True)
    for lang in ("en", "de"):
        for f in (real_data_dir / "xquad-r").glob(f"{lang}.json*"):
            shutil.copy(f, partial / "xquad-r" / f.name)
    out = tmp_path / "eval"
    done = hybridlib("evaluate", "default", "xquad-r", "--languages", "en", "de", "--max-groups", "3",
                     "--data-dir", str(partial), "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--quiet",
                     "--precision", "fp32", "--store-dir", str(tmp_path / "store"))
    assert done.returncode == 0, done.stderr[-1000:]
    assert "nan" not in done.stdout and "rank distance (multi, mean over query languages):" in done.stdout
    assert "64 tokens a text: hybridlib's default (every scale's); fp32)" in done.stdout
    assert "Loading weights" not in done.stderr, "--quiet hides the loading bars"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["max_seq_length"] == 64 and summary["provenance"]["precision"] == "fp32"
    assert summary["provenance"]["model_record"]["prompts"] == ["query: ", "passage: "]
    umask = os.umask(0)
    os.umask(umask)
    for name in ("summary.json", "map_matrix.csv", "per_question.csv"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~umask, name
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask


def test_retraining_a_finished_folder_with_other_settings_exits_3(tiny_training_set, tmp_path):
    from tests.tiny_models import build_tiny_xlmr

    tiny = build_tiny_xlmr(tmp_path / "tiny")
    out = tmp_path / "run"
    args = ["train", "--training-set", str(tiny_training_set), "--config", "smoke", "--set", f"model={tiny}",
            "--set", "max_seq_length=16", "--set", "batch_size=3", "--set", "max_steps=2", "--set", "save_steps=2",
            "--set", "device=cpu", "--no-validation", "--output", str(out)]
    done = hybridlib(*args)
    assert done.returncode == 0 and (out / "final").is_dir(), done.stderr[-800:]
    again = hybridlib(*args, "--seed", "1")
    assert again.returncode == 3 and "holds a finished run with other settings" in again.stderr
    assert "Traceback" not in again.stderr
