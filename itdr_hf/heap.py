"""How the build's process holds memory: free heap pages handed back between big steps, and no
transparent huge pages (on VMs they cost more than they save)."""

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


PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42  # <linux/prctl.h>, Linux 3.15+


def disable_transparent_huge_pages() -> bool:
    """Have the kernel back this process's memory, and its forked workers', with 4 KiB pages only.

    Arrow's default allocator (mimalloc) asks for transparent huge pages. A 2 MiB page must come
    from a free 2 MiB block, and on a VM whose host reclaims free blocks of that size (virtio-balloon
    free page reporting) nearly every one faults through to the host: a MovieLens 32M build spent
    10-13 s of system time there and took 13.7-15.5 s; with this, 1.9-2.0 s and 9.2 s (user time
    +0.4 s: more TLB misses, which is what huge pages save on a machine without that tax).
    True when the kernel took it; elsewhere (not Linux, an old kernel) nothing happens.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - no prctl in this libc
        return False
