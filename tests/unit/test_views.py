"""What the panels show beside text: the distribution, the curves, the folded samples, the legends."""

from __future__ import annotations

import numpy as np

from charlm.app.views import curves_plot, distribution_plot, folded_samples, legend

SAMPLES = "## epoch 0.5, step 10, val_loss 2.0\n\n~~~~text\nKING:\nNo.\n~~~~\n\n" \
          "## epoch 1, step 20, val_loss 1.5\n\n~~~~text\nQUEEN:\n<Yes>\n~~~~\n"


def test_the_written_character_is_shown_even_when_unlikely():
    at_1 = np.array([0.5, 0.3, 0.15, 0.05])
    fig, table = distribution_plot(at_1, np.array([0.6, 0.4, 0, 0]), "T = 1, top-k 2", list("abcd"), 3, top=2)
    assert table["character"].tolist() == ["a", "b", "d"] and table["p as drawn"].tolist() == [0.6, 0.4, 0]


def test_samples_fold_one_per_validation():
    html = folded_samples(SAMPLES)
    assert html.count("<details") == 2 and "<summary>epoch 1, step 20, val_loss 1.5</summary>" in html
    assert "&lt;Yes&gt;" in html
    assert folded_samples("no headings").count("<details>") == 1


def test_the_curves_axis_labels_do_not_overlap(tmp_path):
    for path, column in (("val/loss", "loss"), ("train/loss", "loss"), ("lr-Adam/weights", "weights")):
        (tmp_path / f"plots/metrics/{path}.tsv").parent.mkdir(parents=True, exist_ok=True)
        rows = "".join(f"{step}\t{0.005 / (1 + step)}\n" for step in range(0, 3000, 100))
        (tmp_path / f"plots/metrics/{path}.tsv").write_text(f"step\t{column}\n{rows}")
    fig = curves_plot(tmp_path)
    fig.canvas.draw()
    loss_box, lr_box = (ax.get_tightbbox() for ax in fig.axes)  # each axes with its labels and ticks
    assert not loss_box.overlaps(lr_box)


def test_legends_name_their_ends():
    assert "purple" in legend("purple: negative", "red: positive", signed=True)
    assert "rgba(128, 90, 213" not in legend("sure", "surprised")


def test_the_learning_rate_axis_starts_at_zero(tmp_path):
    """A decay from 0.01 to 0.0091 drawn on an axis from 0: a decay, not a crash."""
    curve = tmp_path / "plots/metrics/lr-AdamW/weights.tsv"
    curve.parent.mkdir(parents=True)
    rows = "".join(f"{s}\t{0.01 - 0.0009 * s / 900}\n" for s in range(0, 1000, 100))
    curve.write_text(f"step\tweights\n{rows}")
    low, high = curves_plot(tmp_path).axes[1].get_ylim()
    assert low == 0 and high >= 0.01
