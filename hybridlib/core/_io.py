"""Atomic file writes: a reader sees the old file or the complete new one, never half of it."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np


class Busy(RuntimeError):
    """Another process holds a lock this one needs."""


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str], what: str = "another process holds this lock",
                   error: type[Busy] = Busy) -> Iterator[None]:
    """Hold ``path`` as an exclusive lock (released when the process ends, even killed); a second holder gets
    ``error`` saying ``what``, the holder's pid and start time, and the lock file."""
    import datetime as dt
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise error(f"{what} ({holder}; lock {path}): wait for it to finish, or stop it, then run again") from None
        fh.seek(0)
        fh.truncate()
        started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        fh.write(f"pid {os.getpid()}, started {started}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def check_writable(folder: str | os.PathLike[str], flag: str) -> None:
    """Refuse (ValueError naming ``flag``, the option the user gave it with) a folder to be written that is a file,
    lies under a file, or whose nearest existing folder cannot be written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{flag} {folder} is a file, not a folder")
    parent = folder
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {folder} lies under {parent}, which is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {folder}: {parent} is not writable")


def _umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes it 600: the final file gets the user's umask
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing that atomically becomes ``path`` when closed without error."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success it replaces ``path`` (whose old content is
    removed only after the new one is in place), on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 700
    try:
        yield tmp
        old = path.with_name(f".{path.name}.old")
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None, through dicts, lists and tuples."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_text(obj: Any) -> str:
    """``obj`` as indented, valid JSON (NaN and infinities become null, which JSON has; other objects by str)."""
    import json

    return json.dumps(_finite(obj), indent=1, default=str, allow_nan=False) + "\n"


def save_npy(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Atomically save ``array`` as a ``.npy`` file."""
    with atomic_open(path, "wb") as fh:
        np.save(fh, array)
    return Path(path)
