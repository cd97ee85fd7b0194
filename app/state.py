"""Everything the app reads or changes, through `hub` only: the zoo's rows, a model's details, loaded models.

Reads are not cached across reruns (a promote must show at once, and a registry of a few hundred models
answers in milliseconds); loaded models are, since loading maps weights and builds the network.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import hub

SAMPLES = Path(__file__).parent / "samples"
SPEECH_TASKS = ("speech",)
TEXT_TASKS = ("text",)


@dataclass(frozen=True)
class ZooRow:
    """One card of the zoo page."""

    name: str
    task: str
    license: str
    description: str
    in_registry: bool
    latest_version: int | None
    production: int | None
    size: int | None  # bytes of the production (or newest) version; None until imported
    headline: str  # "dataset:metric measured (verdict)", or "" when nothing was measured


def zoo_rows(task: str | None = None, query: str | None = None, with_details: bool = True) -> list[ZooRow]:
    """The registry's models and the catalog's models not imported yet, filtered by task and search text."""
    rows = []
    for summary in hub.list(task=task or None, query=query or None):
        size, headline = None, ""
        if with_details and summary.in_registry:
            info = hub.info(summary.name)
            size, headline = info.size, headline_of(info.verdicts)
        rows.append(ZooRow(name=summary.name, task=summary.task, license=summary.license or "unknown",
                           description=summary.description, in_registry=summary.in_registry,
                           latest_version=summary.latest_version, production=summary.aliases.get("production"),
                           size=size, headline=headline))
    return rows


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


def promote(name: str, version: int, alias: str, reason: str) -> None:
    """Point `alias` of `name` at `version`, recording the reason in the alias history."""
    hub.promote(f"{name}@{version}", alias, reason=reason)


def can_reproduce() -> bool:
    return callable(getattr(hub, "reproduce", None))


def sample_clips() -> list[Path]:
    return sorted(SAMPLES.glob("*.wav"))


@st.cache_resource(show_spinner=False, max_entries=4)
def loaded(ref: str) -> Any:
    """hub.load(ref), kept for the session's later calls (a model is large; loading maps its weights)."""
    return hub.load(ref)


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """(work(), seconds it took)."""
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def human_size(n: int | None) -> str:
    if n is None:
        return "not imported"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
