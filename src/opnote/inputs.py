"""Where a batch's notes come from: paths (files, folders, patterns) and standard input.

Every input gives jobs in input order, and an input that cannot give a note still gives a job,
one that carries its error (a folder that cannot be listed, an entry that is skipped, a JSON
line that is not a note record), so that it is listed, counted and has its row in the summary.

Standard input is read as a stream: one note is read up to ``--max-bytes`` and no further; JSON
lines are read one line at a time, a line longer than :func:`line_limit` is skipped unread.
"""

from __future__ import annotations

import glob
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import DecodeError, InputError, NoNotesError, NoteTooLargeError, OpnoteError, UnreadableError
from .io import NOTE_SUFFIXES, display_name
from .jobs import NoteJob

FOLLOW_HINT = "not followed (--follow-symlinks follows it)"


# -------------------------------------------------------------------------------------- paths
@dataclass(frozen=True)
class Entry:
    """A note file to read, or (``error`` set) an input that gives no note."""

    path: str
    error: OpnoteError | None = None


@dataclass(frozen=True)
class _Walk:
    root: str  # the real path of the folder or pattern base given
    follow: bool
    skip: Callable[[str], bool]


def _is_note_name(name: str) -> bool:
    return Path(name).suffix.lower() in NOTE_SUFFIXES and not name.startswith(".") and not name.lower().startswith("readme")


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def _file_entry(path: str, walk: _Walk) -> Entry | None:
    """A note-named entry of a folder: a note, an error entry, or None (nothing to say)."""
    shown = display_name(path)
    try:
        st = os.stat(path)
    except OSError:
        return Entry(path)  # broken link, loop, no permission: reading it reports the error
    if os.path.islink(path) and not walk.follow and not _within(os.path.realpath(path), walk.root):
        return Entry(path, UnreadableError(f"{shown}: symbolic link to a file outside {display_name(walk.root)}, {FOLLOW_HINT}"))
    if stat.S_ISDIR(st.st_mode):
        return None
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block the batch; sockets and devices are not notes
        return Entry(path, UnreadableError(f"{shown}: {_kind(st.st_mode)}, not a note file; skipped"))
    return Entry(path)


def _folder_entry(path: str, walk: _Walk, seen: set[str]) -> tuple[bool, Entry | None]:
    """(descend into it?, an entry to report) for a subfolder or a link to one."""
    real = os.path.realpath(path)
    if walk.skip(path) or real in seen:
        return False, None
    if os.path.islink(path) and not walk.follow:
        if _within(real, walk.root):
            return False, None  # its notes are found through the folder itself
        return False, Entry(path, UnreadableError(f"{display_name(path)}: symbolic link to a folder outside {display_name(walk.root)}, {FOLLOW_HINT}"))
    return True, None


def _walk(folder: str, walk: _Walk, seen: set[str]) -> Iterator[Entry]:
    """The folder's notes (sorted, files before subfolders, recursively) and its problems."""
    seen.add(os.path.realpath(folder))
    try:
        with os.scandir(folder) as it:
            names = sorted(e.name for e in it)
    except OSError as e:
        why = "permission denied" if isinstance(e, PermissionError) else (e.strerror or type(e).__name__)
        yield Entry(folder, UnreadableError(f"{display_name(folder)}: cannot list the folder ({why})"))
        return
    subfolders = []
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            subfolders.append(path)
        elif _is_note_name(name):
            entry = _file_entry(path, walk)
            if entry is not None:
                yield entry
    for path in subfolders:
        descend, entry = _folder_entry(path, walk, seen)
        if entry is not None:
            yield entry
        if descend:
            yield from _walk(path, walk, seen)


def _holds_manifest(folder: str) -> bool:
    from .outdir import MANIFEST

    return os.path.lexists(os.path.join(folder, MANIFEST))


def _folder(raw: str, follow: bool, skip: Callable[[str], bool]) -> list[Entry]:
    walk = _Walk(root=os.path.realpath(raw), follow=follow, skip=lambda p: skip(p) or _holds_manifest(p))
    found = list(_walk(raw, walk, set()))
    if not found:
        kinds = ", ".join("*" + s for s in sorted(NOTE_SUFFIXES))
        return [Entry(raw, NoNotesError(f"{display_name(raw)}: folder holds no notes ({kinds})"))]
    return found


