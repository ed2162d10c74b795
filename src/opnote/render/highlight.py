"""Evidence highlighting in the note text, as a flat list of pieces the note partial displays.

Each *distinct* evidence span (a distinct ``(start, end)`` pair over all checklist items) becomes
exactly one ``<mark class="hl" data-item="..." data-start=.. data-end=..>`` element, so the number
of ``<mark>`` elements equals the number of distinct spans:

* a span cited by several items (e.g. the histology word for both ``pathology`` and
  ``diagnosis_code``) is one ``<mark>`` whose ``data-item`` lists every item, in checklist order,
  shaded in their colours and linking to each of them;
* a span inside another span is a ``<mark>`` nested inside the other's ``<mark>``;
* a span that *crosses* another's boundary (starts inside it, ends after it) is split at that
  boundary: its first piece is its ``<mark>``, the remainder continues in
  ``<span class="hl cont">`` elements with the same colour, so the markup stays properly nested
  and the ``<mark>`` count is unchanged.

Each ``<mark>`` carries ``id="ev-N"`` (back-link target from its item's card); a span's last piece
(its ``<mark>``, or for a split span its last continuation) ends with small superscript item
numbers linking to the item(s) (``<sup class="tags"><a href="#item-<id>">``), which also keep the
highlights readable when printed in black and white.

:func:`note_pieces` walks the span boundaries once and returns what to write, in order: text,
an opening ``<mark>``, an opening continuation, the item links, a closing element. The template
``_note.html`` writes each piece; nothing here builds markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from .labels import STATUS_LABEL, colour

if TYPE_CHECKING:  # pragma: no cover
    from ..schema import ChecklistItem, Report


@dataclass
class Span:
    """One distinct evidence span and the checklist positions that cite it (in order)."""

    start: int
    end: int
    items: list[int] = field(default_factory=list)
    ident: str = ""


def evidence_spans(report: Report, text: str | None) -> list[Span]:
    """The distinct evidence spans of the checklist, sorted by (start, -end), with ids ``ev-N``.

    A span is kept only if it lies inside ``text`` and ``text[start:end]`` is its evidence text
    (the contract guarantees this; the check keeps a mismatched report from mis-highlighting).
    """
    if text is None:
        return []
    by_key: dict[tuple[int, int], Span] = {}
    for idx, item in enumerate(report.checklist):
        for ev in item.evidence:
            if not (0 <= ev.start <= ev.end <= len(text)) or text[ev.start : ev.end] != ev.text:
                continue
            sp = by_key.setdefault((ev.start, ev.end), Span(ev.start, ev.end))
            if idx not in sp.items:
                sp.items.append(idx)
    spans = sorted(by_key.values(), key=lambda s: (s.start, -s.end))
    for n, sp in enumerate(spans, 1):
        sp.ident = f"ev-{n}"
    return spans


# --- the pieces the note partial writes ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextPiece:
    """A run of note text (escaped when written)."""

    kind: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True, slots=True)
class MarkOpen:
    """The opening ``<mark>`` of a span (its first piece)."""

    kind: ClassVar[str] = "mark"
    ident: str
    item_ids: str
    start: int
    end: int
    style: str
    title: str


@dataclass(frozen=True, slots=True)
class ContOpen:
    """The opening ``<span class="hl cont">`` of a split span's later piece."""

    kind: ClassVar[str] = "cont"
    ident: str
    style: str


@dataclass(frozen=True, slots=True)
class TagLink:
    """A superscript number linking a highlight to its checklist item."""

    number: int
    item_id: str
    title: str
    border: str


@dataclass(frozen=True, slots=True)
class Tags:
    """The item links at the end of a span's last piece."""

    kind: ClassVar[str] = "tags"
    links: tuple[TagLink, ...]


@dataclass(frozen=True, slots=True)
class Close:
    """The end of a ``<mark>`` (``tag == "mark"``) or of a continuation (``"span"``)."""

    kind: ClassVar[str] = "close"
    tag: str


