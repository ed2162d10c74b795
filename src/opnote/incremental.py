"""The opnote pipeline over successive versions of one note, reusing what is provably local.

:class:`IncrementalPipeline` returns, for a canonical text, a Doc equal to ``nlp(text)`` (the
same tokens, sentences, sections, candidates, assertions and findings), reusing from earlier
versions of the note the work whose result depends only on a piece of the text:

* **tokens.** spaCy's tokenizer splits the text at white space and tokenizes each piece on its
  own; the one step that looks across pieces, its special-case matcher, matches the token
  sequences its special cases ("Ph.D.", emoticons) are split into, and can only act across a cut
  where such a sequence runs across it. The text is cut into *chunks*: after every line end (no
  special case holds a line end), and after ``. ; ? !`` and a space before a capitalized word
  ("... margins. The wound ..."; the word itself not a special case), unless a special case
  of the tokenizer has such a word after such a mark (:func:`_specials_allow_sentence_cuts`).
  Each chunk is tokenized once.
* **target matches** (the span ruler): a token or phrase pattern matches on the tokens it covers
  and nothing else (patterns that read anything but a token's own text and shape, or of unbounded
  length, turn this off). Each chunk is matched once; a match across a cut is at most ``L`` tokens
  long (the longest pattern), so it lies in the ``L - 1`` tokens either side of the cut, which are
  matched once too.
* **dimensions**: found per line; what a dimension measures is read from its own line (the
  words before and after it stop at a line end), and a dimension written across a line end is
  caught by comparing the lines' matches with one pass of the dimension pattern over the note:
  any difference and the note's dimensions are found over the whole text.

Everything else is not local and runs over the whole Doc with the components themselves:
sentences (cheap), sections (a section runs to the next heading), abbreviations (a definition
applies to the whole note), ConText (its scopes and target pruning), the findings, and, after
this module, the case model and the assessors. ``tests/test_session.py`` checks every part
against a full run, on every step of random edit sequences over the sample notes.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy
from spacy.language import Language
from spacy.pipeline import SpanRuler
from spacy.tokens import Doc, Span

from .components.doctext import remember_text
from .components.measurements import DIM_RE, Dimension, OpnoteMeasurements, find_dimensions

__all__ = ["IncrementalPipeline", "Plan", "plan_for"]

# A cut: after a line end before a character that is not white space (a cut inside a run of white
# space would split a whitespace token); or after a sentence's last mark and one space, before a
# capitalized word of letters and a space.
_LINE = re.compile(r"\n(?=\S)")
_SENTENCE = re.compile(r"[.;?!] (?=([A-Z][a-z]+) )")
_MARK_END = re.compile(r"[.;?!]$")
_PLAIN_WORD = re.compile(r"[A-Z][a-z]+")

# Token attributes a pattern may read for it to match on its tokens alone: the token's own text,
# its shape and its lexeme's flags. Sentence starts, parts of speech, entities, custom extensions
# (and NORM, which this module does not copy onto the windows) are not.
_LOCAL_KEYS = frozenset({
    "ORTH", "TEXT", "LOWER", "LENGTH", "SHAPE", "PREFIX", "SUFFIX", "IS_ALPHA", "IS_ASCII", "IS_DIGIT",
    "IS_LOWER", "IS_UPPER", "IS_TITLE", "IS_PUNCT", "IS_SPACE", "IS_STOP", "IS_BRACKET", "IS_QUOTE",
    "IS_LEFT_PUNCT", "IS_RIGHT_PUNCT", "IS_CURRENCY", "LIKE_NUM", "LIKE_EMAIL", "LIKE_URL", "OP",
})
_COUNT = re.compile(r"\{(\d*)(?:,(\d*))?\}")



def _op_width(op: object) -> int | None:
    """The most tokens one pattern token with this ``OP`` covers (None: no bound)."""
    if op in (None, "!", "?", "1"):
        return 1
    m = _COUNT.fullmatch(op) if isinstance(op, str) else None
    if m is None:
        return None
    low, high = m.group(1), m.group(2)
    if m.group(0).count(",") == 0:
        return int(low)
    return int(high) if high else None


def _pattern_width(pattern: object, tokenize: Callable[[str], Doc]) -> int | None:
    """The most tokens a span-ruler pattern covers; None when unbounded or not local."""
    if isinstance(pattern, str):
        return len(tokenize(pattern))
    if not isinstance(pattern, list):
        return None
    total = 0
    for spec in pattern:
        if not isinstance(spec, dict) or not set(spec) <= _LOCAL_KEYS:
            return None
        width = _op_width(spec.get("OP"))
        if width is None:
            return None
        total += width
    return total


@dataclass(frozen=True)
class Plan:
    """What can be reused for one pipeline as it is now (:func:`plan_for`).

    ``None`` for a part means it is not reused: the component runs over the whole Doc.
    """

    ruler: SpanRuler | None
    width: int  # the longest target pattern, in tokens
    measurements: OpnoteMeasurements | None
    sentence_cuts: bool  # chunks may end after a sentence mark, not only at line ends
    special_words: frozenset[str] = field(repr=False)  # the tokenizer's special cases: no cut before one


# What _specials_allow_sentence_cuts found, by tokenizer rules (the special cases' keys and the
# affix patterns): the same for every Checker built from the same spaCy language data.
_SPECIALS: dict[tuple[object, ...], bool | None] = {}
_SPECIALS_LOCK = threading.Lock()


def _specials_allow_sentence_cuts(nlp: Language) -> bool | None:
    """May chunks be cut after ``. ; ? !`` and a space before a capitalized word?

    The tokenizer's special-case matcher matches each special case as the tokens its affix rules
    split it into; a match that ran across such a cut would need one of those token sequences to
    hold a token ending in the mark followed by a capitalized word. None: a special case mixes
    white space with other characters, and chunks are not used at all.
    """
    tokenizer: Any = nlp.tokenizer  # a compiled class without type information
    rules: dict[str, Any] = tokenizer.rules or {}
    affixes = (tokenizer.prefix_search, tokenizer.suffix_search, tokenizer.infix_finditer, tokenizer.token_match, tokenizer.url_match)
    key = (frozenset(rules), *(getattr(getattr(f, "__self__", None), "pattern", f) for f in affixes))
    with _SPECIALS_LOCK:
        if key not in _SPECIALS:
            _SPECIALS[key] = _special_cuts(tokenizer, rules)
        return _SPECIALS[key]


def _special_cuts(tokenizer: Any, rules: dict[str, Any]) -> bool | None:  # noqa: ANN401 - spaCy's compiled Tokenizer
    bare = type(tokenizer)(
        tokenizer.vocab, rules={}, prefix_search=tokenizer.prefix_search, suffix_search=tokenizer.suffix_search,
        infix_finditer=tokenizer.infix_finditer, token_match=tokenizer.token_match, url_match=tokenizer.url_match,
    )
    allowed = True
    for key in rules:
        spaces = sum(ch.isspace() for ch in key)
        if 0 < spaces < len(key):
            return None
        words = [t.text for t in bare(key)]
        if any(_MARK_END.search(a) and _PLAIN_WORD.fullmatch(b) for a, b in zip(words, words[1:], strict=False)):
            allowed = False
    return allowed


def _ruler_plan(nlp: Language) -> tuple[SpanRuler | None, int]:
    ruler = nlp.get_pipe("opnote_targets")
    if not isinstance(ruler, SpanRuler) or ruler.annotate_ents or ruler.spans_filter is not None:
        return None, 0
    widths = [_pattern_width(p["pattern"], nlp.tokenizer) for p in ruler.patterns]
    if not widths or any(w is None for w in widths):
        return None, 0
    return ruler, max(w for w in widths if w is not None)


def _make_plan(nlp: Language) -> Plan | None:
    from .factories import PIPELINE

    tokenizer: Any = nlp.tokenizer
    spacy_tokenizer = importlib.import_module("spacy.tokenizer").Tokenizer  # compiled, without type information
    if tuple(nlp.pipe_names) != tuple(PIPELINE) or not isinstance(tokenizer, spacy_tokenizer):
        return None
    sentence_cuts = _specials_allow_sentence_cuts(nlp)
    if sentence_cuts is None:
        return None
    ruler, width = _ruler_plan(nlp)
    meas = nlp.get_pipe("opnote_measurements")
    return Plan(
        ruler=ruler, width=width,
        measurements=meas if type(meas) is OpnoteMeasurements else None,
        sentence_cuts=sentence_cuts, special_words=frozenset(tokenizer.rules or {}),
    )


def plan_for(nlp: Language) -> Plan | None:
    """What can be reused for ``nlp`` as it is now (None: a pipeline this module does not know; it runs whole)."""
    return _make_plan(nlp)


# A target match: start and end character, label and id (their string hashes), start and end token.
_Hit = tuple[int, int, int, int, int, int]


@dataclass
class _Chunk:
    """A chunk's tokens and the target matches inside it (offsets from the chunk's start)."""

    words: list[str]
    spaces: list[bool]
    norms: numpy.ndarray[Any, Any]
    hits: list[_Hit]
    used: int = 0


@dataclass
class _Line:
    """A line's chunks (with their offsets in the line) and its dimensions."""

    chunks: list[tuple[str, _Chunk, int]]
    spans: list[tuple[int, int]]  # every match of the dimension pattern
    dims: list[Dimension]  # what find_dimensions keeps of them
    used: int = 0


