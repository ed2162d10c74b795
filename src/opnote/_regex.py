"""Case-insensitive searches made fast: search the lower-cased text with a case-sensitive pattern.

Python's ``re`` tries every position of a text for a pattern that ignores case and begins with an
alternation, a look-behind or an optional run (it can skip ahead only to a known first character
of a case-sensitive pattern), and matching with IGNORECASE is itself about three times slower.
Lower-casing a note costs microseconds. The two searches agree when lower-casing keeps every
character's place (the same length) and no character of the text has case equivalents beyond its
upper and lower case ("ſ" matches "s" when case is ignored; ``re`` keeps a table of them):
:func:`fold_safe` says so, and the functions here search the text itself otherwise.
"""

from __future__ import annotations

import re

try:  # the characters with extra case equivalents, as re itself uses them
    from re._casefix import _EXTRA_CASES  # type: ignore[import-not-found]

    _SPECIAL = frozenset(chr(c) for k, v in _EXTRA_CASES.items() for c in (k, *v) if c >= 0x80)
    _KNOWN = True
except ImportError:  # pragma: no cover - another Python: every non-ASCII text is searched as is
    _SPECIAL = frozenset()
    _KNOWN = False

__all__ = ["finditer_folded", "fold", "fold_safe"]


def fold_safe(text: str, lower: str) -> bool:
    """Whether ``lower`` (``text.lower()``) finds what an IGNORECASE search of ``text`` finds."""
    if len(lower) != len(text):
        return False
    if text.isascii():
        return True
    if not _KNOWN:
        return False
    chars = {ch for ch in text if ch >= "\x80"}
    return not any(ch in _SPECIAL or ch.lower() in _SPECIAL or ch.upper().lower() != ch.lower() for ch in chars)


def fold(text: str) -> str | None:
    """``text.lower()`` when searching it finds what an IGNORECASE search of ``text`` finds
    (:func:`fold_safe`), else None."""
    lower = text.lower()
    return lower if fold_safe(text, lower) else None


def finditer_folded(pattern: re.Pattern[str], folded: re.Pattern[str], text: str, lower: str | None, back: str = "") -> list[re.Match[str]]:
    """``list(pattern.finditer(text))`` for an IGNORECASE ``pattern``, found faster.

    ``folded`` is a case-sensitive pattern that finds, in ``lower`` (:func:`fold` of the text), every
    place where a match of ``pattern`` can start (after stepping back over the characters
    ``back``, which ``pattern`` may begin with); ``pattern`` is then matched there, in the text
    itself, so every match is one of ``pattern``'s own. A place where ``pattern`` does not match is
    skipped when a letter, digit, "_" or "-" stands right before it (the ``(?<![\\w-])`` such
    patterns begin their words with); otherwise, and when ``lower`` is None (the text is not
    :func:`fold_safe`), the text is searched with ``pattern`` itself.
    """
    if lower is None:
        return list(pattern.finditer(text))
    out: list[re.Match[str]] = []
    prev = 0
    for f in folded.finditer(lower):
        start = f.start()
        if start < prev:
            continue
        while start > prev and text[start - 1] in back:
            start -= 1
        m = pattern.match(text, start)
        if m is None:
            if start == f.start() and start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_-"):
                continue
            return list(pattern.finditer(text))
        out.append(m)
        prev = max(m.end(), m.start() + 1)
    return out
