"""Real file systems that fail writes, for the disk-full and read-only tests: a small tmpfs and a read-only bind mount.

Both need mount(8) with the right to mount (root or CAP_SYS_ADMIN); where that is not permitted the test is
skipped with the reason. Every mount is undone when its `with` block ends, lazily if something still holds it.

>>> with small_disk(tmp_path / "blobs", 64 * 1024) as blobs:
...     ...                                   # writing more than 64 KiB under blobs fails with ENOSPC
>>> with read_only(tmp_path / "home"):
...     ...                                   # the same folder, now mounted read-only (EROFS)
"""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    if shutil.which("mount") is None:
        pytest.skip("mount(8) is not installed: cannot make a small or read-only file system")
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"mounting is not permitted here (mount {' '.join(args)}: {result.stderr.strip()})")


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=True)  # busy: detach it now


@contextmanager
def small_disk(path: Path, size: int, inodes: int | None = None) -> Iterator[Path]:
    """A tmpfs of `size` bytes (rounded up to whole pages) mounted on path (created, must be empty); with inodes, it
    holds at most inodes - 1 files and folders (its root takes one), whatever their size."""
    path.mkdir(parents=True, exist_ok=True)
    limit = f",nr_inodes={inodes}" if inodes is not None else ""
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0755{limit}", "tmpfs", str(path))
    try:
        yield path
    finally:
        _unmount(path)


@contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """path (a folder or a file) bind-mounted on itself read-only: its content stays visible, every write is EROFS."""
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,bind,ro", str(path))
        yield path
    finally:
        _unmount(path)

