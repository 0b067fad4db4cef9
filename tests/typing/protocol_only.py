"""A backend written against the EventStore protocol alone, handed to the Tracker.

mypy (strict) checks this file in tests/test_store.py: if ``Tracker`` asked
for anything the protocol does not declare, or the protocol drifted from what
a backend can provide, the check fails.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

import negotrack
from negotrack.events import Event
from negotrack.store import CellEntry, EventStore, Receipt, RecordedEvent


class CountingStore:
    """Counts appends and hands every call to another store: it knows only the protocol."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.appends = 0

    def append(
        self, events: Sequence[Event], *, expected_versions: Mapping[str, int] | None = None
    ) -> list[RecordedEvent]:
        self.appends += 1
        return self.inner.append(events, expected_versions=expected_versions)

    def restore(self, records: Sequence[RecordedEvent]) -> list[RecordedEvent]:
        return self.inner.restore(records)

    def read(self, *, after: int = 0, negotiation: str | None = None) -> Iterator[RecordedEvent]:
        return self.inner.read(after=after, negotiation=negotiation)

    def get(self, event_id: str) -> RecordedEvent:
        return self.inner.get(event_id)

    def events_of_types(
        self, negotiation: str | None, types: Sequence[str], *, after: int = 0
    ) -> list[RecordedEvent]:
        return self.inner.events_of_types(negotiation, types, after=after)

    def stream_version(self, stream: str) -> int:
        return self.inner.stream_version(stream)

    def last_position(self) -> int:
        return self.inner.last_position()

    def position_known_at(self, known_at: datetime) -> int:
        return self.inner.position_known_at(known_at)

    def matrix_entries(
        self, negotiation: str, as_of: datetime, known_position: int | None
    ) -> Iterator[CellEntry]:
        return self.inner.matrix_entries(negotiation, as_of, known_position)

    def cell_entries(
        self, negotiation: str, party: str, clause: str, known_position: int | None = None
    ) -> list[CellEntry]:
        return self.inner.cell_entries(negotiation, party, clause, known_position)

    def verify(self, *, expect: Receipt | None = None) -> Receipt:
        return self.inner.verify(expect=expect)

    def close(self) -> None:
        self.inner.close()


def tracker_on(store: CountingStore) -> negotrack.Tracker:
    """The tracker accepts any store that has the protocol's members."""
    return negotrack.Tracker(store)


def counted() -> int:
    """Run the tracker on a counting store over the in-memory one."""
    store = CountingStore(negotrack.open("memory://").store)
    with tracker_on(store) as tracker:
        tracker.open_negotiation("talks", title="Talks")
    return store.appends
