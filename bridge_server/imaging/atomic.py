"""Atomic file output: write a temporary file in the destination folder, fsync it, then os.replace it.

A reader (Lightroom, the watcher, another process) therefore sees either the old file or the complete new
one, never a half-written file; a failed write leaves the destination untouched and no temporary behind.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temp_path_for(dst: Path) -> Path:
    """A fresh hidden name beside `dst` that keeps its extension (tools infer the format from it)."""
    return dst.with_name(f".{dst.stem}.{secrets.token_hex(6)}.tmp{dst.suffix}")


def fsync_file(path: Path) -> None:
    """Flush a file's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder entry (makes the rename durable); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(dst: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `dst` atomically, on error it is removed."""
    dst = Path(dst)
    tmp = temp_path_for(dst)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, dst)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise
    fsync_dir(dst.parent)


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's content (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
