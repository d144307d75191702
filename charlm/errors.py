"""The one exception users see, and the wrapper that turns it into a one-line error and an exit status."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType


class CharlmError(Exception):
    """A problem the user can fix (bad param, bad corpus, missing artifact): shown as one line."""


def _interrupted(signum: int, frame: FrameType | None) -> None:
    print("error: interrupted", file=sys.stderr)
    raise SystemExit(130)


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM (schedulers, `docker stop`, CI) is Ctrl-C: the same cleanup and line


def quiet_interrupts() -> None:
    """Until the entry point's `cli` runs, Ctrl-C or SIGTERM ends the process with one line, not with a
    traceback from the middle of importing torch or Lightning (which take seconds)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupted)
        signal.signal(signal.SIGTERM, _interrupted)


def cli(main: Callable[[], None]) -> None:
    """Run an entry point; a CharlmError or OSError becomes `error: ...` on stderr and exit status 1,
    Ctrl-C or SIGTERM exit 130. Inside `main`, both are Python's KeyboardInterrupt: temporary files go
    (charlm.files), training saves where it was before it stops."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _terminated)
    try:
        main()
    except (CharlmError, OSError) as e:  # OSError: a full disk or read-only folder outside charlm's writes
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    finally:  # the outcome is decided and said: a SIGTERM now, while Python shuts down (which puts the
        # default handler back), would end the process silently with 143 instead
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
