"""Stage sample: models/best.ckpt -> texts at several temperatures and how word-like they are.

    -> data/samples/T<t>.txt (sample.count texts each), metrics/sample.json,
       plots/recognisable_words.{csv,png}

The exercise's question, "from which temperature on are words no longer recognisable?", is
answered by `unrecognisable_from`: the lowest temperature whose share of generated words found in
the training text falls below `sample.recognisable_threshold`, pooled over the texts.
"""

from pathlib import Path

from charlm import params
from charlm.errors import cli
from charlm.files import atomic_dir, atomic_path, atomic_write, write_json
from charlm.model.checkpoint import load_checkpoint
from charlm.sample.generate import written
from charlm.sample.prompt import PROMPT_SEARCH, default_prompt, encode_prompt
from charlm.sample.words import known_words, plot_recognisable, unrecognisable_from, word_table
from charlm.text.splits import decode, load_text, load_vocab, text_chunks

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
    by_t = dict(zip(cfg.temperatures, written(model, codes, cfg.controls(seed)), strict=True))
    known = known_words(text_chunks(DATA, "train"))
    table = word_table(by_t, known, prompt)

    # the outputs change together, once all are written; the whole set of texts at once, stale temperatures go
    with (atomic_dir(OUT) as out, atomic_path(METRICS) as metrics, atomic_path(CURVE_CSV) as csv,
          atomic_path(CURVE_PNG) as png):
        for t, ts in by_t.items():
            body = "\n\n".join(f"=== sample {i + 1} of {len(ts)} ===\n{prompt}{s}" for i, s in enumerate(ts))
            atomic_write(out / f"T{float(t)}.txt", f"# temperature {t:g}, prompt {prompt!r}\n\n{body}\n")
        write_json(metrics, {
            "unrecognisable_from": unrecognisable_from(table, cfg.recognisable_threshold),
            "temperature": {f"{row.temperature:g}": {"recognisable_words": row.recognisable_words,
                                                       "distinct_bigrams": row.distinct_bigrams}
                            for row in table.itertuples()},
        })
        table.to_csv(csv, index=False)
        plot_recognisable(table, cfg.recognisable_threshold, png)
    print(table.to_string(index=False))
    for t, ts in by_t.items():
        print(f"\n--- T={t:g} ---\n{prompt}{ts[0][:200]}")


if __name__ == "__main__":
    cli(main)
