"""Stage evaluate: models/best.ckpt on the test text, the one stage that reads it.

    models/best.ckpt + data/prepared/{vocab.json, val.npy, test.npy}
    -> metrics/evaluate.json: test_loss (40-character blocks), test_loss_stateful (the text read whole),
       test_loss_dynamic (learning as it reads, its learning rate chosen on the validation text), the
       settings used and the search's table
"""

from pathlib import Path

from charlm import params
from charlm.errors import cli
from charlm.evaluate.report import evaluate
from charlm.evaluate.score import trained_model
from charlm.files import atomic_path, write_json
from charlm.text.splits import load_vocab

DATA = Path("data/prepared")
CHECKPOINT = Path("models/best.ckpt")
METRICS = Path("metrics/evaluate.json")


def main() -> None:
    cfg = params.load("evaluate")
    model = trained_model(CHECKPOINT, load_vocab(DATA))
    metrics = evaluate(model, DATA, cfg)
    with atomic_path(METRICS) as out:
        write_json(out, metrics)
    shown = ("test_loss", "test_loss_stateful", "test_loss_dynamic", "seconds")
    print("evaluate: " + ", ".join(f"{k}={metrics[k]}" for k in shown) + f", dynamic={metrics['dynamic']}")


if __name__ == "__main__":
    cli(main)
