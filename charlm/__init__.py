"""charlm: a character-level LSTM language model, its data, training and generation.

The exercise's names import from here: `from charlm import CharDataset, LitCharRNN, tempered_softmax`.
They load on first use, so that `import charlm.corpus` does not pull in torch or Lightning: each
pipeline stage runs only the modules it imports, and DVC reruns a stage only when one of those changes.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "CharDataset": "charlm.data",
    "LitCharRNN": "charlm.model",
    "tempered_softmax": "charlm.temperature",
    "CharlmError": "charlm.errors",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'charlm' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
