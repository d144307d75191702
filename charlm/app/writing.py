"""The page's Write and "How sure was it?" tabs: write with the sampling controls, then see how sure
the model was of each character it wrote.

    Generate -> the last text joins the earlier ones, side by side; the views of the last clear
    -> Explorer.write streams the text, its settings and the record of how it was drawn (a hidden
    field) -> Explorer.sure colours the text from that record
    -> a click on a character: Explorer.distribution at that position (the same character again too)
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from charlm.app.bounds import MAX_LENGTH, MAX_PROMPT
from charlm.app.drawn import Drawn, earlier_view
from charlm.app.explorer import Explorer
from charlm.app.views import legend
from charlm.app.widgets import once, refused_note, shown, slider
from charlm.errors import CharlmError

KEPT = 3  # earlier texts shown beside the last: enough to compare, say, T = 0.5, 1 and 1.5
SLIDER_TEMPERATURE = 5.0  # the slider's end: text is noise long before; the API takes what Controls allows
HINTS = {
    "temperature": "How daring: low keeps to the likeliest characters (safe, repetitive), high gives unlikely"
                   " ones a chance (inventive, then garbled); 0 always takes the likeliest.",
    "top-k": "Draw only from the k likeliest next characters; 0: from all of them.",
    "top-p": "Draw only from the likeliest next characters that together have probability p; 1: from all.",
    "characters": "How many characters the model writes after your prompt.",
    "seed": "Where the dice start: empty gives a new text each time; a number gives the same text again.",
    "drop": "Leave out prompt characters the model never read, instead of refusing the prompt.",
}


def model_badge(adapted: bool) -> str:
    """Which model the page writes with, above the text."""
    return ("Writing with **the adapted copy** (the Adapt tab: untick its box to write with the checkpoint)"
            if adapted else "Writing with **the checkpoint**")


def write_tab(ex: Explorer, copy: gr.State) -> dict[str, Any]:
    """The Write tab; returns its button, the hidden record How sure reads and the model's badge."""
    with gr.Tab("Write"):
        badge = gr.Markdown(model_badge(False), elem_id="model-badge")
        prompt = gr.Textbox(label="prompt", value=ex.first_prompt, lines=2, elem_id="prompt",
                            max_length=MAX_PROMPT, info="The text the model continues.")
        with gr.Row():
            temperature = slider(0, SLIDER_TEMPERATURE, value=0.8, step=0.05, label="temperature",
                                 info=HINTS["temperature"], elem_id="temperature", elem_classes="bounded")
            top_k = slider(0, len(ex.model.vocab), value=0, step=1, label="top-k", info=HINTS["top-k"],
                           elem_id="top-k", elem_classes="bounded")
            top_p = slider(0.05, 1, value=1, step=0.05, label="top-p", info=HINTS["top-p"], elem_id="top-p",
                           elem_classes="bounded")
        with gr.Row():
            length = slider(10, MAX_LENGTH, value=400, step=10, label="characters", info=HINTS["characters"],
                            elem_id="length", elem_classes="bounded")
            seed = gr.Textbox("", label="seed", placeholder="random", info=HINTS["seed"], elem_id="seed",
                              max_lines=1, max_length=20)
            drop = gr.Checkbox(False, label="drop characters the model does not know", info=HINTS["drop"])
        refused_note()
        go = gr.Button("Generate", variant="primary", elem_id="generate")
        gr.HTML('<span class="legend">grey: your prompt; after it, what the model wrote</span>')
        out = gr.HTML(elem_id="text")
        settings = gr.Markdown(elem_id="settings")
        drawn = gr.JSON(visible=False)
        earlier = gr.HTML(elem_id="earlier", label="written before")
        kept = gr.JSON([], visible=False)  # the earlier texts' records, newest first (not gr.State, which
        # keeps a connection open for as long as the page is)
    controls = [prompt, temperature, top_k, top_p, length, seed, drop]
    return {"go": go, "drawn": drawn, "controls": controls + [copy], "outputs": [out, settings, drawn],
            "earlier": [kept, earlier], "badge": badge}


def keep(drawn: Any, kept: Any) -> tuple[list[dict[str, Any]], str]:
    """Before a new text: the last one joins the earlier ones, the oldest beyond KEPT leaving; the
    earlier texts' records and their view. What is not a record (nothing written yet, or a client's
    own JSON) is left out."""
    records = []
    for record in [drawn, *(kept if isinstance(kept, list) else [])]:
        try:
            records.append(Drawn.read(record).json())
        except CharlmError:
            continue
    return records[:KEPT], earlier_view(records[:KEPT])


def sure_tab(ex: Explorer, w: dict[str, Any], copy: gr.State) -> None:
    with gr.Tab("How sure was it?", elem_id="sure-tab"):
        gr.Markdown("Each character of the last text, coloured by how little the model expected it: its"
                    " probability in the distribution it was drawn from (that text's temperature, top-k and"
                    " top-p). Click a character to see what else it could have been.")
        gr.HTML(legend("expected (p near 1)", "a surprise (p near 0)"), padding=False)
        spans = gr.HighlightedText(label="written text", combine_adjacent=False, show_legend=False,
                                   elem_id="sure", elem_classes="coloured")
        position = gr.Number(None, precision=0, label="position (0: the first character written)",
                             elem_id="position")
        about = gr.Markdown(elem_id="about-position")
        with gr.Row():
            plot = gr.Plot(label="next-character distribution", show_label=False, elem_id="distribution")
            table = gr.Dataframe(label="likeliest next characters", elem_id="likeliest")
    views = [spans, position, about, plot, table]

    def picked(drawn: dict, copy_now: Any, event: gr.SelectData) -> tuple:
        """A click on a character, the same one again included: its position and its distribution."""
        return event.index, *once(ex.distribution)(drawn, event.index, copy_now)

    selected = spans.select(picked, [w["drawn"], copy], [position, plot, table, about],
                            api_visibility="private")
    submitted = position.submit(once(ex.distribution), [w["drawn"], position, copy], [plot, table, about],
                                api_name="distribution")
    # a new text clears the view, and a distribution still on its way for the old text never stays on it:
    # pending ones are cancelled, and the view is cleared again once the new text is coloured
    def clear() -> tuple[None, ...]:
        return (None,) * len(views)

    def start(drawn: Any, kept: Any) -> tuple:
        """The last text kept beside the earlier ones, its views emptied (a refused new text leaves
        nothing of the old one under its message)."""
        return *clear(), *keep(drawn, kept), "", "", None

    cleared = w["go"].click(start, [w["drawn"], w["earlier"][0]], views + w["earlier"] + w["outputs"],
                            api_visibility="private", queue=False, cancels=[selected, submitted])
    written = cleared.then(shown(ex.write), w["controls"], w["outputs"], api_name="write")
    coloured = written.success(once(ex.sure), [w["drawn"], copy], spans, api_name="sure")
    coloured.then(lambda: clear()[1:], None, views[1:], api_visibility="private", queue=False)