@dataclass
class _Window:
    """The target matches across one cut (offsets from the window's first chunk)."""

    hits: list[_Hit]
    used: int = 0


@dataclass
class Stats:
    """What the last :meth:`IncrementalPipeline.process` did (for tests and the benchmark)."""

    lines: int = 0
    lines_new: int = 0
    chunks: int = 0
    chunks_new: int = 0
    windows_new: int = 0
    dims_whole: bool = False  # dimensions found over the whole text (one ran across a line end)
    whole: bool = False  # the pipeline ran whole (a pipeline this module does not know)


@dataclass
class _Piece:
    """A chunk where it stands in the note."""

    text: str
    chunk: _Chunk
    char: int
    token: int


class IncrementalPipeline:
    """``nlp(text)`` for successive versions of one note (see the module's description).

    Not thread-safe: one per note, and calls into a shared ``nlp`` serialized by the caller.
    Holds pieces of the note's text until :meth:`clear`.
    """

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp
        self.plan = plan_for(nlp)
        self.stats = Stats()
        self._chunks: dict[str, _Chunk] = {}
        self._lines: dict[str, _Line] = {}
        # target matches across each cut, by the texts of the chunks around it
        self._windows: dict[tuple[tuple[str, ...], tuple[str, ...]], _Window] = {}
        self._step = 0

    def clear(self) -> None:
        """Forget every piece of text kept from earlier versions."""
        self._chunks.clear()
        self._lines.clear()
        self._windows.clear()

    # ------------------------------------------------------------------------------ pieces
    def _hits(self, doc: Doc) -> list[_Hit]:
        ruler = self.plan.ruler if self.plan is not None else None
        if ruler is None:
            return []
        return [(s.start_char, s.end_char, s.label, s.id, s.start, s.end) for s in ruler.match(doc)]

    def _chunk(self, text: str) -> _Chunk:
        got = self._chunks.get(text)
        if got is None:
            doc = self.nlp.make_doc(text)
            got = _Chunk([t.text for t in doc], [bool(t.whitespace_) for t in doc], doc.to_array(["NORM"]), self._hits(doc))
            self._chunks[text] = got
            self.stats.chunks_new += 1
        got.used = self._step
        return got

    def _line(self, text: str) -> _Line:
        got = self._lines.get(text)
        if got is None:
            assert self.plan is not None
            cuts: list[int] = []
            if self.plan.sentence_cuts:
                special = self.plan.special_words
                cuts = [m.end() for m in _SENTENCE.finditer(text) if m.group(1) not in special]
            chunks = []
            start = 0
            for cut in cuts + [len(text)]:
                chunks.append((text[start:cut], self._chunk(text[start:cut]), start))
                start = cut
            dims = find_dimensions(text) if self.plan.measurements is not None else []
            got = _Line(chunks, [(m.start(), m.end()) for m in DIM_RE.finditer(text)], dims)
            self._lines[text] = got
            self.stats.lines_new += 1
        else:
            for _, chunk, _ in got.chunks:
                chunk.used = self._step
        got.used = self._step
        return got

    # ----------------------------------------------------------------------------- windows
    def _window(self, pieces: list[_Piece], i: int, width: int) -> tuple[list[_Hit], _Piece]:
        """Target matches that cross the cut after piece ``i``, and the piece they count from."""
        need = width - 1
        j, left = i, len(pieces[i].chunk.words)
        while left < need and j > 0:
            j -= 1
            left += len(pieces[j].chunk.words)
        k, right = i + 1, len(pieces[i + 1].chunk.words)
        while right < need and k + 1 < len(pieces):
            k += 1
            right += len(pieces[k].chunk.words)
        key = (tuple(p.text for p in pieces[j:i + 1]), tuple(p.text for p in pieces[i + 1:k + 1]))
        got = self._windows.get(key)
        if got is None:
            words = [w for p in pieces[j:k + 1] for w in p.chunk.words]
            spaces = [s for p in pieces[j:k + 1] for s in p.chunk.spaces]
            got = _Window([h for h in self._hits(Doc(self.nlp.vocab, words=words, spaces=spaces)) if h[4] < left < h[5]])
            self._windows[key] = got
            self.stats.windows_new += 1
        got.used = self._step
        return got.hits, pieces[j]

    def _targets(self, doc: Doc, pieces: list[_Piece]) -> list[Span]:
        """The span ruler's matches on ``doc``, sorted as ``SpanRuler.match`` sorts them."""
        plan = self.plan
        assert plan is not None
        found: dict[tuple[int, int, int, int], tuple[int, int]] = {}
        for p in pieces:
            c, t = p.char, p.token
            for cs, ce, label, span_id, ts, te in p.chunk.hits:
                found[(cs + c, ce + c, label, span_id)] = (ts + t, te + t)
        if plan.width > 1:
            for i in range(len(pieces) - 1):
                hits, base = self._window(pieces, i, plan.width)
                c, t = base.char, base.token
                for cs, ce, label, span_id, ts, te in hits:
                    found[(cs + c, ce + c, label, span_id)] = (ts + t, te + t)
        # Span objects sort by (start_char, end_char, label, kb_id, id): the keys' order.
        return [Span(doc, *found[key], label=key[2], span_id=key[3]) for key in sorted(found)]

    # -------------------------------------------------------------------------- dimensions
    def _dimensions(self, text: str, lines: list[tuple[_Line, int]]) -> list[Dimension]:
        spans: list[tuple[int, int]] = []
        dims: list[Dimension] = []
        for line, start in lines:
            spans += [(s + start, e + start) for s, e in line.spans]
            dims += [{**d, "start": d["start"] + start, "end": d["end"] + start} for d in line.dims]
        if spans != [(m.start(), m.end()) for m in DIM_RE.finditer(text)]:
            self.stats.dims_whole = True
            return find_dimensions(text)  # a dimension written across a line end
        return dims

    # ------------------------------------------------------------------------------ the Doc
    def process(self, text: str) -> Doc:
        """The Doc ``nlp(text)`` would return."""
        self._step += 1
        self.stats = Stats()
        plan = self.plan
        if plan is None:
            self.stats.whole = True
            return self.nlp(text)
        lines: list[tuple[_Line, int]] = []
        start = 0
        for cut in [m.end() for m in _LINE.finditer(text)] + [len(text)]:
            lines.append((self._line(text[start:cut]), start))
            start = cut
        pieces: list[_Piece] = []
        words: list[str] = []
        spaces: list[bool] = []
        for line, at in lines:
            for piece, chunk, offset in line.chunks:
                pieces.append(_Piece(piece, chunk, at + offset, len(words)))
                words += chunk.words
                spaces += chunk.spaces
        doc = Doc(self.nlp.vocab, words=words, spaces=spaces)
        doc.from_array(["NORM"], numpy.concatenate([p.chunk.norms for p in pieces]).reshape(-1, 1))
        remember_text(doc, text)
        self.stats.lines, self.stats.chunks = len(lines), len(pieces)
        for name, proc in self.nlp.pipeline:
            if name == "opnote_targets" and plan.ruler is not None:
                ruler: Any = plan.ruler  # SpanRuler.set_annotations has no type annotations
                ruler.set_annotations(doc, self._targets(doc, pieces))
            elif name == "opnote_measurements" and plan.measurements is not None:
                plan.measurements.annotate(doc, self._dimensions(text, lines))
            else:
                doc = proc(doc)
        self._forget()
        return doc

    def _forget(self) -> None:
        """Drop the pieces no longer in the note (kept one more version, for an undo)."""
        old = self._step - 1
        for stale in [k for k, v in self._chunks.items() if v.used < old]:
            del self._chunks[stale]
        for stale in [k for k, v in self._lines.items() if v.used < old]:
            del self._lines[stale]
        for cut in [k for k, v in self._windows.items() if v.used < old]:
            del self._windows[cut]
