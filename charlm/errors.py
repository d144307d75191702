"""The one exception users see, and the wrapper that turns it into a one-line error and an exit status."""

from __future__ import annotations

import sys
from collections.abc import Callable


class CharlmError(Exception):
    """A problem the user can fix (bad param, bad corpus, missing artifact): shown as one line."""


def cli(main: Callable[[], None]) -> None:
    """Run an entry point; a CharlmError or OSError becomes `error: ...` on stderr and exit status 1,
    Ctrl-C exit 130."""
    try:
        main()
    except (CharlmError, OSError) as e:  # OSError: a full disk or read-only folder outside charlm's writes
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
