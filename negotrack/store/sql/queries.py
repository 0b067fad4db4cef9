"""The read queries: the log in pages, one event, the as-of query, a cell's history."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, func, select

from negotrack._time import to_micros
from negotrack.store import CellEntry, CellKey, RecordedEvent
from negotrack.store.keying import MARKER_ROW
from negotrack.store.schema import cell_entries, cells, events, retractions, store_info
from negotrack.store.sql.rows import PAGE, ROW_COLUMNS, Decode, record_of
from negotrack.trusted import maker

__all__ = [
    "CHAIN_MARKER",
    "cell_history",
    "chain_marker",
    "event_by_id",
    "events_of_types",
    "last_position",
    "latest_entries",
    "log_page",
    "position_known_at",
]

_NO_LIMIT = 2**62
_entry = maker(CellEntry)  # its parts come from rows, checked when they were written


def log_page(conn: Connection, after: int, negotiation: str | None) -> list[Any]:
    """Up to a page of rows after position ``after``, in position order."""
    query = select(*ROW_COLUMNS).where(events.c.position > after)
    if negotiation is not None:
        query = query.where(events.c.negotiation == negotiation)
    return list(conn.execute(query.order_by(events.c.position).limit(PAGE)).all())


def event_by_id(conn: Connection, event_id: str, decode: Decode) -> RecordedEvent | None:
    """The stored event with ``event_id``, or ``None``."""
    row = conn.execute(select(*ROW_COLUMNS).where(events.c.event_id == event_id)).first()
    return None if row is None else record_of(row, decode)


def last_position(conn: Connection) -> int:
    """The position of the newest event, 0 for an empty log."""
    return int(conn.execute(select(func.coalesce(func.max(events.c.position), 0))).scalar_one())


CHAIN_MARKER = select(store_info.c.value).where(store_info.c.key == MARKER_ROW)
"""The store's record that its chain is keyed (no row: plain, or not yet written)."""


def chain_marker(conn: Connection) -> str | None:
    """The store's record that its chain is keyed (``None``: plain, or not yet written)."""
    marker: str | None = conn.execute(CHAIN_MARKER).scalar()
    return marker


def position_known_at(conn: Connection, known_at: datetime) -> int:
    """The newest position recorded at or before ``known_at`` (0 if none).

    Record times increase with the position, so the newest row by record
    time is the newest by position: one seek down the ``recorded_at`` index,
    where ``MAX(position)`` would scan every row recorded before ``known_at``.
    """
    query = (
        select(events.c.position)
        .where(events.c.recorded_at <= to_micros(known_at))
        .order_by(events.c.recorded_at.desc())
        .limit(1)
    )
    return int(conn.execute(query).scalar() or 0)


def latest_entries(
    conn: Connection,
    negotiation: str,
    as_of: datetime,
    known_position: int | None,
    decode: Decode,
) -> Iterator[CellEntry]:
    """For each cell of the negotiation, every known, unretracted entry at its latest instant.

    The latest instant is the greatest ``valid_at <= as_of`` among the cell's
    known, unretracted entries; every such entry made at that instant is
    returned, in no order that matters (the claim rule decides between them,
    never the position).  Some may be withdrawals.

    The query's shape: for each row of ``cells``, one seek down the
    ``cell_entries_as_of`` index finds the instant; then one equality seek
    on the whole index prefix (cell, instant) yields the entries at it.  The
    cost follows the number of cells, not of events.
    """
    known = _NO_LIMIT if known_position is None else known_position
    # The retraction probe runs for every entry the seek walks past; when
    # no retraction is known at all (the common case) it is left out.
    first_retraction = conn.execute(select(func.min(retractions.c.position))).scalar()
    probe = first_retraction is not None and first_retraction <= known

    def live(entry: Any) -> list[Any]:
        """The conditions for an entry of ``cell_entries`` to count: known and not retracted."""
        conditions = [entry.c.position <= known]
        if probe:
            retraction = retractions.alias()
            conditions.append(
                ~exists().where(
                    retraction.c.retracted == entry.c.position,
                    retraction.c.position <= known,
                )
            )
        return conditions

    seek = cell_entries.alias("seek")
    latest_instant = (
        select(seek.c.valid_at)
        .where(
            seek.c.negotiation == cells.c.negotiation,
            seek.c.party == cells.c.party,
            seek.c.clause == cells.c.clause,
            seek.c.valid_at <= to_micros(as_of),
            *live(seek),
        )
        .order_by(seek.c.valid_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    # MATERIALIZED keeps the planner from folding the instants into the outer
    # join and running the seek once per entry instead of once per cell.
    instants = (
        select(cells.c.party, cells.c.clause, latest_instant.label("valid_at"))
        .where(cells.c.negotiation == negotiation)
        .cte("instants")
        .prefix_with("MATERIALIZED")
    )
    entry = cell_entries.alias("entry")
    query = (
        select(*ROW_COLUMNS, instants.c.party)
        .select_from(instants)
        .join(
            entry,
            and_(
                entry.c.negotiation == negotiation,
                entry.c.party == instants.c.party,
                entry.c.clause == instants.c.clause,
                entry.c.valid_at == instants.c.valid_at,
                *live(entry),
            ),
        )
        .join(events, events.c.position == entry.c.position)
        .order_by(events.c.position)
    )
    for row in conn.execute(query).all():  # one fetch: a row at a time costs a call each
        yield _entry(party=row[-1], record=record_of(row, decode), retracted_by=None)


_RETRACTING = events.alias("retracting")
_CELL_HISTORY = (
    # Built once: constructing this four-way join cost more than running it.
    select(
        *ROW_COLUMNS,
        # The retraction's row, in the same order (record_of reads both by position).
        *(_RETRACTING.c[column.name].label(f"r_{column.name}") for column in ROW_COLUMNS),
    )
    .select_from(cell_entries)
    .join(events, events.c.position == cell_entries.c.position)
    .outerjoin(
        retractions,
        and_(
            retractions.c.retracted == cell_entries.c.position,
            retractions.c.position <= bindparam("known"),
        ),
    )
    .outerjoin(_RETRACTING, _RETRACTING.c.position == retractions.c.position)
    .where(
        cell_entries.c.negotiation == bindparam("negotiation"),
        cell_entries.c.party == bindparam("party"),
        cell_entries.c.clause == bindparam("clause"),
        cell_entries.c.position <= bindparam("known"),
    )
    .order_by(cell_entries.c.valid_at, cell_entries.c.position)
)


def cell_history(
    conn: Connection, cell: CellKey, known_position: int | None, decode: Decode
) -> list[CellEntry]:
    """Every stance event of a cell known at ``known_position``, with its retraction known then."""
    known = _NO_LIMIT if known_position is None else known_position
    where = {
        "negotiation": cell.negotiation,
        "party": cell.party,
        "clause": cell.clause,
        "known": known,
    }
    return [
        _entry(
            party=cell.party,
            record=record_of(row, decode),
            retracted_by=None if row[8] is None else record_of(row[8:], decode),
        )
        for row in conn.execute(_CELL_HISTORY, where).all()
    ]


def events_of_types(
    conn: Connection, negotiation: str | None, types: Sequence[str], after: int, decode: Decode
) -> list[RecordedEvent]:
    """The events of the given types (of one negotiation, or all) after a position, in order."""
    query = (
        select(*ROW_COLUMNS)
        .where(events.c.type.in_(types), events.c.position > after)
        .order_by(events.c.position)
    )
    if negotiation is not None:
        query = query.where(events.c.negotiation == negotiation)
    return [record_of(row, decode) for row in conn.execute(query)]
