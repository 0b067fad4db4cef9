"""The log in memory: ``negotrack.open("memory://")``.

For tests, notebooks and throw-away analyses, and as an oracle for the SQL
store: its answers come from the reference folds of
:mod:`negotrack.projections` over its list of records, not from any query, so
the contract suite (:mod:`negotrack.testing`) holding both stores to the same
answers checks the SQL path against code written apart from it.

It keeps every promise of :class:`~negotrack.store.EventStore`: positions
from 1 without gaps, record times strictly increasing, the same hash chain as
the SQL store (a log moves between them with its hashes), idempotency by
event id, and optimistic concurrency per stream and per cell; like every
store it leaves the write rules to :mod:`negotrack.rules`.  It lives as long
as the object: every ``open("memory://")`` starts an empty log.  One lock
serialises appends, so threads may share it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from negotrack import codec
from negotrack._time import from_micros, now_micros, to_micros
from negotrack.errors import (
    ChainBrokenError,
    ConcurrencyError,
    DuplicateError,
    StoreError,
    UnknownEventError,
)
from negotrack.events import Event, StanceRecorded, StanceRetracted, StanceWithdrawn
from negotrack.projections.claims import ClaimRule, project_claims_matrix
from negotrack.projections.history import project_history
from negotrack.store import CellEntry, CellKey, RecordedEvent, cells_of, keying, stream_of
from negotrack.store.chain import GENESIS, chain, check_exported_link, check_link, row_of
from negotrack.store.clock import check_restored_times, first_record_time
from negotrack.store.identity import check_ids_unique
from negotrack.store.receipt import Receipt, check_receipt

__all__ = ["MemoryEventStore"]

_EVERY_CLAIM = ClaimRule(())
"""No preference: every claim stands, so none is lost before the caller's rule."""


