"""Everything the app reads or changes, through `hub` only: the zoo's rows, a model's details, loaded models.

Reads are not cached across reruns (a promote must show at once, and a registry of a few hundred models
answers in milliseconds); loaded models are, since loading maps weights and builds the network.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

import hub
from hub.records import AliasChange

SAMPLES = Path(__file__).parent / "samples"
SPEECH_TASKS = ("speech",)
TEXT_TASKS = ("text",)
VISION_TASKS = ("vision",)


@dataclass(frozen=True)
class ZooRow:
    """One card of the zoo page (facts of its version come from card_facts, for the cards on screen only)."""

    name: str
    task: str
    license: str
    description: str
    in_registry: bool
    latest_version: int | None
    production: int | None

    @property
    def shown_ref(self) -> str | None:
        """The version a plain reference resolves to (production, else newest); None before the import."""
        number = self.production or self.latest_version
        return f"{self.name}@{number}" if number else None


def zoo_rows(task: str | None = None, query: str | None = None) -> list[ZooRow]:
    """The registry's models and the catalog's models not imported yet (one hub.list call)."""
    return [ZooRow(name=m.name, task=m.task, license=m.license or "unknown", description=m.description,
                   in_registry=m.in_registry, latest_version=m.latest_version, production=m.aliases.get("production"))
            for m in hub.list(task=task or None, query=query or None)]


def card_facts(ref: str) -> tuple[int, str]:
    """(size in bytes, headline benchmark) of one version of this registry, cached: a version's files never
    change and its verdicts rarely (the cache is cleared when the app reproduces a benchmark)."""
    return _card_facts(registry_identity(), ref)


def forget_card_facts() -> None:
    """Drop the cached card facts (after this app re-ran benchmarks, whose verdicts the cards show)."""
    _card_facts.clear()


@st.cache_data(ttl=60, show_spinner=False, max_entries=2000)
def _card_facts(registry: str, ref: str) -> tuple[int, str]:
    info = hub.info(ref)
    return info.size, headline_of(info.verdicts)


def registry_identity() -> str:
    """Which registry this process reads (the same reference means another version in another registry)."""
    return os.environ.get("ZOOHUB_DB_URL") or os.environ.get("ZOOHUB_HOME") or "~/.cache/zoohub"


def headline_of(verdicts) -> str:
    """The first benchmark that was measured, as text for a card."""
    for v in verdicts:
        if v.measured is not None:
            return f"{v.benchmark} {v.measured:.4g} ({v.verdict.replace('_', ' ')})"
    return ""


def model_info(ref: str):
    """hub.info(ref) with the latest verdicts; raises hub.HubError (unknown name, bad reference) for the page."""
    return hub.info(ref)


def model_versions(name: str) -> list:
    """hub.info of every version of a model, oldest first (for the versions table and verdict history)."""
    newest = hub.info(name)
    return [hub.info(f"{name}@{n}") for n in newest.versions]


def history_frame(name: str) -> pd.DataFrame:
    """The alias history of a model, newest first, as a table."""
    changes = hub.history(name)
    rows = [{"at": c.at, "alias": c.alias, "from": c.from_version, "to": c.to_version, "by": c.actor,
             "reason": c.reason} for c in changes]
    frame = pd.DataFrame(rows, columns=["at", "alias", "from", "to", "by", "reason"])
    return frame.iloc[::-1].reset_index(drop=True)


def verdict_frame(versions: list) -> pd.DataFrame:
    """Every version's latest verdict per benchmark, for the verdict-history chart."""
    rows = [{"at": v.at, "version": info.version, "benchmark": v.benchmark, "measured": v.measured,
             "claimed": v.claimed, "verdict": v.verdict}
            for info in versions for v in info.verdicts]
    return pd.DataFrame(rows, columns=["at", "version", "benchmark", "measured", "claimed", "verdict"])


def promote(name: str, version: int, alias: str, reason: str) -> AliasChange:
    """Point `alias` of `name` at `version`, recording the reason in the alias history (`.moved` is False when the
    alias already pointed there: nothing is recorded)."""
    return hub.promote(f"{name}@{version}", alias, reason=reason)


def can_reproduce() -> bool:
    return callable(getattr(hub, "reproduce", None))


def sample_clips() -> list[Path]:
    return sorted(SAMPLES.glob("*.wav"))


def sample_digits() -> np.ndarray:
    """The bundled digits (10, 8, 8), values 0..16: sample i is a handwritten i (see samples/README.md)."""
    return np.load(SAMPLES / "digits.npy", allow_pickle=False).astype(np.float32)


def loaded(ref: str) -> Any:
    """The model ref names, ready to run: imported from the catalog on first use (hub.pull), then loaded once
    per version and kept (a model is large; loading maps its weights)."""
    info = hub.pull(ref)
    return _loaded(info.ref, info.manifest_sha256)


@st.cache_resource(show_spinner=False, max_entries=4)
def _loaded(ref: str, manifest_sha256: str) -> Any:
    # the manifest hash names the files: the same reference in another registry is another cache entry
    return hub.load(f"{ref.split('@')[0]}@sha256:{manifest_sha256}")


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """(work(), seconds it took)."""
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


TIMING_SENTENCES = ["A man is playing a guitar.", "Someone plays an instrument.",
                    "The stock market fell sharply today.", "Rain is expected for the weekend."] * 8
WORKLOAD_HELP = ("loads each model, then times the transcription of the first bundled sample clip",
                 f"loads each model, then times the embedding of {len(TIMING_SENTENCES)} short sentences")


def workload_seconds(ref: str, task: str) -> float:
    """Seconds one model takes on the app's sample workload (after loading, which is not counted)."""
    model = loaded(ref)
    if task in SPEECH_TASKS:
        clip = str(sample_clips()[0])
        return timed(lambda: model.transcribe(clip))[1]
    return timed(lambda: model.encode(TIMING_SENTENCES))[1]


def human_size(n: int | None) -> str:
    if n is None:
        return "not imported"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
