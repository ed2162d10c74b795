"""What ``opnote check`` prints on standard error: one-line messages and the progress bar.

Every message goes through :func:`terminal_safe`: a file name or a JSON-lines id may hold a line
break, a terminal escape sequence or a bidirectional override, which printed raw would split the
line, retitle or clear the terminal, or disguise the text.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from .io import display_name


def terminal_safe(text: str) -> str:
    """``text`` with control and format characters escaped (``\\x1b``, ``\\n``, ``\\u202e``); printable text unchanged."""
    return display_name(text)


def error(message: str) -> None:
    sys.stderr.write(f"opnote: error: {terminal_safe(message)}\n")


def notice(message: str) -> None:
    sys.stderr.write(f"opnote: {terminal_safe(message)}\n")


def listed(message: str) -> None:
    """One line of the list of failures at the end of a batch."""
    sys.stderr.write(f"  {terminal_safe(message)}\n")


class ProgressBar:
    """A progress bar (Rich) on standard error while notes are checked, or nothing.

    Drawn only when ``enabled`` (standard error is a terminal that the reports are not written
    to) and there is more than one note; ``total`` None (a stream) shows a count without a bar's
    end. Messages written to standard error meanwhile appear above the bar.
    """

    def __init__(self, total: int | None, enabled: bool) -> None:
        self.enabled = enabled and (total is None or total > 1)
        self.total = total
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("  checking notes"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                auto_refresh=False,  # no drawing thread: worker processes are forked while it runs
                redirect_stdout=False,
                redirect_stderr=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("check", total=self.total)
        return self

    def step(self, _result: object = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, refresh=True)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
