"""Prepared data as training and generation read it: the vocabulary, the encoded splits, and the
exercise's `CharDataset` of (x, y) windows.

Splits are memory-mapped, so a process holds only the pages it reads. A window is a slice of the
encoded split, so memory stays one copy of the corpus however many overlapping windows there are.
`charlm.text.prepare` writes what this module reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from charlm.errors import CharlmError

CHUNK = 1 << 20  # characters read or decoded at a time: a split may be larger than memory
# val_loss and test_loss score a text in back-to-back blocks of the exercise's 40 characters whatever
# model.maxlen is: a model with longer windows gets no more context there, so runs compare
SCORE_BLOCK = 40
LOGITS_AT_ONCE = 1 << 24  # logits scored together at most: 64 MB of float32, and as much beside them


def blocks_at_once(data_dir: Path | str) -> int:
    """How many blocks of SCORE_BLOCK characters are scored together: 1,024, fewer for a vocabulary so
    large that their logits would not fit in LOGITS_AT_ONCE (65,536 characters: 6 blocks, not 10 GB)."""
    return max(1, min(1024, LOGITS_AT_ONCE // (SCORE_BLOCK * len(load_vocab(data_dir)))))


def decode(codes: np.ndarray | torch.Tensor | Sequence[int], idx2char: Sequence[str]) -> str:
    points = np.array([ord(c) for c in idx2char], dtype=np.uint32)
    return points[np.asarray(codes, dtype=np.int64)].tobytes().decode("utf-32-le")


def n_windows(length: int, maxlen: int, step: int) -> int:
    """Windows of maxlen inputs + 1 target that fit in `length` characters, starting every `step`."""
    return max(0, (length - maxlen - 1) // step + 1)


REDO = "rerun the prepare stage (dvc repro -f prepare, or dvc checkout)"


def load_vocab(data_dir: Path | str) -> list[str]:
    """idx2char from vocab.json, checked: distinct single characters."""
    path = Path(data_dir) / "vocab.json"
    if not path.is_file():
        raise CharlmError(f"{path} not found: run the prepare stage first (dvc repro prepare)")
    try:
        idx2char = json.loads(path.read_text(encoding="utf-8"))["idx2char"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise CharlmError(f"{path} is not a vocabulary ({type(e).__name__}): {REDO}") from None
    single = isinstance(idx2char, list) and all(isinstance(c, str) and len(c) == 1 for c in idx2char)
    if not (single and idx2char and len(set(idx2char)) == len(idx2char)):
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
    codes_dtype = (np.uint8, np.int16, np.int32)
    if not (isinstance(codes, np.ndarray) and codes.ndim == 1 and codes.dtype in codes_dtype):
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
        while chunk := f.read(CHUNK * dtype.itemsize):
            highest = max(highest, int(np.frombuffer(chunk, dtype=dtype).max()))
    return highest


SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}  # as messages name them


def check_codes(data_dir: Path | str, split: str, vocab_size: int) -> int:
    """Refuse a split with character codes outside a vocabulary of `vocab_size`; the split's length."""
    if (highest := highest_code(data_dir, split)) >= vocab_size:
        raise CharlmError(f"the {SPLIT_NAMES[split]} split has character codes up to {highest} but the"
                          f" vocabulary has {vocab_size} characters: rerun the prepare stage (dvc repro -f"
                          " prepare)")
    return len(load_split(data_dir, split))


def check_scored(data_dir: Path | str, split: str, vocab_size: int) -> int:
    """Refuse a split that cannot be scored (codes outside the vocabulary, shorter than one block of
    SCORE_BLOCK and its target); the split's length."""
    if (n := check_codes(data_dir, split, vocab_size)) < SCORE_BLOCK + 1:
        raise CharlmError(f"the {SPLIT_NAMES[split]} split has {n:,} characters; scoring needs at least"
                          f" {SCORE_BLOCK + 1} (a block of {SCORE_BLOCK} and its target): use a longer"
                          " corpus")
    return n


def text_chunks(data_dir: Path | str, split: str) -> Iterator[str]:
    """A split's text, CHUNK characters at a time (each decoded through a temporary UTF-32 copy)."""
    codes = load_split(data_dir, split)
    idx2char = load_vocab(data_dir)
    for i in range(0, len(codes), CHUNK):
        yield decode(codes[i : i + CHUNK], idx2char)


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
        self.maxlen = maxlen
        self.step = step
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
