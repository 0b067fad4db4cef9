"""The write path: the transaction that holds the writers' lock, and one append inside it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import attrs
from sqlalchemy import Connection, Table, literal, literal_column, select, true

from negotrack._time import from_micros, now_micros
from negotrack.errors import ConcurrencyError, DuplicateError, StoreError
from negotrack.events import Event, StanceRecorded, StanceRetracted, StanceWithdrawn
from negotrack.store import CellKey, RecordedEvent, cells_of, keying, stream_of
from negotrack.store.chain import CHAINED, GENESIS, chain_values, check_exported_link, row_values
from negotrack.store.clock import check_restored_times, first_record_time
from negotrack.store.identity import check_ids_unique
from negotrack.store.schema import cell_entries, cells, events, retractions, store_info
from negotrack.store.sql import queries
from negotrack.store.sql.caches import Versions
from negotrack.store.sql.rows import ROW_COLUMNS, chunks, record_of

__all__ = ["Append", "write_transaction"]


@contextmanager
def write_transaction(conn: Connection) -> Iterator[Connection]:
    """A transaction on ``conn`` that holds the writers' lock until it commits or rolls back."""
    conn.execution_options(negotrack_write=True)  # SQLite: BEGIN IMMEDIATE (see engine.py)
    with conn.begin():
        if conn.dialect.name == "postgresql":
            # One advisory lock per schema: the writers of this log wait for each
            # other until commit; readers and other schemas' logs never wait.
            conn.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(hashtext('negotrack:' || current_schema()))"
            )
        yield conn


# Exact to the microsecond whatever type extract() returns (double before PostgreSQL 14).
_SERVER_NOW = (
    "(SELECT extract(epoch FROM date_trunc('second', t))::bigint * 1000000"
    " + extract(microseconds FROM t)::bigint % 1000000"
    " FROM (SELECT clock_timestamp() AS t) AS server)"
)

_LAST = (
    select(events.c.position, events.c.recorded_at, events.c.hash)
    .order_by(events.c.position.desc())
    .limit(1)
    .subquery("last")
)


@cache
def _head_query(dialect: str) -> Any:
    """What an append reads first, in one round trip: the head, the chain's marker, the clock.

    The row exists for an empty log too (the head's columns are then NULL).
    Taken after the writers' lock, it sees every append committed before.
    """
    columns: list[Any] = [
        _LAST.c.position,
        _LAST.c.recorded_at,
        _LAST.c.hash,
        queries.CHAIN_MARKER.scalar_subquery().label("marker"),
    ]
    if dialect == "postgresql":
        columns.append(literal_column(_SERVER_NOW).label("server_now"))
    one = select(literal(1).label("one")).subquery("one")
    return select(*columns).select_from(one.outerjoin(_LAST, true()))


@cache
def _insert_statement(table: Table, paramstyle: str) -> str:
    """A plain INSERT of every column of ``table``, in the driver's own placeholders.

    Rows go to the driver's ``executemany`` as tuples: SQLAlchemy Core's
    per-row parameter processing costs about as much as SQLite's own insert.
    Names are quoted as the SQL standard does, which SQLite and PostgreSQL share.
    """
    mark = "?" if paramstyle == "qmark" else "%s"
    names = ", ".join(f'"{column.name}"' for column in table.columns)
    marks = ", ".join([mark] * len(table.columns))
    return f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'


@attrs.define
class _Head:
    position: int
    recorded_at: int
    hash: str
    marker: str | None


_CELL_EVENTS = (StanceRecorded, StanceWithdrawn)
"""The events whose stream is a cell: their version is the cell's."""

# Where row_values puts the values read back here.
_POSITION, _EVENT_ID, _VALID_AT, _RECORDED_AT = (
    CHAINED.index(column) for column in ("position", "event_id", "valid_at", "recorded_at")
)


def _index_entries(
    event_: Event,
    position: int,
    valid_at: int,
    versions: Versions,
    new_cells: dict[CellKey, None],
) -> list[tuple[Any, ...]]:
    """The cell entries of one new event, in ``cell_entries``' column order.

    Bumps each cell's version and notes the cells entered for the first time.
    """
    entries = []
    withdrawn = isinstance(event_, StanceWithdrawn)
    cell_versions = versions.cells
    for key in cells_of(event_):
        version = cell_versions[key] + 1
        if version == 1:
            new_cells[key] = None
        cell_versions[key] = version
        entries.append((*key, version, valid_at, position, withdrawn))
    return entries


