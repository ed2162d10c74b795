"""Reading notes: encodings, size limits and the errors a batch must survive."""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import BinaryInputError, DecodeError, EmptyNoteError, NoteTooLargeError, UnreadableError

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
NOTE_SUFFIXES = {".txt", ".text", ".note", ".md", ".rtf", ".dictation"}


@dataclass(frozen=True)
class Note:
    """A note's text as decoded, where it came from and which encoding was used."""

    text: str
    source: str
    encoding: str


def decode(data: bytes, source: str = "<bytes>", max_bytes: int = DEFAULT_MAX_BYTES) -> Note:
    """Decode note bytes: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252.

    Raises a typed :class:`~opnote.errors.InputError` for empty, binary, oversized or
    undecodable input. Error messages name the source and byte offsets, never the content.
    """
    if len(data) > max_bytes:
        raise NoteTooLargeError(f"{source}: {len(data)} bytes is over the limit of {max_bytes} bytes (--max-bytes)")
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            text, enc = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            raise DecodeError(f"{source}: not valid UTF-16 at byte {e.start}") from None
    elif data.startswith(codecs.BOM_UTF8):
        try:
            text, enc = data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as e:
            raise DecodeError(f"{source}: not valid UTF-8 at byte {e.start}") from None
    else:
        nul = data.find(b"\x00")
        if nul != -1:
            raise BinaryInputError(f"{source}: binary data (NUL byte at offset {nul}), not a text note")
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as e:
            bad = e.start
            try:
                text, enc = data.decode("cp1252"), "windows-1252"
            except UnicodeDecodeError:
                raise DecodeError(f"{source}: not UTF-8 (byte {bad}) nor Windows-1252") from None
    return check_text(text, source, enc)


def check_text(text: str, source: str = "<text>", encoding: str = "str") -> Note:
    """Reject text that cannot be a note (empty, whitespace only, NUL characters)."""
    if not text.strip():
        raise EmptyNoteError(f"{source}: the note is empty")
    if "\x00" in text:
        raise BinaryInputError(f"{source}: binary data (NUL character at offset {text.index(chr(0))}), not a text note")
    return Note(text=text, source=source, encoding=encoding)


def read_note(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Note:
    """Read and decode one note file."""
    p = Path(path)
    src = str(path)
    try:
        if p.is_dir():
            raise UnreadableError(f"{src}: is a directory")
        size = p.stat().st_size
        if size > max_bytes:
            raise NoteTooLargeError(f"{src}: {size} bytes is over the limit of {max_bytes} bytes (--max-bytes)")
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise UnreadableError(f"{src}: no such file") from None
    except PermissionError:
        raise UnreadableError(f"{src}: permission denied") from None
    except OSError as e:
        raise UnreadableError(f"{src}: cannot read ({e.strerror or type(e).__name__})") from None
    return decode(data, src, max_bytes)


def expand_paths(paths: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand files, directories (notes inside, recursively) and globs into note paths.

    Returns ``(paths, problems)``; a problem is ``(path, message)`` for a path that matched nothing.
    """
    import glob

    out: list[str] = []
    problems: list[tuple[str, str]] = []
    for raw in paths:
        if raw == "-":
            out.append(raw)
            continue
        p = Path(raw)
        if p.is_dir():
            found = []
            try:
                for root, dirs, files in os.walk(p, followlinks=False):
                    dirs.sort()
                    for f in sorted(files):
                        fp = Path(root) / f
                        if fp.suffix.lower() in NOTE_SUFFIXES and not f.startswith(".") and not f.lower().startswith("readme"):
                            found.append(str(fp))
            except OSError as e:
                problems.append((raw, f"cannot list directory ({e.strerror})"))
                continue
            if not found:
                problems.append((raw, "directory holds no notes (*.txt)"))
            out.extend(found)
        elif any(ch in raw for ch in "*?["):
            matches = sorted(glob.glob(raw, recursive=True))
            files = [m for m in matches if Path(m).is_file()]
            if not files:
                problems.append((raw, "pattern matched no files"))
            out.extend(files)
        else:
            out.append(raw)
    return out, problems
