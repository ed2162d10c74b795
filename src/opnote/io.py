"""Reading notes: encodings, size limits and the errors a batch must survive.

Every error raised here is an :class:`~opnote.errors.InputError` whose message names the note
(its path, ``<stdin>`` or ``<text>``) and, where it helps, a byte or character offset; it never
quotes the note. Names are made safe for a one-line message first (:func:`display_name`).
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import (
    BinaryInputError,
    DecodeError,
    EmptyNoteError,
    NoteTooLargeError,
    NotTextError,
    UnreadableError,
)

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
NOTE_SUFFIXES = {".txt", ".text", ".note", ".md", ".rtf", ".dictation"}

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Note:
    """A note's text as decoded, where it came from and which encoding was used."""

    text: str
    source: str
    encoding: str


def display_name(source: object) -> str:
    """``source`` as text for a one-line message: line breaks, control and format characters escaped.

    A file name may hold a newline, a terminal escape or a bidirectional override; printed raw it
    would split or disguise the error line. Printable characters (accented letters too) are kept.
    """
    s = os.fsdecode(source) if isinstance(source, (bytes, os.PathLike)) else str(source)
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in s)


def _nul_error(source: str, data: bytes, nul: int) -> BinaryInputError:
    hint = ""
    sample = data[:4096]
    odd, even, half = sample[1::2].count(0), sample[0::2].count(0), len(sample) // 2
    # UTF-16 text in the Latin range has a NUL in every other byte, and almost none in the rest
    if len(sample) >= 16 and max(odd, even) >= 0.4 * half and min(odd, even) <= 0.05 * half:
        hint = "; UTF-16 without a byte-order mark? save it as UTF-8"
    return BinaryInputError(f"{source}: binary data (NUL byte at offset {nul}{hint}), not a text note")


def decode(data: bytes, source: str = "<bytes>", max_bytes: int = DEFAULT_MAX_BYTES) -> Note:
    """Decode note bytes: UTF-8 (with or without BOM), UTF-16 or UTF-32 with a BOM, else Windows-1252.

    Latin-1 text is read as Windows-1252, which agrees with it on every printable character;
    ``Note.encoding`` (and ``Report.encoding``) says which encoding was used. Raises a typed
    :class:`~opnote.errors.InputError` for empty, binary, oversized or undecodable input.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise NotTextError(f"{display_name(source)}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    source = display_name(source)
    if len(data) > max_bytes:
        raise NoteTooLargeError(f"{source}: {len(data)} bytes is over the limit of {max_bytes} bytes (--max-bytes)")
    if data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
        # checked before UTF-16: the UTF-32 little-endian mark begins with the UTF-16 one
        text, enc = _decode_strict(data, "utf-32", source), "utf-32"
    elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        text, enc = _decode_strict(data, "utf-16", source), "utf-16"
    elif data.startswith(codecs.BOM_UTF8):
        text, enc = _decode_strict(data[len(codecs.BOM_UTF8):], "utf-8", source, offset=len(codecs.BOM_UTF8)), "utf-8-sig"
    else:
        nul = data.find(b"\x00")
        if nul != -1:
            raise _nul_error(source, data, nul)
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as e:
            bad = e.start
            try:
                text, enc = data.decode("cp1252"), "windows-1252"
            except UnicodeDecodeError as e2:
                raise DecodeError(
                    f"{source}: not UTF-8 (invalid byte at offset {bad}) nor Windows-1252 "
                    f"(byte 0x{data[e2.start]:02X} at offset {e2.start} is undefined)"
                ) from None
    return check_text(text, source, enc)


def _decode_strict(data: bytes, encoding: str, source: str, offset: int = 0) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise DecodeError(f"{source}: not valid {encoding.upper()} at byte {e.start + offset} ({e.reason})") from None


def check_text(text: str, source: str = "<text>", encoding: str = "str") -> Note:
    """Reject text that cannot be a note: not a str, empty or white space only, NUL characters, unpaired surrogates."""
    source = display_name(source)
    if not isinstance(text, str):
        hint = " (use check_bytes for bytes)" if isinstance(text, (bytes, bytearray)) else ""
        raise NotTextError(f"{source}: note text must be a str, not {type(text).__name__}{hint}")
    if not text.strip():
        raise EmptyNoteError(f"{source}: the note is empty" + (" (white space only)" if text else ""))
    nul = text.find("\x00")
    if nul != -1:
        raise BinaryInputError(f"{source}: binary data (NUL character at offset {nul}), not a text note")
    m = _SURROGATE.search(text)
    if m:
        raise DecodeError(f"{source}: unpaired surrogate U+{ord(m.group()):04X} at character {m.start()}, not valid Unicode text")
    return Note(text=text, source=source, encoding=encoding)


def read_note(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Note:
    """Read and decode one note file.

    A FIFO or device named here is read like ``cat`` would (``opnote check <(...)`` works), never
    more than ``max_bytes + 1`` bytes of it.
    """
    src = display_name(path)
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise UnreadableError(f"{src}: is a directory, not a note")
        if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
            raise NoteTooLargeError(f"{src}: {st.st_size} bytes is over the limit of {max_bytes} bytes (--max-bytes)")
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        broken = os.path.lexists(path) if isinstance(path, (str, bytes, os.PathLike)) else False
        raise UnreadableError(f"{src}: no such file" + (" (broken symbolic link)" if broken else "")) from None
    except PermissionError:
        raise UnreadableError(f"{src}: permission denied") from None
    except IsADirectoryError:
        raise UnreadableError(f"{src}: is a directory, not a note") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnreadableError(f"{src}: symbolic link loop") from None
        raise UnreadableError(f"{src}: cannot read ({e.strerror or type(e).__name__})") from None
    except (ValueError, TypeError):  # a NUL in the path, or not a path at all
        raise UnreadableError(f"{src}: not a valid file path") from None
    if len(data) > max_bytes:  # a FIFO or device: its size is not known in advance
        raise NoteTooLargeError(f"{src}: more than {max_bytes} bytes, over the limit (--max-bytes)")
    return decode(data, src, max_bytes)
