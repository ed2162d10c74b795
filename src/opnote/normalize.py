"""A canonical form of a note's text for the rules to read, with a map back to the original.

Notes arrive with the layout of whatever wrote them: CRLF line ends, tabs, non-breaking spaces,
double spaces after a full stop, typographic dashes and quotes, British spelling, the
misrecognitions of speech software. spaCy turns every extra space into a token of its own, so a
rule for "distal femur" misses "distal  femur"; measured on the gold notes, doubling the spaces
changed the verdict of most of them. Rather than teach every rule every layout, the pipeline reads
one canonical text and every offset it reports is mapped back to the note as read
(:meth:`Canonical.to_original`), so ``note[start:end] == evidence.text`` still holds.

The rewrites are rule data (``rules/normalize.json``): whole-word spelling variants and spoken or
misrecognized phrases. Whitespace and punctuation rules are fixed here.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache

from . import rules as rule_files
from ._regex import finditer_folded, fold

# Horizontal whitespace other than a plain space; zero-width characters that carry nothing.
_HSPACE = "\t\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_PUNCT = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u00d7": "x", "\u2022": "-", "\u25e6": "-", "\u25aa": "-", "\u2023": "-", "\u2043": "-",
    "\u00b7": "-",
    # a side in a circled letter ("\u24c7 distal femur"): the letter, as a side rule reads it
    "\u24c7": "R", "\u24c1": "L", "\u24e1": "r", "\u24db": "l",
}


@dataclass(frozen=True)
class Canonical:
    """A note's canonical text and the map from its offsets to the note as read."""

    text: str
    original: str
    # (canonical start, canonical end, original start, original end) of every rewritten stretch,
    # in order; everything between two rewrites is copied unchanged.
    _edits: tuple[tuple[int, int, int, int], ...] = field(default=(), repr=False)
    _starts: tuple[int, ...] = field(default=(), repr=False)

    @property
    def changed(self) -> bool:
        """Whether the canonical text differs from the original."""
        return bool(self._edits)

    def _pos(self, p: int, *, end: bool) -> int:
        k = bisect.bisect_right(self._starts, p) - 1
        if k < 0:
            return p
        cs, ce, os_, oe = self._edits[k]
        if p > ce or (p == ce and ce > cs):
            return oe + (p - ce)
        if p == cs == ce:  # a deletion: a span starting here starts after it, one ending here before
            return os_ if end else oe
        if p == cs:
            return os_
        return oe if end else os_

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the canonical span ``[start, end)``."""
        if not self._edits:
            return start, end
        s = self._pos(start, end=False)
        e = self._pos(end, end=True) if end > start else s
        return s, max(s, e)

    def original_text(self, start: int, end: int) -> str:
        """The note as read under the canonical span ``[start, end)``."""
        s, e = self.to_original(start, end)
        return self.original[s:e]


def _word_map_regex(mapping: dict[str, str]) -> re.Pattern[str] | None:
    if not mapping:
        return None
    words = sorted(mapping, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w-])", re.IGNORECASE)


def _same_case(src: str, repl: str) -> str:
    if src.isupper() and len(src) > 1:
        return repl.upper()
    if src[:1].isupper():
        return repl[:1].upper() + repl[1:]
    return repl


#: A prefix tree of words: each character leads to the tree of what may follow it ("" ends a word).
_Trie = dict[str, "_Trie"]


def _trie_pattern(words: set[str]) -> str:
    """One pattern for a set of words, shared prefixes factored out ("col(?:or|our)"): Python's
    regular expressions try the alternatives of a flat list one by one at every character, which
    measured twice as slow over the notes for these ~120 words."""
    trie: _Trie = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: _Trie) -> str:
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return build(trie)


@dataclass(frozen=True)
class _Rules:
    words: dict[str, str]
    words_re: re.Pattern[str] | None
    phrases: dict[str, str]
    phrases_re: re.Pattern[str] | None
    # phrases by their first word (lower case), each as a pattern anchored where that word starts
    by_first: dict[str, re.Pattern[str]]
    # a whole word that has a variant or starts a phrase: for lower-cased text, and for any case
    keys_re: re.Pattern[str] | None
    keys_re_i: re.Pattern[str] | None
    # the abbreviations of rules/abbreviations.json, found in lower case (a note typed without capitals)
    abbrevs_re: re.Pattern[str] | None


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    data = rule_files.normalization()
    words = {k.lower(): v for k, v in data.spelling.items()}
    phrases = {" ".join(k.lower().split()): v for k, v in data.phrases.items()}
    # A side word misheard as another word, where a limb or a site follows ("lift distal femur")
    for heard, side in data.side_homophones.items():
        for nxt in data.side_homophone_next:
            phrases.setdefault(f"{heard.lower()} {nxt.lower()}", f"{side} {nxt}")
    # A phrase matches across any run of spaces between its words.
    phrase_re = None
    if phrases:
        alts = [r"\s+".join(re.escape(w) for w in p.split()) for p in sorted(phrases, key=len, reverse=True)]
        phrase_re = re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])", re.IGNORECASE)
    firsts: dict[str, list[str]] = {}
    for ph in phrases:
        head = re.match(r"[a-z]+", ph)
        if head:
            firsts.setdefault(head.group(0), []).append(ph)
    by_first = {
        w: re.compile(r"(?:" + "|".join(r"\s+".join(re.escape(x) for x in ph.split()) for ph in sorted(phs, key=len, reverse=True)) + r")(?![\w-])", re.IGNORECASE)
        for w, phs in firsts.items()
    }
    # ... and the short side forms read after a limb (see _side_after_limb)
    keys = set(words) | set(by_first) | {k.lower() for k in data.side_after_limb}
    alt = r"(?<![\w-])" + _trie_pattern(keys) + r"(?![\w])" if keys else None
    # ("mrs" before a name is a title in a lower-case note, not a modular resection system)
    abbrevs = {a.short.lower() for a in rule_files.abbreviations().abbreviations if a.short.isupper()} - {"mrs", "mr", "ms", "dr"}
    abbrevs_re = re.compile(r"(?<![\w-])" + _trie_pattern(abbrevs) + r"(?![\w-])") if abbrevs else None
    return _Rules(words, _word_map_regex(words), phrases, phrase_re, by_first,
                  re.compile(alt) if alt else None, re.compile(alt, re.IGNORECASE) if alt else None, abbrevs_re)




class _Builder:
    """Collects the canonical text piece by piece, remembering what each rewrite replaced."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.parts: list[str] = []
        self.edits: list[tuple[int, int, int, int]] = []
        self.length = 0

    def copy(self, s: str) -> None:
        self.parts.append(s)
        self.length += len(s)

    def rewrite(self, o_start: int, o_end: int, repl: str) -> None:
        self.edits.append((self.length, self.length + len(repl), o_start, o_end))
        self.parts.append(repl)
        self.length += len(repl)


_SPACE_CHARS = " \r\n" + _HSPACE + _ZERO_WIDTH
_ODD_SPACE = "\r" + _HSPACE + _ZERO_WIDTH
_CHARS_RE = re.compile(
    "(?P<ws>[" + re.escape(_SPACE_CHARS) + "]{2,}|[" + re.escape(_ODD_SPACE) + "])|(?P<p>[" + re.escape("".join(_PUNCT)) + "])"
)


# The same for a text of ASCII characters alone (every typographic mark and odd space is not ASCII).
_CHARS_ASCII_RE = re.compile(
    "(?P<ws>[" + re.escape("".join(c for c in _SPACE_CHARS if c.isascii())) + "]{2,}|[" + re.escape("".join(c for c in _ODD_SPACE if c.isascii())) + "])"
)


def _space_for(run: str, gaps_are_breaks: bool = False, after_stop: bool = False, in_row: bool = False) -> str:
    newlines = run.count("\n") + run.count("\r") - run.count("\r\n")
    if newlines:
        return "\n\n" if newlines >= 2 else "\n"
    if gaps_are_breaks and run.startswith("  ") and not run.strip(" "):
        # A blank line, joined as two spaces: it ended a paragraph or a field. After a full stop
        # in a note typed with two spaces between sentences it is only a line end.
        if len(run) >= 4 or in_row:
            return "\n"  # a table's column gap, kept when its rows were joined: the row goes on
        return "\n" if after_stop else "\n\n"
    return "" if all(c in _ZERO_WIDTH for c in run) else " "


_TWO_SPACE_STOP = re.compile(r"[.?!]  +[A-Z]")
_ONE_SPACE_STOP = re.compile(r"[.?!] [A-Z]")


def _two_spaces_after_stops(text: str) -> bool:
    """Whether the note was typed with two spaces between sentences (most sentence ends have two)."""
    return len(_TWO_SPACE_STOP.findall(text)) > len(_ONE_SPACE_STOP.findall(text))


def _gaps_are_breaks(text: str) -> bool:
    """Whether runs of spaces stand for lost line ends: a long note with almost no line ends (its
    lines joined on the way out of a record system, a blank line left as two spaces) in which
    most spaces are single, so that a double space is a mark rather than a typing habit."""
    if len(text) <= 400 or text.count("\n") >= 3:
        return False
    gaps = len(_GAP.findall(text))
    return 0 < gaps and gaps * 5 < text.count(" ")


_GAP = re.compile(r"  +")
# A table's column gap (four spaces or more) and a sentence's end: a narrower gap in the same row
# as a column gap, no sentence ending between them, is a column gap too ("COMPONENT  LEFT  MEDIUM
# <7 spaces> QTY 1" once an implant log's rows were joined).
_COLUMN_GAP = re.compile(r"(?<![:\] ]) {4,}")  # not a field's gap before its value ("Margin:      Wide")
_ROW_STOP = re.compile(r"[.!?] ")


def _in_table_row(text: str, start: int, end: int, columns: list[int]) -> bool:
    i = bisect.bisect_left(columns, start)
    for k in (i - 1, i):
        if 0 <= k < len(columns):
            col = columns[k]
            lo, hi = (col, start) if col < start else (end, col)
            if hi - lo <= 40 and not _ROW_STOP.search(text, lo, hi):
                return True
    return False


