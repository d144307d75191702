"""Stage prepare: data/raw/corpus.txt -> vocabulary, encoded train/val/test splits, character report.

With train.init_from (a checkpoint in data/weights/) the vocabulary also holds that model's characters,
so the model trained from it keeps a row for each.

    -> data/prepared/{vocab.json, train.npy, val.npy, test.npy, preview.txt, char_counts.csv}
    -> metrics/prepare.json, plots/char_frequency.png

Two passes over the corpus on disk, a chunk at a time (count, then encode and write), so a corpus
larger than memory prepares in a few chunks of it.
"""

from pathlib import Path

from charlm import params
from charlm.errors import CharlmError, cli
from charlm.files import atomic_dir, atomic_path, atomic_write, write_json
from charlm.model.transplant import starting_point
from charlm.text.charstats import char_counts, plot_frequency, report
from charlm.text.prepare import prepare

CORPUS = Path("data/raw/corpus.txt")
WEIGHTS = Path("data/weights")
OUT = Path("data/prepared")
METRICS = Path("metrics/prepare.json")
FREQ_PNG = Path("plots/char_frequency.png")
PREVIEW_CHARS = 500


def main() -> None:
    cfg, train = params.load("prepare", "train")
    extra = starting_point(train.init_from, WEIGHTS).vocab if train.init_from else []
    if not CORPUS.is_file():
        raise CharlmError(f"{CORPUS} not found: run the download stage first (dvc repro download)")
    with open(CORPUS, encoding="utf-8", errors="replace") as f:
        preview = f.read(PREVIEW_CHARS)

    # the outputs change together, once all are written: a full disk half-way leaves the old ones
    with atomic_dir(OUT) as out, atomic_path(FREQ_PNG) as png, atomic_path(METRICS) as metrics:
        prepared = prepare(CORPUS, out, cfg.val_fraction, cfg.test_fraction, extra)
        counts = char_counts(prepared.counts, prepared.idx2char)
        stats = {"characters": sum(prepared.sizes.values()), "vocab_size": len(prepared.idx2char),
                 **{f"{split}_characters": n for split, n in prepared.sizes.items()},
                 "rare_characters": int((counts["count"] < cfg.rare_below).sum())}
        atomic_write(out / "preview.txt", preview)
        counts.to_csv(out / "char_counts.csv", index=False)
        plot_frequency(counts, cfg.rare_below, png)
        write_json(metrics, stats)
    print(preview)
    print("-" * 60)
    print(", ".join(f"{k}={v:,}" for k, v in stats.items()))
    print(report(counts, cfg.rare_below))


if __name__ == "__main__":
    cli(main)
