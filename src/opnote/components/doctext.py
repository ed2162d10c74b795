"""``Doc.text`` computed once per Doc.

spaCy builds ``Doc.text`` by joining every token's text on each access (about 0.35 ms for a
500-token note here), and four opnote components read it. The text of a Doc never changes
(retokenizing keeps it), so the first call's result is kept for the others, in a weak
dictionary that forgets a Doc when it is freed.
"""

from __future__ import annotations

import threading
import weakref

from spacy.tokens import Doc

_TEXTS: weakref.WeakKeyDictionary[Doc, str] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def doc_text(doc: Doc) -> str:
    """``doc.text``, computed once per Doc."""
    try:
        text = _TEXTS.get(doc)
    except TypeError:  # pragma: no cover - a Doc subclass that cannot be weakly referenced
        return doc.text
    if text is None:
        text = doc.text
        with _LOCK:
            _TEXTS[doc] = text
    return text


def remember_text(doc: Doc, text: str) -> None:
    """Record ``text`` as ``doc.text`` for a Doc built from its tokens (``text`` must be exactly that)."""
    with _LOCK:
        _TEXTS[doc] = text
