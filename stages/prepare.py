"""Stage 2, prepare: character vocabulary, the corpus encoded once, a contiguous train/val split.

    data/raw/corpus.txt -> vocab (sorted distinct characters) -> integer codes (1 byte per char
    for <= 256 symbols) -> train = first (1 - val_fraction), val = the rest
    -> data/prepared/{vocab.json, train.npy, val.npy, preview.txt, char_counts.csv}
    -> metrics/prepare.json + plots/char_frequency.png (rare characters hint at stray symbols)

`CharDataset` serves (x, y) windows straight out of the encoded split: a window is a slice, so
memory stays one copy of the corpus however many overlapping windows there are.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from stages.download import OUT_DIR as RAW_DIR
from stages.download import atomic_dir, atomic_path, atomic_write, write_json
from stages.params import CharlmError, cli, load

OUT_DIR = Path("data/prepared")
METRICS = Path("metrics/prepare.json")
FREQ_PNG = Path("plots/char_frequency.png")
PREVIEW_CHARS = 500
ENCODE_CHUNK = 1 << 20  # characters per encoding step: bounds the temporary UTF-32 copy


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


def decode(codes: np.ndarray | torch.Tensor, idx2char: Sequence[str]) -> str:
    points = np.array([ord(c) for c in idx2char], dtype=np.uint32)
    return points[np.asarray(codes, dtype=np.int64)].tobytes().decode("utf-32-le")


def n_windows(length: int, maxlen: int, step: int) -> int:
    """Windows of maxlen inputs + 1 target that fit in `length` characters, starting every `step`."""
    return max(0, (length - maxlen - 1) // step + 1)


def split_sizes(length: int, val_fraction: float) -> tuple[int, int]:
    n_val = int(round(length * val_fraction))
    return length - n_val, n_val


def split(codes: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous split: validation is the last `val_fraction` of the text, so no window straddles it."""
    n_train, _ = split_sizes(len(codes), val_fraction)
    return codes[:n_train], codes[n_train:]


def min_length(maxlen: int, val_fraction: float) -> int:
    """The shortest corpus whose train and validation splits both hold one window."""
    n = max(maxlen + 1, math.ceil((maxlen + 0.5) / val_fraction), math.ceil((maxlen + 1) / (1 - val_fraction)))
    while min(split_sizes(n, val_fraction)) < maxlen + 1:
        n += 1
    return n


def load_vocab(data_dir: Path | str = OUT_DIR) -> list[str]:
    path = Path(data_dir) / "vocab.json"
    if not path.is_file():
        raise CharlmError(f"{path} not found: run the prepare stage first (dvc repro prepare)")
    return json.loads(path.read_text(encoding="utf-8"))["idx2char"]


def load_split(data_dir: Path | str, split_name: str) -> torch.Tensor:
    path = Path(data_dir) / f"{split_name}.npy"
    if not path.is_file():
        raise CharlmError(f"{path} not found: run the prepare stage first (dvc repro prepare)")
    return torch.from_numpy(np.load(path))


