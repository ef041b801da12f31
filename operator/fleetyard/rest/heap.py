"""The C heap's free memory handed back to the system, for the store after a list.

A list of thousands of objects leaves tens of MB free inside glibc's heap (its pages' response
bodies, the decoded items), which glibc keeps mapped, so the process's RSS stays at the list's peak
until `malloc_trim` returns the free pages. Elsewhere than glibc, `trim` does nothing.
"""

from __future__ import annotations

import ctypes

# the process's own symbols, the C library's among them
_malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None)


def trim() -> None:
    if _malloc_trim is not None:
        _malloc_trim(0)
