"""The HTML briefing: one self-contained file a reader opens in any browser, offline.

It holds the matrix as of a date (each cell's quote and source shown on hover
and on keyboard focus), the moves since a second date, a summary per clause
(who supports, who opposes, where claims conflict), the list of sources, and a
receipt of the log (its head position and the hash of its last event) so that
a reader can check later that the data has not changed.

The file loads nothing: no scripts, no fonts, no images; its Content Security
Policy forbids any fetch. It prints legibly (tooltips hidden, colours kept,
rows unbroken across pages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from html import escape
from pathlib import Path

from negotrack.model import Clause, Ordinal, Source
from negotrack.projections.diff import Diff
from negotrack.projections.matrix import Cell, Matrix
from negotrack.report.legend import cell_flags, describe_instant, describe_known_at
from negotrack.report.notebook import legend_html, matrix_table, moves_table
from negotrack.store import Receipt, RecordedEvent
from negotrack.tracker import Tracker

__all__ = ["Receipt", "briefing", "receipt", "write_briefing"]


def receipt(records: Iterable[RecordedEvent]) -> Receipt:
    """The receipt of a log read in order, e.g. ``receipt(tracker.events())``."""
    last = None
    for last in records:  # noqa: B007 - only the last record matters
        pass
    if last is None:
        return Receipt(position=0, hash=None)
    return Receipt(position=last.position, hash=last.hash)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #111; max-width: 80em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; }
.moves td, .moves th, .sources td, .sources th { border-bottom: 1px solid #ddd;
  padding: 3px 6px; text-align: left; vertical-align: top; }
.cell { position: relative; cursor: default; }
.cell:focus { outline: 3px solid #000; outline-offset: -2px; }
.tip { display: none; position: absolute; z-index: 10; left: 100%; top: 0; width: 26em;
  background: #fff; color: #000; border: 1px solid #555; padding: 6px; text-align: left;
  font-size: 12px; box-shadow: 2px 2px 6px rgba(0,0,0,.3); }
.tip span { display: block; margin-bottom: 4px; }
.cell:hover .tip, .cell:focus .tip { display: block; }
.clause { margin-bottom: 1em; } .clause h3 { font-size: 1em; margin-bottom: .2em; }
.receipt code { word-break: break-all; }
@media print {
  body { margin: 0; font-size: 10pt; max-width: none; }
  .tip { display: none !important; }
  .cell, .legend span { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  tr, .clause { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""

_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; script-src 'none'"


def _s(value: object) -> str:
    return escape(str(value), quote=True)


def _moves_section(moves: Diff, timezone: tzinfo) -> str:
    since = describe_instant(moves.before.as_of, timezone)
    if not len(moves):
        return f"<h2>Moves since {_s(since)}</h2><p>Nobody moved.</p>"
    heading = f"<h2>Moves since {_s(since)}: {len(moves)}</h2>"
    return f'{heading}<div class="moves">{moves_table(moves)}</div>'


def _who(cells: Iterable[Cell]) -> str:
    return ", ".join(c.party for c in cells) or "nobody"


def _clause_section(matrix: Matrix, clauses: Mapping[str, Clause]) -> str:
    parts = ["<h2>Clause by clause</h2>"]
    for clause_id in matrix.clauses:
        cells = [c for c in matrix if c.clause == clause_id]
        ordinal = [(c, c.stance) for c in cells if isinstance(c.stance, Ordinal)]
        support = [c for c, stance in ordinal if stance > Ordinal.NEUTRAL]
        oppose = [c for c, stance in ordinal if stance < Ordinal.NEUTRAL]
        neutral = [c for c, stance in ordinal if stance == Ordinal.NEUTRAL]
        conflicts = [c for c in cells if "conflicting" in cell_flags(c)]
        clause = clauses.get(clause_id)
        title = f"{clause_id}: {clause.title}" if clause is not None else clause_id
        lines = [
            f"<li>supports: {_s(_who(support))}</li>",
            f"<li>opposes: {_s(_who(oppose))}</li>",
            f"<li>neutral: {_s(_who(neutral))}</li>",
        ]
        if conflicts:
            lines.append(f"<li>conflicting claims: {_s(_who(conflicts))}</li>")
        parts.append(
            f'<section class="clause" data-clause="{_s(clause_id)}"><h3>{_s(title)}</h3>'
            f"<ul>{''.join(lines)}</ul></section>"
        )
    return "".join(parts)


def _sources(cells: Iterable[Cell]) -> list[Source]:
    found: dict[Source, None] = {}
    for cell in cells:
        for evidence in cell.evidence:
            found.setdefault(evidence.source)
    return sorted(found, key=lambda s: (s.published or date.min, s.outlet, s.title or ""))


def _sources_section(sources: Sequence[Source]) -> str:
    rows = []
    for source in sources:
        where = source.url or source.file or ""
        rows.append(
            f"<tr><td>{_s(source.outlet)}</td><td>{_s(source.title or '')}</td>"
            f"<td>{_s(source.published or '')}</td><td>{_s(where)}</td></tr>"
        )
    head = "".join(f'<th scope="col">{h}</th>' for h in ("outlet", "title", "published", "where"))
    body = "".join(rows)
    return (
        f"<h2>Sources: {len(sources)}</h2>"
        f'<table class="sources"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def _receipt_section(head: Receipt) -> str:
    return (
        '<h2>Receipt</h2><p class="receipt">This briefing was made from the log up to position '
        f'<code data-position="{head.position}">{head.position}</code>, whose hash is '
        f"<code>{_s(head.hash or '(empty log)')}</code>. To check that nothing up to it has "
        "changed since and nothing was cut, run "
        f"<code>negotrack verify --expect {_s(str(head))}</code> on the store.</p>"
    )


def briefing(
    tracker: Tracker,
    negotiation: str,
    *,
    as_of: date | datetime,
    since: date | datetime,
    known_at: date | datetime | None = None,
) -> str:
    """The briefing of ``negotiation`` as of ``as_of``, with the moves since ``since``, as HTML.

    A date means the end of that day in the negotiation's time zone.

    Raises:
        UnknownNegotiationError: no negotiation with this id.
    """
    plan = tracker.negotiation(negotiation)
    matrix = plan.matrix(as_of, known_at=known_at)
    moves = plan.diff(since, as_of, known_at=known_at)
    clauses = plan.clauses()
    zone = plan.timezone
    when = (
        f"as of {describe_instant(matrix.as_of, zone)}, {describe_known_at(matrix.known_at, zone)}"
    )
    table = (
        matrix_table(
            matrix,
            clause_titles={c: clauses[c].title for c in matrix.clauses if c in clauses},
            timezone=zone,
            focusable=True,
        )
        if len(matrix)
        else "<p>(no stances recorded)</p>"
    )
    cited = _sources([*matrix, *(c for m in moves for c in (m.before, m.after) if c)])
    body = [
        f"<header><h1>{_s(plan.title)}</h1><p>{_s(plan.id)}: positions {_s(when)}</p></header>",
        "<main>",
        f"<h2>Positions {_s(when)}</h2>",
        "<p>Hover over a cell, or move to it with the Tab key, for its quote and source.</p>",
        table,
        legend_html(),
        _moves_section(moves, zone),
        _clause_section(matrix, clauses),
        _sources_section(cited),
        _receipt_section(receipt(tracker.events())),
        "</main>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_s(plan.title)}: {_s(when)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def write_briefing(
    tracker: Tracker,
    negotiation: str,
    path: str | Path,
    *,
    as_of: date | datetime,
    since: date | datetime,
    known_at: date | datetime | None = None,
) -> Path:
    """Write :func:`briefing` to ``path`` (UTF-8) and return the path."""
    target = Path(path)
    target.write_text(
        briefing(tracker, negotiation, as_of=as_of, since=since, known_at=known_at),
        encoding="utf-8",
    )
    return target
