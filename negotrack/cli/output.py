"""How the command line prints: rich tables for people, CSV and JSON for programs.

Tables are coloured in a terminal and plain when piped (no escape codes, no
box drawing), and wrap long text (quotes are shown whole).  Dates are named in
the negotiation's time zone: ``as of 22 Oct 2026 (end of day, Europe/Copenhagen)``.
Progress bars go to standard error, and only when it is a terminal.

CSV uses the column lists of :mod:`negotrack.io.frames` (separate source
columns, a numeric score, the stated flag, signatories), without pandas.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from negotrack.io.progress import Progress
from negotrack.model import Evidence, Ordinal, StanceValue, stance_label
from negotrack.report.legend import (
    FLAG_WORDS,
    FLAGS,
    cell_flags,
    colour_of,
    describe_instant,
    mark_of,
    text_colour_of,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from negotrack.projections.matrix import Cell, Matrix

__all__ = [
    "FLAG_MARKS",
    "Printer",
    "cell_json",
    "csv_rows",
    "evidence_json",
    "evidence_text",
    "heading",
    "local",
    "progress",
    "warn",
]

FLAG_MARKS = {"inferred": "*", "conflicting": "!", "stale": "~"}
"""The mark written after a cell's stance mark for each of its flags."""


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a closed or odd stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def warn(message: str) -> None:
    """A warning on standard error: the command still succeeds."""
    sys.stderr.write(f"negotrack: warning: {message}\n")


# -- times -------------------------------------------------------------------------


def _end_of_day(instant: datetime, timezone: tzinfo) -> bool:
    after = instant.astimezone(timezone) + timedelta(microseconds=1)
    return after.time() == datetime.min.time()


def heading(instant: datetime, timezone: tzinfo) -> str:
    """An as-of instant for a title: ``22 Oct 2026 (end of day, Europe/Copenhagen)``."""
    if _end_of_day(instant, timezone):
        return f"{describe_instant(instant, timezone)} (end of day, {timezone})"
    return describe_instant(instant, timezone)


def local(instant: datetime | None, timezone: tzinfo, *, day: bool = False) -> str:
    """An instant in a table cell, in the negotiation's zone: the day alone when ``day``."""
    if instant is None:
        return ""
    there = instant.astimezone(timezone)
    if day:
        return f"{there.day} {there:%b %Y}"
    return f"{there.day} {there:%b %Y %H:%M} {there.tzname()}"


# -- JSON --------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def evidence_json(evidence: Evidence) -> dict[str, Any]:
    """One piece of evidence with every field of its source, and the short citation."""
    source = attrs.asdict(evidence.source, value_serializer=lambda _, __, v: _jsonable(v))
    return {
        "source": {**source, "cite": evidence.source.cite()},
        "quote": evidence.quote,
        "stated": evidence.stated,
    }


def cell_json(cell: Cell | None) -> dict[str, Any] | None:
    """A cell with all its fields: :meth:`Cell.to_record` plus position, score and full sources."""
    if cell is None:
        return None
    return {
        **cell.to_record(),
        "score": None if cell.stance is None else float(cell.stance),  # a conflict has none
        "position": cell.position,
        "flags": list(cell_flags(cell)),
        "evidence": [evidence_json(e) for e in cell.evidence],
    }


def write_json(out: TextIO, document: Any) -> None:
    json.dump(document, out, ensure_ascii=False, indent=2)
    out.write("\n")


# -- CSV ---------------------------------------------------------------------------


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return value


