"""16 client processes downloading the Whisper base files while 4 publish and promote, against one real server
process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import numpy as np
import requests

import hub
from hub import remote as remote_client
from tests.hub.tiny_model import write_folder
from tests.server.conftest import ROOT, zoohub

DOWNLOADERS = 16
PUBLISHERS = 4
ROUNDS = 2
DOWNLOAD_ROUNDS = 1  # Whisper base is 280 MiB as we store it: 16 copies of it are the load
WHISPER = "speech/base"


def test_sixteen_downloading_while_four_publish_and_promote(remote, write_token, tmp_path, monkeypatch,
                                                              record_property):
    monkeypatch.setattr(remote_client, "_clients", {})
    zoohub("pull", WHISPER, home=remote.home)  # imported from its catalog packages into the server's registry
    hub.publish(write_folder(tmp_path / "first", seed=2, n_in=64, n_out=64), "test/shared")
    hub.promote("test/shared@1", "production", reason="start")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOOHUB_REMOTE": remote.url, "ZOOHUB_TOKEN": write_token}
    procs = []
    for w in range(PUBLISHERS):
        procs.append(("publish", subprocess.Popen(
            [sys.executable, "-m", "tests.server.remote_worker", "publish", str(w), str(ROUNDS), str(tmp_path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)))
    for d in range(DOWNLOADERS):
        procs.append(("download", subprocess.Popen(
            [sys.executable, "-m", "tests.server.remote_worker", "download", str(tmp_path / f"d{d}"),
             str(DOWNLOAD_ROUNDS), WHISPER, "test/shared:production"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)))
    results = defaultdict(list)
    for kind, proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        results[kind].append(json.loads(out.strip().splitlines()[-1]))

    for result in results["download"]:
        assert len(result["files"]) == DOWNLOAD_ROUNDS * 8  # Whisper base: 5 files; the test model: 3
        assert {path for ref, _, path, *_ in result["files"] if ref == WHISPER} >= {"model.safetensors",
                                                                                    "tokenizer.json"}
        for ref, version, path, expected, actual in result["files"]:
            assert actual == expected, f"{ref} v{version} {path}"

    by_manifest = defaultdict(set)
    for result in results["publish"]:
        for _folder, version, manifest, _created in result["published"]:
            by_manifest[manifest].add(version)
    assert all(len(v) == 1 for v in by_manifest.values()), "one content got two versions"
    server_versions = requests.get(f"{remote.url}/api/resolve", params={"ref": "test/shared"}, timeout=10).json()
    expected_count = 1 + PUBLISHERS * ROUNDS + 1  # the first, each worker's own folders, the shared folder
    assert sorted(server_versions["versions"]) == list(range(1, expected_count + 1)), "a version was lost"
    assert len({v for vs in by_manifest.values() for v in vs}) == len(by_manifest)
    history = requests.get(f"{remote.url}/api/history", params={"name": "test/shared"}, timeout=10).json()
    moves = [p for r in results["publish"] for p in r["promoted"] if p[1] != p[2]]  # to the current version: no move
    assert len(history) == 1 + len(moves), "an alias event was lost"
    for before, after in zip(history, history[1:]):
        assert after["from_version"] == before["to_version"]
    assert server_versions["aliases"]["production"] == history[-1]["to_version"]

    latencies = {kind: np.array([t for r in rs for t in r["latencies"]]) * 1000 for kind, rs in results.items()}
    lines = []
    for kind, values in sorted(latencies.items()):
        p50, p99 = np.percentile(values, 50), np.percentile(values, 99)
        lines.append(f"{kind}: {len(values)} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {values.max():.1f} ms")
        record_property(f"{kind}_p50_ms", round(float(p50), 1))
        record_property(f"{kind}_p99_ms", round(float(p99), 1))
    report = "server latency under 16 downloaders + 4 publishers\n" + "\n".join(lines)
    (tmp_path / "latency.log").write_text(report + "\n")
    print(report)
