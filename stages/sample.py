"""Stage sample: models/best.ckpt -> texts at several temperatures and how word-like they are.

    -> data/samples/T<t>.txt (sample.count texts each), metrics/sample.json,
       plots/recognisable_words.{csv,png}

The exercise's question, "from which temperature on are words no longer recognisable?", is
answered by `unrecognisable_from`: the lowest temperature whose share of generated words found in
the training text falls below `sample.recognisable_threshold`, pooled over the texts.
"""

from pathlib import Path

import pandas as pd

from charlm import config
from charlm.data import load_text, load_vocab, text_chunks
from charlm.errors import cli
from charlm.files import atomic_dir, atomic_path, atomic_write, write_json
from charlm.generate import continue_text
from charlm.model_step import load_checkpoint
from charlm.prompt import PROMPT_SEARCH, default_prompt
from charlm.words import known_words, plot_curve, unrecognisable_from, word_metrics

DATA = Path("data/prepared")
CHECKPOINT = Path("models/best.ckpt")
OUT = Path("data/samples")
METRICS = Path("metrics/sample.json")
CURVE_CSV = Path("plots/recognisable_words.csv")
CURVE_PNG = Path("plots/recognisable_words.png")


def main() -> None:
    seed, cfg = config.load("seed", "sample")
    model = load_checkpoint(CHECKPOINT, vocab=load_vocab(DATA))
    prompt = cfg.prompt or default_prompt(load_text(DATA, "val", PROMPT_SEARCH), model.hparams.maxlen)
    texts: dict[float, list[str]] = {t: [""] * cfg.count for t in cfg.temperatures}
    for t, i, piece in continue_text(model, prompt, cfg.temperatures, cfg.length, cfg.count, seed,
                                     skip_unknown=cfg.unknown == "skip",
                                     remedy="remove them, or set sample.unknown: skip"):
        texts[t][i] += piece
    known = known_words(text_chunks(DATA, "train"))
    table = pd.DataFrame([{"temperature": t, **word_metrics(ts, known)} for t, ts in texts.items()])

    # the outputs change together, once all are written; the whole set of texts at once, stale temperatures go
    with (atomic_dir(OUT) as out, atomic_path(METRICS) as metrics, atomic_path(CURVE_CSV) as csv,
          atomic_path(CURVE_PNG) as png):
        for t, samples in texts.items():
            body = "\n\n".join(f"=== sample {i + 1} of {len(samples)} ===\n{prompt}{text}"
                                 for i, text in enumerate(samples))
            atomic_write(out / f"T{float(t)}.txt", f"# temperature {t:g}, prompt {prompt!r}\n\n{body}\n")
        write_json(metrics, {
            "unrecognisable_from": unrecognisable_from(table, cfg.recognisable_threshold),
            "temperature": {f"{row.temperature:g}": {"recognisable_words": row.recognisable_words,
                                                       "distinct_bigrams": row.distinct_bigrams}
                            for row in table.itertuples()},
        })
        table.to_csv(csv, index=False)
        plot_curve(table, cfg.recognisable_threshold, png)
    print(table.to_string(index=False))
    for t, samples in texts.items():
        print(f"\n--- T={t:g} ---\n{prompt}{samples[0][:200]}")


if __name__ == "__main__":
    cli(main)
