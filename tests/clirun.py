"""Run ``opnote check`` in the test process with the session's pipeline (built once)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from opnote.io import DEFAULT_MAX_BYTES


def sharing(checker: Any, real: Callable[..., Any]) -> Callable[..., Any]:
    """A stand-in for ``opnote.api.Checker`` that hands out copies of ``checker`` (another model
    or code still builds its own through ``real``)."""

    def shared(model: Any = None, *, code: str = "27365", max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
        if model is not None or code != checker.code:
            return real(model, code=code, max_bytes=max_bytes)
        c = copy.copy(checker)
        c.max_bytes = max_bytes
        return c

    return shared
