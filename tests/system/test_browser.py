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
        page.goto(explorer_page, wait_until="load")
        page.wait_for_selector("#generate")  # the page has built itself (it keeps a connection open)

        page.locator("#prompt textarea").fill("QUEEN:\n")
        page.locator("#seed input").fill("1")  # the same text each run: it has line breaks
        temperature = page.locator("#temperature input[type=number]")
        temperature.fill("1.3")
        temperature.press("Enter")
        page.locator("#generate").click()
        page.wait_for_function("document.querySelector('#text .generated')?.textContent.length >= 400",
                               timeout=60_000)
        assert page.locator("#text .prompt").inner_text() == "QUEEN:\n"
        assert "temperature 1.3" in page.locator("#settings").inner_text()

        page.get_by_role("tab", name="How sure was it?").click()
        page.wait_for_selector("#sure .score-token", timeout=30_000)
        tokens = page.locator("#sure .score-token")
        assert tokens.count() == 400
        coloured = tokens.evaluate_all(
            "ts => ts.filter(t => t.style.backgroundColor.startsWith('rgba')).length")
        assert coloured > 300  # every character that was not a certainty has its colour
        assert line_breaks(page)  # this text has some
        tokens.nth(10).click()
        page.wait_for_selector("#distribution img", timeout=30_000)
        assert page.locator("#position input").input_value() == "10"
        assert page.locator("#sure .score-token").nth(10).get_attribute("data-marked") == ""
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTEFACTS / "explore.png", full_page=True)
        browser.close()
    assert console == []
    # nothing fetched from beyond this machine: no CDN, no fonts from the web, no telemetry
    assert hosts == {explorer_page.split("/")[2]}


def open_page(p, url: str, width: int = 1280, height: int = 1000):
    browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, wait_until="load")
    page.wait_for_selector("#generate")  # the page has built itself (it keeps a connection open)
    return browser, page


SETTINGS = "#settings [data-testid=markdown]"  # the settings under a text (not the block's progress line)


def generate(page, length: str = "60") -> None:
    box = page.locator("#length input[type=number]")
    box.fill(length)
    box.press("Enter")
    before = page.locator(SETTINGS).inner_text()
    page.locator("#generate").click()
    page.wait_for_function("([n, before, settings]) => document.querySelector(settings).innerText !== before"
                           " && document.querySelector('#text .generated')?.textContent.length >= n",
                           arg=[int(length), before, SETTINGS], timeout=60_000)


def about_says(page, text: str) -> None:
    page.wait_for_function(f"document.querySelector('#about-position')?.textContent.includes({text!r})",
                           timeout=30_000)


def test_every_click_shows_its_character_and_a_new_text_clears_the_view(explorer_page):
    """The first character, the same one twice, another one: each click answers; a new text clears it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_page(p, explorer_page)
        generate(page)
        page.get_by_role("tab", name="How sure was it?").click()
        page.wait_for_selector("#sure .score-token", timeout=30_000)
        tokens = page.locator("#sure .score-token")
        tokens.nth(0).click()
        about_says(page, "Character 1 of 60")
        tokens.nth(5).click()
        about_says(page, "Character 6 of 60")
        with page.expect_request(lambda r: "queue/join" in r.url, timeout=30_000):
            tokens.nth(5).click()  # the same character again asks the server again
        about_says(page, "Character 6 of 60")
        assert page.locator("#sure .score-token[data-marked]").count() == 1
        page.get_by_role("tab", name="Write").click()
        generate(page, "50")
        page.get_by_role("tab", name="How sure was it?").click()
        page.wait_for_function("document.querySelectorAll('#sure .score-token').length === 50",
                               timeout=30_000)
        # the old distribution, its sentence and its mark are gone (a stale one would stay for good)
        page.wait_for_function("!document.querySelector('#distribution img')"
                               " && !document.querySelector('#about-position')?.textContent.trim()",
                               timeout=30_000)
        assert page.locator("#sure .score-token[data-marked]").count() == 0
        line_breaks(page)  # where the new text has them, not where the old one had (its tokens are reused)
        browser.close()


def line_breaks(page) -> list[int]:
    """The positions of the coloured text's line breaks, once the page's script has marked them (every
    token marked as a break exactly when it is one); the character after each starts the next line."""
    page.wait_for_function("Array.from(document.querySelectorAll('#sure .score-token')).every("
                           "t => t.hasAttribute('data-break') === (t.textContent.trim() === '↵'))",
                           timeout=30_000)
    tops = page.locator("#sure .score-token").evaluate_all(
        "ts => ts.map(t => [t.textContent.trim(), t.getBoundingClientRect().top])")
    breaks = [i for i, (text, _) in enumerate(tops[:-1]) if text == "↵"]
    assert all(tops[i + 1][1] > tops[i][1] for i in breaks)
    return breaks


def test_a_typed_value_out_of_range_is_refused_visibly(explorer_page):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_page(p, explorer_page)
        box = page.locator("#temperature input[type=number]")
        box.fill("7")
        box.press("Enter")
        assert box.input_value() == "0.8"
        assert "7 is refused, it goes from 0 to 5" in page.locator(".refused").first.inner_text()
        browser.close()


def test_the_sweep_draws_its_figure_and_says_where_words_dissolve(explorer_page):
    """The Temperature sweep as a class sees it: the sentence with the crossing and its interval, the
    figure, and the texts folded by temperature."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_page(p, explorer_page)
        page.get_by_role("tab", name="Temperature sweep").click()
        page.get_by_role("button", name="Sweep").click()
        page.wait_for_function("document.querySelector('#sweep-answer')?.textContent.includes('T ≈')",
                               timeout=120_000)
        answer = page.locator("#sweep-answer").inner_text()
        assert answer.startswith("Words stop being recognisable from T ≈")
        assert "90% interval over these texts" in answer
        page.wait_for_selector("#sweep-figure img", timeout=30_000)
        assert page.locator("#sweep-texts details").count() >= 7  # the grid, and any refined temperatures
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTEFACTS / "sweep.png", full_page=True)
        browser.close()


