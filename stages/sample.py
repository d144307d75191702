"""Stage sample: models/best.ckpt -> texts at several temperatures and the temperature where words dissolve.

    -> data/samples/T<t>.txt (sample.count texts each), metrics/sample.json,
       plots/recognisable_words.{csv,png}

The exercise's question, "from which temperature on are words no longer recognisable?", is answered
by `unrecognisable_at`: where the share of generated words (of `sample.min_letters` letters or more)
found in the training text crosses `sample.recognisable_threshold`, interpolated in log T between the
measured temperatures around it (`sample.refine` of them added there), with a 90 % bootstrap interval
over the texts, and the same share for text drawn from letter frequencies alone as the chance level
(charlm.sample.sweep).
"""

from pathlib import Path

import numpy as np

from charlm import params
from charlm.errors import cli
from charlm.files import atomic_dir, atomic_path, atomic_write, save_figure, write_json
from charlm.model.checkpoint import load_checkpoint
from charlm.sample.prompt import PROMPT_SEARCH, default_prompt, encode_prompt
from charlm.sample.sweep import Rules, Sweep, figure, sweep
from charlm.sample.words import known_words
from charlm.text.splits import decode, load_split, load_text, load_vocab, text_chunks

DATA = Path("data/prepared")
CHECKPOINT = Path("models/best.ckpt")
OUT = Path("data/samples")
METRICS = Path("metrics/sample.json")
CURVE_CSV = Path("plots/recognisable_words.csv")
CURVE_PNG = Path("plots/recognisable_words.png")


def main() -> None:
    seed, cfg = params.load("seed", "sample")
    model = load_checkpoint(CHECKPOINT, vocab=load_vocab(DATA))
    text = cfg.prompt or default_prompt(load_text(DATA, "val", PROMPT_SEARCH), model.hparams.maxlen)
    codes = encode_prompt(text, model.vocab, skip=cfg.unknown == "skip",
                          remedy="remove them, or set sample.unknown: skip")
    prompt = decode(codes, model.vocab)  # what the model read
    train = load_split(DATA, "train")
    rules = Rules(known_words(text_chunks(DATA, "train")), cfg.min_letters, cfg.recognisable_threshold)
    result = sweep(model, codes, cfg.controls(seed), rules, cfg.refine,
                   np.bincount(train.numpy(), minlength=len(model.vocab)))

    # the outputs change together, once all are written; the whole set of texts at once, stale temperatures go
    with (atomic_dir(OUT) as out, atomic_path(METRICS) as metrics, atomic_path(CURVE_CSV) as csv,
          atomic_path(CURVE_PNG) as png):
        for t, ts in result.texts.items():
            body = "\n\n".join(f"=== sample {i + 1} of {len(ts)} ===\n{prompt}{s}" for i, s in enumerate(ts))
            atomic_write(out / f"T{float(t)}.txt", f"# temperature {t:g}, prompt {prompt!r}\n\n{body}\n")
        write_json(metrics, sample_metrics(result))
        result.table.to_csv(csv, index=False)
        save_figure(figure(result), png)
    print(result.table.to_string(index=False))
    print(result.sentence())
    for t in sorted(result.texts):
        print(f"\n--- T={t:g} ---\n{prompt}{result.texts[t][0][:200]}")


ROW = ("recognisable_words", "share_low", "share_high", "distinct_bigrams", "words")


def number(value: float) -> float | None:
    """A table value as JSON has it: None where nothing was counted (NaN is no JSON)."""
    return None if value is None or value != value else value.item() if hasattr(value, "item") else value


def sample_metrics(result: Sweep) -> dict:
    c = result.crossing
    return {
        "unrecognisable_at": c.at,
        "unrecognisable_at_low": c.low,
        "unrecognisable_at_high": c.high,
        "crossing": c.note,
        "first_grid_point_below": result.grid_point,
        "chance_level": result.chance,
        "texts_per_temperature": len(next(iter(result.texts.values()))),
        "temperature": {f"{row['temperature']:g}": {k: number(row[k]) for k in ROW}
                        for row in result.table.to_dict("records")},
    }


if __name__ == "__main__":
    cli(main)
