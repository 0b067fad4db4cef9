"""What the SQL store keeps between calls: decoded events, and stream and cell versions.

Both are caches of an append-only log, so neither can go stale in a way that
changes an answer: a decoded event is keyed by its row's hash, and the versions
are dropped as soon as another writer has moved the head of the log.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, tuple_

from negotrack.events import Event
from negotrack.store import CellKey
from negotrack.store.schema import cell_entries, events
from negotrack.store.sql.rows import chunks, decode

__all__ = ["DecodedEvents", "Versions"]


class DecodedEvents:
    """Events already decoded, keyed by their row's hash.

    Rows never change (the tables are append-only), and the hash covers the
    whole row and its place in the chain, so a cached event cannot go stale.
    Decoding dominates a matrix over many cells; an application that asks for
    matrices on every page view pays it once per event, not once per view.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._events: dict[str, Event] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def __call__(self, row_hash: str, type_name: str, schema_version: int, payload: str) -> Event:
        if self._size <= 0:
            return decode(row_hash, type_name, schema_version, payload)
        found = self._events.get(row_hash)
        if found is None:
            found = decode(row_hash, type_name, schema_version, payload)
            with self._lock:
                if len(self._events) >= self._size:  # drop the older half, oldest first
                    for key in list(itertools.islice(self._events, max(1, self._size // 2))):
                        del self._events[key]
                self._events[row_hash] = found
        return found

    def scan(self, row_hash: str, type_name: str, schema_version: int, payload: str) -> Event:
        """Like a call, for a read of the whole log: keeps a decoded event only while there is room.

        A scan of a log longer than the cache would otherwise evict every
        event the matrix and history calls keep reusing, then evict its own
        before reading them again; and every event it keeps outlives the
        young generation, which sets off full garbage collections.  Events
        already held are still used.
        """
        found = self._events.get(row_hash)
        if found is None:
            found = decode(row_hash, type_name, schema_version, payload)
            if len(self._events) < self._size:
                with self._lock:
                    self._events[row_hash] = found
        return found


_CELL_VERSION = select(func.coalesce(func.max(cell_entries.c.version), 0)).where(
    cell_entries.c.negotiation == bindparam("negotiation"),
    cell_entries.c.party == bindparam("party"),
    cell_entries.c.clause == bindparam("clause"),
)


class Versions:
    """Versions of streams and cells as of log position ``position``, read once each.

    The store keeps one between appends: when the head of the log is still at
    ``position`` (no other writer came in between), every version it holds is
    exact and an append needs no query to check or assign versions.
    """

    _LIMIT = 200_000  # entries kept between appends; past it, start afresh

    def __init__(self, position: int) -> None:
        self.position = position
        self.streams: dict[str, int] = {}
        self.cells: dict[CellKey, int] = {}

    def load(self, conn: Connection, streams: Iterable[str], cells: Iterable[CellKey]) -> None:
        """Read the versions of the streams and cells not held yet."""
        wanted = sorted({s for s in streams if s not in self.streams})
        for chunk in chunks(wanted):
            rows = conn.execute(
                select(events.c.stream, func.max(events.c.version))
                .where(events.c.stream.in_(chunk))
                .group_by(events.c.stream)
            )
            self.streams.update(dict.fromkeys(chunk, 0))
            self.streams.update({row[0]: row[1] for row in rows})
        wanted_cells = sorted({key for key in cells if key not in self.cells})
        if conn.dialect.name == "sqlite":
            # SQLite plans a row-value IN as a scan of the whole index; one seek
            # per cell is far cheaper on a long log.
            for key in wanted_cells:
                self.cells[key] = conn.execute(
                    _CELL_VERSION,
                    {"negotiation": key.negotiation, "party": key.party, "clause": key.clause},
                ).scalar_one()
            return
        for chunk in chunks(wanted_cells):
            cell = tuple_(cell_entries.c.negotiation, cell_entries.c.party, cell_entries.c.clause)
            found: Any = conn.execute(
                select(
                    cell_entries.c.negotiation,
                    cell_entries.c.party,
                    cell_entries.c.clause,
                    func.max(cell_entries.c.version),
                )
                .where(cell.in_([(k.negotiation, k.party, k.clause) for k in chunk]))
                .group_by(cell_entries.c.negotiation, cell_entries.c.party, cell_entries.c.clause)
            )
            self.cells.update(dict.fromkeys(chunk, 0))
            self.cells.update({CellKey(r[0], r[1], r[2]): r[3] for r in found})

    def load_named(
        self, conn: Connection, streams: Iterable[str], cells: Iterable[CellKey] = ()
    ) -> None:
        """Read the versions of named streams (cells or not) and of ``cells``."""
        named_cells = list(cells)
        others = []
        for name in streams:
            if name in self.streams:
                continue  # a stream (not a cell) already held
            key = CellKey.of_stream(name)
            if key is None:
                others.append(name)
            else:
                named_cells.append(key)
        self.load(conn, others, named_cells)

    def current(self, stream: str) -> int:
        """The version of a stream name; a cell's version counts all its stance events."""
        key = CellKey.of_stream(stream)
        return self.streams[stream] if key is None else self.cells[key]

    def too_big(self) -> bool:
        """Whether it holds so many versions that starting afresh is cheaper."""
        return len(self.streams) + len(self.cells) > self._LIMIT
