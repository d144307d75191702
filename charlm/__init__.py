"""charlm: a character-level LSTM language model, its data, training and generation.

The exercise's names import from here: `from charlm import CharDataset, LitCharRNN, tempered_softmax`.
They load on first use, so that `import charlm.text.corpus` does not pull in torch or Lightning: each
pipeline stage runs only the modules it imports, and DVC reruns a stage only when one of those changes.
The stages import nothing heavy before charlm, so that this file runs before the slow imports.
"""

import sys
from importlib import import_module
from typing import Any

from charlm.errors import quiet_interrupts

# A pipeline stage (`python -m stages.<name>`) imports charlm first of all it loads: from here on,
# Ctrl-C while torch and Lightning load is one line too (see errors.quiet_interrupts).
_main = getattr(sys.modules.get("__main__"), "__spec__", None)
if _main is not None and _main.name.startswith("stages."):
    quiet_interrupts()

_EXPORTS = {
    "CharDataset": "charlm.text.splits",
    "LitCharRNN": "charlm.model.lstm",
    "tempered_softmax": "charlm.sample.temperature",
    "CharlmError": "charlm.errors",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'charlm' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
