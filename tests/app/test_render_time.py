"""Render time of the zoo page and a model page with 100 published models (logged, not asserted)."""
from __future__ import annotations

import logging
import time

import hub
from tests.app import tiny_models
from tests.app.conftest import open_page

log = logging.getLogger(__name__)
MODELS = 100


def rerun_seconds(at) -> float:
    """Seconds one script run of the current page takes (a fresh session's caches empty, as for a new visitor)."""
    from app import state
    state.forget_card_facts()
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    assert not at.exception, [e.value for e in at.exception]
    return seconds


def test_render_time_of_zoo_and_model_pages_with_100_models(tmp_path, capsys):
    for i in range(MODELS):
        folder = tiny_models.text_folder(tmp_path / f"m{i}", seed=i, card=f"# seeded model {i}\n")
        hub.publish(folder, f"seeded/model-{i:03d}", task="text", description=f"seeded model number {i}",
                    license="MIT" if i % 2 else "Apache-2.0")
    assert sum(m.in_registry for m in hub.list()) == MODELS
    # warm the process as a running server is (the pages' imports, altair among them, happen once); a new
    # visitor still pays for every hub call: the card cache is emptied before each timed run
    at = open_page("model", model="seeded/model-042")
    model_seconds = rerun_seconds(at)
    assert at.title[0].value == "seeded/model-042"
    at.switch_page("views/zoo.py").run()
    zoo_seconds = rerun_seconds(at)
    assert f"of {len(hub.list())} models" in "".join(c.value for c in at.caption)
    message = f"render time with {MODELS} models: zoo page {zoo_seconds:.2f} s, model page {model_seconds:.2f} s"
    log.warning(message)
    with capsys.disabled():
        print(f"\n{message}")
