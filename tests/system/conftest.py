"""System tests copy the project into temporary repositories and run its stages: the generation
kernel is compiled once first, so that each copy carries numba's cache instead of compiling again."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _compiled(compiled_step: None) -> None:
    return compiled_step
