"""`charlm explore`: the trained model in the browser, a Gradio page on this machine only.

    checkpoint (+ data/prepared, dvclive/) -> charlm.app.explorer -> five tabs: Write, How sure was it?,
    Temperature sweep, Inside the LSTM, Training -> http://127.0.0.1:<port>

Offline by design: Gradio's telemetry and update check are off (`analytics_enabled=False`), its
fonts and scripts come from the package, the server listens on the loopback interface only, never
opens a share link (whatever GRADIO_SHARE says), and answers only its own page (charlm.app.guard).
Every text a panel takes is bounded on the server (charlm.app.explorer), so one request cannot hold it.
Each panel's function is also an API endpoint (`api_name`), which the tests call with gradio_client.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from charlm.app.explorer import MAX_LENGTH, MAX_PROMPT, MAX_TEXT, Explorer
from charlm.app.guard import LoopbackOnly
from charlm.errors import CharlmError
from charlm.model.checkpoint import load_checkpoint
from charlm.text.splits import load_vocab

HOST = "127.0.0.1"
SLIDER_TEMPERATURE = 5.0  # the slider's end: text is noise long before; the API takes what Controls allows
# coloured text reads as text: characters side by side, line breaks as line breaks
CSS = """
.coloured .textfield { font-size: 0; line-height: 1.5; }
.coloured .token-container { display: inline; }
.coloured .token { display: inline-block; margin: 0 !important; padding: 0 !important;
                   border-radius: 0 !important; }
