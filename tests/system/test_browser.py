"""`charlm explore` in a real browser: headless Chromium (the system's, driven by Playwright) types a
prompt, moves the temperature, generates, opens the distribution view. The page must work offline:
no console error, no request beyond this machine. The screenshot is kept as a test artefact."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's; .ci/run installs it when missing
ARTEFACTS = Path(os.environ.get("CHARLM_ARTEFACTS", "test-artefacts"))  # the screenshot goes here
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def test_the_page_writes_colours_and_explains_offline(explorer_page, tmp_path):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail("this test drives Debian's Chromium, which is not installed: apt-get install chromium"
                    " (.ci/run does it when missing)", pytrace=False)

    console: list[str] = []
    hosts: set[str] = set()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(f"page error: {e}"))
        page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
        page.goto(explorer_page, wait_until="networkidle")

        page.locator("#prompt textarea").fill("QUEEN:\n")
        temperature = page.locator("#temperature input[type=number]")
        temperature.fill("1.3")
        temperature.press("Enter")
        page.locator("#generate").click()
        page.wait_for_function("document.querySelector('#text textarea').value.length >= 400 + 7",
                               timeout=60_000)
        assert page.locator("#text textarea").input_value().startswith("QUEEN:\n")

        page.get_by_role("tab", name="How sure was it?").click()
        page.wait_for_selector("#sure .score-token", timeout=30_000)
        tokens = page.locator("#sure .score-token")
        assert tokens.count() == 400
        coloured = tokens.evaluate_all(
            "ts => ts.filter(t => t.style.backgroundColor.startsWith('rgba')).length")
        assert coloured > 300  # every character that was not a certainty has its colour
        tokens.nth(10).click()
        page.wait_for_selector("#distribution img", timeout=30_000)
        assert page.locator("#position input").input_value() == "10"
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTEFACTS / "explore.png", full_page=True)
        browser.close()
    assert console == []
    # nothing fetched from beyond this machine: no CDN, no fonts from the web, no telemetry
    assert hosts == {explorer_page.split("/")[2]}
