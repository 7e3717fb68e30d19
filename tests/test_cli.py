"""The ``hybridlib`` command as a user runs it: a subprocess, real files, its outputs read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hybridlib.data import lareqa_from_squad, read_json, sha256_file


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
    assert prov["leakage_check"].startswith("no hybridlib training record")
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
