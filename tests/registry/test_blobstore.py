"""The blob store: content addressing, hash checked on write, damage caught by check, fast path and its limits."""
import hashlib
import os
import time

import pytest

from registry import blobstore
from registry.blobstore import BlobStore
from registry.errors import BlobCorrupt, NotWritable
from tests.mounts import read_only, small_disk


@pytest.fixture
def store(tmp_path):
    return BlobStore(tmp_path / "blobs")


def _file(tmp_path, data: bytes, name="f.bin"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _flip_in_place(path, offset=0, keep_mtime=True):
    st = os.stat(path)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))
    os.chmod(path, 0o444)
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_put_stores_under_the_sha256_read_only(store, tmp_path):
    data = b"hello weights" * 1000
    blob = store.put_file(_file(tmp_path, data))
    assert blob.sha256 == hashlib.sha256(data).hexdigest() and blob.size == len(data)
    path = store.path(blob.sha256)
    assert path == store.root / "sha256" / blob.sha256[:2] / blob.sha256
    assert path.read_bytes() == data and (path.stat().st_mode & 0o777) == 0o444
    assert list((store.root / "tmp").iterdir()) == []


def test_put_of_the_same_bytes_twice_keeps_one_blob(store, tmp_path):
    a = store.put_file(_file(tmp_path, b"same", "a"))
    b = store.put_file(_file(tmp_path, b"same", "b"))
    assert a == b and store.stored() == [a.sha256]


def test_put_with_a_wrong_expected_hash_stores_nothing(store, tmp_path):
    with pytest.raises(BlobCorrupt, match="expected sha256:" + "0" * 64):
        store.put_file(_file(tmp_path, b"data"), expected_sha256="0" * 64)
    assert store.stored() == [] and list((store.root / "tmp").iterdir()) == []


def test_check_catches_a_same_size_flipped_byte_even_with_the_mtime_restored(store, tmp_path, monkeypatch):
    monkeypatch.setattr(blobstore, "RACY_SECONDS", 0.0)
    blob = store.put_file(_file(tmp_path, os.urandom(4096)))
    assert store.check(blob.sha256, blob.size) is None
    time.sleep(0.05)  # past the file system's timestamp tick, which RACY_SECONDS covers in real use
    _flip_in_place(store.path(blob.sha256), offset=1234)
    problem = store.check(blob.sha256, blob.size)
    assert problem is not None and "content hashes to sha256:" in problem


def test_check_trusts_a_recorded_stat_without_reading_the_blob(store, tmp_path, monkeypatch):
    monkeypatch.setattr(blobstore, "RACY_SECONDS", 0.0)
    blob = store.put_file(_file(tmp_path, b"x" * 10000))
    assert store.check(blob.sha256, blob.size) is None

    def must_not_hash(*args, **kwargs):
        raise AssertionError("re-hashed a blob whose stat was recorded")
    monkeypatch.setattr(blobstore, "hash_file", must_not_hash)
    assert store.check(blob.sha256, blob.size) is None
    with pytest.raises(AssertionError):
        store.check(blob.sha256, blob.size, trust_record=False)


def test_a_record_taken_in_the_same_tick_as_the_write_is_not_trusted(store, tmp_path, monkeypatch):
    blob = store.put_file(_file(tmp_path, b"fresh"))
    calls = []
    real = blobstore.hash_file
    monkeypatch.setattr(blobstore, "hash_file", lambda path, progress=None: calls.append(path) or real(path))
    assert store.check(blob.sha256, blob.size) is None
    assert store.check(blob.sha256, blob.size) is None
    assert len(calls) == 2  # written < RACY_SECONDS ago: every check re-hashes


def test_check_reports_a_size_change_and_a_missing_blob(store, tmp_path):
    blob = store.put_file(_file(tmp_path, b"abcdef"))
    assert "the registry recorded 7" in store.check(blob.sha256, 7)
    os.unlink(store.path(blob.sha256))
    with pytest.raises(FileNotFoundError):
        store.check(blob.sha256, blob.size)


def test_put_replaces_a_damaged_copy(store, tmp_path):
    src = _file(tmp_path, os.urandom(1000))
    blob = store.put_file(src)
    _flip_in_place(store.path(blob.sha256))
    assert store.check(blob.sha256, blob.size, trust_record=False) is not None
    store.put_file(src)
    assert store.check(blob.sha256, blob.size, trust_record=False) is None


def test_stale_temp_files_are_listed_only_when_old(store, tmp_path):
    (store.root / "tmp").mkdir(parents=True)
    partial = store.root / "tmp" / "dead.partial"
    partial.write_bytes(b"half")
    assert store.stale_temp_files() == []
    assert store.stale_temp_files(older_than=-1) == [partial]


def test_a_full_disk_names_the_temp_file_and_the_reason_and_leaves_nothing_behind(tmp_path):
    with small_disk(tmp_path / "blobs", 64 * 1024) as root:
        store = BlobStore(root)
        with pytest.raises(NotWritable, match=rf"^cannot write {root}/tmp/\w+\.partial: no space left on the device"):
            store.put_file(_file(tmp_path, os.urandom(256 * 1024), "big.bin"))
        assert list((root / "tmp").iterdir()) == [] and store.stored() == []
        small = store.put_file(_file(tmp_path, b"fits", "small.bin"))  # the space the failed write took came back
        assert store.stored() == [small.sha256] and store.check(small.sha256, 4) is None


def test_a_read_only_store_refuses_a_write_in_one_error_and_still_checks_what_it_holds(store, tmp_path):
    kept = store.put_file(_file(tmp_path, os.urandom(1000), "kept.bin"))
    with read_only(store.root):
        with pytest.raises(NotWritable, match=rf"^cannot write {store.root}/tmp/\w+\.partial: the file system is "
                                              rf"read-only$"):
            store.put_file(_file(tmp_path, b"new", "new.bin"))
        # a check re-hashes and would record the stat: the record is skipped, the answer is the same
        assert store.check(kept.sha256, kept.size, trust_record=False) is None
    assert store.stored() == [kept.sha256] and list((store.root / "tmp").iterdir()) == []


def test_a_blob_received_in_chunks_is_stored_on_commit_and_its_temp_file_removed_without_one(store):
    chunks = [os.urandom(1000) for _ in range(5)]
    with store.receive(prefix="upload-") as blob:
        for chunk in chunks:
            blob.write(chunk)
        assert [p.name.startswith("upload-") for p in (store.root / "tmp").iterdir()] == [True]
        stored = blob.commit(hashlib.sha256(b"".join(chunks)).hexdigest())
    assert store.path(stored.sha256).read_bytes() == b"".join(chunks) and stored.size == 5000
    with pytest.raises(ValueError, match="refused"), store.receive() as blob:  # an upload refused half way
        blob.write(b"half")
        raise ValueError("refused")
    with pytest.raises(BlobCorrupt, match="expected sha256:" + "0" * 64), store.receive() as blob:
        blob.write(b"other bytes")
        blob.commit("0" * 64)
    assert store.stored() == [stored.sha256] and list((store.root / "tmp").iterdir()) == []
