"""The output folder of a batch (``opnote check --out DIR``): one run owns it at a time.

* **Names.** A report is named after its note (``notes/a.txt`` gives ``a.json``), made safe for
  any file system: characters other than letters, digits, ``-``, ``_`` and ``.`` become ``_``; no
  leading dot; a name longer than :data:`MAX_STEM_BYTES` is cut and ends with a hash of the full
  name (stable from run to run); duplicates get ``_2``, ``_3``, ... Names are compared as a
  case-insensitive file system would (``A.json`` and ``a.json`` are one name), and never equal
  ``index.html``, ``summary.csv``, the manifest or a file the run did not write.
* **Ownership.** The folder holds a manifest, :data:`MANIFEST`: one JSON line per file the run
  wrote, then ``{"complete": true}`` when it finished. A new run removes the files its
  predecessor listed before it writes anything, so the folder never mixes two runs. A folder
  that is not empty and has no manifest belongs to someone else and is refused; so is a folder
  that holds one of the run's inputs, and a folder another run is writing to (a lock).
* **Writes.** A file appears whole or not at all: on Linux it is written as an unnamed file
  (``O_TMPFILE``) and linked into place when complete, so a killed run leaves no temporary file
  at all; elsewhere it goes through ``.opnote-tmp-*`` files, which the next run into the folder
  removes.

Every problem with the folder is an :class:`~opnote.errors.OutputError` naming it.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import itertools
import json
import os
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from .errors import OutputError
from .io import display_name

MANIFEST = ".opnote-manifest.jsonl"
TEMP_PREFIX = ".opnote-tmp-"
RESERVED = ("index.html", "summary.csv", MANIFEST)
#: Longest report name stem, in UTF-8 bytes; longer names are cut and end with a hash.
MAX_STEM_BYTES = 120
_HASH_CHARS = 12
_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_STRIP_SUFFIXES = (".txt", ".text", ".note", ".md")
_COUNTER = itertools.count()
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


# ------------------------------------------------------------------------------------- names
def name_key(name: str) -> str:
    """``name`` as a case-insensitive, normalising file system (macOS, Windows) compares it."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def report_stem(source: str) -> str:
    """A safe file name stem for a note's report (no suffix, no folder, at most :data:`MAX_STEM_BYTES`)."""
    base = Path(source).name
    for suffix in _STRIP_SUFFIXES:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
            break
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in base).lstrip(".") or "note"
    if stem.split(".")[0].upper() in _DEVICE_NAMES:
        stem = "_" + stem
    if len(stem.encode("utf-8")) > MAX_STEM_BYTES:
        digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
        cut = stem.encode("utf-8")[: MAX_STEM_BYTES - _HASH_CHARS - 1].decode("utf-8", "ignore")
        stem = f"{cut}-{digest}"
    return stem


class ReportNames:
    """Allocates report names that are unique in one folder and avoid ``taken`` names."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = {name_key(n) for n in (*RESERVED, *taken)}
        self._next: dict[str, int] = {}

    def allocate(self, source: str, suffix: str) -> str:
        stem = report_stem(source)
        name = stem + suffix
        k = self._next.get(stem, 2)
        while name_key(name) in self._taken:
            name, k = f"{stem}_{k}{suffix}", k + 1
        self._next[stem] = k
        self._taken.add(name_key(name))
        return name


# ------------------------------------------------------------------------------------ writes
def _temp_name() -> str:
    return f"{TEMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{next(_COUNTER)}"


def _chunks(content: str | Iterable[str]) -> Iterable[str]:
    return (content,) if isinstance(content, str) else content


def write_atomic(path: Path, content: str | Iterable[str]) -> None:
    """Write a file through a temporary file and a rename, so no half-written file is left.

    ``path`` holds either its old content or all of ``content``, whatever happens in between
    (an error, Ctrl-C, a full disk); the temporary file (``.opnote-tmp-*``, in the same folder)
    is removed when the write fails, and by the next run into the folder if the process is killed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(_temp_name())
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            _write_synced(fh, content)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_synced(fh: IO[str], content: str | Iterable[str]) -> None:
    for chunk in _chunks(content):
        fh.write(chunk)
    fh.flush()
    os.fsync(fh.fileno())