class MemoryEventStore:
    """The log as a Python list; see the module docstring."""

    def __init__(self) -> None:
        self._records: list[RecordedEvent] = []
        self._rows: list[dict[str, Any]] = []  # the chained rows, as the SQL store writes them
        self._by_id: dict[str, RecordedEvent] = {}
        self._streams: dict[str, int] = {}
        self._cells: dict[CellKey, int] = {}
        self._retractions: dict[str, RecordedEvent] = {}  # retracted id -> its retraction
        self._lock = threading.Lock()
        # A new log takes the key set in the environment, as a new SQL store does.
        self._key = keying.from_environment()

    # -- writing --------------------------------------------------------------

    def append(
        self,
        events: Sequence[Event],
        *,
        expected_versions: Mapping[str, int] | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` atomically; see :meth:`negotrack.store.EventStore.append`."""
        with self._lock:
            return self._append(list(events), expected_versions or {}, None)

    def restore(self, records: Sequence[RecordedEvent]) -> list[RecordedEvent]:
        """Load an exported log into this empty store (see :meth:`EventStore.restore`)."""
        with self._lock:
            if self._records:
                raise StoreError("a log can be restored only into an empty store")
            return self._append([r.event for r in records], {}, records)

    def _append(
        self,
        batch: list[Event],
        expected: Mapping[str, int],
        restored: Sequence[RecordedEvent] | None,
    ) -> list[RecordedEvent]:
        check_ids_unique(batch)
        payloads = [codec.encode(e) for e in batch]
        for event, payload in zip(batch, payloads, strict=True):
            stored = self._by_id.get(event.event_id)
            if stored is not None and self._rows[stored.position - 1]["payload"] != payload:
                raise DuplicateError("event", event.event_id)
        fresh = [i for i, e in enumerate(batch) if e.event_id not in self._by_id]
        if fresh or not batch:
            # A batch wholly stored already is a retry: it succeeds whatever it expected.
            for stream, version in expected.items():
                if self._version(stream) != version:
                    raise ConcurrencyError(stream, version, self._version(stream))
        # Work on copies: nothing is kept unless the whole batch is accepted.
        streams, cells = dict(self._streams), dict(self._cells)
        previous = plain = self._rows[-1]["hash"] if self._rows else GENESIS
        now = now_micros()
        if restored is not None:
            check_restored_times([to_micros(r.recorded_at) for r in restored], now)
        last = to_micros(self._records[-1].recorded_at) if self._records else 0
        clock = first_record_time(now, last, len(fresh))
        new: list[tuple[RecordedEvent, dict[str, Any]]] = []
        for offset, index in enumerate(fresh):
            event = batch[index]
            stream = stream_of(event)
            for key in cells_of(event):
                cells[key] = cells.get(key, 0) + 1
            if isinstance(event, StanceRecorded | StanceWithdrawn):
                version = cells[CellKey(event.negotiation, event.party, event.clause)]
            else:
                version = streams[stream] = streams.get(stream, 0) + 1
            position = len(self._records) + len(new) + 1
            recorded = (
                clock + offset if restored is None else to_micros(restored[index].recorded_at)
            )
            row = row_of(
                event,
                payload=payloads[index],
                position=position,
                stream=stream,
                version=version,
                recorded_at=recorded,
            )
            previous = row["hash"] = chain(previous, row, self._key)
            if restored is not None:
                plain = chain(plain, row)
                check_exported_link(restored[index].hash, row["hash"], plain, index + 1)
            record = RecordedEvent(
                position=position,
                recorded_at=from_micros(recorded),
                stream=stream,
                version=version,
                event=event,
                hash=row["hash"],
            )
            new.append((record, row))
        for record, row in new:
            self._records.append(record)
            self._rows.append(row)
            self._by_id[record.event.event_id] = record
            if isinstance(record.event, StanceRetracted):
                self._retractions[record.event.retracted] = record
        self._streams, self._cells = streams, cells
        return [self._by_id[e.event_id] for e in batch]

    def _version(self, stream: str) -> int:
        key = CellKey.of_stream(stream)
        return self._streams.get(stream, 0) if key is None else self._cells.get(key, 0)

    # -- reading --------------------------------------------------------------

    def read(self, *, after: int = 0, negotiation: str | None = None) -> Iterator[RecordedEvent]:
        """The log in position order, after ``after`` (a snapshot taken when called)."""
        for record in self._records[max(after, 0) :]:
            if negotiation is None or record.event.negotiation == negotiation:
                yield record

    def get(self, event_id: str) -> RecordedEvent:
        """The stored event with ``event_id``."""
        try:
            return self._by_id[event_id]
        except KeyError:
            raise UnknownEventError(event_id) from None

    def events_of_types(
        self, negotiation: str | None, types: Sequence[str], *, after: int = 0
    ) -> list[RecordedEvent]:
        """The events of the given types (of one negotiation, or all) after a position."""
        wanted = set(types)
        return [
            r
            for r in self.read(after=after, negotiation=negotiation)
            if type(r.event).__name__ in wanted
        ]

    def stream_version(self, stream: str) -> int:
        """The current version of ``stream`` (0 when it has no events)."""
        with self._lock:
            return self._version(stream)

    def last_position(self) -> int:
        """The position of the newest event, 0 for an empty log."""
        return len(self._records)

    def position_known_at(self, known_at: datetime) -> int:
        """The newest position recorded at or before ``known_at`` (0 if none)."""
        limit = to_micros(known_at)
        known = [r.position for r in self._records if to_micros(r.recorded_at) <= limit]
        return known[-1] if known else 0

    def matrix_entries(
        self, negotiation: str, as_of: datetime, known_position: int | None
    ) -> Iterator[CellEntry]:
        """Every entry at each cell's latest instant, from the fold :func:`project_claims_matrix`.

        The fold runs with a rule that prefers nothing, so every claim at the
        latest instant comes back whatever rule the caller then applies (a
        cell where all of them are withdrawals is left out: it is empty).
        """
        records = self._records[:known_position]
        resolutions = project_claims_matrix(records, negotiation, as_of, rule=_EVERY_CLAIM)
        for (party, _), resolution in resolutions.items():
            for claim in resolution.claims:
                yield CellEntry(party=party, record=records[claim.position - 1])

    def cell_entries(
        self, negotiation: str, party: str, clause: str, known_position: int | None = None
    ) -> list[CellEntry]:
        """A cell's entries, from the fold :func:`project_history`."""
        records = self._records[:known_position]
        return [
            CellEntry(
                party=party,
                record=records[entry.position - 1],
                retracted_by=self._retractions[entry.event_id] if entry.retracted else None,
            )
            for entry in project_history(records, negotiation, party, clause)
        ]

    # -- integrity ------------------------------------------------------------

    def verify(self, *, expect: Receipt | None = None) -> Receipt:
        """Recompute the chain and decode every row; see :meth:`EventStore.verify`."""
        previous, there = GENESIS, None
        with self._lock:  # one snapshot: no append lands halfway through
            records, rows = list(self._records), list(self._rows)
        for expected, (record, row) in enumerate(zip(records, rows, strict=True), 1):
            if record.position != expected:
                raise ChainBrokenError(expected, "the event at this position is missing")
            previous = check_link(previous, row, expected, self._key)
            if previous != record.hash:
                raise ChainBrokenError(expected, "the stored hash does not match the row")
            if expect is not None and expected == expect.position:
                there = previous
        if expect is not None:
            check_receipt(expect, len(records), there)
        return Receipt(position=len(records), hash=previous if records else None)

    def close(self) -> None:
        """Nothing to release: the log goes with the object."""
