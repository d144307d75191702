"""What one request to `charlm explore` may ask for: the longest texts, and the checks that refuse
more in one line. Every text a panel takes is bounded on the server, so that one visitor cannot hold
it (the page's own limits are only a courtesy: its API takes any JSON)."""

from __future__ import annotations

from charlm.errors import CharlmError

MAX_LENGTH = 2000  # characters written per request: one request cannot hold the server for long
MAX_PROMPT = 2000  # characters of a prompt
MAX_TEXT = 10_000  # characters of a text the model reads in one request (a cell's view)


def check(name: str, value: float, low: float, high: float) -> None:
    """A number from `low` to `high` (not a bool, not NaN), or a one-line refusal."""
    if isinstance(value, bool) or not (isinstance(value, (int, float)) and low <= value <= high):
        raise CharlmError(f"{name} must be from {low:g} to {high:g}, got {str(value)[:20]!r}")


def seed_of(value: int | str | None) -> int | None:
    """The seed box's value: a whole number, or None (empty) for a random seed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise CharlmError(f"seed must be a whole number (or empty for a random one), got {str(value)[:20]!r}")


def check_text(name: str, value: str, limit: int) -> None:
    """A text input as the page sends it: a string of at most `limit` characters."""
    if not isinstance(value, str):
        raise CharlmError(f"{name} must be a text, got {type(value).__name__}")
    if len(value) > limit:
        raise CharlmError(f"{name} is {len(value):,} characters: at most {limit:,} here")