# A Markdown table's separator row ("|------|:----:|"): its cells give the table's number of columns.
_MD_SEPARATOR = re.compile(r"\|(?:[ \t]*:?-{3,}:?[ \t]*\|){2,}")
_PIPE = re.compile(r"\|")
_BLANKS = re.compile(r"[ \t]*")
_BLANKS_BEFORE = re.compile(r"[ \t]*\Z")


def _joined_md_tables(text: str) -> tuple[list[tuple[int, int]], dict[int, int]]:
    """Markdown tables whose lines were joined ("| Item | Side | |---|---| | Stem | Left | | Plate |
    Right |"): the extent of each, and the white space between two of its rows (start -> end),
    found by counting cells: a row has as many as the separator row. The header is the row before
    the separator; the rows after it go on while the next one starts right after the last."""
    spans: list[tuple[int, int]] = []
    bounds: dict[int, int] = {}
    for sep in _MD_SEPARATOR.finditer(text):
        k = sep.group(0).count("|") - 1
        before = [p.start() for p in _PIPE.finditer(text, max(0, sep.start() - 600), sep.start())]
        if len(before) < k + 1 or text[before[-1] + 1:sep.start()].strip():
            continue
        start = before[-(k + 1)]
        rows = [(start, before[-1]), (sep.start(), sep.end() - 1)]
        while True:
            first = _BLANKS.match(text, rows[-1][1] + 1).end()  # type: ignore[union-attr]
            if not text.startswith("|", first):
                break
            pipes = [p.start() for p in _PIPE.finditer(text, first, min(len(text), first + 600))][:k + 1]
            if len(pipes) < k + 1 or "\n" in text[first:pipes[-1]]:
                break
            rows.append((first, pipes[-1]))
        for (_, end), (nxt, _) in zip(rows, rows[1:], strict=False):
            bounds[end + 1] = nxt
        lead = _BLANKS_BEFORE.search(text, max(0, start - 200), start)
        if lead and lead.start() > 0 and lead.start() < start and text[lead.start() - 1] != "\n":
            bounds[lead.start()] = start  # the table's title before it ("Implant Log | Item | ...")
        spans.append((start, rows[-1][1] + 1))
    if "| |" in text:
        _joined_md_rows(text, spans, bounds)
    return spans, bounds


# Two rows of a table joined by one space: the last pipe of one, then the first of the next.
_ROW_JOIN = re.compile(r"\| \|")


def _joined_md_rows(text: str, spans: list[tuple[int, int]], bounds: dict[int, int]) -> None:
    """Joined tables without a separator row ("| Diagnosis | Chondrosarcoma | | Laterality | Right
    | | Size | 14 x 8 x 7 cm |"): three rows or more in a row, each with as many pipes, one space
    apart. Adds each table's extent to ``spans`` and its row ends to ``bounds``."""
    joins = [m.start() for m in _ROW_JOIN.finditer(text) if not any(a <= m.start() < b for a, b in spans)]
    chain: list[int] = []
    width = 0
    for j in joins + [-1]:
        pipes = text.count("|", chain[-1] + 2, j + 1) if chain and j > 0 else 0
        if chain and j > 0 and "\n" not in text[chain[-1]:j] and pipes >= 3 and (width in (0, pipes)):
            chain.append(j)
            width = pipes
            continue
        if len(chain) >= 2:
            _add_joined_rows(text, chain, width, spans, bounds)
        chain, width = ([j], 0) if j >= 0 else ([], 0)


def _add_joined_rows(text: str, chain: list[int], width: int, spans: list[tuple[int, int]], bounds: dict[int, int]) -> None:
    line_start = text.rfind("\n", 0, chain[0]) + 1
    before = [p.start() for p in _PIPE.finditer(text, line_start, chain[0])]
    after = [p.start() for p in _PIPE.finditer(text, chain[-1] + 2, min(len(text), chain[-1] + 600))][:width]
    if len(before) < width - 1 or len(after) < width or "\n" in text[chain[-1]:after[-1]]:
        return
    for j in chain:
        bounds[j + 1] = j + 2
    spans.append((before[-(width - 1)], after[-1] + 1))


def _char_edits(text: str, breaks: bool) -> list[tuple[int, int, str]]:
    """What :func:`_char_pass` rewrites: (start, end, replacement) in ``text``, in order."""
    habit = breaks and _two_spaces_after_stops(text)
    columns = [c.start() for c in _COLUMN_GAP.finditer(text)] if breaks else []
    tables, bounds = _joined_md_tables(text) if breaks and "|" in text else ([], {})
    found: list[tuple[int, int, str]] = []
    for m in (_CHARS_ASCII_RE if text.isascii() else _CHARS_RE).finditer(text):
        run = m.group(0)
        if m.lastgroup == "ws" and tables and any(a <= m.start() < b for a, b in tables):
            # A joined table's row ends again, and the padding inside its cells one space.
            repl = "\n" if bounds.pop(m.start(), None) is not None else " "
        elif m.lastgroup == "ws":
            row = len(run) in (2, 3) and (
                (bool(columns) and _in_table_row(text, m.start(), m.end(), columns)) or (breaks and _BOX.match(text, m.end()) is not None)
            )
            repl = _space_for(run, breaks, habit and m.start() > 0 and text[m.start() - 1] in ".?!", row)
        else:
            repl = _PUNCT[run]
            i = m.start()
            if run == "\u00b7" and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
                repl = "."  # "1·5 cm": a decimal point in British print
        if repl != run:
            found.append((m.start(), m.end(), repl))
    found += [(a, b, "\n") for a, b in bounds.items()]  # a row end joined as one space
    return sorted(found)


def _char_pass(text: str, breaks: bool = False) -> Canonical:
    """Whitespace, line ends and typographic punctuation: only the stretches that need it are
    rewritten (a regular expression finds them; the text between is copied). With ``breaks``, a
    run of spaces is a line end (see :func:`_gaps_are_breaks`)."""
    b = _Builder(text)
    pos = 0
    for start, end, repl in _char_edits(text, breaks):
        if start > pos:
            b.copy(text[pos:start])
        b.rewrite(start, end, repl)
        pos = end
    if pos < len(text):
        b.copy(text[pos:])
    edits = tuple(b.edits)
    return Canonical("".join(b.parts), text, edits, tuple(e[0] for e in edits))


def _compose(first: Canonical, text: str, second: list[tuple[int, int, int, int]]) -> Canonical:
    """``text`` made from ``first.text`` by the rewrites ``second``, mapped to ``first.original``.

    A rewrite of the second pass takes its original extent through the first pass's map; the
    first pass's rewrites outside it are kept, shifted by what the second pass added before them.
    """
    out: list[tuple[int, int, int, int]] = []
    firsts = first._edits
    j, delta = 0, 0
    for cs, ce, ms, me in second:
        while j < len(firsts) and firsts[j][1] <= ms and firsts[j][0] <= ms:
            a, b, c, d = firsts[j]
            out.append((a + delta, b + delta, c, d))
            j += 1
        while j < len(firsts) and firsts[j][0] < me:
            j += 1  # swallowed by this rewrite
        os_, oe = first.to_original(ms, me)
        out.append((cs, ce, os_, oe))
        delta += (ce - cs) - (me - ms)
    for a, b, c, d in firsts[j:]:
        out.append((a + delta, b + delta, c, d))
    return Canonical(text, first.original, tuple(out), tuple(e[0] for e in out))


def _apply(c: Canonical, found: list[tuple[int, int, str]]) -> Canonical:
    """``c`` with the rewrites ``found`` (start, end, replacement) applied, in order, non-overlapping."""
    text = c.text
    found.sort()
    parts: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    pos = length = 0
    for s, e, repl in found:
        if s < pos or text[s:e] == repl:
            continue
        parts.append(text[pos:s])
        length += s - pos
        edits.append((length, length + len(repl), s, e))
        parts.append(repl)
        length += len(repl)
        pos = e
    if not edits:
        return c
    parts.append(text[pos:])
    return _compose(c, "".join(parts), edits)