class CharDataset(Dataset):
    """(x, y) pairs: x = `maxlen` character indices (torch.long), y = the index of the next one
    (`objective="last"`), or of the next one after every position, i.e. x shifted by one ("every").

    Window i starts at character i * step of the split. Indexing with a list or tensor of window
    indices returns a whole batch in one gather, which is what the training DataLoader does.
    """

    def __init__(self, data_dir: Path | str = OUT_DIR, maxlen: int = 40, step: int = 3, split: str = "train",
                 objective: str = "last"):
        self.data = load_split(data_dir, split)
        self.maxlen, self.step = maxlen, step
        self.every = objective == "every"
        self._offsets = torch.arange(maxlen + 1)

    def __len__(self) -> int:
        return n_windows(len(self.data), self.maxlen, self.step)

    def __getitem__(self, index: int | Sequence[int] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(index, (int, np.integer)):
            if not -len(self) <= index < len(self):
                raise IndexError(f"window {index} out of range for {len(self)} windows")
            start = (index % len(self)) * self.step
            window = self.data[start : start + self.maxlen + 1].long()
            return window[:-1], window[1:] if self.every else window[-1]
        starts = torch.as_tensor(index, dtype=torch.long) * self.step
        windows = self.data[starts[:, None] + self._offsets].long()
        return windows[:, :-1], windows[:, 1:] if self.every else windows[:, -1]


def show(char: str) -> str:
    """A printable name for a character: whitespace and control characters spelled out."""
    return {" ": "space", "\n": "\\n", "\t": "\\t"}.get(char, char if char.isprintable() else f"U+{ord(char):04X}")


def char_counts(train: np.ndarray, val: np.ndarray, idx2char: Sequence[str]) -> pd.DataFrame:
    """Occurrences of each character in the whole corpus, most frequent first."""
    counts = np.bincount(train, minlength=len(idx2char)) + np.bincount(val, minlength=len(idx2char))
    table = pd.DataFrame({"char": [show(c) for c in idx2char], "codepoint": [f"U+{ord(c):04X}" for c in idx2char],
                          "count": counts, "share": counts / counts.sum()})
    return table.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def save_figure(fig: plt.Figure, path: Path) -> None:
    """PNG through a temp file (an interrupted savefig leaves no broken image), then free the figure."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_frequency(table: pd.DataFrame, rare_below: int, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(max(8, 0.16 * len(table)), 4.5))
    colors = ["tab:red" if n < rare_below else "tab:blue" for n in table["count"]]
    ax.bar(range(len(table)), table["count"], color=colors)
    ax.set_xticks(range(len(table)), table["char"], rotation=90, fontsize=7)
    ax.set_yscale("log")
    ax.set(xlabel="character", ylabel="occurrences (log scale)",
           title=f"Character frequencies ({len(table)} distinct; red: fewer than {rare_below})")
    save_figure(fig, path)


def prepare(text: str, val_fraction: float, maxlen: int, step: int) -> tuple[list[str], np.ndarray, np.ndarray, dict]:
    """Vocabulary, encoded train/val splits and corpus statistics; refuse a corpus too short to train on."""
    if min(split_sizes(len(text), val_fraction)) < maxlen + 1:
        raise CharlmError(
            f"the corpus has {len(text):,} characters; with maxlen={maxlen} and val_fraction={val_fraction} it needs"
            f" at least {min_length(maxlen, val_fraction):,} (maxlen + 1 characters in each split)"
        )
    idx2char = build_vocab(text)
    train, val = split(encode(text, idx2char), val_fraction)
    stats = {
        "characters": len(text),
        "vocab_size": len(idx2char),
        "train_characters": len(train),
        "val_characters": len(val),
        "train_windows": n_windows(len(train), maxlen, step),
        "val_predictions": n_windows(len(val), maxlen, maxlen) * maxlen,
    }
    return idx2char, train, val, stats


def save_array(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def report(table: pd.DataFrame, rare_below: int) -> str:
    rare = table[table["count"] < rare_below]
    top = ", ".join(f"{r.char} {r.share:.1%}" for r in table.head(10).itertuples())
    bottom = ", ".join(f"{r.char} x{r['count']}" for _, r in table.tail(5).iloc[::-1].iterrows())
    lines = [f"most frequent: {top}", f"least frequent: {bottom}"]
    if len(rare):
        lines.append(f"{len(rare)} characters occur fewer than {rare_below} times (stray symbols?): "
                     + " ".join(f"{r.char}({r.codepoint})" for r in rare.itertuples()))
    return "\n".join(lines)


def main() -> None:
    cfg = load("prepare")["prepare"]
    corpus = RAW_DIR / "corpus.txt"
    if not corpus.is_file():
        raise CharlmError(f"{corpus} not found: run the download stage first (dvc repro download)")
    text = corpus.read_text(encoding="utf-8")
    idx2char, train, val, stats = prepare(text, cfg["val_fraction"], cfg["maxlen"], cfg["step"])

    counts = char_counts(train, val, idx2char)
    with atomic_dir(OUT_DIR) as out:
        save_array(out / "train.npy", train)
        save_array(out / "val.npy", val)
        write_json(out / "vocab.json", {"idx2char": idx2char, "char2idx": {c: i for i, c in enumerate(idx2char)}})
        atomic_write(out / "preview.txt", text[:PREVIEW_CHARS])
        counts.to_csv(out / "char_counts.csv", index=False)
    plot_frequency(counts, cfg["rare_below"], FREQ_PNG)
    stats["rare_characters"] = int((counts["count"] < cfg["rare_below"]).sum())
    write_json(METRICS, stats)
    print(text[:PREVIEW_CHARS])
    print("-" * 60)
    print(", ".join(f"{k}={v:,}" for k, v in stats.items()))
    print(report(counts, cfg["rare_below"]))


if __name__ == "__main__":
    cli(main)
