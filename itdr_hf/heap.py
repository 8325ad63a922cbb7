"""Handing the process's free heap pages back to the system between big steps."""

from __future__ import annotations

import ctypes
import sys


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Reading a big source frees far more than it keeps (decompressed blocks, parsed tables,
    per-category copies), and glibc keeps those pages: on Amazon 2023 ~130 bytes a review. They
    would count in this process's memory, and in forked workers' as soon as their allocations
    land on them. Kept, they also add up: at the paper's size the pages the first eleven categories
    freed were still held when Home_and_Kitchen, read last but four, reached the read's peak.
    A call costs 10-40 ms there.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc (musl has no malloc_trim)
        pass
