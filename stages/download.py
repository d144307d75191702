"""Stage download: the corpus named by `corpus.source` -> data/raw/{corpus.txt, provenance.json}.

Local sources live in data/books/, a dependency of this stage in dvc.yaml, so editing a book
reruns download and whatever its text changes. URLs and gutenberg: ids are fetched again when a
`corpus` param or this code changes, or on `dvc repro -f download`.
"""

import os
from pathlib import Path

from charlm import config
from charlm.corpus import download, is_url, resolve
from charlm.errors import CharlmError, cli
from charlm.files import atomic_dir, write_json

BOOKS = Path("data/books")
OUT = Path("data/raw")


def check_local(cfg: config.Corpus) -> None:
    """A local source outside data/books/ would not be watched by DVC: refuse it."""
    for source in cfg.sources:
        where = resolve(source, cfg.gutenberg_url)
        if not is_url(where) and not Path(os.path.abspath(where)).is_relative_to(BOOKS.absolute()):
            raise CharlmError(f"corpus.source {source!r}: a local corpus must lie in {BOOKS}/, which dvc.yaml"
                              " watches (copy or move it there)")


def main() -> None:
    cfg = config.load("corpus")
    check_local(cfg)
    with atomic_dir(OUT) as out:  # the corpus streams to disk: a source of any size is never held in memory
        provenance = download(cfg, out / "corpus.txt")
        write_json(out / "provenance.json", provenance)
    print(f"download: {provenance['characters']:,} characters from {cfg.source}")


if __name__ == "__main__":
    cli(main)
