"""How far an import has read: the callback an importer tells, and the counting behind it.

An import reads its file first (parsing and checking each line), then writes
what it read in one transaction; the reading is most of a long file's time,
and the only part whose length is known in advance, in lines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

__all__ = ["EVERY", "LineCount", "Progress", "lines_in"]

Progress: TypeAlias = Callable[[int, int], None]
"""Called with (lines read, lines in the file): the count increases, the last call is
(total, total), made once the whole file is read and before anything is written."""

EVERY = 1_000
"""Lines between two calls: often enough for a bar, rarely enough to cost nothing."""


def lines_in(path: str | Path) -> int:
    """The number of lines of a file (a last line without its newline counts), read in blocks."""
    count, last = 0, b"\n"
    with Path(path).open("rb") as binary:
        while block := binary.read(2**20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


class LineCount:
    """Tells ``progress`` the line reached, every :data:`EVERY` lines and at the end."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.told = 0

    def reached(self, line: int) -> None:
        """The reading has reached ``line`` (1-based)."""
        if self.progress is not None and line - self.told >= EVERY:
            self.told = min(line, self.total)
            self.progress(self.told, self.total)

    def done(self) -> None:
        """The whole file is read."""
        if self.progress is not None and self.told < self.total:
            self.told = self.total
            self.progress(self.total, self.total)
