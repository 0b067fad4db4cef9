"""Notebook display: a one-line ``repr`` and a colour-coded HTML table for each view.

Jupyter calls ``_repr_html_``; the plain ``repr`` stays one line however big the
view is. Every text that comes from a source (quotes, titles, reasons) is
escaped: a quote can hold ``<script>`` and still only be read.

The HTML uses inline styles only (a notebook may drop ``<style>`` blocks); the
briefing (:mod:`negotrack.report.html`) builds its matrix with the same
:func:`matrix_table`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from html import escape

from negotrack.model import Evidence, Ordinal, StanceValue
from negotrack.projections.diff import Diff
from negotrack.projections.history import History, HistoryEntry
from negotrack.projections.matrix import Cell, Matrix
from negotrack.report.legend import (
    FLAG_WORDS,
    FLAGS,
    INTERVAL_COLOUR,
    cell_flags,
    colour_of,
    describe_instant,
    describe_known_at,
    mark_of,
    text_colour_of,
)

__all__ = [
    "cell_style",
    "diff_html",
    "diff_repr",
    "evidence_lines",
    "history_html",
    "history_repr",
    "legend_html",
    "matrix_html",
    "matrix_repr",
    "matrix_table",
    "moves_table",
    "stance_chip",
]

_HATCH_CSS = (
    "background-image: repeating-linear-gradient(45deg, transparent 0 3px, rgba(0,0,0,.45) 3px 4px)"
)
_FLAG_CSS = {
    "inferred": _HATCH_CSS,
    "conflicting": "outline: 2px dashed #000; outline-offset: -3px",
    "stale": "opacity: .55",
}
_TABLE = "border-collapse: collapse; font-size: 12px"
_TD = "border: 1px solid #bbb; padding: 2px 4px; text-align: center; min-width: 1.8em"


def _s(value: object) -> str:
    """Escape for text and attribute values alike."""
    return escape(str(value), quote=True)


# -- pieces shared with the briefing ---------------------------------------------


def cell_style(stance: StanceValue | None, flags: Sequence[str] = ()) -> str:
    """Inline CSS of a cell: its colour, its text colour, and each flag's pattern."""
    parts = [f"background-color: {colour_of(stance)}", f"color: {text_colour_of(stance)}"]
    parts += [_FLAG_CSS[flag] for flag in flags]
    return "; ".join(parts)


def evidence_lines(evidence: Sequence[Evidence]) -> list[str]:
    """Each piece of evidence as ``“quote” (source, date; stated)``, unescaped."""
    return [
        f"“{e.quote}” ({e.source.cite()}; {'stated' if e.stated else 'inferred'})" for e in evidence
    ]


def _label(stance: StanceValue | None) -> str:
    if stance is None:
        return "no position recorded"
    return stance.label if isinstance(stance, Ordinal) else f"{stance:g}"


def _cell_summary(cell: Cell, timezone: tzinfo | None) -> list[str]:
    flags = cell_flags(cell)
    head = f"{cell.party} on {cell.clause}: {_label(cell.stance)}"
    head += f", since {describe_instant(cell.valid_at, timezone)}"
    if flags:
        head += f" ({', '.join(flags)})"
    return [head, *evidence_lines(cell.evidence)]


def stance_chip(stance: StanceValue | None, flags: Sequence[str] = ()) -> str:
    """A small coloured mark with the stance's name, for lists and tables."""
    return (
        f'<span style="{cell_style(stance, flags)}; padding: 0 4px; border-radius: 3px; '
        f'border: 1px solid #999">{_s(mark_of(stance))}</span> {_s(_label(stance))}'
    )