TABS = ["Write", "How sure was it?", "Temperature sweep", "Inside the LSTM", "Adapt", "Training"]
FILLED = {"How sure was it?": "#sure .score-token", "Inside the LSTM": "#cell .score-token",
          "Training": "#samples details"}
LOW_CONTRAST = (Path(__file__).parents[1] / "helpers/contrast.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)], ids=["projector", "phone"])
def test_every_tab_is_one_tap_away_and_its_text_readable(explorer_page, width, height):
    """Text at least 4.5 times the contrast of its background (WCAG AA) on every tab, hints included; on
    a phone every tab in the bar (no menu to open), plots at a readable size and tables scrolling inside
    their box."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_page(p, explorer_page, width, height)
        generate(page)
        bar = page.locator(".tab-wrapper > :not(.visually-hidden) button:visible")  # the tabs one tap away
        for name in TABS:
            tab = bar.get_by_text(name, exact=True)
            assert tab.count() == 1, f"{name}: not in the bar"
            tab.click()
            if name in FILLED:  # the tabs that fill themselves when they open
                page.wait_for_selector(FILLED[name], timeout=60_000)
            assert page.evaluate(LOW_CONTRAST) == [], name
        assert float(page.evaluate("getComputedStyle(document.querySelector('.block-info') ?? document.body)"
                                   ".fontSize").removesuffix("px")) >= 14  # hints readable from the back
        bar.get_by_text("Temperature sweep", exact=True).click()
        page.get_by_role("button", name="Sweep", exact=True).click()
        page.wait_for_selector("#sweep-figure img", timeout=120_000)
        plot = page.evaluate("() => { const i = document.querySelector('#sweep-figure img');"
                             " return [i.getBoundingClientRect().width,"
                             " getComputedStyle(i.parentElement).overflowX]; }")
        tables = page.evaluate("() => Array.from(document.querySelectorAll('.virtual-table-viewport'))"
                               ".filter(v => v.offsetParent).map(v => getComputedStyle(v).overflowX)")
        browser.close()
    assert plot[0] >= 600 and (width > 700 or plot[1] == "auto")
    assert tables and set(tables) == {"auto"}


def test_write_keeps_the_earlier_texts_beside_and_a_refusal_clears_the_last(explorer_page):
    """0.5, then 1.5: both on the page, each under its settings; then a refused prompt: a message and
    no text under it; a paste longer than the box takes is announced."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_page(p, explorer_page)
        page.locator("#seed input").fill("4")
        for t in ("0.5", "1.5"):
            box = page.locator("#temperature input[type=number]")
            box.fill(t)
            box.press("Enter")
            generate(page)
            page.wait_for_function("t => document.querySelector('#settings')?.textContent.includes("
                                   "`temperature ${t}`)", arg=t, timeout=60_000)
        earlier = page.locator("#earlier figure")
        assert earlier.count() == 1 and earlier.locator("figcaption").inner_text() == "T = 0.5, seed 4"
        assert len(earlier.locator(".generated").inner_text()) == 60
        page.locator("#prompt textarea").fill("KING §:")
        page.locator("#generate").click()
        page.wait_for_function("document.querySelectorAll('#earlier figure').length == 2", timeout=60_000)
        page.get_by_text("not in the vocabulary").first.wait_for(timeout=60_000)
        assert page.locator("#text .generated").count() == 0
        assert "Written" not in page.locator("#settings").inner_text()
        page.locator("#prompt textarea").evaluate(
            "box => { const data = new DataTransfer(); data.setData('text', 'x'.repeat(3000));"
            " box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true})); }")
        assert page.locator(".refused").first.inner_text() == (
            "prompt: the paste of 3,000 characters is cut to 2,000, the most it takes.")
        browser.close()


def test_after_adapting_write_uses_the_copy_and_says_so(explorer_page):
    """Adapt with the box ticked: the badge names the copy and Write's text is the copy's; unticked:
    the checkpoint again."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_page(p, explorer_page)
        assert page.locator("#model-badge").inner_text() == "Writing with the checkpoint"
        page.get_by_role("tab", name="Adapt").click()
        page.get_by_label("text to adapt to").fill("the king is dead, long live the queen.\n" * 40)
        page.get_by_role("button", name="Adapt and write").click()
        page.wait_for_selector("#adapt-after .generated", timeout=120_000)
        assert page.locator("#adapt-summary table th").all_inner_texts()[1:] == ["before", "while reading",
                                                                                   "after"]
        page.get_by_role("tab", name="Write").click()
        page.wait_for_function("document.querySelector('#model-badge').textContent.includes('adapted copy')")
        generate(page)
        assert page.locator(SETTINGS).inner_text().startswith("Written by the adapted copy")
        page.get_by_role("tab", name="Adapt").click()
        page.locator("#use-copy input").uncheck()
        page.get_by_role("tab", name="Write").click()
        page.wait_for_function("!document.querySelector('#model-badge').textContent.includes('adapted')")
        generate(page)
        assert page.locator(SETTINGS).inner_text().startswith("Written at temperature")
        browser.close()
