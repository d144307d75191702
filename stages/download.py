"""Stage download: the corpus named by `corpus.source` -> data/raw/{corpus.txt, provenance.json}.

Local sources live in data/books/, a dependency of this stage in dvc.yaml, so editing a book
reruns download and whatever its text changes; nothing outside data/books/ is read. URLs and
gutenberg: ids are fetched again when a `corpus` param or this code changes, or on
`dvc repro -f download`.
"""

from pathlib import Path

from charlm import params
from charlm.errors import cli
from charlm.files import atomic_dir, write_json
from charlm.text.corpus import download

BOOKS = Path("data/books")
OUT = Path("data/raw")


def main() -> None:
    cfg = params.load("corpus")
    with atomic_dir(OUT) as out:  # the corpus streams to disk: a source of any size is never held in memory
        provenance = download(cfg, out / "corpus.txt", books=BOOKS)
        write_json(out / "provenance.json", provenance)
    print(f"download: {provenance['characters']:,} characters from {cfg.source}")


if __name__ == "__main__":
    cli(main)