_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


def _link_fd(fd: int, path: Path) -> bool:
    """Give the unnamed file ``fd`` the name ``path``; False when this system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.linkat(fd, b"", _AT_FDCWD, os.fsencode(path), _AT_EMPTY_PATH) == 0:
            return True
        err = ctypes.get_errno()
    except (OSError, AttributeError):
        err = errno.ENOSYS
    if err == errno.EEXIST:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    try:  # without CAP_DAC_READ_SEARCH: the documented /proc route
        os.link(f"/proc/self/fd/{fd}", path, follow_symlinks=True)
        return True
    except FileExistsError:
        raise
    except OSError:
        return False


def _open_unnamed(folder: Path) -> int | None:
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY | _CLOEXEC, 0o666)
    except OSError:  # a file system without unnamed files
        return None


def unnamed_files_work(folder: Path) -> bool:
    """Whether :func:`write_new` can use unnamed files in ``folder`` (tried with an empty file)."""
    fd = _open_unnamed(folder)
    if fd is None:
        return False
    probe = folder / _temp_name()
    try:
        if not _link_fd(fd, probe):
            return False
        os.unlink(probe)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def write_new(path: Path, content: str | Iterable[str], *, unnamed: bool = True) -> None:
    """Create ``path`` whole or not at all.

    With ``unnamed`` (where :func:`unnamed_files_work`), the content goes into an unnamed file
    that is linked into place once complete: a killed process leaves nothing behind, and an
    existing ``path`` is never replaced (``FileExistsError``). Otherwise :func:`write_atomic`.
    """
    fd = _open_unnamed(path.parent) if unnamed else None
    if fd is None:
        return write_atomic(path, content)
    with open(fd, "w", encoding="utf-8", newline="") as fh:
        _write_synced(fh, content)
        if not _link_fd(fh.fileno(), path):
            raise OSError(errno.EOPNOTSUPP, "cannot link an unnamed file", str(path))
    return None


# ------------------------------------------------------------------------------------ folder
def _fail(path: Path, why: str) -> OutputError:
    return OutputError(f"--out {display_name(path)}: {why}")


def _why(e: OSError) -> str:
    return (e.strerror or type(e).__name__).lower() if not isinstance(e, PermissionError) else "permission denied"


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def read_manifest(folder: Path) -> list[str] | None:
    """The file names an earlier run listed in ``folder``'s manifest (None: no manifest)."""
    try:
        lines = (folder / MANIFEST).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(folder, f"cannot read {MANIFEST} ({type(e).__name__})") from None
    names: list[str] = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line cut short when the run was killed
        name = rec.get("file") if isinstance(rec, dict) else None
        if isinstance(name, str) and name == os.path.basename(name) and name not in ("", ".", "..", MANIFEST) and "\x00" not in name:
            names.append(name)
    return names