def matrix_table(
    matrix: Matrix,
    *,
    parties: Sequence[str] | None = None,
    clauses: Sequence[str] | None = None,
    clause_titles: Mapping[str, str] | None = None,
    timezone: tzinfo | None = None,
    focusable: bool = False,
) -> str:
    """The matrix as an HTML table: parties down, clauses across, one coloured mark per cell.

    Each filled cell explains itself (stance, since when, quote and source):
    in a ``title`` (shown on hover), or, when ``focusable``, in a
    ``<span class="tip">`` inside a cell reachable with the keyboard (the
    briefing's stylesheet shows it on hover and on focus).
    """
    rows = list(parties) if parties is not None else matrix.parties
    columns = list(clauses) if clauses is not None else matrix.clauses
    titles = clause_titles or {}
    header = "".join(
        f'<th scope="col" title="{_s(titles.get(c, c))}" style="writing-mode: vertical-rl; '
        f'transform: rotate(180deg); padding: 4px 2px; font-weight: normal">{_s(c)}</th>'
        for c in columns
    )
    lines = [
        f'<table class="matrix" style="{_TABLE}">',
        f"<thead><tr><th></th>{header}</tr></thead>",
    ]
    lines.append("<tbody>")
    for party in rows:
        tds = []
        for clause in columns:
            cell = matrix.get(party, clause)
            if cell is None:
                tds.append(
                    f'<td class="empty" style="{_TD}; {cell_style(None)}; color: #999" '
                    f'data-party="{_s(party)}" data-clause="{_s(clause)}">·</td>'
                )
                continue
            flags = cell_flags(cell)
            text = _cell_summary(cell, timezone)
            common = (
                f'class="cell {" ".join(flags)}" style="{_TD}; {cell_style(cell.stance, flags)}" '
                f'data-party="{_s(party)}" data-clause="{_s(clause)}" '
                f'data-stance="{_s(_label(cell.stance))}"'
            )
            if focusable:
                tip = "".join(f"<span>{_s(line)}</span>" for line in text)
                tds.append(
                    f'<td {common} tabindex="0">{_s(mark_of(cell.stance))}'
                    f'<span class="tip" role="tooltip">{tip}</span></td>'
                )
            else:
                tds.append(
                    f'<td {common} title="{_s(chr(10).join(text))}">{_s(mark_of(cell.stance))}</td>'
                )
        lines.append(
            f'<tr><th scope="row" style="text-align: left">{_s(party)}</th>{"".join(tds)}</tr>'
        )
    lines.append("</tbody></table>")
    return "\n".join(lines)


def legend_html() -> str:
    """The legend: each stance's colour and mark, the empty cell, and each flag's pattern."""
    items = [stance_chip(o) for o in reversed(Ordinal)]
    items.append(stance_chip(None))
    items.append(
        f'<span style="background-color: {INTERVAL_COLOUR}; padding: 0 4px; '
        f"border: 1px solid #999\">12.5</span> a number on the clause's own scale"
    )
    items += [
        f'<span style="{cell_style(Ordinal.NEUTRAL, [flag])}; padding: 0 6px; '
        f'border: 1px solid #999">&nbsp;</span> {_s(flag)}: {_s(FLAG_WORDS[flag])}'
        for flag in FLAGS
    ]
    body = "".join(f'<li style="margin: 2px 0">{item}</li>' for item in items)
    return f'<ul class="legend" style="list-style: none; padding: 0; font-size: 12px">{body}</ul>'


# -- matrices ----------------------------------------------------------------------


def _heading(matrix: Matrix, timezone: tzinfo | None = None) -> str:
    return (
        f"{matrix.negotiation} as of {describe_instant(matrix.as_of, timezone)}, "
        f"{describe_known_at(matrix.known_at, timezone)}"
    )


def matrix_repr(matrix: Matrix) -> str:
    """``<Matrix us-peace-plan-2025 as of 22 Nov 2025, known at ...: 83 cells, ...>``."""
    note = f"; note: {matrix.hint}" if matrix.hint else ""
    return (
        f"<Matrix {_heading(matrix)}: {len(matrix)} cells, "
        f"{len(matrix.parties)} parties x {len(matrix.clauses)} clauses{note}>"
    )


