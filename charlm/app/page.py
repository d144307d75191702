"""`charlm explore`: the trained model in the browser, a Gradio page on this machine only.

    checkpoint (+ data/prepared, dvclive/) -> charlm.app.explorer -> six tabs: Write, How sure was it?,
    Temperature sweep, Inside the LSTM, Adapt, Training -> http://127.0.0.1:<port>

Offline by design: Gradio's telemetry and update check are off (`analytics_enabled=False`), its
fonts and scripts come from the package, the server listens on the loopback interface only, never
opens a share link (whatever GRADIO_SHARE says), and answers only its own page (charlm.app.guard).
Every text a panel takes is bounded on the server (charlm.app.bounds), so one request cannot hold it,
and the long jobs (Adapt, the sweep) take turns (charlm.app.turns). A page that adapted the model keeps
its copy (a gr.State) and, if it chooses, writes with it.
Each panel's function is also an API endpoint (`api_name`), which the tests call with gradio_client.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from charlm.app.bounds import MAX_PROMPT
from charlm.app.explorer import (
    MAX_ADAPT_SECONDS,
    MAX_ADAPT_TEMPERATURE,
    MAX_ADAPT_TEXT,
    MAX_SWEEP_LENGTH,
    MAX_SWEEP_TEXTS,
    Explorer,
)
from charlm.app.guard import LoopbackOnly
from charlm.app.inside import lstm_tab, training_tab
from charlm.app.turns import LONG, Turns
from charlm.app.widgets import CSS, SCRIPT, THEME, once, refused_note, slider
from charlm.app.writing import model_badge, sure_tab, write_tab
from charlm.errors import CharlmError
from charlm.model.checkpoint import Checkpoint, load_checkpoint
from charlm.text.splits import load_vocab

HOST = "127.0.0.1"
GRID = "0.2, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0"  # the sample stage's temperatures
INTRO = ("**charlm explore**: {path}, {vocab} characters, {layers} x {hidden} LSTM. Write with it, see how"
         " sure it was of each character, look inside its cells, and watch how it learnt.")


def sweep_tab(ex: Explorer, turns: Turns, copy: gr.State) -> None:
    with gr.Tab("Temperature sweep"):
        gr.Markdown("From which temperature on are words no longer recognisable? Several texts per"
                    " temperature; the share of their words of 3+ letters that the training text has,"
                    " with a band from resampling the texts; where it crosses 0.5, with its 90 % interval,"
                    " and what text from letter frequencies alone scores (the chance level). The sample"
                    " stage answers the same way. The interval covers these texts of this model from this"
                    " prompt: another seed draws other texts and moves the answer within it; a model trained"
                    " again would answer on its own.")
        with gr.Row():
            prompt = gr.Textbox(label="prompt", value=ex.first_prompt, max_length=MAX_PROMPT)
            temperatures = gr.Textbox(label="temperatures", value=GRID,
                                      info="points between the two around the crossing are added")
        with gr.Row():
            count = slider(2, MAX_SWEEP_TEXTS, checked=False, value=20, step=1, label="texts per temperature",
                              info="more texts: a narrower interval, a longer wait")
            length = slider(100, MAX_SWEEP_LENGTH, checked=False, value=500, step=50,
                            label="characters per text")
            seed = gr.Number(0, precision=0, label="seed", info="the same seed, the same texts")
            drop = gr.Checkbox(False, label="drop unknown characters")
        refused_note()
        go = gr.Button("Sweep", variant="primary")
        sentence = gr.Markdown(elem_id="sweep-answer")
        figure = gr.Plot(elem_id="sweep-figure", show_label=False)
        table = gr.Dataframe(label="by temperature", wrap=True)
        texts = gr.HTML(elem_id="sweep-texts")
    inputs = [prompt, temperatures, count, length, seed, drop, copy]
    go.click(turns.taken(once(ex.sweep)), inputs, [sentence, figure, table, texts], api_name="sweep",
             validator=turns.validator(len(inputs)), concurrency_id=LONG, concurrency_limit=1)


def adapt_tab(ex: Explorer, turns: Turns, copy: gr.State, badge: gr.Markdown) -> None:
    with gr.Tab("Adapt"):
        gr.Markdown("Paste a stretch of another text (a chapter of another author, say). A copy of the model"
                    " reads it once and learns as it reads: each stretch is scored first, then learnt from."
                    " The text's end is set aside and never learnt from: the model is scored on it before"
                    " and after. Then both write from your prompt, side by side. The checkpoint on disk does"
                    " not change; the copy lives in this page only.")
        text = gr.Textbox(label="text to adapt to", lines=8, max_length=MAX_ADAPT_TEXT,
                          placeholder="paste a chapter here")
        with gr.Row():
            seconds = slider(1, MAX_ADAPT_SECONDS, checked=False, value=20, step=1, label="seconds",
                             elem_id="adapt-seconds", elem_classes="bounded",
                             info="reading and scoring stop after this long, wherever it is in the text;"
                                  " then both models write (a second or two)")
            prompt = gr.Textbox(label="prompt", value=ex.first_prompt, max_length=MAX_PROMPT)
            temperature = slider(0, MAX_ADAPT_TEMPERATURE, checked=False, value=0.8, step=0.05,
                                 label="temperature")
            seed = gr.Textbox("", label="seed", placeholder="random", max_lines=1, max_length=20)
        use = gr.Checkbox(True, label="then write with the adapted copy in Write, How sure and the sweep",
                          elem_id="use-copy", info="untick to write with the checkpoint again")
        refused_note()
        go = gr.Button("Adapt and write", variant="primary")
        summary = gr.Markdown(elem_id="adapt-summary")
        with gr.Row():
            with gr.Column():
                gr.Markdown("**Before**: the checkpoint writes")
                before = gr.HTML(elem_id="adapt-before")
            with gr.Column():
                gr.Markdown("**After**: the adapted copy writes")
                after = gr.HTML(elem_id="adapt-after")
        last = gr.State(None)  # the last adapted copy, in use or not
    inputs = [text, seconds, prompt, temperature, seed]
    adapted = go.click(turns.taken(once(ex.adapt)), inputs, [summary, before, after, last], api_name="adapt",
                       validator=turns.validator(len(inputs)), concurrency_id=LONG, concurrency_limit=1)

    def chosen(use_it: bool, last_copy: Checkpoint | None) -> tuple[Checkpoint | None, str]:
        """The model Write, How sure and the sweep use, and the badge that names it."""
        in_use = last_copy if use_it else None
        return in_use, model_badge(in_use is not None)

    adapted.success(chosen, [use, last], [copy, badge], api_visibility="private", queue=False)
    use.change(chosen, [use, last], [copy, badge], api_visibility="private", queue=False)


def app(ex: Explorer, title: str) -> gr.Blocks:
    with gr.Blocks(title="charlm explore", analytics_enabled=False) as blocks:
        gr.Markdown(title)
        copy = gr.State(None)  # the adapted copy this page writes with, or None: the checkpoint
        w = write_tab(ex, copy)
        sure_tab(ex, w, copy)
        turns = Turns()
        sweep_tab(ex, turns, copy)
        lstm_tab(ex)
        adapt_tab(ex, turns, copy, w["badge"])
        training_tab(ex)
    return blocks.queue(default_concurrency_limit=2, max_size=32)


def explorer(checkpoint: Path, data: Path, live: Path, metrics: Path | None = None) -> tuple[Explorer, str]:
    model = load_checkpoint(checkpoint)
    if (data / "vocab.json").is_file() and load_vocab(data) != model.vocab:
        raise CharlmError(f"{checkpoint} was trained on another vocabulary than the prepared data in {data}:"
                          " pass --data with the data it was trained on")
    intro = INTRO.format(path=checkpoint, vocab=len(model.vocab), layers=model.hparams.num_layers,
                         hidden=model.hparams.hidden_size)
    return Explorer(model, data if data.is_dir() else None, live if live.is_dir() else None, metrics), intro


def serve(checkpoint: Path, port: int | None, data: Path, live: Path, block: bool = True,
          metrics: Path | None = None) -> gr.Blocks:
    """Start the page on 127.0.0.1 (`port`, or a free one) and print its address; `metrics`: the evaluate
    stage's, for Adapt, when the checkpoint is the pipeline's."""
    ex, intro = explorer(checkpoint, data, live, metrics)
    warnings.filterwarnings("ignore", module=r"gradio\.")  # Gradio's notes to its own developers (pandas 3)
    blocks = app(ex, intro)
    try:
        blocks.launch(server_name=HOST, server_port=port, share=False, prevent_thread_lock=True, quiet=True,
                      show_error=True, footer_links=[], inbrowser=False, css=CSS, js=SCRIPT, theme=THEME,
                      app_kwargs={"middleware": [Middleware(LoopbackOnly)]})
    except OSError as e:  # Gradio's message about its own launch() is no help to a user of --port
        why = e.strerror or "the port is in use, or not allowed to this user"
        raise CharlmError(f"cannot listen on {HOST}:{port}: {why} (pass another --port)") from None
    print(f"explore: {blocks.local_url} (Ctrl-C to stop)", flush=True)
    if block:
        blocks.block_thread()
    return blocks
