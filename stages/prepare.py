"""Stage prepare: data/raw/corpus.txt -> vocabulary, encoded train/val splits, character report.

    -> data/prepared/{vocab.json, train.npy, val.npy, preview.txt, char_counts.csv}
    -> metrics/prepare.json, plots/char_frequency.png
"""

from pathlib import Path

from charlm import config
from charlm.charstats import char_counts, plot_frequency, report
from charlm.data import prepare, save_prepared
from charlm.errors import CharlmError, cli
from charlm.files import atomic_dir, atomic_path, atomic_write, write_json

CORPUS = Path("data/raw/corpus.txt")
OUT = Path("data/prepared")
METRICS = Path("metrics/prepare.json")
FREQ_PNG = Path("plots/char_frequency.png")
PREVIEW_CHARS = 500


def main() -> None:
    cfg = config.load("prepare")
    if not CORPUS.is_file():
        raise CharlmError(f"{CORPUS} not found: run the download stage first (dvc repro download)")
    text = CORPUS.read_text(encoding="utf-8")
    idx2char, train, val = prepare(text, cfg.val_fraction)
    counts = char_counts([train, val], idx2char)

    stats = {"characters": len(text), "vocab_size": len(idx2char), "train_characters": len(train),
             "val_characters": len(val), "rare_characters": int((counts["count"] < cfg.rare_below).sum())}

    # the outputs change together, once all are written: a full disk half-way leaves the old ones
    with atomic_dir(OUT) as out, atomic_path(FREQ_PNG) as png, atomic_path(METRICS) as metrics:
        save_prepared(out, idx2char, train, val)
        atomic_write(out / "preview.txt", text[:PREVIEW_CHARS])
        counts.to_csv(out / "char_counts.csv", index=False)
        plot_frequency(counts, cfg.rare_below, png)
        write_json(metrics, stats)
    print(text[:PREVIEW_CHARS])
    print("-" * 60)
    print(", ".join(f"{k}={v:,}" for k, v in stats.items()))
    print(report(counts, cfg.rare_below))


if __name__ == "__main__":
    cli(main)