def matrix_html(matrix: Matrix) -> str:
    """The matrix as a colour-coded table with a legend; each cell's quote on hover."""
    caption = f"<p><strong>{_s(_heading(matrix))}</strong>: {len(matrix)} cells</p>"
    if not len(matrix):
        note = f"<p><em>Note: {_s(matrix.hint)}</em></p>" if matrix.hint else ""
        return f"<div>{caption}<p>(no stances recorded)</p>{note}</div>"
    return f"<div>{caption}{matrix_table(matrix)}{legend_html()}</div>"


# -- histories ---------------------------------------------------------------------


def history_repr(history: History) -> str:
    """``<History GB on military-cap in us-peace-plan-2025, known at ...: 2 entries, ...>``."""
    retracted = sum(1 for e in history if e.retracted)
    return (
        f"<History {history.party} on {history.clause} in {history.negotiation}, "
        f"{describe_known_at(history.known_at)}: {len(history)} entries, {retracted} retracted>"
    )


def _entry_row(entry: HistoryEntry) -> str:
    strike = "text-decoration: line-through; color: #777" if entry.retracted else ""
    if entry.retracted_at is not None:
        why = f"retracted {describe_instant(entry.retracted_at)}: {entry.retraction_reason}"
        if entry.replaced_by:
            why += f" (replaced by {entry.replaced_by})"
    else:
        why = ""
    stance = stance_chip(entry.stance) if entry.kind != "withdrawal" else "withdrawn"
    cells = [
        describe_instant(entry.valid_at),
        describe_instant(entry.recorded_at),
        entry.kind,
    ]
    quotes = "<br>".join(_s(line) for line in evidence_lines(entry.evidence))
    return (
        f'<tr style="{strike}">'
        + "".join(f"<td>{_s(c)}</td>" for c in cells)
        + f"<td>{stance}</td><td>{quotes}</td><td>{_s(why)}</td></tr>"
    )


def _table(headers: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f'<th style="text-align: left">{_s(h)}</th>' for h in headers)
    body = "".join(rows)
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def history_html(history: History) -> str:
    """The history as a table by valid time: both times, the stance, the quotes, retractions."""
    caption = (
        f"<p><strong>{_s(history.party)} on {_s(history.clause)}</strong> "
        f"({_s(history.negotiation)}, {_s(describe_known_at(history.known_at))})</p>"
    )
    headers = ["held from", "recorded", "kind", "stance", "evidence", "retraction"]
    return f"<div>{caption}{_table(headers, [_entry_row(e) for e in history])}</div>"


# -- diffs -------------------------------------------------------------------------


def _diff_heading(diff: Diff) -> str:
    return (
        f"{diff.after.negotiation} from {describe_instant(diff.before.as_of)} "
        f"to {describe_instant(diff.after.as_of)}, {describe_known_at(diff.after.known_at)}"
    )


def diff_repr(diff: Diff) -> str:
    """``<Diff us-peace-plan-2025 from 21 Nov 2025 to 22 Nov 2025, ...: 12 moves by 8 parties>``."""
    return f"<Diff {_diff_heading(diff)}: {len(diff)} moves by {len(diff.movers())} parties>"


def _side(cell: Cell | None) -> str:
    return stance_chip(None if cell is None else cell.stance, cell_flags(cell))


def moves_table(diff: Diff) -> str:
    """The moves as a table: who, on what, from what to what, and the quote behind the move."""
    rows = []
    for move in diff:
        basis = move.after or move.before
        assert basis is not None  # a move has a cell on at least one side
        quotes = "<br>".join(_s(line) for line in evidence_lines(basis.evidence))
        rows.append(
            f"<tr><td>{_s(move.party)}</td><td>{_s(move.clause)}</td>"
            f"<td>{_side(move.before)}</td><td>{_side(move.after)}</td>"
            f"<td>{_s(move.change)}</td><td>{quotes}</td></tr>"
        )
    return _table(["party", "clause", "before", "after", "change", "evidence"], rows)


def diff_html(diff: Diff) -> str:
    """The moves as a table with the quote behind each move, and the legend."""
    caption = f"<p><strong>{_s(_diff_heading(diff))}</strong>: {len(diff)} moves</p>"
    return f"<div>{caption}{moves_table(diff)}{legend_html()}</div>"
