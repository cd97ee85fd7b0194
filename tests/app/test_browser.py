"""End to end in a real browser: the app runs as a server on a loopback port, Debian's headless Chromium drives it.

Screenshots of every step go to test-artifacts/app-e2e/<test>/ at the repository root (git-ignored).
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from hub.commands.app import streamlit_arguments
from tests.app.app_server import AppServer, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ZOOHUB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "app-e2e"
# Registers the tiny test models in the server's own process, then runs streamlit's command line.
TINY_LAUNCHER = ("import sys, tests.app.tiny_models; from streamlit.web.cli import main; "
                 "sys.argv = ['streamlit'] + sys.argv[1:]; sys.exit(main())")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install "
                                                                    f"chromium, or set ZOOHUB_CHROMIUM)")


class Browser:
    """A Chromium page that screenshots each step and fails on any Streamlit exception box."""

    def __init__(self, page, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.step = 0

    @property
    def main(self):
        """The page body, without the sidebar's navigation (which repeats the page names)."""
        return self.page.locator('[data-testid="stMain"]')

    def settle(self, timeout_ms: float = 120_000) -> None:
        """Wait until Streamlit says the script run finished (the app root carries the run state)."""
        self.page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)

    def snap(self, name: str) -> None:
        # widgets draw a placeholder until their code has loaded: wait for them so the screenshot shows the page
        self.page.wait_for_function("() => !document.querySelector('[data-testid^=\"stSkeleton\"]')")
        self.step += 1
        self.page.screenshot(path=str(self.shots / f"{self.step:02d}-{name}.png"), full_page=True)
        exceptions = self.page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, f"{name}: the page shows an exception: {exceptions.first.inner_text()}"

    def see(self, text: str | re.Pattern, timeout_ms: float = 120_000) -> None:
        self.page.get_by_text(text).first.wait_for(state="visible", timeout=timeout_ms)


@pytest.fixture
def browser_session(request):
    from playwright.sync_api import sync_playwright
    shots = ARTIFACTS / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        try:
            yield Browser(page, shots)
        finally:
            chromium.close()


def walk_through(b: Browser, url: str, search: str, model: str, transcript: str | re.Pattern,
                 transcribe_timeout_ms: float) -> None:
    """Zoo -> search -> model page -> try it on a sample clip -> promote to production -> the history row."""
    b.page.goto(url)
    b.see(re.compile(r"^\d+ of \d+ models$"))
    b.settle()
    b.snap("zoo")

    b.page.get_by_label("Search").fill(search)
    b.page.get_by_label("Search").press("Enter")
    b.settle()
    b.see(re.compile(r"^\d+ of \d+ models$"))
    b.snap("search")

    b.main.get_by_role("link", name=model, exact=False).first.click()
    b.see("Versions & aliases")
    b.settle()
    b.snap("model")

    b.main.get_by_role("link", name="Try it").click()
    b.see("Sample clip")
    b.settle()
    b.main.get_by_role("button", name="Transcribe").click()
    outcome = b.main.get_by_text("Transcript", exact=True).or_(b.main.locator('[data-testid="stAlertContentError"]'))
    outcome.first.wait_for(state="visible", timeout=transcribe_timeout_ms)
    errors = b.main.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"transcription failed in the app: {errors.first.inner_text()}"
    b.see(transcript)
    b.see(re.compile(r"s of audio transcribed in"))
    b.settle()
    b.snap("transcript")

    b.main.get_by_role("link", name=f"Back to {model}").click()
    b.see("Versions & aliases")
    b.settle()
    b.main.get_by_role("link", name="Promote").click()
    b.see("Promote a version")
    b.settle()
    reason = "end-to-end test: promote from the browser"
    b.page.get_by_label("Reason (recorded in the history)").fill(reason)
    b.page.get_by_label("Reason (recorded in the history)").press("Tab")
    b.settle()
    b.page.get_by_text("I confirm").click()
    b.settle()
    b.snap("promote-form")
    b.main.get_by_role("button", name="Promote").click()
    b.see(re.compile(rf"{re.escape(model)}:production now points at v\d+\."))
    b.settle()
    row = b.page.locator('[data-testid="stTable"] tr', has_text=reason)
    row.first.wait_for(state="visible")
    assert "production" in row.first.inner_text()
    b.snap("history")


def test_browser_walk_through_with_a_tiny_speech_model(tmp_path, browser_session):
    import hub
    from tests.app import tiny_models
    tiny_models.publish_speech(tmp_path / "src")
    tiny_models.publish_text(tmp_path / "src")
    port = free_port()
    command = [sys.executable, "-c", TINY_LAUNCHER] + streamlit_arguments(port, "127.0.0.1")
    server = AppServer(command, port, tmp_path / "app.log")
    try:
        walk_through(browser_session, server.url, "speech", "speech/vad", re.compile(r"heard \d+ stretches"),
                     transcribe_timeout_ms=120_000)
    finally:
        server.stop()
    assert [c.reason for c in hub.history("speech/vad")] == ["end-to-end test: promote from the browser"]


def speech_base_available() -> bool:
    from zoo.catalog import entries
    return "speech/base" in entries()


@pytest.mark.skipif(not speech_base_available(), reason="speech/base is not in the catalog yet (branch speech)")
def test_browser_walk_through_with_speech_base(tmp_path, browser_session):
    import hub
    port = free_port()
    server = AppServer([sys.executable, "-m", "hub.cli", "app", "--port", str(port)], port, tmp_path / "app.log")
    try:
        hub.pull("speech/base")  # the import takes minutes on two cores; the browser then loads the stored version
        walk_through(browser_session, server.url, "speech", "speech/base",
                     re.compile(r"smooth planks", re.IGNORECASE), transcribe_timeout_ms=600_000)
    finally:
        server.stop()
    assert hub.history("speech/base", "production")[-1].reason == "end-to-end test: promote from the browser"
