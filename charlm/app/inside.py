"""The page's "Inside the LSTM" and Training tabs. Both fill themselves the first time they are opened
(the cell ranking reads the validation text once, so the page itself starts without waiting for it).

    open Inside the LSTM -> Explorer.opening_cell: the best cell for speakers' names, the ranking
    a click on a ranking row, or Show the cell -> Explorer.cell
    open Training -> Explorer.training: the curves and the samples, folded
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from charlm.app.bounds import MAX_TEXT
from charlm.app.cells import BASELINE, BEATS
from charlm.app.explorer import Explorer
from charlm.app.views import legend
from charlm.app.widgets import once

RANKING = (f"Each property's cells are chosen on the first half of the validation text, and r (Pearson's,"
           f" from -1 to 1) is measured on the second half, so that the best of hundreds of cells does not"
           f" look better than it is. \"{BASELINE}\" is the r you would get from knowing only the character"
           f" just read: a cell that beats it remembers something about what came before (\"{BEATS}\": yes);"
           f" one that does not may only echo the character. Properties that"
           f" never change in the text are left out. Click a row to see that cell.")


def lstm_tab(ex: Explorer) -> None:
    hidden = ex.model.hparams.hidden_size
    with gr.Tab("Inside the LSTM", elem_id="lstm-tab") as tab:
        text = gr.Textbox(label="text", value=ex.default_text(), lines=6, max_length=MAX_TEXT)
        with gr.Row():
            layer = gr.Number(1, precision=0, label=f"layer (1 to {ex.model.hparams.num_layers})",
                              elem_id="layer")
            cell = gr.Number(0, precision=0, label=f"cell (0 to {hidden - 1})", elem_id="cell-number")
            go = gr.Button("Show the cell")
        gr.HTML(legend("purple: the cell's state is negative", "red: positive", signed=True), padding=False)
        spans = gr.HighlightedText(label="the cell's state after each character (tanh)", show_legend=False,
                                   elem_id="cell", elem_classes="coloured")
        about = gr.Markdown(elem_id="about-cell")
        gr.Markdown(RANKING)
        table = gr.Dataframe(label="cells that follow a property of the text", elem_id="ranking",
                             interactive=False)

    def opened(text_now: str, shown_now: Any) -> tuple:
        """The first time the tab opens (nothing shown yet): the best cell for speakers' names on the
        text, and the ranking; later, nothing changes."""
        return (gr.skip(),) * 5 if shown_now else once(ex.opening_cell)(text_now)

    def row(text_now: str, event: gr.SelectData) -> tuple:
        """A click on a ranking row: that row's cell."""
        layer_now, cell_now = int(event.row_value[1]), int(event.row_value[2])
        return layer_now, cell_now, once(ex.cell)(text_now, layer_now, cell_now), ex.about_cell(layer_now,
                                                                                                cell_now)

    tab.select(opened, [text, spans], [layer, cell, spans, table, about], api_name="open_cells")
    go.click(once(ex.cell), [text, layer, cell], spans, api_name="cell").success(
        ex.about_cell, [layer, cell], about, api_visibility="private")
    table.select(row, text, [layer, cell, spans, about], api_visibility="private")


def training_tab(ex: Explorer) -> None:
    with gr.Tab("Training", elem_id="training-tab") as tab:
        gr.Markdown("The run's loss and learning rate, and the samples it wrote at each validation while it"
                    " learnt to spell (click one to unfold it).")
        plot = gr.Plot(label="curves", show_label=False, elem_id="curves")
        samples = gr.HTML(elem_id="samples")

    def opened(shown_now: Any) -> tuple:
        """The first time the tab opens (nothing shown yet): the curves and the samples."""
        return (gr.skip(), gr.skip()) if shown_now else once(ex.training)()

    tab.select(opened, samples, [plot, samples], api_name="training")