.coloured .token .text { font: 15px/1.5 var(--font-mono); white-space: pre; padding: 0 !important; }
"""
INTRO = ("**charlm explore**: {path}, {vocab} characters, {layers} x {hidden} LSTM. The redder a character,"
         " the less the model expected it; in *Inside the LSTM*, red and purple are a cell's two signs.")


def shown(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A panel function whose bad input becomes a message on the page (gr.Error), not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        try:
            result = fn(*args)
            if isinstance(result, Iterator):
                yield from result
            else:
                yield result
        except CharlmError as e:
            raise gr.Error(str(e), print_exception=False) from None

    return wrapper


def once(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`shown` for a function that returns once (Gradio treats a generator as streaming)."""
    streaming = shown(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        return next(iter(streaming(*args)))

    return wrapper


def write_tab(ex: Explorer) -> dict[str, gr.components.Component]:
    with gr.Tab("Write"):
        prompt = gr.Textbox(label="prompt", value=ex.first_prompt, lines=2, elem_id="prompt",
                            max_length=MAX_PROMPT)
        with gr.Row():
            temperature = gr.Slider(0, SLIDER_TEMPERATURE, value=0.8, step=0.05,
                                    label="temperature (0: greedy)", elem_id="temperature")
            top_k = gr.Slider(0, len(ex.model.vocab), value=0, step=1, label="top-k (0: all)")
            top_p = gr.Slider(0.05, 1, value=1, step=0.05, label="top-p (1: all)")
        with gr.Row():
            length = gr.Slider(10, MAX_LENGTH, value=400, step=10, label="characters")
            seed = gr.Number(0, precision=0, minimum=0, label="seed")
            drop = gr.Checkbox(False, label="drop characters the model does not know")
        go = gr.Button("Generate", variant="primary", elem_id="generate")
        out = gr.Textbox(label="text", lines=12, elem_id="text")
        text = gr.Textbox(visible=False)
    go.click(shown(ex.write), [prompt, temperature, top_k, top_p, length, seed, drop], [out, text],
             api_name="write")
    return {"prompt": prompt, "temperature": temperature, "drop": drop, "go": go, "text": text}


def clicked(event: gr.SelectData) -> int:
    """The position of the character clicked in a HighlightedText."""
    return event.index


def sure_tab(ex: Explorer, w: dict[str, gr.components.Component]) -> None:
    with gr.Tab("How sure was it?", elem_id="sure-tab"):
        gr.Markdown("Each character of the last text, coloured by how little the model expected it at the"
                    " chosen temperature. Click a character to see what it could have been.")
        spans = gr.HighlightedText(label="written text", combine_adjacent=False, show_legend=False,
                                   elem_id="sure", elem_classes="coloured")
        position = gr.Number(0, precision=0, minimum=0, label="position", elem_id="position")
        with gr.Row():
            plot = gr.Plot(label="next-character distribution", elem_id="distribution")
            table = gr.Dataframe(label="likeliest next characters")
    inputs = [w["prompt"], w["text"], w["temperature"], w["drop"]]
    w["text"].change(once(ex.sure), inputs, spans, api_name="sure")
    spans.select(clicked, None, position, api_visibility="private")
    position.change(once(ex.distribution), [*inputs, position], [plot, table], api_name="distribution")


def sweep_tab(ex: Explorer) -> None:
    with gr.Tab("Temperature sweep"):
        gr.Markdown("One prompt at several temperatures: from which temperature on are words no longer"
                    " recognisable? (the share of the text's words found in the training text)")
        with gr.Row():
            prompt = gr.Textbox(label="prompt", value=ex.first_prompt, max_length=MAX_PROMPT)
            temperatures = gr.Textbox(label="temperatures", value="0.2, 0.5, 0.8, 1.0, 1.5, 2.0")
            length = gr.Slider(50, MAX_LENGTH, value=300, step=50, label="characters")
            seed = gr.Number(0, precision=0, minimum=0, label="seed")
            drop = gr.Checkbox(False, label="drop unknown characters")
        go = gr.Button("Sweep")
        table = gr.Dataframe(label="one text per temperature", wrap=True)
    go.click(once(ex.sweep), [prompt, temperatures, length, seed, drop], table, api_name="sweep")


def lstm_tab(ex: Explorer) -> None:
    with gr.Tab("Inside the LSTM"):
        text = gr.Textbox(label="text", value=ex.default_text(), lines=6, max_length=MAX_TEXT)
        with gr.Row():
            layer = gr.Number(1, precision=0, minimum=1, maximum=ex.model.hparams.num_layers, label="layer")
            cell = gr.Number(0, precision=0, minimum=0, maximum=ex.model.hparams.hidden_size - 1,
                             label=f"cell (0 to {ex.model.hparams.hidden_size - 1})")
            go = gr.Button("Show the cell")
        spans = gr.HighlightedText(label="the cell's state after each character (tanh)", show_legend=False,
                                   elem_id="cell", elem_classes="coloured")
        rank = gr.Button("Rank the cells by what they follow (reads the validation text once)")
        table = gr.Dataframe(label="cells that follow a property of the text (Pearson's r)")
    go.click(once(ex.cell), [text, layer, cell], spans, api_name="cell")
    rank.click(once(lambda: ex.ranking), None, table, api_name="cells")


def training_tab(ex: Explorer) -> None:
    with gr.Tab("Training"):
        show = gr.Button("Show the run")
        plot = gr.Plot(label="curves")
        samples = gr.Markdown()
    show.click(once(ex.training), None, [plot, samples], api_name="training")


def app(ex: Explorer, title: str) -> gr.Blocks:
    with gr.Blocks(title="charlm explore", analytics_enabled=False) as blocks:
        gr.Markdown(title)
        w = write_tab(ex)
        sure_tab(ex, w)
        sweep_tab(ex)
        lstm_tab(ex)
        training_tab(ex)
    return blocks.queue(default_concurrency_limit=2, max_size=32)


def explorer(checkpoint: Path, data: Path, live: Path) -> tuple[Explorer, str]:
    model = load_checkpoint(checkpoint)
    if (data / "vocab.json").is_file() and load_vocab(data) != model.vocab:
        raise CharlmError(f"{checkpoint} was trained on another vocabulary than the prepared data in {data}:"
                          " pass --data with the data it was trained on")
    intro = INTRO.format(path=checkpoint, vocab=len(model.vocab), layers=model.hparams.num_layers,
                         hidden=model.hparams.hidden_size)
    return Explorer(model, data if data.is_dir() else None, live if live.is_dir() else None), intro


def serve(checkpoint: Path, port: int | None, data: Path, live: Path, block: bool = True) -> gr.Blocks:
    """Start the page on 127.0.0.1 (`port`, or a free one) and print its address."""
    ex, intro = explorer(checkpoint, data, live)
    warnings.filterwarnings("ignore", module=r"gradio\.")  # Gradio's notes to its own developers (pandas 3)
    blocks = app(ex, intro)
    try:
        blocks.launch(server_name=HOST, server_port=port, share=False, prevent_thread_lock=True, quiet=True,
                      show_error=True, footer_links=[], inbrowser=False, css=CSS,
                      app_kwargs={"middleware": [Middleware(LoopbackOnly)]})
    except OSError as e:  # the port is taken
        raise CharlmError(f"cannot listen on {HOST}:{port}: {e.strerror or e} (pass another"
                          " --port)") from None
    print(f"explore: {blocks.local_url} (Ctrl-C to stop)", flush=True)
    if block:
        blocks.block_thread()
    return blocks