def csv_rows(out: TextIO, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """Write rows as CSV with a header, one column per name (lists joined with ``; ``)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])


# -- tables ------------------------------------------------------------------------


def _stance_style(stance: StanceValue | None) -> str:
    return f"{text_colour_of(stance)} on {colour_of(stance)}"


def evidence_text(evidence: Sequence[Evidence]) -> str:
    """Each quote in full with its source and whether it was stated, one per line."""
    return "\n".join(
        f"“{e.quote}” ({e.source.cite()}; {'stated' if e.stated else 'inferred'})" for e in evidence
    )


class Printer:
    """Prints tables on one stream: coloured in a terminal, plain when piped."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.terminal = is_terminal(out)
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console  # noqa: PLC0415 - tables only: `import negotrack` stays light

            width = None if self.terminal else int(os.environ.get("COLUMNS") or 100)
            self._console = Console(
                file=self.out,
                force_terminal=self.terminal,
                no_color=not self.terminal,
                color_system="auto" if self.terminal else None,
                highlight=False,
                emoji=False,
                markup=False,
                width=width,
            )
        return self._console

    def print(self, renderable: Any, *, soft_wrap: bool = False) -> None:
        """Print through rich; piped, without the blanks rich pads lines with."""
        if self.terminal:
            self.console.print(renderable, soft_wrap=soft_wrap)
            return
        with self.console.capture() as captured:
            self.console.print(renderable, soft_wrap=soft_wrap)
        self.out.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))

    def line(self, text: str = "") -> None:
        from rich.text import Text  # noqa: PLC0415

        self.print(Text(text), soft_wrap=True)

    def stance(self, stance: StanceValue | None, flags: Sequence[str] = ()) -> Text:
        """A stance mark, coloured in a terminal, with its flag marks after it."""
        from rich.text import Text  # noqa: PLC0415

        mark = mark_of(stance) + "".join(FLAG_MARKS[f] for f in flags)
        return Text(mark, style=_stance_style(stance) if self.terminal else "")

    def label(self, stance: StanceValue | None) -> Text:
        from rich.text import Text  # noqa: PLC0415

        text = "" if stance is None else str(stance_label(stance))
        return Text(
            text, style=_stance_style(stance) if self.terminal and stance is not None else ""
        )

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, wrap: Sequence[str] = ()
    ) -> None:
        """Rows under headers; the ``wrap`` columns take the width left and wrap."""
        from rich import box  # noqa: PLC0415
        from rich.table import Table  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        if not rows:
            self.line("(nothing)")
            return
        table = Table(
            box=box.SIMPLE_HEAD if self.terminal else None,
            show_edge=False,
            pad_edge=False,
            header_style="bold" if self.terminal else "",
        )
        for header in headers:
            if header in wrap:
                table.add_column(header, overflow="fold", ratio=1, min_width=20)
            else:
                table.add_column(header, no_wrap=True)
        for row in rows:
            table.add_row(*(v if not isinstance(v, str) else Text(v) for v in row))
        self.print(table)

    def entries(self, entries: Sequence[tuple[Sequence[Any], str]]) -> None:
        """One block per entry: its short fields on a line, then its evidence wrapped beneath.

        Quotes are shown whole: a table column would cut them or squeeze them
        into a few characters on a narrow terminal.
        """
        from rich.padding import Padding  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        if not entries:
            self.line("(nothing)")
            return
        for fields, evidence in entries:
            head = Text()
            for field in fields:
                if len(head):
                    head.append("  ")
                head.append_text(field if isinstance(field, Text) else Text(str(field)))
            self.print(head)
            if evidence:
                self.print(Padding(Text(evidence), (0, 0, 0, 4), expand=False))
        self.line()

    def legend(self, cells: Sequence[Cell]) -> None:
        """The marks and colours of the scale, and the flags present in ``cells``."""
        from rich.text import Text  # noqa: PLC0415

        text = Text()
        for stance in (*reversed(Ordinal), None):
            text.append_text(self.stance(stance))
            text.append(f" {'none' if stance is None else stance.label}   ")
        self.print(text)
        present = {flag for cell in cells for flag in cell_flags(cell)}
        for flag in FLAGS:
            if flag in present:
                self.line(f"{FLAG_MARKS[flag]} {FLAG_WORDS[flag]}")

    def matrix(self, matrix: Matrix, titles: dict[str, str]) -> None:
        """The grid, parties down, numbered clauses across, then the clause key."""
        clauses = matrix.clauses
        headers = ["", *(str(i) for i in range(1, len(clauses) + 1))]
        rows = []
        for party in matrix.parties:
            row: list[Any] = [party]
            for clause in clauses:
                cell = matrix.get(party, clause)
                row.append(self.stance(None if cell is None else cell.stance, cell_flags(cell)))
            rows.append(row)
        self.table(headers, rows)
        self.line()
        key = [(str(i), c, titles.get(c, "")) for i, c in enumerate(clauses, start=1)]
        self.table(["#", "clause", "title"], key, wrap=["title"])


@contextmanager
def _bar(description: str, total: int | None, unit: str = "") -> Iterator[tuple[Any, Any] | None]:
    """A rich bar on standard error and its task; ``None`` when standard error is no terminal.

    With a ``unit``, the bar also shows the count: ``12,000/150,000 lines``.
    """
    if not is_terminal(sys.stderr):
        yield None
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import MofNCompleteColumn, Progress, TextColumn  # noqa: PLC0415

    count = (MofNCompleteColumn(), TextColumn(unit)) if unit else ()
    columns = (*Progress.get_default_columns(), *count)
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        yield bar, bar.add_task(description, total=total)


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Any]:
    """A progress bar on standard error while the block runs; yields ``advance(n)``.

    Only when standard error is a terminal: piped or in a test, nothing is drawn.
    ``total`` ``None`` draws a bar that pulses until the work is done.
    """
    with _bar(description, total) as shown:
        if shown is None:
            yield lambda _n=1: None
        else:
            bar, task = shown
            yield lambda n=1: bar.advance(task, n)


@contextmanager
def lines_read(description: str) -> Iterator[Progress | None]:
    """A bar of the lines an import has read of its file's, with the count.

    Yields the callback to hand the import (:data:`negotrack.io.progress.Progress`),
    or ``None`` when standard error is not a terminal: the import then runs plain.
    Once the file is read, the bar says so while the block writes what was read.
    """
    with _bar(description, None, "lines") as shown:
        if shown is None:
            yield None
            return
        bar, task = shown

        def told(done: int, total: int) -> None:
            read = f"{description}: read, writing" if done == total else description
            bar.update(task, completed=done, total=total, description=read)

        yield told
