"""The write path: the transaction that holds the writers' lock, and one append inside it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
from sqlalchemy import Connection, insert, select, text

from negotrack._time import from_micros, now_micros
from negotrack.errors import ConcurrencyError, DuplicateError, StoreError
from negotrack.events import Event, StanceRecorded, StanceRetracted, StanceWithdrawn
from negotrack.store import CellKey, RecordedEvent, cells_of, keying, stream_of
from negotrack.store.chain import GENESIS, chain, check_exported_link, row_of
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
_SERVER_NOW = text(
    "SELECT extract(epoch FROM date_trunc('second', t))::bigint * 1000000"
    " + extract(microseconds FROM t)::bigint % 1000000"
    " FROM (SELECT clock_timestamp() AS t) AS server"
)


@attrs.define
class _Head:
    position: int
    recorded_at: int
    hash: str


def _index_entries(
    event_: Event, row: Mapping[str, Any], versions: Versions, new_cells: dict[CellKey, None]
) -> list[dict[str, Any]]:
    """The cell entries of one new event, bumping each cell's version (and noting new cells)."""
    entries = []
    for key in cells_of(event_):
        if versions.cells[key] == 0:
            new_cells[key] = None
        versions.cells[key] += 1
        entries.append(
            {
                "negotiation": key.negotiation,
                "party": key.party,
                "clause": key.clause,
                "version": versions.cells[key],
                "valid_at": row["valid_at"],
                "position": row["position"],
                "withdrawn": isinstance(event_, StanceWithdrawn),
            }
        )
    return entries


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
        versions.load_named(self.conn, [*streams, *self.expected], entered)
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
            row = row_of(
                event_,
                payload=self.payloads[index],
                position=position,
                stream=stream,
                version=version,
                recorded_at=recorded + offset if given is None else given[index],
            )
            previous = row["hash"] = chain(previous, row, key)
            rows.add(row, _index_entries(event_, row, versions, rows.new_cells))
            if isinstance(event_, StanceRetracted):
                target = retracted.get(event_.retracted) or rows.position_of(event_)
                rows.retractions.append({"retracted": target, "position": position})
            if self.hashes is not None:
                plain = chain(plain, row)
                check_exported_link(self.hashes[index], row["hash"], plain, index + 1)
            records[event_.event_id] = RecordedEvent(
                position=position,
                recorded_at=from_micros(row["recorded_at"]),
                stream=stream,
                version=version,
                event=event_,
                hash=row["hash"],
            )
            if len(rows.events) >= WRITE_CHUNK:
                rows.insert(self.conn)
        rows.insert(self.conn)
        versions.position = position
        return [records[event_id] for event_id in ids]

    def _now(self) -> int:
        """The store's clock, in microseconds; taken under the writers' lock.

        On PostgreSQL it is the server's: clients on several hosts then agree,
        and one fast client clock cannot drag everyone's record times ahead.
        """
        if self.conn.dialect.name == "postgresql":
            return int(self.conn.execute(_SERVER_NOW).scalar_one())
        return now_micros()

    def _key(self, head: _Head) -> bytes | None:
        """The key the store's chain is made with; an empty store takes the key offered."""
        marker = queries.chain_marker(self.conn)
        key = keying.key_for(marker, self.chain_key, has_events=head.position > 0)
        if key is not None and marker is None:
            self.conn.execute(
                insert(store_info), {"key": keying.MARKER_ROW, "value": keying.marker_of(key)}
            )
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
        if isinstance(event_, StanceRecorded | StanceWithdrawn):
            # A cell's stream: its version is the cell's, bumped with the entry in run().
            return versions.current(stream) + 1
        versions.streams[stream] += 1
        return versions.streams[stream]

    def _head(self) -> _Head:
        row = self.conn.execute(
            select(events.c.position, events.c.recorded_at, events.c.hash)
            .order_by(events.c.position.desc())
            .limit(1)
        ).first()
        if row is None:
            return _Head(position=0, recorded_at=0, hash=GENESIS)
        return _Head(position=row.position, recorded_at=row.recorded_at, hash=row.hash)


WRITE_CHUNK = 500
"""Rows inserted at a time: a large append (an import, a restore) holds one chunk of
rows, not the whole batch, and still commits once."""


class _Rows:
    """The rows of an append not inserted yet, and what later rows of it need to know."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.new_cells: dict[CellKey, None] = {}
        self.retractions: list[dict[str, Any]] = []
        self.positions: dict[str, int] = {}  # every event id of the append, inserted or not

    def add(self, row: dict[str, Any], entries: list[dict[str, Any]]) -> None:
        self.events.append(row)
        self.entries += entries
        self.positions[row["event_id"]] = row["position"]

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
        if not self.events:
            return
        conn.execute(insert(events), self.events)
        if self.entries:
            conn.execute(insert(cell_entries), self.entries)
        if self.new_cells:  # a cell's first entry: its row in `cells` is written with it
            conn.execute(
                insert(cells),
                [
                    {"negotiation": k.negotiation, "party": k.party, "clause": k.clause}
                    for k in self.new_cells
                ],
            )
        if self.retractions:
            conn.execute(insert(retractions), self.retractions)
        self.events, self.entries, self.retractions = [], [], []
        self.new_cells = {}