def _pattern_base(pattern: str) -> str:
    """The real path of the folder a pattern searches (its part before the first wildcard)."""
    parts = Path(pattern).parts
    fixed = parts[: next((i for i, p in enumerate(parts) if glob.has_magic(p)), len(parts))]
    return os.path.realpath(os.path.join(*fixed) if fixed else ".")


def _pattern(raw: str, follow: bool, skip: Callable[[str], bool]) -> list[Entry]:
    walk = _Walk(root=_pattern_base(raw), follow=follow, skip=skip)
    found: list[Entry] = []
    for match in sorted(glob.glob(raw, recursive=True)):
        if os.path.isfile(match) and not skip(match) and not _holds_manifest(os.path.dirname(match) or "."):
            entry = _file_entry(match, walk)
            if entry is not None:
                found.append(entry)
    if not found:
        return [Entry(raw, NoNotesError(f"{display_name(raw)}: pattern matched no files"))]
    return found


def expand(paths: Iterable[str], *, follow_symlinks: bool = False, skip: Callable[[str], bool] = lambda p: False) -> list[Entry]:
    """Files, folders (their notes, recursively) and patterns, as entries in input order.

    Inside a folder: files named ``*.txt``, ``*.text``, ``*.note``, ``*.md``, ``*.rtf`` and
    ``*.dictation`` are notes, except hidden files and READMEs; such an entry that is not a
    regular file (a FIFO, a socket, a device) or is a symbolic link leading out of the folder
    is an error entry, as is a subfolder that cannot be listed or a link to a folder outside.
    ``follow_symlinks`` follows links wherever they lead. A folder holding an opnote manifest
    (an output folder) and the folders ``skip`` accepts are not searched. A path named on the
    command line is read whatever it is; a path that does not exist is passed on, so reading it
    reports the error in its place.
    """
    out: list[Entry] = []
    for raw in paths:
        try:
            is_dir = os.path.isdir(raw)
        except (ValueError, TypeError):
            is_dir = False
        if is_dir:
            out.extend(_folder(raw, follow_symlinks, skip))
        elif glob.has_magic(raw):
            out.extend(_pattern(raw, follow_symlinks, skip))
        else:
            out.append(Entry(raw))
    return out


def path_jobs(entries: Iterable[Entry], icd10: list[str]) -> Iterator[NoteJob]:
    for e in entries:
        source = display_name(e.path)
        if e.error is None:
            yield NoteJob(source=source, path=e.path, icd10=list(icd10))
        else:
            yield NoteJob(source=source, error=str(e.error), error_type=type(e.error).__name__)


# ------------------------------------------------------------------------------ standard input
def line_limit(max_bytes: int) -> int:
    """The longest JSON line read: a note of ``max_bytes`` with every byte escaped (``\\u0001``), plus 64 KiB."""
    return 6 * max_bytes + 65536


