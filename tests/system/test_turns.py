"""Long jobs on `charlm explore` (Adapt, Sweep) take turns: one per page, a few in all, in a queue of
their own beside Write's; the rest is refused in one line before it joins (charlm.app.turns)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.client import Job
from gradio_client.exceptions import ValidationError
from gradio_client.utils import Status

from charlm.model.checkpoint import save as save_checkpoint
from charlm.model.lstm import LitCharRNN
from charlm.text.splits import load_vocab
from tests.system.test_page import PROMPT, write_args

ADAPTED = "the king is dead, long live the queen.\n" * 1280  # 49,920 characters: the longest a request reads
ADAPT = (ADAPTED, 1, PROMPT, 0.8, "3")  # reads for 1 s: the model below is far slower than the text is long
SWEEP = (PROMPT, "1", 2, 100, 0, False)


@pytest.fixture(scope="module")
def large_page(trained_run: Path, tmp_path_factory) -> Iterator[str]:
    """The page of an untrained model too large to read the longest text an adapt takes in its seconds:
    its long jobs last as long as they are allowed to, on any machine."""
    from charlm.app.page import serve

    vocab = load_vocab(trained_run / "prepared")
    model = LitCharRNN(len(vocab), embed_dim=64, hidden_size=1024, num_layers=2, vocab=vocab)
    path = save_checkpoint(model, tmp_path_factory.mktemp("large") / "large.ckpt")
    blocks = serve(path, None, trained_run / "prepared", trained_run / "dvclive", block=False)
    try:
        yield blocks.local_url
    finally:
        blocks.close()


def joined(job: Job) -> Job:
    """`job` once the page has let it into the queue (or answered it): its status polled, the event
    that ends the wait being the page's answer to the join."""
    pause, deadline = threading.Event(), time.monotonic() + 60
    while job.status().code in (Status.STARTING, Status.JOINING_QUEUE) and time.monotonic() < deadline:
        pause.wait(0.01)
    return job


@pytest.mark.slow
@pytest.mark.parametrize("second", [("/adapt", ADAPT), ("/sweep", SWEEP)], ids=["adapt", "sweep"])
def test_a_page_has_one_long_job_at_a_time(large_page, second):
    """An adapt or a sweep sent while the same page's adapt is waiting or running is refused before it
    joins the queue (a script sends faster than a page: without this one page fills the queue)."""
    page = Client(large_page, verbose=False)
    first = joined(page.submit(*ADAPT, api_name="/adapt"))
    for _ in range(3):
        with pytest.raises(ValidationError, match="this page has an adapt or a sweep under way already"):
            page.predict(*second[1], api_name=second[0])
    assert first.result()[0].startswith("Read ")
    assert page.predict(*second[1], api_name=second[0])  # once it is done, the next one is taken


@pytest.mark.slow
def test_long_jobs_have_their_own_bounded_queue_and_write_stays_answerable(large_page):
    """Four pages' adapts wait one behind the other; a fifth page's sweep is refused with a message;
    meanwhile a sixth page's Write does not wait behind them."""
    pages = [Client(large_page, verbose=False) for _ in range(6)]
    long_jobs = [joined(page.submit(*ADAPT, api_name="/adapt")) for page in pages[:4]]
    with pytest.raises(ValidationError, match="the page is busy with 4 adapts and sweeps from other pages"):
        pages[4].predict(*SWEEP, api_name="/sweep")
    assert len(pages[5].predict(*write_args(length=20), api_name="/write")[2]["text"]) == 20
    assert not long_jobs[-1].done()  # the Write ran beside the adapts, not after them
    assert all(job.result()[0].startswith("Read ") for job in long_jobs)


@pytest.mark.slow
def test_an_adapt_whose_page_has_gone_stops(large_page):
    """A page reloaded or closed while its adapt reads: nobody will see the answer, so it stops at once
    and the next page's adapt, queued behind it, runs (instead of after its minute)."""
    from playwright.sync_api import sync_playwright

    from tests.system.test_browser import CHROMIUM, FLAGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(large_page, wait_until="load")
        page.get_by_role("tab", name="Adapt").click()
        page.get_by_label("text to adapt to").fill(ADAPTED)
        page.locator("#adapt-seconds input[type=number]").fill("60")
        page.locator("#adapt-seconds input[type=number]").press("Enter")
        page.get_by_role("button", name="Adapt and write").click()
        page.wait_for_function("document.querySelector('#adapt-summary')?.textContent.includes('processing')",
                               timeout=60_000)  # it runs
        browser.close()
    gone = time.monotonic()
    assert Client(large_page, verbose=False).predict(*ADAPT, api_name="/adapt")[0].startswith("Read ")
    assert time.monotonic() - gone < 30  # not behind the 54 s of reading the closed page asked for
