"""Pause Python's cyclic garbage collector while a note is checked.

A check allocates tens of thousands of short-lived containers (spans, findings, mentions, report
models). Reference counting frees almost all of them when the check returns; but a collection that
runs in the middle of a check finds them alive, moves them to an older generation, and the oldest
generation's collections then walk the whole loaded pipeline (about 220,000 objects) far more often.
With the collector paused for the length of a check, those objects never age: the CPU a check costs
drops by several per cent, and the cyclic garbage a check leaves (there is little) is collected at
the next collection after it. Pauses nest and may overlap across threads; the collector is
re-enabled when the last one ends, and only if it was enabled when the first one began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic garbage collector disabled (see the module's docstring)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