class LineReader:
    """Lines of a binary stream, each at most ``limit`` bytes; a longer one is skipped, unread."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self._pushed: list[bytes] = []
        self.number = 0

    def _raw(self) -> bytes:
        return self._pushed.pop(0) if self._pushed else self.stream.readline(self.limit + 1)

    def _skip_rest(self) -> None:
        while True:
            chunk = self.stream.readline(1 << 16)
            if not chunk or chunk.endswith(b"\n"):
                return

    def next_line(self) -> tuple[int, bytes | None] | None:
        """(line number, line or None when too long), or None at the end."""
        line = self._raw()
        if not line:
            return None
        self.number += 1
        if len(line) > self.limit and not line.endswith(b"\n"):
            self._skip_rest()
            return self.number, None
        return self.number, line

    def head(self) -> bytes:
        """Read up to the first non-blank line, at most ``limit`` bytes (kept to be read again); what was read."""
        lines: list[bytes] = []
        size = 0
        while True:
            line = self.stream.readline(self.limit + 1)
            lines.append(line)
            size += len(line)
            if not line or line.strip() or size > self.limit:
                self._pushed = [ln for ln in lines if ln]
                return b"".join(lines)


def looks_like_jsonl(head: bytes) -> bool:
    return head.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{")


def stdin_note(reader: LineReader, head: bytes, icd10: list[str], max_bytes: int) -> NoteJob:
    """One note on standard input: read up to ``max_bytes`` + 1 bytes, never more."""
    data = head[: max_bytes + 1]
    if len(data) <= max_bytes:
        data += reader.stream.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        err = NoteTooLargeError(f"<stdin>: more than {max_bytes} bytes, over the limit (--max-bytes)")
        return NoteJob(source="<stdin>", error=str(err), error_type=type(err).__name__)
    return NoteJob(source="<stdin>", data=data, icd10=list(icd10))


def jsonl_jobs(reader: LineReader, icd10: list[str], max_bytes: int) -> Iterator[NoteJob]:
    """One job per non-blank line ``{"id": ..., "text": ..., "icd10": [...]}``, read as needed."""
    while (item := reader.next_line()) is not None:
        n, raw = item
        if raw is not None and not raw.strip():
            continue
        yield record_job(n, raw, icd10, max_bytes, limit=reader.limit)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _loads(line: str) -> Any:
    try:
        return json.loads(line, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def id_text(nid: Any, n: int) -> str:
    """How a record's id names it in messages and reports: a string as is, anything else as JSON."""
    if nid is None:
        return str(n)
    return nid if isinstance(nid, str) else json.dumps(nid, ensure_ascii=False)


def _echoable(nid: Any) -> bool:
    """Whether an id can be written back as JSON exactly (1e999 reads as infinity; bytes that were not UTF-8)."""
    try:
        json.dumps(nid, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def _record_id(line: str) -> Any:
    """The "id" of a record that could not be used, when it has one that can be echoed."""
    try:
        obj = _loads(line)
    except ValueError:
        return None
    nid = obj.get("id") if isinstance(obj, dict) else None
    return nid if _echoable(nid) else None


def _error_job(n: int, nid: Any, err: OpnoteError) -> NoteJob:
    source = display_name(id_text(nid, n)) if nid is not None else f"<stdin>:{n}"
    return NoteJob(source=source, id=nid, line=n, error=str(err), error_type=type(err).__name__)


def _claim(obj: dict[str, Any], icd10: list[str]) -> list[str]:
    codes = obj.get("icd10") or icd10
    if isinstance(codes, str):
        codes = [codes]
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise ValueError("'icd10' must be a code or a list of codes")
    return list(codes)


def _parse_record(n: int, line: str, icd10: list[str], max_bytes: int) -> NoteJob:
    obj = _loads(line)
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise ValueError("needs an object with a string field 'text'")
    nid = obj.get("id")
    if not _echoable(nid):
        raise ValueError("'id' is a number too large to echo")
    codes = _claim(obj, icd10)
    source = display_name(id_text(nid, n))
    size = len(obj["text"].encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        err = NoteTooLargeError(f"{source}: {size} bytes is over the limit of {max_bytes} bytes (--max-bytes)")
        return NoteJob(source=source, id=nid, line=n, error=str(err), error_type=type(err).__name__)
    return NoteJob(source=source, text=obj["text"], icd10=codes, id=nid, line=n)


def record_job(n: int, raw: bytes | None, icd10: list[str], max_bytes: int, *, limit: int | None = None) -> NoteJob:
    """The job for line ``n`` of JSON-lines input (``raw`` None: the line was too long to read)."""
    src = f"<stdin>:{n}"
    if raw is None:
        return _error_job(n, None, NoteTooLargeError(f"{src}: line longer than {limit or line_limit(max_bytes)} bytes (6 × --max-bytes + 64 KiB), not read"))
    if n == 1:
        raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        nid = _record_id(raw.decode("utf-8", "surrogateescape"))
        return _error_job(n, nid, DecodeError(f"{src}: not valid UTF-8 (invalid byte at offset {e.start} of the line)"))
    try:
        return _parse_record(n, line, icd10, max_bytes)
    except ValueError as e:
        return _error_job(n, _record_id(line), InputError(f"{src}: not a JSON note record ({e})"))