Piece = TextPiece | MarkOpen | ContOpen | Tags | Close


def mark_style(items: Sequence[int]) -> str:
    """The CSS custom properties of a highlight: one item's colours, or a stripe per item."""
    cols = [colour(i) for i in items]
    if len(cols) == 1:
        return f"--bg:{cols[0][0]};--bd:{cols[0][1]}"
    n = len(cols)
    stops = ",".join(f"{c[0]} {k * 100 // n}% {(k + 1) * 100 // n}%" for k, c in enumerate(cols))
    return f"--bg:{cols[0][0]};--bd:{cols[0][1]};background:linear-gradient(180deg,{stops})"


class _Walker:
    """Turns sorted spans into properly nested pieces (see the module docstring)."""

    def __init__(self, text: str, spans: list[Span], items: Sequence[ChecklistItem]) -> None:
        self.text = text
        self.items = items
        self.spans = spans
        self.out: list[Piece] = []
        self.stack: list[Span] = []  # open elements (innermost last)
        self.opened: set[str] = set()  # spans whose <mark> was already opened
        self.closed: set[str] = set()  # ... and closed

    def _title(self, i: int) -> str:
        item = self.items[i]
        return f"{i + 1}. {item.title or item.id} ({STATUS_LABEL.get(item.status, item.status)})"

    def open(self, sp: Span) -> None:
        if sp.ident in self.opened:
            self.out.append(ContOpen(sp.ident, mark_style(sp.items)))
        else:
            self.opened.add(sp.ident)
            ids = " ".join(self.items[i].id for i in sp.items)
            title = "; ".join(self._title(i) for i in sp.items)
            self.out.append(MarkOpen(sp.ident, ids, sp.start, sp.end, mark_style(sp.items), title))
        self.stack.append(sp)

    def close(self, sp: Span, at: int) -> None:
        if at == sp.end:  # the span's last piece ends with the links to its item(s)
            links = tuple(
                TagLink(i + 1, self.items[i].id, self.items[i].title or self.items[i].id, colour(i)[1]) for i in sp.items
            )
            self.out.append(Tags(links))
        if sp.ident not in self.closed:  # the first piece is the <mark>
            self.closed.add(sp.ident)
            self.out.append(Close("mark"))
        else:
            self.out.append(Close("span"))

    def _close_ending(self, p: int) -> list[Span]:
        """Close every open element that ends at ``p``; return those above it that go on past ``p``."""
        ending = [s for s in self.stack if s.end == p]
        if not ending:
            return []
        deepest = min(self.stack.index(s) for s in ending)
        popped = self.stack[deepest:]
        del self.stack[deepest:]
        for sp in reversed(popped):
            self.close(sp, p)
        return [sp for sp in popped if sp.end > p]

    def _open_starting(self, p: int, reopen: list[Span], new: list[Span]) -> None:
        if not (reopen or new):
            return
        going_on = reopen + [s for s in new if s.end > s.start]
        for sp in sorted(going_on, key=lambda s: (-s.end, s.ident not in self.opened)):
            self.open(sp)
        for sp in (s for s in new if s.end == s.start):
            self.open(sp)
            self.stack.pop()
            self.close(sp, p)

    def walk(self) -> list[Piece]:
        text = self.text
        points = sorted({p for s in self.spans for p in (s.start, s.end)} | {0, len(text)})
        starts: dict[int, list[Span]] = {}
        for s in self.spans:
            starts.setdefault(s.start, []).append(s)
        pos = 0
        for p in points:
            if p > pos:
                self.out.append(TextPiece(text[pos:p]))
                pos = p
            reopen = self._close_ending(p)
            self._open_starting(p, reopen, starts.get(p, []))
        if pos < len(text):
            self.out.append(TextPiece(text[pos:]))
        return self.out


def note_pieces(text: str, spans: list[Span], report: Report) -> list[Piece]:
    """The note text and its highlight elements, in writing order, properly nested."""
    return _Walker(text, spans, report.checklist).walk()
