"""Prompts: text a model continues, turned into its character codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import torch

from charlm.errors import CharlmError

PROMPT_SEARCH = 1 << 20  # characters of validation text default_prompt looks at (a split may exceed memory)


def default_prompt(val_text: str, maxlen: int) -> str:
    """`maxlen` characters of validation text starting at a line start, so the sample starts cleanly."""
    start = val_text.find("\n") + 1
    if start == 0 or start + maxlen > len(val_text):
        start = 0
    return val_text[start : start + maxlen]


def encode_prompt(prompt: str, idx2char: Sequence[str], skip: bool = False,
                  remedy: str = "remove them") -> torch.Tensor:
    """The prompt as indices. Characters the model never saw are an error that says `remedy`,
    or, with `skip`, dropped with a warning."""
    char2idx = {c: i for i, c in enumerate(idx2char)}
    missing = "".join(sorted(set(prompt) - char2idx.keys()))
    if missing and not skip:
        raise CharlmError(f"the prompt has characters not in the vocabulary: {missing!r} ({remedy})")
    if missing:
        print(f"warning: dropping prompt characters not in the vocabulary: {missing!r}", file=sys.stderr)
    codes = [char2idx[c] for c in prompt if c in char2idx]
    if not codes:
        left = "the prompt has no character of the vocabulary left"
        raise CharlmError(left if prompt else "the prompt is empty")
    return torch.tensor(codes, dtype=torch.long)
