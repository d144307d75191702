"""Bad input, stage by stage: a non-zero exit, one line naming the cause, earlier good outputs intact.

The stages run in this process (`run_here`): the same code as `python -m stages.<name>`, without
paying for torch's and Lightning's start-up in each of the cases; test_config runs one as a process."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.project import write_params
from tests.helpers.stages import GOOD, one_error_line, run_all, run_here, snapshot


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_all(tmp_path_factory.mktemp("ws"))


def link_out(root: Path) -> None:
    """data/books/secret.txt: a link to a file outside data/books/ (what must never be read)."""
    (root / "outside.txt").write_text("the contents of a private file\n")
    (root / "data/books/secret.txt").unlink(missing_ok=True)
    (root / "data/books/secret.txt").symlink_to(root / "outside.txt")


def corrupt_checkpoint(root: Path) -> None:
    ckpt = root / "models/best.ckpt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])


def write(path: str, content: bytes):
    return lambda root: (root / path).write_bytes(content)


CASES = [
    # (stage, param overrides, corpus text or None, other damage, expected in the message)
    ("train", {"model.maxlen": 0}, None, None,
     "model.maxlen=0 is invalid; expected an integer from 1 to 65,536"),
    ("train", {"train.step": 0}, None, None, "train.step=0 is invalid"),
    ("prepare", {"prepare.val_fraction": 1.5}, None, None, "prepare.val_fraction=1.5 is invalid"),
    ("train", {"model.dropout": 1.0}, None, None,
     "model.dropout=1.0 is invalid; expected a number with 0 <= dropout"),
    ("train", {"train.lr": -1}, None, None, "train.lr=-1 is invalid; expected a number with 0 < lr <= 100"),
    ("train", {"train.patience": -1}, None, None, "train.patience=-1 is invalid"),
    ("train", {"train.objective": "all"}, None, None, "train.objective='all' is invalid; expected last"),
    ("train", {"train.schedule": "cosine"}, None, None,
     "train.schedule='cosine' is invalid; expected constant or wsd"),
    ("sample", {"sample.temperatures": [1.0, -1]}, None, None, "sample.temperatures=[1.0, -1] is invalid"),
    ("sample", {"sample.length": 0}, None, None,
     "sample.length=0 is invalid; expected an integer from 1 to 1,000,000"),
    ("plot_softmax", {"plot.temperatures": [-1]}, None, None, "plot.temperatures=[-1] is invalid"),
    # a training split shorter than one window
    ("train", {"model.maxlen": 10000}, None, None, "model.maxlen=10000 needs at least 10,001"),
    ("evaluate", {"evaluate.lrs": [0.1, 0.1]}, None, None, "evaluate.lrs=[0.1, 0.1] is invalid"),
    ("evaluate", {}, None, corrupt_checkpoint, "models/best.ckpt is not a valid charlm checkpoint"),
    ("evaluate", {}, None, write("data/prepared/test.npy", b""), "test.npy is not a NumPy array file"),
    ("download", {"corpus.source": "corpus.txt"}, None, None, "a book must lie in data/books/"),
    ("download", {"corpus.source": "data/books/secret.txt"}, None, link_out, "(a link to "),
    ("download", {"corpus.source": ["data/books/corpus.txt", "data/books/corpus.txt"]}, None, None,
     "corpus.source lists 'data/books/corpus.txt' twice"),
    ("download", {}, b"\x1f\x8b\x08\x00" + bytes(200), None, "is gzip-compressed, not plain text"),
    ("download", {"corpus.gutenberg_url": "http://127.0.0.1:9/{id}{0}{lang}", "corpus.source": "gutenberg:5",
                  "corpus.retries": 0}, None, None, "cannot reach http://127.0.0.1:9/5%7B0%7D%7Blang%7D"),
    ("train", {"train.num_nodes": 2}, None, None, "train.num_nodes=2 needs a launcher"),
    ("sample", {"sample.temperatures": [1.0000001, 1.0000002]}, None, None, "differ in their first 6 digits"),
    ("download", {}, "", None, "holds no text"),
    ("download", {}, "\n  \n\t\n", None, "holds no text"),
    ("prepare", {}, "too short\n", "download",
     "the corpus has 10 characters; with val_fraction=0.05 and test_fraction=0.1 it needs at least"),
    ("download", {}, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, None, "looks like a binary file"),
    ("sample", {"sample.prompt": "KING ¤€:"}, None, None,
     "not in the vocabulary: '¤€' (remove them, or set sample"),
    ("plot_softmax", {"plot.prompt": "§"}, None, None,
     "not in the vocabulary: '§' (remove them from plot.prompt)"),
    ("sample", {}, None, corrupt_checkpoint, "models/best.ckpt is not a valid charlm checkpoint"),
    ("train", {}, None, write("data/prepared/vocab.json", b"garbage"), "vocab.json is not a vocabulary"),
    ("sample", {}, None, write("data/prepared/vocab.json", b'{"idx2char": "abc"}'),
     "is not a list of distinct"),
    ("plot_softmax", {}, None, write("data/prepared/vocab.json", b"[1, 2]"),
     "vocab.json is not a vocabulary"),
    ("train", {}, None, write("data/prepared/train.npy", b"\x93NUMPY garbage"),
     "train.npy is not a NumPy array"),
    ("sample", {}, None, write("data/prepared/val.npy", b""), "val.npy is not a NumPy array file"),
    ("train", {}, None, write("data/prepared/vocab.json", b'{"idx2char": ["a", "b"]}'),
     "has character codes up to"),
    ("train", {"train.val_check_interval": 100_000}, None, None,
     "train.val_check_interval=100000 batches is more than an epoch's"),
    ("download", {"corpus.source": ["data/books/corpus.txt", "data/books/copy.txt"]}, None,
     lambda root: (root / "data/books/copy.txt").write_bytes((root / "data/books/corpus.txt").read_bytes()),
     "lists the same text twice: 'data/books/corpus.txt' and 'data/books/copy.txt' have the same bytes"),
]


@pytest.mark.parametrize("stage, overrides, corpus, damage, message", CASES,
                         ids=[f"{c[0]}-{c[4][:30]}" for c in CASES])
def test_bad_input_is_refused_cleanly(workspace, stage, overrides, corpus, damage, message):
    root = workspace
    corpus_file = root / "data/books/corpus.txt"
    original_corpus = corpus_file.read_bytes()
    ckpt = (root / "models/best.ckpt").read_bytes()
    prepared = {p: p.read_bytes() for p in (root / "data/prepared").iterdir()}
    try:
        write_params(root, {**GOOD, **overrides})
        if corpus is not None:
            corpus_file.write_bytes(corpus.encode() if isinstance(corpus, str) else corpus)
        if damage == "download":  # a short corpus gets through download; prepare must refuse it
            assert run_here("download", root)[0] == 0
        elif callable(damage):
            damage(root)
        before = snapshot(root)
        code, err = run_here(stage, root)
        assert code != 0
        assert one_error_line(err, message), err
        assert snapshot(root) == before  # nothing written, nothing half-written, nothing lost
    finally:
        corpus_file.write_bytes(original_corpus)
        (root / "models/best.ckpt").write_bytes(ckpt)
        for path, content in prepared.items():
            path.write_bytes(content)
        write_params(root, GOOD)
        if damage == "download":
            assert run_here("download", root)[0] == 0