def _word_trie_pattern(phrases: set[str]) -> str:
    """One pattern for phrases of words, shared leading words factored out, longer words and
    longer phrases tried first: it matches what the flat alternation of the phrases, longest
    first, matches, without trying every phrase at every line."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for p in phrases:
        node = trie
        for w in p.split():
            node = node.setdefault(w, {})
        node[""] = {}

    def build(node: dict) -> str:  # type: ignore[type-arg]
        words = sorted((w for w in node if w), key=lambda w: (-len(w), w))
        alts = []
        for w in words:
            sub = node[w]
            rest = build(sub) if any(k for k in sub) else ""
            if rest:
                rest = r"\s+" + rest
                alts.append(re.escape(w) + ("(?:" + rest + ")?" if "" in sub else rest))
            else:
                alts.append(re.escape(w))
        return "(?:" + "|".join(alts) + ")"

    return build(trie)


@lru_cache(maxsize=1)
def _heading_re() -> re.Pattern[str]:
    phrases = {" ".join(p.lower().split()) for g in rule_files.sections().sections for p in g.phrases}
    alts = _word_trie_pattern(phrases)
    marker = r"(?:(?:[ivx]{1,4}|\d{1,2}|[a-h])[.)]\s*|\d{1,2}[ \t]*\|[ \t]*|[-*]\s+|#+\s*)?"
    return re.compile(rf"^[ ]*{marker}(?P<head>{alts})(?![\w(/-])(?P<after>[^\n]{{0,60}})", re.IGNORECASE | re.MULTILINE)


@lru_cache(maxsize=1)
def _heading_folded() -> re.Pattern[str]:
    """Where :func:`_heading_re` may match, in the lower-cased text (see :func:`opnote._regex.finditer_folded`)."""
    return re.compile(_heading_re().pattern, re.MULTILINE)


@lru_cache(maxsize=1)
def _heading_categories() -> dict[str, str]:
    """Each heading phrase, in lower case with single spaces, and its section category."""
    return {" ".join(p.lower().split()): g.category for g in rule_files.sections().sections for p in g.phrases}


def _heading_category(head: str) -> str | None:
    return _heading_categories().get(" ".join(head.lower().split()))


@lru_cache(maxsize=1)
def _heading_phrases() -> frozenset[str]:
    return frozenset(_heading_categories())


_TAIL_WORD = re.compile(r"[A-Za-z][A-Za-z()/&'.-]*")


def _heading_before(text: str, lo: int, hi: int) -> tuple[int, str] | None:
    """The heading phrase that ends ``text[lo:hi]`` (before a colon), as (start, phrase text)."""
    words = [(m.start(), m.end()) for m in _TAIL_WORD.finditer(text, lo, hi)][-6:]
    if not words or text[words[-1][1]:hi].strip():
        return None
    phrases = _heading_phrases()
    for k in range(len(words), 0, -1):
        start = words[-k][0]
        candidate = " ".join(text[start:hi].lower().split())
        if candidate in phrases and (start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "-_")):
            return start, text[start:hi].rstrip()
    return None


_COLON = re.compile(r"[ \t]*:|[ \t]+colon\b", re.IGNORECASE)
_COLON_FOLDED = re.compile(r":|[ \t]colon\b")


def _drop_marker(text: str, m: re.Match[str], found: list[tuple[int, int, str]]) -> None:
    """A list marker before a heading ("II. PROCEDURE:", "1) Findings:") says nothing: drop it."""
    line_start = m.start()
    marker_end = m.start("head")
    if text[line_start:marker_end].strip():
        found.append((line_start, marker_end, ""))


def _heading_case_ok(head: str) -> bool:
    words = [w for w in re.split(r"[\s/]+", head) if w and w[0].isalpha()]
    if head.isupper():
        return True
    return len(words) >= 2 and all(w[0].isupper() for w in words if w.lower() not in {"of", "the", "for", "and", "to", "in", "at", "with"})


def _in_capitals(text: str) -> bool:
    """Whether a note is written in capitals alone (it has letters, none of them lower case)."""
    return text.upper() == text and any(ch.isalpha() for ch in text)


def _heading_pass(c: Canonical, gap_lines: bool = False) -> Canonical:
    """Give a heading without a colon one: alone on its line in any case, before a colon a few words
    on ("Indications / discussion with family:"), or in Title Case or capitals before its content
    ("Procedure Performed Radical resection ..."). The section rules then see every heading alike."""
    if gap_lines:
        # first, so that a field label given its line is then read as a heading at a line start
        c = _apply(c, _joined_colon_gaps(c) + _joined_field_list(c.text))
    found: list[tuple[int, int, str]] = []
    lower = fold(c.text)
    at_line_start = finditer_folded(_heading_re(), _heading_folded(), c.text, lower)
    shouted = _in_capitals(c.text)  # a note in capitals: capitals mark no title
    # A note with most of its spaces doubled has no gaps that mean a field.
    spaced = c.original.count("  ") * 3 > c.original.count(" ")
    for m in at_line_start:
        edits = _line_start_heading(c.text, m, gap_lines, shouted)
        if not edits and not spaced and _field_gap(c, m):
            edits = [(m.end("head"), m.end("head"), ":")]
            _drop_marker(c.text, m, edits)
        found += edits
    joined = c.original.count("\n") < 3 and len(c.original) > 400
    found += _inline_headings(c.text, [(m.start("head"), m.end("head")) for m in at_line_start], joined, lower, shouted)
    if joined:
        found += _joined_headings(c.text, {f[0] for f in found})
        found += _joined_leaders(c.text, {f[0] for f in found})
    if gap_lines:
        found += _joined_field_gaps(c, {f[0] for f in found})
    if not c.text.startswith("\n"):
        found.append((0, 0, "\n"))  # every heading, the first line's too, starts a line
    out = _apply(c, found) if found else c
    return _apply(out, _joined_list_items(out.text)) if gap_lines else out


def _joined_field_gaps(c: Canonical, taken: set[int]) -> list[tuple[int, int, str]]:
    """A two-column form whose lines were joined ("... 12 cm from the joint line Frozen section
    <gap> Not performed - ..."): the gap after a known heading in the middle of a line parted a
    field from its value, not two paragraphs. The heading gets its line, the gap becomes its colon."""
    text = c.text
    found: list[tuple[int, int, str]] = []
    for nl in re.finditer(r"\n(?=[^\n])", text):
        pos = nl.start()
        lo = text.rfind("\n", 0, pos) + 1
        hit = _heading_before(text, max(lo, pos - 60), pos)
        if hit is None or hit[0] <= lo or hit[0] in taken or not hit[1][:1].isupper():
            continue
        gap = c.original_text(pos, pos + 1)
        if len(gap) < 2 or gap.strip(" \t"):
            continue  # a line end in the note as written, or one space
        found.append((hit[0], hit[0], "\n"))
        found.append((pos, pos + 1, ": "))
    return found


# A form's field label before its colon: a capitalized word and up to three lower-case ones
# ("Bone resected", "Post-operative", "Tumor size"), the last capitalized word before the colon.
_FIELD_LABEL = re.compile(r"(?<![\w-])[A-Z][A-Za-z-]*(?: [a-z][a-z-]*){0,3}$")
_COLON_GAP = re.compile(r":((?:[ \t]*\n){1,4}[ \t]*)(?=\S)")


def _joined_colon_gaps(c: Canonical) -> list[tuple[int, int, str]]:
    """A form's fields whose lines were joined ("... abutting the femoral shaft Bone resected:   No
    Resection length: N/A"): the gap after a field's colon parted its label from its value, not two
    paragraphs. The value stays on the label's line, and a label in the middle of a line gets its own."""
    text = c.text
    found: list[tuple[int, int, str]] = []
    for m in _COLON_GAP.finditer(text):
        pos, end = m.span(1)
        gap = c.original_text(pos, end)
        if len(gap) < 2 or "\n" in gap or "\r" in gap:
            continue  # a line end in the note as written, or one space (a gap may hold blanked boxes)
        lo = text.rfind("\n", 0, pos) + 1
        start = _label_start(text, max(lo, m.start() - 60), m.start())
        if start is None:
            continue
        if start > lo:
            found.append((start, start, "\n"))
        found.append((pos, end, " "))
    return found


# A dash list after a heading's colon on a line that joined several ("Procedure: - Wide resection
# ... tendon - Extensor mechanism reconstruction"): each dash before a capital, a digit or bold
# type starts an item.
_LIST_START = re.compile(r":([ \t]*)- (?=\S)")
# The space before an item behind each list mark: the mark, then a capital, a digit or bold type.
_ITEM_AFTER = {mark: re.compile(" (?=" + re.escape(mark) + r" [A-Z0-9*(\[])") for mark in "-*\u2022"}
_LIST_DASH = _ITEM_AFTER["-"]


def _joined_list_items(text: str) -> list[tuple[int, int, str]]:
    """The line ends of a heading's dash list whose lines were joined: every item on its line again,
    so that one item's words are not read in the sentence of the next."""
    found: list[tuple[int, int, str]] = []
    for m in _LIST_START.finditer(text):
        hi = text.find("\n", m.end())
        hi = len(text) if hi < 0 else hi
        found.append((m.start(1), m.end(1), "\n"))
        found += [(d.start(), d.end(), "\n") for d in _LIST_DASH.finditer(text, m.end(), hi)]
    return found


# A dash or bullet before a field's label ("... by surgeon - Anticoagulation: enoxaparin ...",
# "... 2 g * Staging: CT chest ..."): an item of a list of fields whose lines were joined.
_FIELD_BULLET = re.compile(r" (?=([-*\u2022]) [A-Z][A-Za-z0-9/&()'-]*(?: [A-Za-z0-9/&()'-]+){0,4}:[ \t])")


def _joined_field_list(text: str) -> list[tuple[int, int, str]]:
    """A list of fields whose lines were joined ("- Site marking: RIGHT distal thigh - Blood: 2 units
    - Special positioning considerations: LEFT total hip arthroplasty"): on a line with at least
    two such items behind the same mark, every item gets its line again, before headings are
    read, so that a field that names a heading starts its section and one item's side is not read
    in another's."""
    found: list[tuple[int, int, str]] = []
    for line in re.finditer(r"[^\n]+", text):
        items: dict[str, list[int]] = {}  # where each mark's field items start on the line
        for b in _FIELD_BULLET.finditer(text, line.start(), line.end()):
            items.setdefault(b.group(1), []).append(b.start())
        for mark, starts in items.items():
            if len(starts) >= 2:
                found += [(d.start(), d.end(), "\n") for d in _ITEM_AFTER[mark].finditer(text, starts[0], line.end())]
    return found


def _label_start(text: str, lo: int, colon: int) -> int | None:
    """Where the field label before the colon at ``colon`` starts: a known heading, else the last
    capitalized word with at most three lower-case words after it."""
    hit = _heading_before(text, lo, colon)
    if hit is not None:
        return hit[0]
    label = _FIELD_LABEL.search(text, lo, colon)
    return label.start() if label else None


def _field_gap(c: Canonical, m: re.Match[str]) -> bool:
    """A heading that a gap of spaces or a tab parted from its value in the note as written
    ("Procedure    Extended curettage ...", a typed form's columns): the character pass made the
    gap one space; the note had a field there."""
    end = m.end("head")
    if not re.match(r" [A-Za-z0-9(\[]", c.text[end:end + 2]):
        return False
    gap = c.original_text(end, end + 1)
    return gap == "\t" or (len(gap) >= 2 and not gap.strip(" \t"))


_DOT_LEADER = re.compile(r"[ \t]*\.{2,}[ \t]*:?(?=[ \t]+\S)")


def _line_start_heading(text: str, m: re.Match[str], gap_lines: bool, shouted: bool = False) -> list[tuple[int, int, str]]:
    """The edits for a heading that starts its line: its colon, and its list marker dropped."""
    found: list[tuple[int, int, str]] = []
    after = m.group("after")
    stripped = after.lstrip(" ")
    end = m.end("head")
    colon_word = re.match(r"[ \t]+colon\b", after, re.I)
    leader = _DOT_LEADER.match(after)
    if leader:
        found.append((end, end + leader.end(), ":"))  # "PROCEDURE DONE ..... Wide resection": a form's dot leader
    elif stripped.startswith(":") or colon_word or stripped.startswith("-"):
        if colon_word:
            found.append((end, end + colon_word.end(), ":"))  # dictated "procedure colon"
        elif re.match(r" +- ", after):
            found.append((end, end, ":"))  # "Diagnoses - Preoperative: ...": a dash for a colon
    elif text[m.start():m.start("head")].lstrip().startswith("#") or _takes_colon(m.group("head"), after, stripped, gap_lines, shouted):
        # a Markdown heading ("## Specimen") is one whatever follows it on its line
        found.append((end, end, ":"))
    else:
        return found
    _drop_marker(text, m, found)
    return found


# In a note in capitals, a heading's word that a verb follows opens a sentence, not a field: at once
# ("FINDINGS WERE ..."), or after one more word when the heading's word is also a common noun
# ("LIMB SALVAGE WAS ...", not "INDICATIONS PATIENT IS ...").
_VERBS = r"(?:WAS|WERE|IS|ARE|HAS|HAD|HAVE|WILL|WOULD|CAN|COULD|SHOULD|MAY|MIGHT)\b"
_SHOUTED_VERB = re.compile(r" +" + _VERBS)
_SHOUTED_PROSE = re.compile(r" +[A-Z][A-Z'-]* +" + _VERBS)
# ... and a one-word heading's word that a preposition or conjunction follows ("HISTORY OF SOFT-TISSUE
# SARCOMA", "CONSENT FOR SURGERY WAS ...").
_SHOUTED_LINK = re.compile(r" +(?:OF|FOR|TO|WITH|AND|OR|BY|FROM)\b")


# A heading's word that names what was done, carried on by a preposition to its colon, is one longer
# label ("Reconstruction of the extensor mechanism: ...", "Frozen section of the distal marrow
# margin: negative"): no colon after the heading's word ("Side of lesion:" keeps its field).
_LABEL_GOES_ON = re.compile(r"[ \t]+(?:of|for|to|with|from)\b", re.I)
_NAMES_A_PROCEDURE = {"reconstruction", "frozen_section"}


def _takes_colon(head: str, after: str, stripped: str, gap_lines: bool, shouted: bool = False) -> bool:
    """Whether a heading at the start of its line, without a colon, is a heading before its content
    (``shouted``: the whole note is in capitals)."""
    if not shouted and " " not in head.strip() and stripped.isupper() and len(stripped.split()) <= 3 and not stripped.endswith(":"):
        return False  # "OPERATION RECORD": a document title, not a heading before its content
    if re.match(r" +(?:note|notes|report|record|summary)\b", after, re.I) and not re.match(r" +\w+\s*:", after):
        return False  # "OPERATION NOTE - RETURN TO THEATRE": the document's title
    if not stripped or re.fullmatch(r"\([^()]{1,40}\)\s*", stripped):
        return True  # alone on its line, or with a remark: "Implant log (scanned)"
    if re.match(r"^[^.;:]{1,50}:", after) and not re.match(r"^\s*[a-z]+\s+(?:was|were|is|are|has|had)\b", after) and not (_LABEL_GOES_ON.match(after) and _heading_category(head) in _NAMES_A_PROCEDURE):
        return True
    if shouted and (_SHOUTED_VERB.match(after) or (head.strip().lower() not in STRONG_HEADINGS and _SHOUTED_PROSE.match(after))
                    or (" " not in head.strip() and _SHOUTED_LINK.match(after))):
        return False  # "LIMB SALVAGE WAS JUDGED IMPOSSIBLE", "HISTORY OF SARCOMA": a sentence that opens with a heading's word
    if _heading_case_ok(head) and re.match(r"^ +[A-Z0-9(\[#]", after) and (head.isupper() or " " in head.strip()):
        return True
    # Lines recovered from a joined note: "procedure Extended curettage ..." was a heading on a
    # line of its own before the lines were joined.
    return gap_lines and re.match(r"^ +[A-Z0-9(\[#]", after) is not None


# Single-word headings that prose does not use with a colon after a full stop ("... Same.
# Procedure: ..." in a note whose lines were joined); "Operation:" or "Technique:" may be prose.
STRONG_HEADINGS = {"procedure", "procedures", "diagnosis", "findings", "specimen", "specimens", "implants", "indications",
                   "indication", "consent", "complications", "disposition", "anesthesia", "ebl", "drains", "attestation",
                   "addendum", "pathology", "imaging", "laterality", "dx", "op", "ind", "asst", "plan", "closure", "recon",
                   "proc", "surgeon", "surgeons", "assistant", "assistants"}


# A field's value in capitals right before a heading on the same line ("Anesthesia: GETA EBL:").
_FIELD_VALUE_BEFORE = re.compile(r":[ \t]+(?:[A-Z][A-Z/&-]+[ \t]+)+\Z")
_JOINED_HEAD = re.compile(r"(?:^|(?<=[.;:!?])|(?<=\bperiod))[ ]+(?=[A-Z])")


def _joined_headings(text: str, taken: set[int]) -> list[tuple[int, int, str]]:
    """A note whose lines were all joined: a known heading after a full stop, in Title Case or
    capitals and followed by its content ("... stable. Procedure Performed Radical resection ..."),
    gets its line and its colon back."""
    phrases = _heading_phrases()
    found: list[tuple[int, int, str]] = []
    for m in _JOINED_HEAD.finditer(text):
        start = m.end()
        if start in taken:
            continue
        words = [(w.start(), w.end()) for w in _TAIL_WORD.finditer(text, start, min(len(text), start + 60))][:5]
        for k in range(len(words), 0, -1):
            end = words[k - 1][1]
            head = text[start:end]
            if " ".join(head.lower().split()) not in phrases:
                continue
            # A heading of several words may be in sentence case ("Procedure details Patient
            # supine ..."): prose does not put a heading phrase before a capitalised word.
            rest = text[end:end + 3]
            dash = rest.startswith(" - ")  # "Reconstruction - Femoral canal reamed": a list follows
            if not (head.isupper() or _heading_case_ok(head) or k > 1 or dash or head.lower() in STRONG_HEADINGS):
                continue
            if rest.startswith(":") or re.match(r" (?:[A-Z0-9(]|- )", rest):
                found.append((start, start, "\n"))
                if not rest.startswith(":"):
                    found.append((end, end, ":"))
            break
    return found


_MID_LEADER = re.compile(r"[ \t]*\.{2,}[ \t]*:?(?=[ \t]+\S)")


# A form's own field name in capitals before a long dot leader ("... cm TUMOR SIZE (imaging) ....
# 9.4 cm"): one to four words, the last may be a remark in brackets.
_CAPS_FIELD = re.compile(r"(?<![\w(])(?:[A-Z][A-Z/&-]+[ \t]+){0,3}[A-Z][A-Z/&-]+(?:[ \t]+\([^()\n]{1,20}\))?[ \t]*\Z")


def _caps_field_before(text: str, lo: int, leader: re.Match[str]) -> tuple[int, str] | None:
    """A field name in capitals, known as a heading or not, before a leader of four dots or more."""
    if leader.group(0).count(".") < 4:
        return None
    m = _CAPS_FIELD.search(text, lo, leader.start())
    return (m.start(), m.group(0).rstrip()) if m else None


def _joined_leaders(text: str, taken: set[int]) -> list[tuple[int, int, str]]:
    """A note whose lines were all joined: a form's field written with a dot leader mid-line
    ("... Excised in continuity Frozen section ........ Performed: No") gets its line back, and
    its leader becomes the colon, as at the start of a line. The field must be a known heading,
    and with a short leader of two or three dots in capitals or after a full stop."""
    found: list[tuple[int, int, str]] = []
    for m in _MID_LEADER.finditer(text):
        lo = max(0, m.start() - 60, text.rfind("\n", 0, m.start()) + 1)
        hit = _heading_before(text, lo, m.start()) or _caps_field_before(text, lo, m)
        if hit is None or hit[0] in taken:
            continue
        start = hit[0]
        if m.group(0).count(".") < 4 and not (hit[1].isupper() or re.search(r"[.;!?][ \t]*$", text[max(0, start - 3):start])):
            continue  # two or three dots: a heading in capitals or after a full stop ("45 Gy. POST-OP DIAGNOSIS .. Same")
        if start > 0 and text[start - 1] != "\n":
            found.append((start, start, "\n"))
        found.append((m.start(), m.end(), ":"))
    return found


# A title in capitals right before a heading in Title case, lines joined ("REVISION R DFR Hx: 27M"):
# the title's line ended there.
_CAPS_TITLE_BEFORE = re.compile(r"\b[A-Z]{2,}(?:[ \t]+[A-Z0-9]+)+[ \t]+\Z")


# An article or a preposition just before a heading's words makes them a noun phrase of a sentence.
_ARTICLE_BEFORE = re.compile(r"(?<![\w'/.-])(?:a|an|the|no|any|of|for|to|this|that|his|her|their|our)[ \t]+\Z", re.I)


def _inline_headings(
    text: str, at_line_start: list[tuple[int, int]], joined: bool = False, lower: str | None = None, shouted: bool = False,
) -> list[tuple[int, int, str]]:
    """A heading dictated or joined mid-line gets a line of its own: in capitals ("... Same.
    PROCEDURE: ..."), spoken ("... period procedure colon ..."), or of several words after a full
    stop. A single Title-case word with a colon inside prose ("Operation: scraping out the lesion"
    in a consent paragraph) stays prose."""
    found: list[tuple[int, int, str]] = []
    for colon in finditer_folded(_COLON, _COLON_FOLDED, text, lower, " \t"):
        lo = max(0, colon.start() - 60, text.rfind("\n", 0, colon.start()) + 1)
        hit = _heading_before(text, lo, colon.start())
        if hit is None or hit[0] == 0 or text[hit[0] - 1] == "\n":
            continue
        start, head = hit
        spoken = colon.group(0).strip().lower() == "colon"
        if any(s <= start < e for s, e in at_line_start):
            continue  # the tail of a heading that starts its line ("PREOPERATIVE DIAGNOSIS:")
        if head.isupper() and re.search(r"\b[A-Z][A-Z/&-]+\s+$", text[max(0, start - 30):start]) and not _FIELD_VALUE_BEFORE.search(text, max(0, start - 40), start):
            continue  # inside a longer run of capitals (not the value of the field before it: "Anesthesia: GETA EBL: 1,600 mL")
        if _ARTICLE_BEFORE.search(text, max(0, start - 8), start):
            continue  # "WE DID NOT SEND A FROZEN SECTION: THE DIAGNOSIS ...": a noun phrase inside a sentence
        if text[max(0, start - 3):start].endswith("\n") or re.search(r"\n[ ]*(?:(?:[ivx]{1,4}|\d{1,2}|[a-h])[.)]\s*|[-*#]+\s*)?$", text[max(0, start - 8):start], re.I):
            continue
        # In a note in capitals every word is in capitals: a single word that is no strong heading
        # starts a field mid-line only after a stop or a field's value ("... SENT FOR FROZEN SECTION
        # - REPORT: NO TUMOR" stays one sentence).
        strong = " " in head.strip() or head.lower() in STRONG_HEADINGS
        stopped = re.search(r"[.;]\s*$", text[max(0, start - 3):start]) is not None
        caps = head.isupper() and len(head) > 2 and (
            not shouted or strong or stopped or _FIELD_VALUE_BEFORE.search(text, max(0, start - 40), start) is not None
        )
        after_stop = strong and bool(re.search(r"(?:[.;]|\bperiod)\s*$", text[max(0, start - 12):start]))
        # All lines joined: a heading in Title Case with its colon is a heading wherever it stands.
        # ... and a single Title-case heading word with its colon right after a full stop
        # ("Same. Operation: Right above-knee amputation").
        stop_before = stopped or (joined and _CAPS_TITLE_BEFORE.search(text, max(0, start - 40), start) is not None)
        titled = joined and head[:1].isupper() and (strong or stop_before)
        if spoken or caps or after_stop or titled:
            found.append((start, start, "\n"))
            if spoken:
                found.append((colon.start(), colon.end(), ":"))
    return found


# A side written as one letter before a limb ("l distal femur", "r) knee"): in capitals, as the side
# rules read it; lower case is how a note typed or converted in lower case leaves it.
_SIDE_LETTER = re.compile(
    r"([rl])(?<![\w/'.][rl])(?=[).]?\s+(?:distal|proximal|mid|femur|femoral|knee|thigh|leg|lower|le\b|tibia|tibial|hip|patella|fibula|"
    r"fibular|groin|limb|extremity|side|sided)\b)"
)
# A side written short before a limb or as a field's value ("Rt. distal femur", "Lt knee",
# "Laterality: Rt."): the side word itself, so that every rule reads one spelling.
_SIDE_SHORT = re.compile(
    r"([rl]t)(?<![\w/'.-][rl]t)\.?(?:(?=[ \t]+(?:distal|proximal|mid|femur|femoral|knee|thigh|leg|lower|le\b|tibia|tibial|hip|patella|fibula|"
    r"fibular|groin|limb|extremity|side|sided|sd)\b)|(?<=:[ \t]rt)(?=\.?[ \t]*$)|(?<=:[ \t]lt)(?=\.?[ \t]*$))",
    re.MULTILINE,
)
_SIDE_SHORT_I = re.compile(_SIDE_SHORT.pattern, re.IGNORECASE | re.MULTILINE)  # for a note lower-casing changes in length
# "MRS. FATHIMA ...", "RE: MRS HONORA DELACOURT": a title before a name (in a note in capitals),
# not the modular resection system. Without its dot, "MRS" is a title when no article, maker or
# number stands before it and the word after it is no implant, anatomy or verb word ("THE MRS WAS
# CEMENTED", "STRYKER MRS DISTAL FEMUR" keep the implant).
_MRS_NOT_NAME = (
    r"(?:DISTAL|PROXIMAL|TOTAL|FEMOR\w*|FEMUR|TIBIA\w*|KNEE|HIP|\w*PROSTHE\w*|IMPLANT\w*|COMPONENT\w*|SYSTEM\w*|STEMS?|"
    r"BODY|SEGMENT\w*|MODULAR|REPLACEMENT\w*|RECONSTRUCTION\w*|HINGE\w*|ROTATING|CEMENT\w*|PRESS\w*|UNCEMENTED|"
    r"INTERCALARY|DEVICE\w*|TRIALS?|CONSTRUCT\w*|[DP][FT]R|TUMOU?R|KIT|WAS|WERE|IS|WITH|AND|OR|IN|TO|OF|AT|ON|FOR)\b"
)
_TITLE_MRS = re.compile(
    r"\bMRS\.(?=[ \t]+[A-Z])|(?<=PATIENT[:\t ])[ \t]*MRS\b|(?<=PT[:\t ])[ \t]*MRS\b|(?<=NAME[:\t ])[ \t]*MRS\b"
    r"|(?<![\w(/-])(?<!\bTHE )(?<!\bA )(?<!\bAN )(?<!STRYKER )(?<!HOWMEDICA )(?<!\d )(?<!CM )(?<!MM )MRS(?=[ \t]+(?!" + _MRS_NOT_NAME + r")[A-Z][A-Z'-]+\b)"
)
_PLURAL_MARK = re.compile(r"\((?<=[A-Za-z]\()(?:s|es)\)", re.IGNORECASE)  # "(" first: the search skips to it
# Markdown bold around words ("**Frozen section:** none sent"), as AI documentation assistants
# write it: the two asterisks go, so a field reads as the same field typed plainly. A run of three
# or more ("***", an unfilled blank) is left alone.
_MD_BOLD = re.compile(r"(?<![*\w])\*\*(?=[^\s*])|(?<=[^\s*])\*\*(?![*\w])")


# A heading in square brackets at the start of its line, as EMR forms print their fields
# ("[Operation name] Wide resection ...", "[Specimen]" alone on its line, "[ CONSENT ]" padded).
_BRACKET_HEAD = re.compile(r"^[ \t]*(\[[ \t]?)([A-Za-z][A-Za-z /&().'-]{0,48}?)([ \t]?\]:?)", re.MULTILINE)


@lru_cache(maxsize=1)
def _short_heading_re() -> re.Pattern[str] | None:
    shorts = rule_files.normalization().heading_abbreviations
    if not shorts:
        return None
    alts = "|".join(re.escape(k) for k in sorted(shorts, key=len, reverse=True))
    return re.compile(rf"^([ \t]*)({alts})(?=[ \t]*:)", re.MULTILINE)


def _short_headings(text: str) -> list[tuple[int, int, str]]:
    """A heading written short before its colon ("IC:") reads as the heading in full."""
    short = _short_heading_re()
    if short is None:
        return []
    full = rule_files.normalization().heading_abbreviations
    return [(m.start(2), m.end(2), full[m.group(2)]) for m in short.finditer(text)]


def _bracket_headings(text: str) -> list[tuple[int, int, str]]:
    """A known heading in square brackets reads as the heading with its colon."""
    if "[" not in text:
        return []
    phrases = _heading_phrases()
    found: list[tuple[int, int, str]] = []
    for m in _BRACKET_HEAD.finditer(text):
        if " ".join(m.group(2).lower().split()) in phrases:
            found += [(m.start(1), m.end(1), ""), (m.start(3), m.end(3), ":")]
    return found


def _marks(text: str) -> list[tuple[int, int, str]]:
    """The rewrites of marks around words: "(s)", a side letter, Markdown bold, "MRS" as a title,
    a heading in square brackets or written short."""
    found: list[tuple[int, int, str]] = [(m.start(), m.end(), m.group(0)[1:-1]) for m in _PLURAL_MARK.finditer(text)]
    found += _short_headings(text) + _bracket_headings(text)
    found += [(m.start(), m.end(), m.group(1).upper()) for m in _SIDE_LETTER.finditer(text)]
    if "**" in text:
        found += [(m.start(), m.end(), "") for m in _MD_BOLD.finditer(text)]
    if "MRS" in text:
        found += [(m.start(), m.end(), m.group(0).replace("MRS", "Mrs")) for m in _TITLE_MRS.finditer(text)]
    return found


@lru_cache(maxsize=1)
def _limb_before() -> re.Pattern[str]:
    """A limb word that ends just before a short side form, in lower case."""
    limbs = _trie_pattern({w.lower() for w in rule_files.normalization().side_after_limb_words} or {"limb"})
    # "femoris distalis l.sin.": a Latin "lateris" before the side word
    return re.compile(rf"(?<![\w-]){limbs}(?:[ \t]+(?:distal|proximal|distale|prossimale|distalis|proximalis))?[ \t]*(?P<open>[:(]?)[ \t]*(?P<lat>l\.[ \t]?)?\Z")


# A period after a short side form that the sentence goes on after (a lower-case word or a comma).
_ABBREVIATION_STOP = re.compile(r"\.(?=[ \t]*(?:[a-z,;:)(]|$))", re.M)


# A side already said just before the limb ("right knee sx" is the knee's symptoms, not its side).
_SIDE_BEFORE_LIMB = re.compile(r"\b(?:right|left|rt|lt|r|l|bilateral)\b[^\n.;]{0,25}$", re.IGNORECASE)


def _side_after_limb(text: str, lower: str, start: int, end: int) -> tuple[int, int, str] | None:
    """A side written short in another language right after the limb ("femore dx", "fêmur E",
    "fémur (izq.)", "Lado: D"): the side word, so that every rule reads one spelling (rule data:
    ``side_after_limb``). A one-letter side counts only in capitals or in brackets ("femur e tibia"
    is "femur and tibia"), and none counts after a limb whose side was just said. The word pass
    finds the short forms with its other words; the limb is looked for just before each."""
    if len(lower) != len(text) or (end < len(text) and text[end] == "-"):
        return None
    limb = _limb_before().search(lower, max(0, start - 40), start)
    if limb is None:
        return None
    short = text[start:end]
    if len(short) == 1 and not (short.isupper() or limb.group("open") == "("):
        return None
    if _SIDE_BEFORE_LIMB.search(text, max(0, limb.start() - 30), limb.start()):
        return None
    if limb.group("lat"):
        start = limb.start("lat")  # "l.dx.": the Latin "lateris" goes with its side word
    if _ABBREVIATION_STOP.match(text, end):
        end += 1  # "femur sin. for osteosarcoma": the abbreviation's period ends no sentence
    # "-sided": a side after its limb is never the verb ("a cuff left with the tumor")
    return start, end, _same_case(short, rule_files.normalization().side_after_limb[short.lower()] + "-sided")


def _word_pass(c: Canonical) -> Canonical:
    """Spelling variants and dictated phrases, in one pass: a regular expression finds the words that
    have a variant or start a phrase (in the lower-cased note, where the pattern needs no
    IGNORECASE), and a phrase is tried only where its first word stands."""
    r = _rules()
    text = c.text
    # "Procedure(s):" tokenizes as "Procedure(s" + "):"; the plural reads the same to a rule.
    found = _marks(text)
    lower = text.lower()
    # "Rt." / "LT": found in the lower-cased note (same length) with the pattern written in lower case
    for m in _SIDE_SHORT.finditer(lower) if len(lower) == len(text) else _SIDE_SHORT_I.finditer(text):
        short = text[m.start(1):m.end(1)]
        found.append((m.start(), m.end(), _same_case(short, "right" if short.lower() == "rt" else "left")))
    if lower == text and r.abbrevs_re is not None:
        # A note without a single capital: its abbreviations get their capitals back ("fs" -> "FS"),
        # as the lexicon matches the ambiguous ones only as written.
        found += [(m.start(), m.end(), m.group(0).upper()) for m in r.abbrevs_re.finditer(text)]
    side_forms = rule_files.normalization().side_after_limb
    keys = r.keys_re if len(lower) == len(text) else r.keys_re_i
    taken_until = -1
    if keys is not None:
        for m in keys.finditer(lower if keys is r.keys_re else text):
            start, end = m.start(), m.end()
            if start < taken_until:
                continue
            low = lower[start:end]
            side = _side_after_limb(text, lower, start, end) if low in side_forms else None
            if side is not None:
                found.append(side)
                continue
            phrase = r.by_first.get(low)
            hit = phrase.match(text, start) if phrase is not None else None
            if hit is not None:
                key = " ".join(hit.group(0).lower().split())
                if key in r.phrases:
                    found.append((start, hit.end(), _same_case(hit.group(0), r.phrases[key])))
                    taken_until = hit.end()
                    continue
            repl = r.words.get(low)
            if repl is not None and not (end < len(text) and text[end] in "-_"):
                found.append((start, end, _same_case(text[start:end], repl)))
    return _apply(c, found) if found else c


# A line end before a line that goes on in lower case, in brackets in lower case ("(proximal tibial
# resection ...)", not a list letter "(a)") or with a number ("12.5 cm", "2016"), not with a list
# number ("2.", "10)").
_WRAP = re.compile(r"\n(?<![.:!?|\n]\n)(?=[a-z]|\([a-z]{2,}[ ,]|\d+\.\d|\d+(?![.)\d])[^\n])")


def _unwrap_pass(c: Canonical) -> Canonical:
    """Join hard-wrapped lines: a long line that stops mid-sentence, and a next line that goes on
    in lower case or with a number ("...treated in\n2016 with chemotherapy"). Lists, headings and
    sentences that end stay on their own lines."""
    text = c.text
    # A note in capitals has no lower case to go on: a next line goes on unless it opens a field
    # ("PROCEDURE: ...", "EBL 200 ML") or a list
    shouted = _in_capitals(text)
    # ... nor one in lower case alone: every line goes on in lower case there (read on the note as
    # it came: the word pass writes a few abbreviations in capitals, "ebl" as "EBL").
    flat = shouted or text.lower() == text or c.original.lower() == c.original
    # The line that stops must be at least 40 characters long (checked here, not by a look-behind
    # the regular expression would try at every character).
    found = [
        (m.start(), m.end(), " ") for m in _WRAP.finditer(text.lower() if shouted else text)
        if text.rfind("\n", m.start() - 40, m.start()) < 0 and m.start() >= 40
        and not (flat and (_OPENS_FIELD.match(text, m.end()) or _gap_field_at(c, m.end())))
    ]
    return _apply(c, found) if found else c


def _gap_field_at(c: Canonical, at: int) -> bool:
    """A line that opens with a known heading a gap of spaces or a tab away from its value
    ("PROCEDURE    OPEN BIOPSY", a typed form's columns in a note in capitals)."""
    m = _heading_re().match(c.text, at)
    return m is not None and _field_gap(c, m)


_OPENS_FIELD = re.compile(r"[^\n:.]{1,40}(?::|\.{3,})|[ \t]*(?:[-*\u2022]|\d{1,2}[.)]|[IVX]{1,4}[.)])\s|[A-Z][A-Z /&()-]{1,40}$", re.M)


@lru_cache(maxsize=1)
def _spoken_words() -> str | None:
    """The spoken punctuation words as one alternation, longest first (None: there are none)."""
    data = rule_files.normalization()
    if not data.spoken_punctuation:
        return None
    words = sorted((" ".join(w.lower().split()) for w in data.spoken_punctuation), key=len, reverse=True)
    return "|".join(r"[ \t]+".join(re.escape(x) for x in w.split()) for w in words)


@lru_cache(maxsize=1)
def _spoken_re() -> tuple[re.Pattern[str] | None, frozenset[str]]:
    alts = _spoken_words()
    if alts is None:
        return None, frozenset()
    not_periods = frozenset(w.lower() for w in rule_files.normalization().not_a_spoken_period)
    return re.compile(rf"[ \t]*(?<![\w-])(?P<word>{alts})(?![\w-])[ \t]*", re.IGNORECASE), not_periods


@lru_cache(maxsize=1)
def _spoken_folded() -> re.Pattern[str] | None:
    """Where :func:`_spoken_re`'s pattern may match, in the lower-cased text (its words alone)."""
    alts = _spoken_words()
    return re.compile(rf"(?:{alts})(?![\w-])") if alts is not None else None


_WORD_BEFORE = re.compile(r"([\w'-]+)[^\w]*$")


def _spoken_pass(c: Canonical) -> Canonical:
    """Punctuation read out in a dictation ("... distal femur comma wide resection period new
    paragraph") written as punctuation, so that clauses, sentences and fields end where the surgeon
    said they do. Only in a note that reads out punctuation several times."""
    pattern, not_periods = _spoken_re()
    if pattern is None:
        return c
    text = c.text
    folded = _spoken_folded()
    assert folded is not None
    hits = finditer_folded(pattern, folded, text, fold(text), " \t")
    data = rule_files.normalization()
    if len(hits) < data.spoken_punctuation_min:
        return c
    marks = {" ".join(k.lower().split()): v for k, v in data.spoken_punctuation.items()}
    found: list[tuple[int, int, str]] = []
    starts = {m.start() for m in hits}
    for m in hits:
        word = " ".join(m.group("word").lower().split())
        mark = marks[word]
        if word == "period":
            before = _WORD_BEFORE.search(text, max(0, m.start() - 40), m.start())
            if before is None or before.group(1).lower() in not_periods:
                continue  # "the postoperative period"
        if mark.strip():
            # "femur comma wide": the mark follows the word, then one space (or the line end kept)
            end_ws = text[m.end("word"):m.end()]
            tight = "\n" in end_ws or m.end() == len(text) or m.end() in starts  # a line end or "new paragraph" follows
            found.append((m.start(), m.end(), mark + ("" if tight else " ")))
        else:
            found.append((m.start(), m.end(), mark))
    return _apply(c, found) if found else c


# Form checkboxes and radio buttons: "[x] MRI  [ ] CT", "Side: ☐ Right ☑ Left", "(•) Wide ( ) Marginal".
_UNCHECKED = r"\[ ?\]|☐|□|\( \)|◯|○"
_CHECKED = r"\[[xX✓✔•*-]\]|☑|☒|✅|■|\([xX•●*-]\)|◉"  # "•" is "-" by now (the character pass)
_BOX = re.compile(rf"(?P<off>{_UNCHECKED})|(?P<on>{_CHECKED})")
# Substrings one of which every form with boxes holds (a plain substring test is far cheaper
# than searching the note with the pattern above).
_BOX_HINTS = ("[ ]", "[]", "( )", "x]", "X]", "✓]", "✔]", "•]", "*]", "-]", "x)", "X)", "•)", "●)", "*)", "-)", "☐", "□", "◯", "○", "☑", "☒", "✅", "■", "◉")
# Where an option's label ends: the next box, two spaces or a tab, a bar or semicolon, a new
# "Field:" ("Lesion size (MRI):", capitalized or in lower case throughout: "[ ] Segmental femoral
# resection Muscles taken:" ends before "Muscles") or "Field ........" (a leader), or the end of the line.
_LABEL_END = re.compile(
    r"  |\t|\||;|\n|\s[A-Z][A-Za-z /()-]{0,30}:|\s[a-z][a-z /()-]{0,30}:|\s[A-Za-z][A-Za-z /()-]{0,30}?\s?\.{4,}|" + _UNCHECKED + "|" + _CHECKED
)


# A ticked option that answers its field with nothing done ("[x] None - lesion left in situ").
_NONE_ANSWER = re.compile(r"\s*(?:none|nil|not applicable|n/a)\b(?![ \t]*[-\u2013>:]*[ \t]*(?:reason|because|as\b|since))", re.I)


_NEXT_FIELD = re.compile(r"\s*[A-Z][A-Za-z /()-]{0,30}?(?:\s?\.{4,}|:)")


def _joined_label_start(text: str, a: int, b: int) -> int:
    """Where the label before a box starts on a line that joined several lines: at its last
    capitalized word of the last five ("... of the distal femur Limb salvage [ ]"), when the
    stretch before the box is longer than that."""
    words = list(re.finditer(r"\S+", text[a:b]))
    if len(words) <= 4:
        return a
    for w in reversed(words[-5:]):
        if w.group(0)[:1].isupper():
            return a + w.start()
    return a


def _joined_label_end(text: str, a: int, b: int) -> int:
    """Where the label after the last box of a line that joined several lines ends: before the
    sentence that follows it ("[ ] MRI Lytic lesion 4.5 cm in the mid-diaphysis" labels "MRI"), at
    a capitalized word after a word in lower case or an acronym; a Title-case label ("[ ] Proximal
    Femoral Replacement") goes on."""
    prev = ""
    for w in re.finditer(r"\S+", text[a:b]):
        word = w.group(0)
        if prev and word[:1].isupper() and word[1:2].islower() and not (prev[:1].isupper() and prev[1:2].islower()):
            return a + w.start()
        prev = word
    return b


def _label_before(text: str, prev_end: int, box: int, joined: bool) -> int:
    """Where the label before a box starts: after the previous box or a gap, colon, bar or semicolon."""
    seg = text[prev_end:box]
    cut = max(seg.rfind("  "), seg.rfind(":"), seg.rfind("|"), seg.rfind(";"))
    a = prev_end + (cut + 1 if cut >= 0 else 0)
    a += len(text[a:box]) - len(text[a:box].lstrip())
    return _joined_label_start(text, a, box) if joined else a


def _checkbox_line(text: str, lo: int, hi: int, boxes: list[re.Match[str]], joined: bool) -> list[tuple[int, int, str]]:
    """The edits of one line with boxes (see :func:`_checkbox_pass`)."""
    found: list[tuple[int, int, str]] = []
    before = text[lo:boxes[0].start()].rstrip()
    after = text[boxes[-1].end():hi]
    # On a line that joined several, the next field may follow the last box ("Rotationplasty
    # [ ] Amputation level ...... Transfemoral"): the row ends there.
    ends_row = not after.strip() or (joined and _NEXT_FIELD.match(after) is not None)
    labels_before = bool(before) and not before.endswith((":", ".")) and ends_row
    prev_end = lo
    answers: list[str] = []
    for m in boxes:
        found.append((m.start(), m.end(), " " * (m.end() - m.start())))
        if m.group("off") is None:
            if not labels_before:
                end = _LABEL_END.search(text, m.end() + 1, hi)
                answers.append(text[m.end():end.start() if end else hi])
            prev_end = m.end()
            continue
        if labels_before:
            a, b = _label_before(text, prev_end, m.start(), joined), m.start()
        else:
            a = m.end()
            end = _LABEL_END.search(text, a + 1, hi)
            b = end.start() if end else hi
            if joined and m is boxes[-1]:
                b = _joined_label_end(text, a, b)
        label = text[a:b].rstrip()
        if label.strip():
            found.append((a, a + len(label), " " * len(label)))
        prev_end = m.end()
    if answers and before.endswith(":") and all(_NONE_ANSWER.match(a) for a in answers):
        # "Resection of lesion: [ ] Wide [ ] Curettage [x] None": the field says it was not done
        found.append((lo, lo + len(before), " " * len(before)))
    return found


def _checkbox_pass(c: Canonical, joined: bool = False) -> Canonical:
    """An option whose box is not ticked is not a statement: its label (and every box) becomes
    spaces of the same length, so "[ ] CT" documents no CT and "Side: [ ] Left [x] Right" one side.

    Labels follow their boxes ("[x] MRI"); on a line that ends in a box after a label
    ("MRI [x]  CT [ ]"), they precede them.
    """
    text = c.text
    if not any(box in text for box in _BOX_HINTS) or not _BOX.search(text):
        return c
    found: list[tuple[int, int, str]] = []
    for line in re.finditer(r"[^\n]+", text):
        boxes = list(_BOX.finditer(text, line.start(), line.end()))
        if boxes:
            found += _checkbox_line(text, line.start(), line.end(), boxes, joined)
    return _apply(c, found)  # sorts them and keeps the first of overlapping rewrites


# A pick list exported as text: a field's options in a row, parted by runs of spaces or tabs, the
# chosen ones marked by an X or a tick before them ("Laterality:   X Left     Right     Bilateral").
# The pass reads the note as it came (the character pass evens out the gaps), so no-break spaces
# count as spaces here.
_TICK = r"(?:[Xx]|\u2713|\u2714|\u2612|\u25a0)"  # X, check marks, a ticked box, a filled square
_PICK_MARK = re.compile(_TICK + r"[ \t\u00a0]+(?=\S)")
_PICK_GAP = re.compile(r"[ \t\u00a0]{2,}|\t")
_PICK_GAP_SPACED = re.compile(r"[ \t\u00a0]{3,}|\t")  # a note with every space doubled
_PICK_LABEL = re.compile(r"[ \t\u00a0]*[A-Za-z][A-Za-z0-9 \u00a0/&()'-]{0,40}:[ \t\u00a0]*")
_PICK_HINT = re.compile(r"(?:^|[ \t\u00a0]{2}|:[ \t\u00a0]*)" + _TICK + r"[ \t\u00a0]+\S", re.M)


def _pick_list_pass(c: Canonical, joined: bool = False) -> Canonical:
    """A pick-list row states only its marked options: the others (still printed by the export)
    become spaces of the same length, and so do the marks. A row is a field's options parted by
    gaps of two or more spaces or a tab, at least one of them marked and one not. With ``joined``
    (the note's lines joined into one), a row runs from one field's label to the next's."""
    text = c.text
    if not _PICK_HINT.search(text):
        return c
    gap = _PICK_GAP_SPACED if text.count("  ") * 3 > text.count(" ") else _PICK_GAP
    found: list[tuple[int, int, str]] = []
    for lo, hi in (_joined_rows(text) if joined else ((m.start(), m.end()) for m in re.finditer(r"[^\n]+", text))):
        found += _pick_row_edits(text, lo, hi, gap)
    return _apply(c, found) if found else c


# A field's label on a joined line: a capitalized word and up to three in lower case, then a colon
# ("... X Intercalary (segmental) resection      Amputation Margin intent:   Intralesional ...").
_JOINED_FIELD_LABEL = re.compile(r"(?<![\w(])[A-Z][A-Za-z0-9/&()'-]*(?:[ \t]+[a-z0-9/&()'-]+){0,3}:(?=[ \t])")


def _joined_rows(text: str) -> list[tuple[int, int]]:
    """The stretches of a joined line from one field's label to the next's."""
    starts = [m.start() for m in _JOINED_FIELD_LABEL.finditer(text)]
    return list(zip(starts, starts[1:] + [len(text)], strict=True))


def _pick_row_edits(text: str, lo: int, hi: int, gaps: re.Pattern[str]) -> list[tuple[int, int, str]]:
    """The edits of one line if it is a pick-list row (see :func:`_pick_list_pass`), else none."""
    label = _PICK_LABEL.match(text, lo, hi)
    pos = label.end() if label else lo
    options: list[tuple[int, int]] = []
    for gap in gaps.finditer(text, pos, hi):
        options.append((pos, gap.start()))
        pos = gap.end()
    options.append((pos, hi))
    options = [(a + len(text[a:b]) - len(text[a:b].lstrip()), b) for a, b in options if text[a:b].strip()]
    marks = [_PICK_MARK.match(text, a, b) for a, b in options]
    if len(options) < 2 or not any(marks) or all(marks):
        return []
    pairs = list(zip(marks, options, strict=True))
    if any(m is None and (b - a > 40 or not text[a].isalnum()) for m, (a, b) in pairs):
        return []  # an unmarked stretch that is no option of a list: prose, a value
    return [(a, b, " " * (b - a)) if m is None else (m.start(), m.end(), " " * (m.end() - m.start())) for m, (a, b) in pairs]


def _fixed_width_pass(c: Canonical) -> Canonical:
    """Lines a record system cut at a fixed width, mid-word ("...and her f" / "ather on..."),
    joined back: when most long lines have exactly the same length and none is longer, a line of
    that length goes on in the next one, with nothing between them."""
    text = c.text
    raw = text.split("\n")
    lengths = [len(x) - x.endswith("\r") for x in raw]  # Windows line ends count for nothing
    long = [n for n in lengths if n >= 40]
    if len(long) < 8:
        return c
    width = max(set(long), key=long.count)
    if long.count(width) < 0.6 * len(long) or max(lengths) > width:
        return c
    found: list[tuple[int, int, str]] = []
    pos = 0
    for line, n in zip(raw[:-1], lengths[:-1], strict=True):
        end = pos + n  # where the line's text ends; its "\r\n" or "\n" follows
        nxt = pos + len(line) + 1
        if n == width and text[nxt:nxt + 1] not in ("", "\n", "\r"):
            found.append((end, nxt, ""))
        pos = nxt
    return _apply(c, found) if found else c


_XML_FIELD = re.compile(r'<Field name="([^"<>]{1,60})">|</Field>|^<[/?]?[A-Za-z][^<>\n]{0,300}>[ \t]*$', re.M)
_JSON_FIELD = re.compile(r'^\{\s*"field"\s*:\s*"([^"\n]{1,60})"\s*,\s*"value"\s*:\s*("(?:[^"\\\n]|\\.)*"|true|false|null|-?[\d.]+)\s*\}[ \t]*$', re.M)
_NO_FLAG_HINT = re.compile(r":[ \t]*N(?:[ \t]*$|[ \t]+[A-Z])", re.M)
# ... at a line's end, or followed by the next flag on a line that joined several ("Resection
# performed: N Curettage / cement: N").
_NO_FLAG = re.compile(
    r"(?:^([A-Za-z][A-Za-z /&()-]{1,40})|(?<=[ \t])([A-Z][A-Za-z /&()-]{1,40}?)):[ \t]*N(?:[ \t]*$|(?=[ \t]+[A-Z][A-Za-z /&()-]{1,40}:[ \t]*[YN]\b))",
    re.M,
)
# A proforma's flag answered "N" after its label without a colon, at the line's end or before a dash
# that gives the reason ("Frozen section N - diagnosis already established on core biopsy").
_BARE_NO_FLAG_HINT = re.compile(r"[ \t]N(?:[ \t]*$|[ \t]+[-\u2013\u2014][ \t])", re.M)
_BARE_NO_FLAG = re.compile(r"^([A-Za-z][A-Za-z /&()-]{1,40}?)[ \t]+N(?=[ \t]*$|[ \t]+[-\u2013\u2014][ \t])", re.M)
# "KEY=" at a line start (its leading space kept) or after a ";" (which becomes a line end).
_KEY_VALUE = re.compile(r"(?:^(?P<lead> ?)|; ?)(?P<key>[A-Z][A-Z0-9_]{1,30})=(?!=)", re.M)


def _field_name(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").strip()


def _no_flags(text: str) -> list[tuple[int, int, str]]:
    """Flags answered no: "Curettage / cement: N" -> "No Curettage / cement.", and "Frozen section N -
    diagnosis established" -> "Frozen section: not done - ..." (a field, its reason going on)."""
    found: list[tuple[int, int, str]] = []
    if _NO_FLAG_HINT.search(text):
        for m in _NO_FLAG.finditer(text):
            label = (m.group(1) or m.group(2)).strip()
            found.append((m.start(), m.end(), f"{_in_case_of(label, 'No')} {label}."))
    if _BARE_NO_FLAG_HINT.search(text):
        found += [(m.start(), m.end(), f"{m.group(1).strip()}: {_in_case_of(m.group(1), 'not done')}") for m in _BARE_NO_FLAG.finditer(text)]
    return found


def _in_case_of(label: str, words: str) -> str:
    """``words`` in capitals after a label in capitals: a note typed in capitals stays one."""
    return words.upper() if label.isupper() else words


def _export_pass(c: Canonical) -> Canonical:
    """Record-system exports read as labelled lines: '<Field name="PreopDiagnosis">x</Field>',
    '{"field": "consent_signed", "value": true}' and 'PREOP_DX=x; SIDE=L' become
    "Preop Diagnosis: x", "consent signed: yes" and "PREOP DX: x" / "SIDE: L", one to a line."""
    text = c.text
    found: list[tuple[int, int, str]] = []
    if "<Field name=" in text:
        for m in _XML_FIELD.finditer(text):
            found.append((m.start(), m.end(), f"{_field_name(m.group(1))}: " if m.group(1) else ""))
    if '"field"' in text:
        for m in _JSON_FIELD.finditer(text):
            raw = m.group(2)
            value = {"true": "yes", "false": "no", "null": ""}.get(raw, raw[1:-1] if raw.startswith('"') else raw)
            found.append((m.start(), m.end(), f"{_field_name(m.group(1))}: {value}"))
    found += _no_flags(text)
    keys = list(_KEY_VALUE.finditer(text)) if "=" in text else []
    if len(keys) >= 5:
        for m in keys:
            lead = m.group("lead")
            found.append((m.start(), m.end(), ("\n" if lead is None else lead) + f"{_field_name(m.group('key'))}: "))
    return _apply(c, found) if found else c


def canonical(text: str) -> Canonical:
    """The canonical text of ``text`` with its offset map."""
    if _gaps_are_breaks(text):
        # Lines joined into one: the double spaces left by blank lines become line ends again;
        # nothing was hard-wrapped, so no line is joined back.
        picked = _pick_list_pass(Canonical(text, text), joined=True)
        chars = _char_pass(picked.text, True)
        if picked.text != text:
            chars = _compose(picked, chars.text, list(chars._edits))
        first = _checkbox_pass(_export_pass(chars), joined=True)
        return _heading_pass(_word_pass(_spoken_pass(_scan_pass(first))), gap_lines=True)
    # Fixed-width cuts are measured on the text as it came (the character pass evens out spaces).
    pre = _pick_list_pass(_fixed_width_pass(Canonical(text, text)))
    chars = _char_pass(pre.text)
    if pre.text != text:
        chars = _compose(pre, chars.text, list(chars._edits))
    first = _checkbox_pass(_export_pass(chars))
    return _heading_pass(_unwrap_pass(_word_pass(_spoken_pass(_scan_pass(first)))))


# ----------------------------------------------------------------------------- printed and scanned
# A page break printed into the text: separator rules, "Page 2 of 3" lines, the running header
# ("ST ALDRIC DISTRICT HOSPITAL - Operative Note (continued)", "CONFIDENTIAL"). A line is one only
# when it is short: in a note that is one paragraph, the banner is inside the note's only line.
_PAGE_LINE = re.compile(
    r"^[ \t]*(?:[-_=*~]{8,}(?:[ \t]+[A-Z][A-Z0-9 .,'/&()#-]{0,40})?[ \t]*|[^\n]{0,200}\bpage[ \t]+\d{1,3}[ \t]*(?:of|/)[ \t]*\d{1,3}\b[^\n]{0,200}|[^\n]{0,200}\(continued\)[^\n]{0,200}|[^\n]{0,60}\bconfidential\b[^\n]{0,60})$",
    re.I | re.M,
)
# A word broken at the end of a line by a hyphen ("compo-" / "nent"); or, once the lines of such a
# note are joined, by a hyphen and a space ("disarticu- lation").
_LINE_HYPHEN = re.compile(r"-[\n ](?<=[a-z]{2}-[\n ]|[A-Z]{2}-[\n ])(?=[a-z]{2}|[A-Z]{2})")  # "-" first: the search skips to it
# Letters an OCR engine confuses inside a word: "rn" read for "m" ("turnour"), "1" for "l"
# ("1eft"), "0" for "o" ("tum0ur"): see _ocr_suspects and _ocr_repair.


@lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    """Words of the rule files' phrases (six letters or more): what an OCR repair may arrive at."""
    phrases = [p for g in rule_files.targets().groups for p in g.phrases] + [p for sec in rule_files.sections().sections for p in sec.phrases]
    words = {w for p in phrases for w in re.findall(r"[a-z]+", p.lower()) if len(w) >= 6}
    return frozenset(words | {"tumour", "tumor", "left", "right", "femur", "femoral"})


def _ocr_repair(word: str, known: frozenset[str]) -> str | None:
    low = word.lower()
    if low in known:
        return None
    fixed = low.replace("rn", "m")
    fixed = re.sub(r"(?<=[a-z])1|1(?=[a-z])", "l", fixed)
    fixed = re.sub(r"(?<=[a-z])0|0(?=[a-z])", "o", fixed)
    if fixed != low and fixed in known:
        return _same_case(word, fixed) if not word.isupper() else fixed.upper()
    return None


# A short line of a running header: capitals, digits and a few marks, no colon ("DRUMMOND-ASARE L",
# "SA-2270018", a lone dash left between two column gaps).
_HEADER_BIT = re.compile(r"[ \t]*(?:[A-Z0-9][A-Z0-9 .,'/&()#-]{0,40}|-)[ \t]*")


def _header_lines_only(text: str, lo: int, hi: int) -> bool:
    return all(not line.strip() or _HEADER_BIT.fullmatch(line) for line in text[lo:hi].split("\n"))


def _header_tail(text: str, end: int) -> int:
    """The end of a page break's run of lines, past the running header's short lines in capitals
    after it when the sentence the break cut goes on in lower case after them."""
    pos = end
    for m in re.finditer(r"\n([^\n]*)", text[end:end + 300]):
        line = m.group(1)
        if not line.strip() or _HEADER_BIT.fullmatch(line):
            pos = end + m.end()
            continue
        return pos if line.lstrip()[:1].islower() else end
    return end


def _scan_pass(c: Canonical) -> Canonical:
    """A note printed or scanned before it was sent: page breaks in the middle of a sentence
    removed (the sentence goes on after them), words hyphenated at a line end joined, and words an
    OCR engine misread repaired when the repair is a word of the rules ("chondrosarcorna",
    "turnour", "1eft")."""
    text = c.text
    found: list[tuple[int, int, str]] = []
    # the text in lower case, character for character (its offsets are the text's)
    low = fold(text) or "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    if "page" in low or "-----" in text or "_____" in text or "=====" in text:
        lines = list(_PAGE_LINE.finditer(text))
        k = 0
        while k < len(lines):
            start = lines[k].start()
            end = lines[k].end()
            j = k
            # a run of page lines, blank lines between them (or the running header's short lines in
            # capitals, which a note with its lines joined has split at its column gaps)
            while j + 1 < len(lines) and _header_lines_only(text, end, lines[j + 1].start()):
                j += 1
                end = lines[j].end()
            if any(re.search(r"\bpage\b|\(continued\)", m.group(0), re.I) for m in lines[k:j + 1]):
                end = _header_tail(text, end)
                before = text[:start].rstrip()
                after_start = end + (len(text[end:]) - len(text[end:].lstrip()))
                nxt = text[after_start:after_start + 1]
                joins = bool(before) and before[-1] not in ".:;!?" and (nxt.islower() or nxt.isdigit())
                found.append((len(before), after_start, " " if joins else "\n\n"))
            k = j + 1
    known = _known_words()
    for m in _LINE_HYPHEN.finditer(text):
        w0 = re.search(r"[A-Za-z]+$", text[max(0, m.start() - 30):m.start()])
        w1 = re.match(r"[A-Za-z]+", text[m.end():m.end() + 30])
        joined = ((w0.group(0) if w0 else "") + (w1.group(0) if w1 else "")).lower()
        # "compo-" / "nent" -> "component"; "above-" / "knee" keeps its hyphen (and "well- known"
        # its space: mid-line, only a word the rules or the note know is joined)
        if joined in known or joined in low:
            found.append((m.start(), m.end(), ""))
        elif m.group(0) == "-\n":
            found.append((m.start(), m.end(), "-"))
    for start, end in _ocr_suspects(low):
        repl = _ocr_repair(text[start:end], known)
        if repl is not None:
            found.append((start, end, repl))
    return _apply(c, found) if found else c


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz01")
_DIGIT_IN_WORD = re.compile(r"[01](?:(?<=[a-z][01])|(?=[a-z]))")


def _ocr_suspects(low: str) -> list[tuple[int, int]]:
    """The words of the lower-cased note that hold "rn", or a 0 or 1 beside a letter, as spans (found
    from those letters outward: a search of every word would cost a pass over every character)."""
    hits: set[int] = set()
    i = low.find("rn")
    while i >= 0:
        hits.add(i)
        i = low.find("rn", i + 2)
    hits.update(m.start() for m in _DIGIT_IN_WORD.finditer(low))
    spans: set[tuple[int, int]] = set()
    n = len(low)
    for i in hits:
        a = i
        while a > 0 and low[a - 1] in _WORD_CHARS:
            a -= 1
        b = i
        while b < n and low[b] in _WORD_CHARS:
            b += 1
        if b - a >= 4:
            spans.add((a, b))
    return sorted(spans)



USER_DATA_KEY = "opnote_canonical"


def to_user_data(c: Canonical) -> dict[str, object]:
    """What :func:`opnote.process` keeps on a Doc so a report can be re-anchored (plain data)."""
    return {"original": c.original, "edits": [list(e) for e in c._edits]}


def from_user_data(text: str, data: object) -> Canonical:
    """The :class:`Canonical` of a Doc whose text is ``text`` (identity when ``data`` is missing)."""
    if not isinstance(data, dict) or "original" not in data:
        return Canonical(text, text)
    edits = tuple(tuple(int(x) for x in e) for e in data.get("edits", []))
    return Canonical(text, str(data["original"]), edits, tuple(e[0] for e in edits))  # type: ignore[arg-type]
