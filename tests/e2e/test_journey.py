"""The whole journey in a real browser (Debian's Chromium driven by Playwright), as a user would take it:
upload a long document, try the four strategies, inspect an example, estimate, train, stop, reload and find
the run again. Screenshots of every page land in a folder the test prints. Any Streamlit exception box or
browser console error fails the test."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, SHARED_CORPORA
from tests.e2e.browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    Watch,
    exception_boxes,
    metric_value,
    running_app,
    settle,
)

pytestmark = pytest.mark.e2e

STRATEGY_BUTTONS = ("Truncation", "Sliding window", "Large tokenization (blocks)", "Boundary-aware")


@pytest.fixture(scope="module")
def playwright_api():
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install -y chromium)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as api:
        yield api


def chart_points(page, key_text: str | None = None) -> int:
    """Points in the first trace of the first plotly chart on the page (0 if none)."""
    return page.evaluate(
        """() => { const plot = document.querySelector('.js-plotly-plot');
                   return plot && plot.data && plot.data.length ? plot.data[0].x.length : 0; }"""
    )


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def go_to(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    settle(page)


def test_the_whole_journey(playwright_api, tmp_path):
    shots = Path(os.environ.get("CHUNKTUNE_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {shots}")
    env = {"CHUNKTUNE_RUNS": str(tmp_path / "runs"), "PYTHONUNBUFFERED": "1"}
    watch = Watch()
    problems: list[str] = []

    def check(page, where: str) -> None:
        boxes = exception_boxes(page)
        if boxes:
            problems.append(f"{where}: exception box: {boxes[0][:500]}")
        page.screenshot(path=str(shots / f"{where}.png"), full_page=True)

    with running_app(REPO_ROOT, env, tmp_path / "app.log") as url:
        browser = playwright_api.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        watch.attach(page)
        page.goto(url)
        page.get_by_text("Examples", exact=True).first.wait_for(timeout=120_000)
        settle(page)

        # 1. A long document: the shared Shakespeare corpus (the built-in guide when it is absent).
        document = SHARED_CORPORA / "tinyshakespeare.txt"
        if document.is_file():
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(document))
            page.get_by_text("tinyshakespeare.txt").first.wait_for(timeout=120_000)
            settle(page)

        # 2. The four strategies: the example count changes with each.
        counts = {}
        for label in STRATEGY_BUTTONS:
            page.get_by_role("radio", name=label, exact=True).click()
            settle(page)
            counts[label] = metric_value(page, "Examples")
        assert len(set(counts.values())) >= 3, counts
        assert counts["Truncation"] == "1"

        # The comparison table follows the window.
        page.get_by_role("tab", name="Compare strategies").click()
        table_before = page.locator('[data-testid="stTable"]').last.inner_text()
        window_box = page.get_by_role("spinbutton", name="Window W (tokens)")
        window_box.fill("512")
        window_box.press("Enter")
        settle(page)
        page.get_by_role("tab", name="Compare strategies").click()
        page.wait_for_timeout(500)
        assert page.locator('[data-testid="stTable"]').last.inner_text() != table_before

        # 3. The inspector: the second example's tokens.
        page.get_by_role("button", name="Next ▶").click()
        settle(page)
        page.get_by_role("tab", name=re.compile(r"Tokens of example #2")).click()
        page.wait_for_timeout(500)
        assert page.get_by_text(re.compile(r"labels trained")).first.is_visible()
        check(page, "1-split")

        # 4. Estimate: the breakdown for the chosen window.
        go_to(page, "Estimate")
        page.get_by_text("Peak allocated").first.wait_for(timeout=120_000)
        settle(page)
        assert page.locator(".js-plotly-plot").count() >= 1
        assert page.get_by_text(re.compile(r"\b512\b")).count() >= 1
        check(page, "2-estimate")

        # 5. Train: start a short run, watch the loss chart gain points, stop it.
        go_to(page, "Train")
        page.get_by_role("button", name="Start training").click()
        settle(page)
        first = wait_for(lambda: chart_points(page), 240, "the first loss points")
        wait_for(lambda: chart_points(page) > first, 120, "the loss chart to gain points")
        page.get_by_role("button", name=re.compile(r"^Stop")).first.click()
        wait_for(lambda: page.get_by_text(re.compile(r"\bstopped\b")).count() > 0, 180, "the run to stop")
        points_before_reload = chart_points(page)
        assert "run=" in page.url
        check(page, "3-train")

        # 6. Reload: the page re-attaches to the run and shows its curve.
        page.reload()
        page.get_by_text(re.compile(r"\bstopped\b")).first.wait_for(timeout=120_000)
        settle(page)
        assert wait_for(lambda: chart_points(page) >= points_before_reload, 30, "the curve after reload")
        check(page, "4-train-after-reload")

        # 7. The guide, with live figures.
        go_to(page, "Guide")
        page.get_by_text("characters per token").first.wait_for(timeout=60_000)
        check(page, "5-guide")
        browser.close()

    errors = [e for e in watch.console_errors if not watch.benign(e)]
    assert not problems, problems
    assert not errors, errors
    if os.environ.get("CHUNKTUNE_KEEP_SCREENSHOTS"):
        shutil.copytree(shots, REPO_ROOT / "docs" / "screenshots", dirs_exist_ok=True)