WRITE_CHUNK = 500
"""Rows inserted at a time: a large append (an import, a restore) holds one chunk of
rows, not the whole batch, and still commits once."""


class _Rows:
    """The rows of an append not inserted yet, and what later rows of it need to know."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.entries: list[tuple[Any, ...]] = []
        self.new_cells: dict[CellKey, None] = {}
        self.retractions: list[tuple[int, int]] = []
        self.positions: dict[str, int] = {}  # every event id of the append, inserted or not

    def add(self, row: tuple[Any, ...], entries: list[tuple[Any, ...]]) -> None:
        self.events.append(row)
        self.entries += entries
        self.positions[row[_EVENT_ID]] = row[_POSITION]

    def position_of(self, retraction: StanceRetracted) -> int:
        """The position of the event a retraction names, among the earlier events of its append.

        Raises:
            StoreError: none of them (an append that bypassed the write rules):
                the retractions index cannot point at a row that is not written.
        """
        if retraction.retracted not in self.positions:
            raise StoreError(
                f"the retraction of {retraction.retracted!r} names no event written before it: "
                "append through a Tracker, which checks the write rules"
            )
        return self.positions[retraction.retracted]

    def insert(self, conn: Connection) -> None:
        """Insert the rows held, in the append's transaction, and let go of them."""
        _insert(conn, events, self.events)
        _insert(conn, cell_entries, self.entries)
        _insert(conn, cells, list(self.new_cells))  # a cell's row is written with its first entry
        _insert(conn, retractions, self.retractions)
        self.events, self.entries, self.retractions = [], [], []
        self.new_cells = {}


