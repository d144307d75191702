"""Whose turn it is for a long job (Adapt, Sweep: seconds to a minute each) on `charlm explore`.

Gradio's queue is shared by every page open on the server, and a script sends requests faster than
a page: without a bound, one page's long jobs fill it and every other page's Write is told the queue
is full. So long jobs run one at a time in a queue of their own (`LONG`), beside the short ones, and
one is refused in one line, before it joins, when its page (Gradio's session) already has one waiting
or running, or when `LONG_IN_ALL` are waiting or running in all.

    a click -> Turns.validator: refused, or let through -> Gradio's LONG queue -> Turns.taken: running
    -> finished
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio.context import LocalContext

LONG = "long"  # the Gradio concurrency id of the long jobs
LONG_IN_ALL = 4  # long jobs waiting or running at once: the last waits for at most three others
JOINING_S = 2.0  # a job let through joins Gradio's queue within this long, or its page has gone


def abandoned() -> bool:
    """Whether the page that asked for the job this thread runs has gone (reloaded, closed): Gradio
    closes the events of a page whose connection ends, and nobody will see the answer."""
    blocks, event_id = LocalContext.blocks.get(None), LocalContext.event_id.get(None)
    if blocks is None or event_id is None:  # not run by the page (a test, the API's own caller)
        return False
    event = blocks._queue.event_ids_to_events.get(event_id)  # Gradio keeps its queue private
    return event is not None and event.closed


def refused_turn(page: str, pages: list[str]) -> str | None:
    """Why `page`'s long job may not join while those of `pages` are let through and not finished."""
    if page in pages:
        return "this page has an adapt or a sweep under way already: wait for it to finish, then try again"
    if len(pages) >= LONG_IN_ALL:
        return f"the page is busy with {len(pages)} adapts and sweeps from other pages: try again in a minute"
    return None


class Turns:
    """The long jobs let through and not finished, by page: the check each one passes before it joins
    Gradio's queue (a validator), and the wrapper that runs it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.let_through: list[tuple[float, str]] = []  # (when, page) of the jobs not started yet
        self.running: list[str] = []  # the page of each job running

    def pages(self, request: gr.Request) -> list[str]:
        """The page of every long job let through and not finished. A job let through some time ago that
        Gradio no longer holds will never start (its page went away): it is forgotten."""
        queue = request.request.app.get_blocks()._queue  # Gradio keeps its queue private
        waiting = queue.event_queue_per_concurrency_id.get(LONG)
        held = Counter(e.session_hash for e in (waiting.queue if waiting else []))
        now = time.monotonic()
        kept = []
        for when, page in reversed(self.let_through):  # the newest first: the oldest are the ones gone
            if now - when < JOINING_S or held[page] > 0:
                kept.append((when, page))
                held[page] -= 1
        self.let_through = kept[::-1]
        return [page for _, page in self.let_through] + self.running

    def let_in(self, request: gr.Request) -> str | None:
        """Why this page's long job may not join now, or None (and it is let through)."""
        with self.lock:
            refused = refused_turn(request.session_hash, self.pages(request))
            if refused is None:
                self.let_through.append((time.monotonic(), request.session_hash))
            return refused

    def validator(self, inputs: int) -> Callable[..., Any]:
        """The Gradio validator of a long job with `inputs` inputs: a refusal is shown on its first one."""

        def validate(request: gr.Request, *values: Any) -> Any:  # Gradio passes the request first
            refused = self.let_in(request)
            checks = [gr.validate(refused is None, refused or "")] + [gr.validate(True, "")] * (inputs - 1)
            return checks[0] if inputs == 1 else tuple(checks)

        return validate

    def taken(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`fn` run as a long job: its page counts as running until it returns."""

        @functools.wraps(fn)  # Gradio reads the inputs' names from the signature
        def run(*values: Any) -> Any:
            page = LocalContext.request.get().session_hash  # the request Gradio is answering
            with self.lock:
                started = next((i for i, (_, p) in enumerate(self.let_through) if p == page), None)
                if started is not None:
                    del self.let_through[started]
                self.running.append(page)
            try:
                return fn(*values)
            finally:
                with self.lock:
                    self.running.remove(page)

        return run
