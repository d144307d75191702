"""The character vocabulary, the corpus encoded once, a contiguous split, and the windows models learn from.

    corpus.txt -> pass 1: occurrences per code point -> vocab (sorted distinct characters), length
               -> pass 2: integer codes (1 byte per char for <= 256 symbols, else 2)
               -> train.npy = first (1 - val_fraction), val.npy = the rest -> CharDataset windows

Both passes read the corpus ENCODE_CHUNK characters at a time and the splits are written as they are
encoded, so preparing takes a few chunks of memory plus a table of counts, whatever the corpus size.
Training memory-maps the splits. `CharDataset` serves (x, y) windows straight out of the encoded split:
a window is a slice, so memory stays one copy of the corpus however many overlapping windows there are.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from charlm.errors import CharlmError
from charlm.files import atomic_path, write_json

ENCODE_CHUNK = 1 << 20  # characters read, counted or encoded at a time: bounds the temporary UTF-32 copies


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


def encode(text: str, idx2char: Sequence[str]) -> np.ndarray:
    """A text in memory as codes, ENCODE_CHUNK characters at a time (bounds the UTF-32 copy)."""
    table = code_table(idx2char)
    out = np.empty(len(text), dtype=table.dtype)
    for i in range(0, len(text), ENCODE_CHUNK):
        out[i : i + ENCODE_CHUNK] = table[code_points(text[i : i + ENCODE_CHUNK])]
    return out


def decode(codes: np.ndarray | torch.Tensor | Sequence[int], idx2char: Sequence[str]) -> str:
    points = np.array([ord(c) for c in idx2char], dtype=np.uint32)
    return points[np.asarray(codes, dtype=np.int64)].tobytes().decode("utf-32-le")


def n_windows(length: int, maxlen: int, step: int) -> int:
    """Windows of maxlen inputs + 1 target that fit in `length` characters, starting every `step`."""
    return max(0, (length - maxlen - 1) // step + 1)


def split_sizes(length: int, val_fraction: float) -> tuple[int, int]:
    n_val = round(length * val_fraction)
    return length - n_val, n_val


def min_length(val_fraction: float) -> int:
    """The shortest text whose train and validation splits both hold two characters."""
    n = max(2, math.ceil(1.5 / val_fraction), math.ceil(2 / (1 - val_fraction)))
    while min(split_sizes(n, val_fraction)) < 2:
        n += 1
    return n


def check_split(length: int, val_fraction: float) -> tuple[int, int]:
    """The train and validation sizes; each split needs two characters (one input, one target). How long
    a window is, is the model's business (`model.maxlen`), checked when training starts."""
    if min(split_sizes(length, val_fraction)) < 2:
        raise CharlmError(f"the corpus has {length:,} characters; with val_fraction={val_fraction} it needs"
                          f" at least {min_length(val_fraction):,} (two characters in each split)")
    return split_sizes(length, val_fraction)


