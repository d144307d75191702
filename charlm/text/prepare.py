"""corpus.txt -> the character vocabulary and the encoded, contiguous splits training reads.

    pass 1: occurrences per code point -> vocab.json (the sorted distinct characters), the length
    pass 2: integer codes (1 byte per character for <= 256 symbols, else 2) -> train.npy, val.npy,
            test.npy: contiguous, in that order; test is the last test_fraction of the text, validation
            the val_fraction before it, training the rest

Both passes read the corpus CHUNK characters at a time and the splits are written as they
are encoded, so preparing takes a few chunks of memory plus a table of counts, whatever the size.
`prepare` is the one way to make prepared data: the stage, the tests and the benchmarks call it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlm.errors import CharlmError
from charlm.files import atomic_path, write_json
from charlm.params.controls import MAX_VOCAB

CHUNK = 1 << 20  # characters read, counted or encoded at a time: bounds the temporary UTF-32 copies


SPLITS = ("train", "val", "test")  # in the text's order


@dataclass(frozen=True)
class Prepared:
    """What `prepare` wrote: the vocabulary, each character's count, and each split's length."""

    idx2char: list[str]
    counts: np.ndarray
    sizes: dict[str, int]


def code_dtype(vocab_size: int) -> np.dtype:
    """The smallest integer type torch can index with that holds every character code."""
    return np.dtype(np.uint8 if vocab_size <= 256 else np.int16 if vocab_size <= 32767 else np.int32)


def code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def code_table(idx2char: Sequence[str]) -> np.ndarray:
    """Code point -> character code: encoding is one gather, no per-character Python."""
    table = np.zeros(max(map(ord, idx2char)) + 1, dtype=code_dtype(len(idx2char)))
    table[[ord(c) for c in idx2char]] = np.arange(len(idx2char))
    return table


def split_sizes(length: int, val_fraction: float, test_fraction: float) -> dict[str, int]:
    n_test = round(length * test_fraction)
    n_val = round(length * val_fraction)
    return {"train": length - n_val - n_test, "val": n_val, "test": n_test}


def min_length(val_fraction: float, test_fraction: float) -> int:
    """The shortest text whose every split holds two characters."""
    n = 2
    while min(split_sizes(n, val_fraction, test_fraction).values()) < 2:
        n += 1
    return n


def check_split(length: int, val_fraction: float, test_fraction: float) -> dict[str, int]:
    """Each split's length; each needs two characters (one input, one target). How long a window is,
    is the model's business (`model.maxlen`), checked when training starts."""
    sizes = split_sizes(length, val_fraction, test_fraction)
    if min(sizes.values()) < 2:
        raise CharlmError(f"the corpus has {length:,} characters; with val_fraction={val_fraction} and"
                          f" test_fraction={test_fraction} it needs at least"
                          f" {min_length(val_fraction, test_fraction):,} (two characters in each split)")
    return sizes


def corpus_chunks(path: Path) -> Iterator[str]:
    """A UTF-8 text file, CHUNK characters at a time ('\\r\\n' and '\\r' read as '\\n')."""
    with open(path, encoding="utf-8") as f:
        try:
            while chunk := f.read(CHUNK):
                yield chunk
        except UnicodeDecodeError as e:
            raise CharlmError(f"{path} is not UTF-8 text ({e.reason}): rerun the download stage"
                              " (dvc repro -f download)") from None


def count_chars(path: Path) -> tuple[list[str], np.ndarray]:
    """Pass 1: the vocabulary (sorted distinct characters) and how often each occurs."""
    counts = np.zeros(0, dtype=np.int64)  # per code point, grown to the largest seen
    for chunk in corpus_chunks(path):
        seen = np.bincount(code_points(chunk))
        if len(seen) > len(counts):
            counts = np.pad(counts, (0, len(seen) - len(counts)))
        counts[: len(seen)] += seen
    points = np.flatnonzero(counts)
    return [chr(p) for p in points], counts[points]


def with_extra(idx2char: list[str], counts: np.ndarray, extra: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The sorted vocabulary with `extra` added, and the counts aligned to it."""
    seen = dict(zip(idx2char, counts.tolist(), strict=True))
    chars = sorted(set(idx2char) | set(extra))
    return chars, np.array([seen.get(c, 0) for c in chars], dtype=np.int64)


def encoded_chunks(path: Path, idx2char: Sequence[str], cuts: Sequence[int]) -> Iterator[np.ndarray]:
    """Pass 2: the file's character codes, chunk by chunk, with a chunk boundary at each of `cuts`."""
    table = code_table(idx2char)
    pos = 0
    for chunk in corpus_chunks(path):
        codes = table[code_points(chunk)]
        for cut in cuts:
            if pos < cut < pos + len(codes):
                yield codes[: cut - pos]
                codes = codes[cut - pos :]
                pos = cut
        yield codes
        pos += len(codes)


def write_npy(path: Path, dtype: np.dtype, length: int, chunks: Iterator[np.ndarray]) -> None:
    """A 1-d .npy file of `length` items taken from `chunks`, written as they come: numpy's own header,
    then the bytes, byte for byte what np.save writes. Python's file object writes them: numpy's file
    writes report a full disk without its cause. The iterator stops right after the last item taken."""
    descr = np.lib.format.dtype_to_descr(np.dtype(dtype))
    header = {"descr": descr, "fortran_order": False, "shape": (length,)}
    written = 0
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for chunk in chunks if length else ():
            f.write(memoryview(np.ascontiguousarray(chunk, dtype=dtype)).cast("B"))
            written += len(chunk)
            if written >= length:
                break
        if written != length:
            raise CharlmError(f"{path}: {written:,} of {length:,} codes; did the corpus change while being"
                              " read?")


def prepare(corpus: Path, out: Path, val_fraction: float, test_fraction: float,
            extra: Sequence[str] = ()) -> Prepared:
    """vocab.json, train.npy, val.npy and test.npy in `out` for the UTF-8 text file `corpus`; the
    vocabulary also holds the `extra` characters (a starting model's), which then count 0."""
    idx2char, counts = with_extra(*count_chars(corpus), extra)
    if len(idx2char) > MAX_VOCAB:  # every later stage would refuse the model trained on it
        starting = f" ({len(extra):,} of them the starting model's)" if extra else ""
        raise CharlmError(f"the vocabulary would have {len(idx2char):,} characters{starting}, more than a"
                          f" model may have ({MAX_VOCAB:,}): clean the corpus, or start from another"
                          " checkpoint")
    sizes = check_split(int(counts.sum()), val_fraction, test_fraction)
    chunks = encoded_chunks(corpus, idx2char, [sizes["train"], sizes["train"] + sizes["val"]])
    dtype = code_table(idx2char).dtype
    for split in SPLITS:
        write_npy(out / f"{split}.npy", dtype, sizes[split], chunks)
    write_json(out / "vocab.json", {"idx2char": idx2char, "char2idx": {c: i for i, c in enumerate(idx2char)}})
    return Prepared(idx2char, counts, sizes)
