"""What the terminal shows beside the words: pass/fail marks, a progress line, the tally.

A Chinese Windows console is GBK (code page 936): "✓" and "✗" cannot be encoded there and
print as "?", so a passing and a failing line look the same. GBK does have "√" and "×";
:func:`mark` picks the form the stream can show. The progress line goes to stderr and only
when stderr is a terminal, so pipes, files and ``--json`` stay clean.
"""

from __future__ import annotations

import sys
import time
from typing import Literal, TextIO

Kind = Literal["ok", "bad", "warn"]
_MARKS: dict[str, tuple[str, ...]] = {"ok": ("✓", "√"), "bad": ("✗", "×"), "warn": ("⚠", "！", "!")}


def mark(kind: Kind, stream: TextIO | None = None) -> str:
    """The mark for ``kind`` that ``stream`` (default stdout) can encode: ✓ ✗ ⚠, else √ × ！."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "utf-8"
    for candidate in _MARKS[kind]:
        try:
            candidate.encode(encoding)
        except (UnicodeEncodeError, LookupError):
            continue
        return candidate
    return _MARKS[kind][-1]


class Progress:
    """``校验 123/1000 …`` rewritten in place on a terminal's stderr, at most ten times a second."""

    def __init__(self, total: int, what: str, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.total, self.what = total, what
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = (bool(isatty and isatty()) and total > 1) if enabled is None else enabled
        self.done = 0
        self._last = 0.0
        self._width = 0

    def step(self, label: str = "") -> None:
        self.done += 1
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and self.done < self.total):
            return
        self._last = now
        line = f"{self.what} {self.done}/{self.total}" + (f"  {label}" if label else "")
        line = line[:70]
        self._write("\r" + line.ljust(self._width))
        self._width = max(self._width, len(line))

    def clear(self) -> None:
        """Remove the line, so what is printed next starts at the left margin."""
        if self.enabled and self._width:
            self._write("\r" + " " * self._width + "\r")
            self._width = 0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False


def tally(passed: int, errors: int, unreadable: int) -> str:
    """``共 1000 份：通过 950，有错误 40，无法读取 10`` — the last line of a run over many files."""
    total = passed + errors + unreadable
    return f"共 {total} 份：通过 {passed}，有错误 {errors}，无法读取 {unreadable}"