def _lock(path: Path) -> int | None:
    """Lock the folder for this run (released when the process ends, however it ends)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        return None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise _fail(path, "another opnote run is writing to this folder") from None
    return fd


class OutputFolder:
    """The ``--out`` folder of one run; see the module docstring."""

    def __init__(self, path: Path, lock_fd: int | None, earlier: list[str], foreign: list[str]) -> None:
        self.path = path
        self._lock_fd: int | None = lock_fd
        self._earlier = earlier
        self._manifest: int | None = None
        self._unnamed = unnamed_files_work(path)
        self.names = ReportNames(foreign)

    @classmethod
    def open(cls, path: Path) -> OutputFolder:
        """Make or check the folder and lock it; raises :class:`OutputError` when it cannot be used."""
        _make(path)
        fd = _lock(path)
        try:
            earlier, foreign = _survey(path)
            _probe_writable(path)
        except BaseException:
            if fd is not None:
                os.close(fd)
            raise
        return cls(path, fd, earlier, foreign)

    def holds(self, path: str) -> bool:
        """True when ``path`` (a note, a folder of notes) is this folder or inside it."""
        return _is_within(os.path.realpath(path), os.path.realpath(self.path))

    def begin(self) -> None:
        """Remove the earlier run's files and temporary files, and start this run's manifest."""
        for name in [*self._earlier, *_temp_files(self.path)]:
            try:
                os.unlink(self.path / name)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise _fail(self.path, f"cannot remove the earlier run's {display_name(name)} ({_why(e)})") from None
        try:
            # Started afresh: the files it listed are gone, so a manifest cut short by a crash here loses nothing.
            self._manifest = os.open(self.path / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | _CLOEXEC, 0o666)
            os.write(self._manifest, (json.dumps({"manifest": "opnote", "version": 1}) + "\n").encode("utf-8"))
        except OSError as e:
            raise _fail(self.path, f"cannot write {MANIFEST} ({_why(e)})") from None

    def write(self, name: str, content: str | Iterable[str]) -> None:
        """Add ``name`` to the manifest, then create it whole."""
        if self._manifest is None:
            raise RuntimeError("OutputFolder.begin() was not called")
        path = self.path / name
        try:
            os.write(self._manifest, (json.dumps({"file": name}, ensure_ascii=False) + "\n").encode("utf-8"))
            write_new(path, content, unnamed=self._unnamed)
        except FileExistsError:
            raise OutputError(f"{display_name(path)}: another program created this file during the run") from None
        except OSError as e:
            raise OutputError(f"{display_name(path)}: cannot write ({_why(e)})") from None

    def close(self, complete: bool) -> None:
        """Mark the manifest complete (when the run finished) and release the folder."""
        if self._manifest is not None:
            if complete:
                os.write(self._manifest, b'{"complete": true}\n')
            os.close(self._manifest)
            self._manifest = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _make(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise _fail(path, "is a file, not a folder") from None
    except NotADirectoryError:
        raise _fail(path, "cannot create the folder (a parent is a file)") from None
    except OSError as e:
        raise _fail(path, f"cannot create the folder ({_why(e)})") from None
    if not path.is_dir():
        raise _fail(path, "is not a folder")


def _temp_files(path: Path) -> list[str]:
    try:
        return [n for n in os.listdir(path) if n.startswith(TEMP_PREFIX)]
    except OSError:
        return []


def _survey(path: Path) -> tuple[list[str], list[str]]:
    """(files the earlier run wrote, other entries); refuses a non-empty folder without a manifest."""
    try:
        entries = os.listdir(path)
    except OSError as e:
        raise _fail(path, f"cannot list the folder ({_why(e)})") from None
    earlier = read_manifest(path)
    ours = set(earlier or ()) | {MANIFEST}
    foreign = [n for n in entries if n not in ours and not n.startswith(TEMP_PREFIX)]
    if earlier is None and foreign:
        raise _fail(path, f"the folder is not empty and was not written by opnote (no {MANIFEST}); use a new or empty folder")
    clash = sorted(n for n in foreign if name_key(n) in {name_key(r) for r in RESERVED})
    if clash:
        raise _fail(path, f"holds a {display_name(clash[0])} that opnote did not write; move it away or use another folder")
    return [n for n in (earlier or []) if n in entries], foreign


def _probe_writable(path: Path) -> None:
    try:
        with tempfile.TemporaryFile(dir=path, prefix=TEMP_PREFIX):
            pass
    except OSError as e:
        raise _fail(path, f"cannot write to the folder ({_why(e)})") from None


def read_chunks(fh: IO[str], size: int = 1 << 16) -> Iterator[str]:
    """An open text file's content from the start, in chunks (to copy a spooled file into place)."""
    fh.seek(0)
    while chunk := fh.read(size):
        yield chunk
