"""App tests: a real registry under the per-test ZOOHUB_HOME, seeded through hub.publish, driven by AppTest."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app import tiny_models

MAIN = Path(__file__).resolve().parents[2] / "app" / "main.py"
RUN_TIMEOUT = 120  # seconds; the machine's two cores are shared with builds and other test runs


@pytest.fixture
def seeded(tmp_path):
    """speech/vad v1, v2 and text/chars v1 in the registry; apptest/catalog-only only in the catalog."""
    speech = tiny_models.publish_speech(tmp_path / "src")
    text = tiny_models.publish_text(tmp_path / "src")
    return {"speech": speech, "text": text}


def open_page(page: str | None = None, **query: str) -> AppTest:
    """Run the app's entry script, then (if given) switch to views/<page>.py with the query parameters."""
    at = AppTest.from_file(str(MAIN), default_timeout=RUN_TIMEOUT).run()
    if page is not None:
        at.query_params.update(query)
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Everything the page wrote as text (markdown, captions, titles, alerts), one string to search in."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success",
                                  "warning", "error") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def record_benchmarks(name: str, version: int, runs: list[tuple[str, float, float, float]],
                      when: datetime | None = None) -> None:
    """Seed eval runs and verdicts of name@version: (metric, claimed, measured, seconds) on dataset 'apptest-set'.

    The hub records these through `reproduce`; the tests write them with the registry's own functions.
    """
    from registry import db
    from registry.evaluations import add_claim, record_eval_run, record_reproduction, upsert_benchmark
    from registry.versions import get_model, resolve_version
    when = when or datetime.now(timezone.utc)
    with db.connect().write() as session:
        model = get_model(session, name)
        version_row = resolve_version(session, name, version=version)
        for metric, claimed, measured, seconds in runs:
            bench = upsert_benchmark(session, task=model.task, dataset="apptest-set", metric=metric,
                                     higher_is_better=metric != "seconds")
            claim = add_claim(session, model, bench, claimed, source="the app tests")
            run = record_eval_run(session, version_row, bench, value=measured, status="succeeded",
                                  started_at=when - timedelta(seconds=seconds), finished_at=when,
                                  env={"python": "3.11", "isa": "avx2"})
            record_reproduction(session, claim, run, abs_tol=0.01, rel_tol=0.0)
