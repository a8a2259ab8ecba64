"""The report in headless Chromium: hostile model output never executes, and the page renders and filters.

Also the tool behind docs/report.png: `python tests/test_report_browser.py RUN_DIR docs/report.png`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from test_report import HOSTILE_DIR, PAYLOADS, hostile_run  # noqa: F401  (module fixture reused here)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


@pytest.fixture(scope="module")
def playwright():
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


def test_hostile_output_never_executes(playwright, hostile_run):  # noqa: F811
    from trustbench.report import render_report

    page_path = render_report(hostile_run)
    browser = _browser(playwright)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs, console, errors = [], [], []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: console.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_selector("#tb-item-list .item")
        # hover over everything a payload could have hidden behind, then look for any sign of execution
        for el in page.query_selector_all("#tb-item-list pre")[:20]:
            el.hover()
        assert page.evaluate("window.__pwned") is None
        assert dialogs == [] and errors == []
        assert not [c for c in console if "Content Security Policy" in c]  # nothing even tried to run
        assert page.evaluate("document.querySelectorAll('img, [onerror], [onload], [onmouseover]').length") == 0
        shown = set(page.eval_on_selector_all("#tb-item-list pre.response", "els => els.map(e => e.textContent)"))
        assert set(PAYLOADS) <= shown  # shown verbatim, as text
        assert HOSTILE_DIR in page.title()

        # the page works: charts drawn, filters narrow the list, a task button selects its items
        assert page.evaluate("document.querySelectorAll('#overview svg rect.bar').length") >= 3
        total = page.locator("#tb-item-list .item").count()
        page.fill("#tb-q", "onerror")
        assert 1 <= page.locator("#tb-item-list .item").count() < total
        page.fill("#tb-q", "")
        page.click("button.show-items[data-task='safety/misuse']")
        tasks = set(page.eval_on_selector_all("#tb-item-list .item .head span:nth-child(2)",
                                              "els => els.map(e => e.textContent.split(' · ')[0])"))
        assert tasks == {"safety/misuse"}
        page.check("#tb-fail")
        assert page.locator("#tb-item-list .item").count() == 1  # the one complied-with misuse prompt

        ARTIFACTS.mkdir(exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        assert (ARTIFACTS / "report.png").stat().st_size > 10_000
    finally:
        browser.close()


def screenshot(run_dir: Path, png: Path, width: int = 1100, height: int = 820) -> None:
    """Render RUN_DIR's report and save the top of the page as a PNG (the README screenshot)."""
    from playwright.sync_api import sync_playwright

    from trustbench.report import render_report

    page_path = render_report(run_dir)
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(page_path.as_uri())
        page.screenshot(path=str(png))
        browser.close()


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