def _insert(conn: Connection, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        conn.exec_driver_sql(_insert_statement(table, conn.dialect.paramstyle), list(rows))


class Append:
    """One append, inside the writers' lock: check, number, chain, insert."""

    def __init__(
        self,
        conn: Connection,
        batch: list[Event],
        payloads: list[str],
        expected: Mapping[str, int],
        *,
        versions: Versions | None,
        recorded_at: Sequence[int] | None = None,
        hashes: Sequence[str | None] | None = None,
        chain_key: bytes | None = None,
    ) -> None:
        self.conn = conn
        self.chain_key = chain_key  # offered from the environment; the store decides
        self.batch = batch
        self.payloads = payloads
        self.expected = expected
        self.recorded_at = recorded_at  # given only by restore(), into an empty log
        self.hashes = hashes  # the exported chain a restore must reproduce, where known
        self.versions = versions or Versions(-1)
        self._server_now: int | None = None

    def run(self, *, check_stored: bool) -> list[RecordedEvent]:
        """Write the batch; return the record of every event, in the order given."""
        head = self._head()
        if self.recorded_at is not None and head.position != 0:
            raise StoreError("a log can be restored only into an empty store")
        key = self._key(head)
        if self.versions.position != head.position:  # another writer came in: start afresh
            self.versions = Versions(head.position)
        versions = self.versions
        check_ids_unique(self.batch)
        stored = self._already_stored() if check_stored else {}
        fresh = [i for i, e in enumerate(self.batch) if e.event_id not in stored]
        ids = [e.event_id for e in self.batch]
        if stored and not fresh:
            # Every event is already stored as given: a retried append (its reply
            # was lost) succeeds again, whatever versions it expected then.
            return [stored[event_id] for event_id in ids]
        streams = [stream_of(self.batch[i]) for i in fresh]
        entered = [key for i in fresh for key in cells_of(self.batch[i])]
        # A cell event's stream is its cell, already among those entered.
        named = [
            stream
            for index, stream in zip(fresh, streams, strict=True)
            if not isinstance(self.batch[index], _CELL_EVENTS)
        ]
        versions.load_named(self.conn, [*named, *self.expected], entered)
        for stream, version in self.expected.items():
            if versions.current(stream) != version:
                raise ConcurrencyError(stream, version, versions.current(stream))
        retracted = self._retraction_targets([self.batch[i] for i in fresh])

        now = self._now()
        given = self.recorded_at
        if given is not None:
            check_restored_times(given, now)
        recorded = first_record_time(now, head.recorded_at, len(fresh))
        rows = _Rows()
        records: dict[str, RecordedEvent] = dict(stored)
        position, previous, plain = head.position, head.hash, head.hash
        for offset, (index, stream) in enumerate(zip(fresh, streams, strict=True)):
            event_ = self.batch[index]
            position += 1
            version = self._next_version(event_, stream, versions)
            values = row_values(
                event_,
                payload=self.payloads[index],
                position=position,
                stream=stream,
                version=version,
                recorded_at=recorded + offset if given is None else given[index],
            )
            previous = chain_values(previous, values, key)
            entries = _index_entries(event_, position, values[_VALID_AT], versions, rows.new_cells)
            rows.add((*values, previous), entries)
            if isinstance(event_, StanceRetracted):
                target = retracted.get(event_.retracted) or rows.position_of(event_)
                rows.retractions.append((target, position))
            if self.hashes is not None:
                plain = chain_values(plain, values)
                check_exported_link(self.hashes[index], previous, plain, index + 1)
            records[event_.event_id] = RecordedEvent(
                position=position,
                recorded_at=from_micros(values[_RECORDED_AT]),
                stream=stream,
                version=version,
                event=event_,
                hash=previous,
            )
            if len(rows.events) >= WRITE_CHUNK:
                rows.insert(self.conn)
        rows.insert(self.conn)
        versions.position = position
        return [records[event_id] for event_id in ids]

    def _now(self) -> int:
        """The store's clock, in microseconds; read under the writers' lock.

        On PostgreSQL it is the server's (read with the head): clients on several
        hosts then agree, and one fast client clock cannot drag everyone's record
        times ahead.
        """
        if self._server_now is not None:
            return self._server_now
        return now_micros()

    def _key(self, head: _Head) -> bytes | None:
        """The key the store's chain is made with; an empty store takes the key offered."""
        key = keying.key_for(head.marker, self.chain_key, has_events=head.position > 0)
        if key is not None and head.marker is None:
            _insert(self.conn, store_info, [(keying.MARKER_ROW, keying.marker_of(key))])
        return key

    def _already_stored(self) -> dict[str, RecordedEvent]:
        """Events of the batch already in the log; the same id must mean the same event."""
        ids = [e.event_id for e in self.batch]
        stored: dict[str, RecordedEvent] = {}
        by_id = {e.event_id: p for e, p in zip(self.batch, self.payloads, strict=True)}
        for chunk in chunks(ids):
            for row in self.conn.execute(
                select(*ROW_COLUMNS, events.c.event_id).where(events.c.event_id.in_(chunk))
            ):
                if row.payload != by_id[row.event_id]:
                    raise DuplicateError("event", row.event_id)
                stored[row.event_id] = record_of(row)
        return stored

    def _retraction_targets(self, fresh: list[Event]) -> dict[str, int]:
        """Position of each stored event retracted in the batch (the rules checked the targets)."""
        targets = [e.retracted for e in fresh if isinstance(e, StanceRetracted)]
        stored: dict[str, int] = {}
        for chunk in chunks(targets):
            query = select(events.c.event_id, events.c.position).where(events.c.event_id.in_(chunk))
            for event_id, position in self.conn.execute(query):
                stored[event_id] = position
        return stored

    def _next_version(self, event_: Event, stream: str, versions: Versions) -> int:
        if isinstance(event_, _CELL_EVENTS):
            # A cell's stream: its version is the cell's, bumped with the entry in run().
            return versions.cells[CellKey(event_.negotiation, event_.party, event_.clause)] + 1
        versions.streams[stream] += 1
        return versions.streams[stream]

    def _head(self) -> _Head:
        dialect = self.conn.dialect.name
        row = self.conn.execute(_head_query(dialect)).one()
        self._server_now = row.server_now if dialect == "postgresql" else None
        if row.position is None:
            return _Head(0, 0, GENESIS, row.marker)
        return _Head(row.position, row.recorded_at, row.hash, row.marker)
