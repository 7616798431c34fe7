"""A wall-clock limit that interrupts a block of Python code, used to stop scrubbing a pathological text (a
pattern that backtracks for seconds) instead of waiting for it.

It arms SIGALRM with ``setitimer``; the handler raises ``TimeLimitExceeded`` in the running code (CPython's
regular-expression engine checks for signals while it matches, so a runaway match is interrupted too).
Signals reach only the main thread: elsewhere the block runs without interruption and ``time_limit`` says
so (the caller then measures after the fact). Dagster runs an asset's step in the main thread of its process
(multiprocess executor) or of the caller (``materialize``), so the limit interrupts there.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TimeLimitExceeded(Exception):  # noqa: N818 - reads as what happened
    """The block ran past its limit and was interrupted (carries no data)."""


def _raise(signum, frame) -> None:
    raise TimeLimitExceeded


def can_interrupt() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float) -> Iterator[bool]:
    """Run the block with a limit; yields whether it can be interrupted (main thread) or only measured."""
    if seconds <= 0:
        raise TimeLimitExceeded  # setitimer(0) would mean "no limit"
    if not can_interrupt():
        yield False
        return
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
