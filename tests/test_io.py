"""Atomic writers: what a reader finds, the modes files get, and JSON that other tools can read."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from hybridlib.core import _io


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_files_and_folders_get_the_users_umask(tmp_path):
    """Fault 19: every atomic write left mode 600 (folders 700), so other users could not read results."""
    path = _io.write_text(tmp_path / "a.txt", "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    with _io.atomic_dir(tmp_path / "d") as tmp:
        (tmp / "f").write_text("y")
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~_umask()
    old = os.umask(0o077)
    try:
        assert stat.S_IMODE(_io.write_text(tmp_path / "b.txt", "x").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_json_text_is_valid_json_with_null_for_nan():
    """Fault 19: summary.json could hold a bare NaN, which is not JSON."""
    text = _io.json_text({"a": float("nan"), "b": [1.0, np.float64("inf")], "c": {"d": np.float32(0.5)}})
    assert json.loads(text) == {"a": None, "b": [1.0, None], "c": {"d": 0.5}}
    assert "NaN" not in text and "Infinity" not in text


def test_a_second_holder_of_a_lock_is_told_who_has_it(tmp_path):
    with _io.exclusive_lock(tmp_path / "x.lock", "busy here"):
        with pytest.raises(_io.Busy, match=rf"busy here \(pid {os.getpid()}, started .*; lock {tmp_path}"):
            with _io.exclusive_lock(tmp_path / "x.lock", "busy here"):
                pass
    with _io.exclusive_lock(tmp_path / "x.lock"):
        pass
