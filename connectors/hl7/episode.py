"""A run of failed landing flushes, for the listener's log and its wedge detector. Pure, with an injectable
clock; no I/O.

An episode begins with the first failed flush after a success and ends with the next success. The log gets
one line when it begins, a summary at most every ``summary_s`` while it lasts, and one when it ends — not a
line per message. ``wedged(after_s)`` says when the episode has lasted long enough to probe the database: if
the probe answers, the database is up and the listener's own side is at fault (``probed``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("wardflow.listener")


@dataclass
class EpisodeState:
    """What an episode has seen so far (counts and error classes only)."""

    started: float
    failures: int = 0          # failed flushes
    items: int = 0             # messages NAKed because of them
    last: str = ""             # error class and SQLSTATE of the last failure
    rebuilds: int = 0          # times the database side was rebuilt in this episode
    first_rebuild: bool = False
    seconds: float = 0.0


class FailureEpisode:
    def __init__(self, summary_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.summary_s = summary_s
        self._clock = clock
        self._state: EpisodeState | None = None
        self._last_note = 0.0
        self._last_probe = 0.0

    @property
    def state(self) -> EpisodeState | None:
        return self._state

    def failed(self, error: str, items: int) -> str | None:
        """Count one failed flush; returns a line to log, or None when one was logged recently."""
        now = self._clock()
        state = self._state
        if state is None:
            state = self._state = EpisodeState(started=now)
            self._last_note = self._last_probe = now
            state.failures, state.items, state.last = 1, items, error
            return f"landing commit failed ({error})"
        state.failures += 1
        state.items += items
        state.last = error
        if now - self._last_note < self.summary_s:
            return None
        self._last_note = now
        return (f"landing still failing after {now - state.started:.0f} s: {state.failures} flushes and "
                f"{state.items} messages failed (last {error})")

    def succeeded(self, items: int) -> None:
        state, self._state = self._state, None
        if state is not None:
            log.info("landing recovered after %.1f s (%d flushes, %d messages had failed; last %s)",
                     self._clock() - state.started, state.failures, state.items, state.last)

    def wedged(self, after_s: float) -> bool:
        """Time to probe: failing for ``after_s`` since the episode began or since the last probe."""
        state = self._state
        return state is not None and after_s > 0 and self._clock() - self._last_probe >= after_s

    def probed(self, *, database_up: bool) -> EpisodeState:
        """Record a probe; with the database up, the caller rebuilds (``first_rebuild`` once per episode)."""
        state = self._state
        assert state is not None
        now = self._clock()
        self._last_probe = now
        state.seconds = now - state.started
        state.first_rebuild = database_up and state.rebuilds == 0
        if database_up:
            state.rebuilds += 1
        return state
