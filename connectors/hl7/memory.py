"""Giving memory back to the operating system after large frames (glibc only; elsewhere these do nothing).

A frame of several MB is held in one growing buffer. glibc serves large blocks with mmap and unmaps them on
free, but raises its mmap threshold each time such a block is freed (up to 32 MB), after which blocks of that
size come from the heap and stay in the process when freed: 100 connections that each sent 9.9 MB of a frame
kept ~500 MB after they closed. Fixing the threshold turns that adjustment off; ``trim`` returns free heap
pages after a burst.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time

M_MMAP_THRESHOLD = -3
_libc = None


def _glibc():
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            lib = ctypes.CDLL(name) if name else None
            _libc = lib if lib is not None and hasattr(lib, "malloc_trim") and hasattr(lib, "mallopt") else False
        except OSError:
            _libc = False
    return _libc or None


def fix_mmap_threshold(nbytes: int = 1 << 20) -> bool:
    """Blocks of ``nbytes`` or more are mmapped and unmapped on free, whatever was freed before."""
    lib = _glibc()
    return bool(lib and lib.mallopt(M_MMAP_THRESHOLD, nbytes))


class Trimmer:
    """Calls ``malloc_trim(0)`` after at least ``threshold`` bytes were released, at most once a second."""

    def __init__(self, threshold: int = 16 << 20, clock=time.monotonic) -> None:
        self.threshold, self._clock = threshold, clock
        self._released, self._last = 0, 0.0

    def released(self, nbytes: int) -> bool:
        self._released += nbytes
        now = self._clock()
        if self._released < self.threshold or now - self._last < 1.0:
            return False
        self._released, self._last = 0, now
        lib = _glibc()
        return bool(lib and lib.malloc_trim(0))
