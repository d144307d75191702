"""The fixtures the tests share; helpers they import live in tests/helpers/.

Tests under tests/system/ run real DVC, real training, a browser or a notebook: they are marked
`slow`, and `pytest -m "not slow"` (`make fast`) runs the unit tests only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.server import LoopbackServer, serve
from tests.helpers.text import make_text, prepare_text
from tests.helpers.training import train_tiny

SYSTEM = Path(__file__).parent / "system"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(SYSTEM):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_text() -> str:
    return make_text()


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    with serve() as server:
        yield server


@pytest.fixture
def prepared_dir(tmp_path: Path, tiny_text: str) -> Path:
    return prepare_text(tiny_text, tmp_path / "prepared")


@pytest.fixture(scope="session")
def compiled_step() -> None:
    """numba compiles the generation kernel once per machine (~15 s) into charlm's __pycache__; tests
    that copy the project (`copy_project`) copy that cache with the sources, as in a checkout that has
    sampled before."""
    from charlm import LitCharRNN
    from charlm.sample.generate import generate

    generate(LitCharRNN(3, embed_dim=2, hidden_size=2, vocab=["a", "b", "c"]), [0], [1.0, 0.0], 1, top_k=2)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained run: prepared/, run/checkpoints/best.ckpt, dvclive/ with curves and samples; trained
    until it writes the text's words at low temperatures (the sweep then has a crossing)."""
    root = tmp_path_factory.mktemp("trained")
    train_tiny(prepare_text(make_text(300), root / "prepared"), root, log=True, preview_chars=60, lr=0.05,
               max_epochs=6, objective="every")
    return root


@pytest.fixture(scope="session")
def explorer_page(trained_run: Path) -> Iterator[str]:
    """`charlm explore` of the tiny trained run, served on loopback: its address."""
    from charlm.app.page import serve

    blocks = serve(trained_run / "run/checkpoints/best.ckpt", None, trained_run / "prepared",
                   trained_run / "dvclive", block=False)
    try:
        yield blocks.local_url
    finally:
        blocks.close()