def prepare(text: str, val_fraction: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Vocabulary and the encoded train/val splits of a text in memory (contiguous: validation is the end)."""
    n_train, _ = check_split(len(text), val_fraction)
    idx2char = sorted(set(text))
    codes = encode(text, idx2char)
    return idx2char, codes[:n_train], codes[n_train:]


REDO = "rerun the prepare stage (dvc repro -f prepare, or dvc checkout)"


def read_chunks(path: Path) -> Iterator[str]:
    """A UTF-8 text file, ENCODE_CHUNK characters at a time ('\\r\\n' and '\\r' read as '\\n', as read_text does)."""
    with open(path, encoding="utf-8") as f:
        try:
            while chunk := f.read(ENCODE_CHUNK):
                yield chunk
        except UnicodeDecodeError as e:
            raise CharlmError(f"{path} is not UTF-8 text ({e.reason}): rerun the download stage"
                              " (dvc repro -f download)") from None


def count_chars(path: Path) -> tuple[list[str], np.ndarray]:
    """Pass 1: the vocabulary (sorted distinct characters, as sorted(set(text))) and how often each occurs."""
    counts = np.zeros(0, dtype=np.int64)  # per code point, grown to the largest seen
    for chunk in read_chunks(path):
        seen = np.bincount(code_points(chunk))
        if len(seen) > len(counts):
            counts = np.pad(counts, (0, len(seen) - len(counts)))
        counts[: len(seen)] += seen
    points = np.flatnonzero(counts)
    return [chr(p) for p in points], counts[points]


def encoded_chunks(path: Path, idx2char: Sequence[str], cut: int) -> Iterator[np.ndarray]:
    """Pass 2: the file's character codes, chunk by chunk, with a chunk boundary at character `cut`."""
    table, pos = code_table(idx2char), 0
    for chunk in read_chunks(path):
        codes = table[code_points(chunk)]
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
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": (length,)}
    written = 0
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for chunk in chunks if length else ():
            f.write(memoryview(np.ascontiguousarray(chunk, dtype=dtype)).cast("B"))
            written += len(chunk)
            if written >= length:
                break
        if written != length:
            raise CharlmError(f"{path}: {written:,} of {length:,} codes; did the corpus change while being read?")


def save_vocab(out: Path, idx2char: Sequence[str]) -> None:
    write_json(out / "vocab.json", {"idx2char": list(idx2char), "char2idx": {c: i for i, c in enumerate(idx2char)}})


def save_prepared(out: Path, idx2char: Sequence[str], train: np.ndarray, val: np.ndarray) -> None:
    """vocab.json, train.npy and val.npy: what CharDataset and the trainer read."""
    for name, codes in (("train.npy", train), ("val.npy", val)):
        write_npy(out / name, codes.dtype, len(codes), iter([codes]))
    save_vocab(out, idx2char)


def save_splits(corpus: Path, out: Path, idx2char: Sequence[str], n_train: int, n_val: int) -> None:
    """Pass 2 from disk: train.npy (the first `n_train` characters) and val.npy (the next `n_val`),
    written while encoding, one chunk in memory at a time."""
    chunks = encoded_chunks(corpus, idx2char, n_train)
    dtype = code_dtype(len(idx2char))
    write_npy(out / "train.npy", dtype, n_train, chunks)
    write_npy(out / "val.npy", dtype, n_val, chunks)


def load_vocab(data_dir: Path | str) -> list[str]:
    """idx2char from vocab.json, checked: distinct single characters."""
    path = Path(data_dir) / "vocab.json"
    if not path.is_file():
        raise CharlmError(f"{path} not found: run the prepare stage first (dvc repro prepare)")
    try:
        idx2char = json.loads(path.read_text(encoding="utf-8"))["idx2char"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise CharlmError(f"{path} is not a vocabulary ({type(e).__name__}): {REDO}") from None
    if not (isinstance(idx2char, list) and idx2char and all(isinstance(c, str) and len(c) == 1 for c in idx2char)
            and len(set(idx2char)) == len(idx2char)):
        raise CharlmError(f"{path}: 'idx2char' is not a list of distinct characters: {REDO}")
    return idx2char


def load_split(data_dir: Path | str, split: str) -> torch.Tensor:
    """train.npy or val.npy: a 1-d array of character codes, memory-mapped (copy-on-write: torch wants a
    writable array), so a process holds only the pages it reads, and those the system can drop."""
    path = Path(data_dir) / f"{split}.npy"
    if not path.is_file():
        raise CharlmError(f"{path} not found: run the prepare stage first (dvc repro prepare)")
    try:
        codes = np.load(path, mmap_mode="c", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise CharlmError(f"{path} is not a NumPy array file ({type(e).__name__}): {REDO}") from None
    if not (isinstance(codes, np.ndarray) and codes.ndim == 1 and codes.dtype in (np.uint8, np.int16, np.int32)):
        raise CharlmError(f"{path} holds no 1-d array of character codes: {REDO}")
    return torch.from_numpy(codes)


def highest_code(data_dir: Path | str, split: str) -> int:
    """The largest character code in a split (-1 if empty), read through the file a chunk at a time, not
    through a memory map: mapped pages count in the process's resident memory until the system drops them."""
    dtype = load_split(data_dir, split).numpy().dtype  # also checks the file
    highest = -1
    with open(Path(data_dir) / f"{split}.npy", "rb") as f:
        version = np.lib.format.read_magic(f)
        (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(f)
        while chunk := f.read(ENCODE_CHUNK * dtype.itemsize):
            highest = max(highest, int(np.frombuffer(chunk, dtype=dtype).max()))
    return highest


def text_chunks(data_dir: Path | str, split: str) -> Iterator[str]:
    """A split's text, ENCODE_CHUNK characters at a time: a split may be larger than memory."""
    codes, idx2char = load_split(data_dir, split), load_vocab(data_dir)
    for i in range(0, len(codes), ENCODE_CHUNK):
        yield decode(codes[i : i + ENCODE_CHUNK], idx2char)


def load_text(data_dir: Path | str, split: str, chars: int | None = None) -> str:
    """A split's text, or its first `chars` characters."""
    return decode(load_split(data_dir, split)[:chars], load_vocab(data_dir))


class CharDataset(Dataset):
    """(x, y) pairs: x = `maxlen` character indices (torch.long), y = the index of the next one
    (`objective="last"`), or of the next one after every position, i.e. x shifted by one ("every").

    Window i starts at character i * step of the split. Indexing with a list or tensor of window
    indices returns a whole batch in one gather, which is what the training DataLoader does.
    """

    def __init__(self, data_dir: Path | str, maxlen: int = 40, step: int = 3, split: str = "train",
                 objective: str = "last"):
        self.data = load_split(data_dir, split)
        self.maxlen, self.step = maxlen, step
        self.every = objective == "every"
        self._offsets = torch.arange(maxlen + 1)

    def __len__(self) -> int:
        return n_windows(len(self.data), self.maxlen, self.step)

    def __getitem__(self, index: int | Sequence[int] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One window for an integer (Python, numpy or a 0-d tensor), a batch for a list or 1-d tensor;
        negative indices count from the end, as in a list."""
        idx = torch.as_tensor(index)
        if idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
            raise TypeError(f"window indices must be integers, not {idx.dtype}")
        n = len(self)
        if idx.numel() and bool(((idx < -n) | (idx >= n)).any()):
            bad = idx[(idx < -n) | (idx >= n)].flatten()[0].item()
            raise IndexError(f"window {bad} out of range: {n} windows, indices -{n}..{n - 1}")
        starts = (idx.long() % max(n, 1)) * self.step
        windows = self.data[starts[..., None] + self._offsets].long()
        return windows[..., :-1], windows[..., 1:] if self.every else windows[..., -1]
