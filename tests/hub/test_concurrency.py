"""8 processes publishing and promoting at once, on SQLite and on PostgreSQL: version numbers stay distinct and
dense, identical content gets one version, no alias event is lost, and every version's files are readable."""
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

import hub
import tests.hub.tiny_model  # noqa: F401  (registers the test architecture in this process)
from registry.blobstore import BlobStore
from registry.db import zoohub_home

WORKERS = 8
ROUNDS = 3
ROOT = Path(__file__).resolve().parents[2]


def test_eight_processes_publishing_and_promoting_stay_consistent(registry_url, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.hub.publish_worker", str(w), str(ROUNDS), str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
             for w in range(WORKERS)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    by_manifest = defaultdict(set)
    for result in results:
        for folder, version, manifest, _created in result["published"]:
            by_manifest[manifest].add(version)
    # one version per distinct content; the shared folder is one content for all 8 workers
    assert all(len(versions) == 1 for versions in by_manifest.values())
    assert len(by_manifest) == WORKERS * ROUNDS + 1
    shared_created = [created for r in results for folder, _, _, created in r["published"] if folder.startswith("s")]
    assert shared_created.count(True) == 1

    info = hub.info("test/shared@1")
    assert info.versions == tuple(range(1, WORKERS * ROUNDS + 2))  # distinct and dense: no duplicate, no gap

    history = hub.history("test/shared", "production")
    moves = [p for r in results for p in r["promoted"] if p[1] != p[2]]  # a promote to the current version is no move
    assert len(history) == len(moves)  # no lost alias event
    assert sorted(c.reason for c in history) == sorted(p[0] for p in moves)
    previous = None
    for change in history:  # the events form one chain ending at the alias's current version
        assert change.from_version == previous
        previous = change.to_version
    assert hub.info("test/shared").version == previous == hub.info("test/shared:production").version

    report = hub.verify()
    assert report.ok and report.checked_files == 3 * (WORKERS * ROUNDS + 1), report.problems
    assert not list((zoohub_home() / "blobs" / "tmp").iterdir())
    x = np.ones((2, 4), np.float32)
    for number in info.versions:
        assert hub.load(f"test/shared@{number}")(x).shape == (2, 3)
    assert len(BlobStore(zoohub_home() / "blobs").stored()) == WORKERS * ROUNDS + 1 + 2  # + one config, one README


def test_processes_loading_a_new_catalog_model_at_once_publish_it_once(registry_url):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import tests.hub.tiny_model, hub; print(hub.load('test/tiny').folder.name)"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env, cwd=ROOT) for _ in range(4)]
    folders = set()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        folders.add(out.strip())
    info = hub.info("test/tiny")
    assert info.versions == (1,) and folders == {info.manifest_sha256}
