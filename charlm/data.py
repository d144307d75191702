"""The character vocabulary, the corpus encoded once, a contiguous split, and the windows models learn from.

    text -> vocab (sorted distinct characters) -> integer codes (1 byte per char for <= 256 symbols)
    -> train = first (1 - val_fraction), val = the rest -> CharDataset windows, DataLoaders

`CharDataset` serves (x, y) windows straight out of the encoded split: a window is a slice, so
memory stays one copy of the corpus however many overlapping windows there are.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler

from charlm.errors import CharlmError
from charlm.files import atomic_path, write_json

ENCODE_CHUNK = 1 << 20  # characters per encoding step: bounds the temporary UTF-32 copy
EVAL_BATCH = 1024


def code_dtype(vocab_size: int) -> np.dtype:
    """The smallest integer type torch can index with that holds every character code."""
    return np.dtype(np.uint8 if vocab_size <= 256 else np.int16 if vocab_size <= 32767 else np.int32)


def build_vocab(text: str) -> list[str]:
    return sorted(set(text))


def encode(text: str, idx2char: Sequence[str]) -> np.ndarray:
    """Map characters to indices with a code-point lookup table, chunk by chunk (no per-char Python)."""
    dtype = code_dtype(len(idx2char))
    lut = np.zeros(max(map(ord, idx2char)) + 1, dtype=dtype)
    lut[[ord(c) for c in idx2char]] = np.arange(len(idx2char))
    out = np.empty(len(text), dtype=dtype)
    for i in range(0, len(text), ENCODE_CHUNK):
        points = np.frombuffer(text[i : i + ENCODE_CHUNK].encode("utf-32-le"), dtype=np.uint32)
        out[i : i + len(points)] = lut[points]
    return out


def decode(codes: np.ndarray | torch.Tensor | Sequence[int], idx2char: Sequence[str]) -> str:
    points = np.array([ord(c) for c in idx2char], dtype=np.uint32)
    return points[np.asarray(codes, dtype=np.int64)].tobytes().decode("utf-32-le")


def n_windows(length: int, maxlen: int, step: int) -> int:
    """Windows of maxlen inputs + 1 target that fit in `length` characters, starting every `step`."""
    return max(0, (length - maxlen - 1) // step + 1)


def split_sizes(length: int, val_fraction: float) -> tuple[int, int]:
    n_val = int(round(length * val_fraction))
    return length - n_val, n_val


def min_length(val_fraction: float) -> int:
    """The shortest text whose train and validation splits both hold two characters."""
    n = max(2, math.ceil(1.5 / val_fraction), math.ceil(2 / (1 - val_fraction)))
    while min(split_sizes(n, val_fraction)) < 2:
        n += 1
    return n


def prepare(text: str, val_fraction: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Vocabulary and the encoded train/val splits (contiguous: validation is the end of the text).

    Each split needs two characters (one input, one target); how long a window is, is the model's
    business (`model.maxlen`), checked when training starts."""
    if min(split_sizes(len(text), val_fraction)) < 2:
        raise CharlmError(f"the corpus has {len(text):,} characters; with val_fraction={val_fraction} it needs"
                          f" at least {min_length(val_fraction):,} (two characters in each split)")
    idx2char = build_vocab(text)
    codes = encode(text, idx2char)
    n_train, _ = split_sizes(len(codes), val_fraction)
    return idx2char, codes[:n_train], codes[n_train:]


def save_array(path: Path, array: np.ndarray) -> None:
    """A .npy file written by Python's own file object: numpy's file writes report a full disk without
    its cause. The header goes through a buffer, the data straight from the array (no copy)."""
    array = np.ascontiguousarray(array)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header.getvalue())
        f.write(memoryview(array).cast("B"))


def save_prepared(out: Path, idx2char: Sequence[str], train: np.ndarray, val: np.ndarray) -> None:
    """vocab.json, train.npy and val.npy: what CharDataset and the trainer read."""
    save_array(out / "train.npy", train)
    save_array(out / "val.npy", val)
    write_json(out / "vocab.json", {"idx2char": list(idx2char), "char2idx": {c: i for i, c in enumerate(idx2char)}})


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
    if not (isinstance(idx2char, list) and idx2char and all(isinstance(c, str) and len(c) == 1 for c in idx2char)
            and len(set(idx2char)) == len(idx2char)):
        raise CharlmError(f"{path}: 'idx2char' is not a list of distinct characters: {REDO}")
    return idx2char


def load_split(data_dir: Path | str, split: str) -> torch.Tensor:
    """train.npy or val.npy: a 1-d array of character codes."""
    path = Path(data_dir) / f"{split}.npy"
    if not path.is_file():
        raise CharlmError(f"{path} not found: run the prepare stage first (dvc repro prepare)")
    try:
        codes = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise CharlmError(f"{path} is not a NumPy array file ({type(e).__name__}): {REDO}") from None
    if not (isinstance(codes, np.ndarray) and codes.ndim == 1 and codes.dtype in (np.uint8, np.int16, np.int32)):
        raise CharlmError(f"{path} holds no 1-d array of character codes: {REDO}")
    return torch.from_numpy(codes)


def load_text(data_dir: Path | str, split: str) -> str:
    return decode(load_split(data_dir, split), load_vocab(data_dir))


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


def batches(dataset: CharDataset, batch_size: int, shuffle: bool) -> DataLoader:
    """One DataLoader item = one batch gathered by CharDataset in a single indexing call."""
    sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(sampler, batch_size, drop_last=False), batch_size=None)


class StreamSampler(Sampler[list[int]]):
    """Batches of window indices for `carry_state`: the windows (back to back) are cut into `batch_size`
    streams of consecutive windows, and batch k holds window k of every stream, so row r of batch k + 1
    continues the text where row r of batch k ended (char-rnn's batches; the few windows left over are
    not used). The order is fixed: what varies from epoch to epoch is only the state carried in."""

    def __init__(self, n: int, batch_size: int) -> None:
        self.streams = min(batch_size, n)
        self.per_stream = n // max(1, self.streams)

    def __len__(self) -> int:
        return self.per_stream

    def __iter__(self) -> Iterator[list[int]]:
        for k in range(self.per_stream):
            yield list(range(k, self.streams * self.per_stream, self.per_stream))


def stream_batches(dataset: CharDataset, batch_size: int) -> DataLoader:
    return DataLoader(dataset, sampler=StreamSampler(len(dataset), batch_size), batch_size=None)


def val_batches(data_dir: Path | str, maxlen: int) -> DataLoader:
    """The validation text in back-to-back windows of `maxlen`, every position scored, so each
    character is predicted once from 1 to `maxlen` characters of context (nanoGPT's definition)."""
    return batches(CharDataset(data_dir, maxlen, maxlen, split="val", objective="every"), EVAL_BATCH, shuffle=False)
