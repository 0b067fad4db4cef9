"""Event storage: the :class:`EventStore` protocol, the envelope of stored events,
and its backends: SQLAlchemy (:mod:`negotrack.store.sql`) and in memory
(:mod:`negotrack.store.memory`).

Stream names follow the shape of the negotiation; ids cannot contain ``/`` or
``#``, so every name below is unambiguous:

=================================  ===========================================
``{negotiation}``                  the negotiation itself (opened once)
``{negotiation}/{party}/{clause}`` a party x clause cell (its version counts
                                   every stance event in the cell, joint
                                   statements included); :class:`CellKey`
``{negotiation}#party/{party}``    a party's registration and memberships
``{negotiation}#clause/{clause}``  a clause's text versions
``{negotiation}#statement/{id}``   a joint statement (the event that spans cells)
``{negotiation}#retraction/{id}``  the retraction of event ``id`` (at most one)
``{negotiation}#notes``            dated notes
=================================  ===========================================
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

import attrs

from negotrack.events import (
    CELL_EVENTS,
    ClauseAmended,
    ClauseTabled,
    ClauseWithdrawn,
    Event,
    JointStatementRecorded,
    MembershipEnded,
    MembershipStarted,
    NegotiationOpened,
    NoteRecorded,
    PartyRegistered,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
)
from negotrack.store.receipt import Receipt

__all__ = [
    "CELL_EVENT_NAMES",
    "DECODED_CACHE",
    "CellEntry",
    "CellKey",
    "EventStore",
    "Receipt",
    "RecordedEvent",
    "cell_stream",
    "cells_of",
    "stream_of",
]

CELL_EVENT_NAMES = frozenset(cls.__name__ for cls in CELL_EVENTS)
"""The type names of the stance events, the ones that enter cells."""

DECODED_CACHE = 20_000
"""How many events read from a SQL store are kept decoded, unless the opener says."""


@attrs.frozen(kw_only=True)
class RecordedEvent:
    """An event as the store holds it: with its position, stream, version and record time.

    ``hash`` is the row's link in the log's hash chain (``None`` for records
    read from a file that did not carry it).
    """

    position: int
    recorded_at: datetime
    stream: str
    version: int
    event: Event
    hash: str | None = None


@attrs.frozen(kw_only=True)
class CellEntry:
    """One stance event as seen from one cell, with its retraction if there is one."""

    party: str
    record: RecordedEvent
    retracted_by: RecordedEvent | None = None


class CellKey(NamedTuple):
    """A party x clause cell of one negotiation: the unit of optimistic concurrency.

    A named tuple rather than an attrs class: the write path hashes and compares
    a key for every stance it appends, and a tuple does both in C.
    """

    negotiation: str
    party: str
    clause: str

    @property
    def stream(self) -> str:
        """The cell's stream name, e.g. ``us-peace-plan-2025/GB/military-cap``."""
        return f"{self.negotiation}/{self.party}/{self.clause}"

    @classmethod
    def of_stream(cls, stream: str) -> CellKey | None:
        """The cell a stream name names, or ``None`` for any other stream."""
        parts = stream.split("/")
        if "#" in stream or len(parts) != 3:
            return None
        return cls(parts[0], parts[1], parts[2])


def cell_stream(negotiation: str, party: str, clause: str) -> str:
    """The stream name of a party x clause cell, e.g. ``us-peace-plan-2025/GB/military-cap``."""
    return CellKey(negotiation, party, clause).stream


def cells_of(event: Event) -> tuple[CellKey, ...]:
    """The cells a stance event enters (one per signatory of a joint statement), else none."""
    match event:
        case StanceRecorded() | StanceWithdrawn():
            return (CellKey(event.negotiation, event.party, event.clause),)
        case JointStatementRecorded():
            return tuple(CellKey(event.negotiation, p, event.clause) for p in event.signatories)
        case _:
            return ()


def stream_of(event: Event) -> str:
    """The stream an event is appended to (see the module docstring)."""
    neg = event.negotiation
    match event:
        case NegotiationOpened():
            return neg
        case StanceRecorded() | StanceWithdrawn():
            return cell_stream(neg, event.party, event.clause)
        case PartyRegistered():
            return f"{neg}#party/{event.party}"
        case MembershipStarted() | MembershipEnded():
            return f"{neg}#party/{event.member}"
        case ClauseTabled() | ClauseAmended() | ClauseWithdrawn():
            return f"{neg}#clause/{event.clause}"
        case JointStatementRecorded():
            return f"{neg}#statement/{event.event_id}"
        case StanceRetracted():
            return f"{neg}#retraction/{event.retracted}"
        case NoteRecorded():
            return f"{neg}#notes"


class EventStore(Protocol):
    """A backend of the log: what :class:`negotrack.Tracker` and the io modules need.

    :class:`negotrack.store.sql.SqlEventStore` and
    :class:`negotrack.store.memory.MemoryEventStore` are two.  A backend
    satisfies this protocol (it does not inherit from it) and passes the
    contract suite in :mod:`negotrack.testing`.

    Every backend keeps the same promises: positions are gap-free from 1;
    ``recorded_at`` is assigned by the store and strictly increases with the
    position; an append is atomic; an event id names one event (appending it
    again writes nothing); a cell's version counts the stance events in it,
    joint statements included; the rows are hash-chained as
    :mod:`negotrack.store.chain` says.

    A store checks no write rule: :class:`~negotrack.Tracker` checks every
    batch with :mod:`negotrack.rules` before it appends.  The rules cannot see
    another writer's append between their check and the write, so they name
    the streams that must still be empty (a declaration's, a retraction's) and
    the tracker passes them as ``expected_versions`` of 0: the store's check of
    expected versions, inside its append, is what makes a declaration or a
    retraction happen once under concurrent writers.  Besides expected
    versions, a store checks only its own bookkeeping: each id stored as one
    event (:func:`negotrack.store.identity.check_ids_unique`).
    """

    def append(
        self,
        events: Sequence[Event],
        *,
        expected_versions: Mapping[str, int] | None = None,
    ) -> list[RecordedEvent]:
        """Write: append ``events`` atomically, after the head of the log.

        Events whose id is already stored with the same content are skipped
        and returned as stored.  ``expected_versions`` maps stream names (a
        cell's is :attr:`CellKey.stream`) to the version the caller last read.

        Returns:
            The stored record of every event, in the order given.

        The events are not checked against the write rules (see the class
        docstring): append through a :class:`~negotrack.Tracker`.

        Raises:
            ConcurrencyError: a stream is not at its expected version; nothing is written.
            DuplicateError: an event id reused for another event.
            ValidationError: one id twice in the batch.
        """
        ...

    def restore(self, records: Sequence[RecordedEvent]) -> list[RecordedEvent]:
        """Write: load an exported log into an empty store, keeping every record time.

        Positions are renumbered from 1 in the order given; where a record
        carries its hash, the restored row must reproduce it.

        Raises:
            StoreError: the store is not empty, the record times do not
                strictly increase, or a hash is not reproduced.
        """
        ...

    def read(self, *, after: int = 0, negotiation: str | None = None) -> Iterator[RecordedEvent]:
        """Follow: the log (or one negotiation's events) in position order, after ``after``."""
        ...

    def get(self, event_id: str) -> RecordedEvent:
        """Look up: the stored event with this id.

        Raises:
            UnknownEventError: no such event.
        """
        ...

    def events_of_types(
        self, negotiation: str | None, types: Sequence[str], *, after: int = 0
    ) -> list[RecordedEvent]:
        """Look up: the events of the named types (of one negotiation, or all) after ``after``.

        Registries (parties, clauses, notes) are folded from these.
        """
        ...

    def stream_version(self, stream: str) -> int:
        """Concurrency: the current version of a stream (0 if it has no events)."""
        ...

    def last_position(self) -> int:
        """Follow: the position of the newest event (0 for an empty log)."""
        ...

    def position_known_at(self, known_at: datetime) -> int:
        """Bitemporal: the newest position recorded at or before ``known_at`` (0 if none)."""
        ...

    def matrix_entries(
        self, negotiation: str, as_of: datetime, known_position: int | None
    ) -> Iterator[CellEntry]:
        """As-of query: for each cell, every entry at its latest valid instant as of ``as_of``.

        Only entries at or before ``known_position`` (``None``: all) and not
        retracted by a retraction at or before it count.  Of those with
        ``valid_at <= as_of``, every one made at the greatest ``valid_at`` is
        yielded, withdrawals included (a backend may leave out a cell where
        all of them are withdrawals): the claim rule of the caller chooses
        among them, never the recording order.
        """
        ...

    def cell_entries(
        self, negotiation: str, party: str, clause: str, known_position: int | None = None
    ) -> list[CellEntry]:
        """History: every stance event of a cell with its retraction, by valid time then position.

        With ``known_position``, entries recorded after it are left out, and so
        are retractions recorded after it (the entry then shows none).
        """
        ...

    def verify(self, *, expect: Receipt | None = None) -> Receipt:
        """Integrity: check the log in one snapshot; return its receipt (head position and hash).

        With ``expect`` (a receipt from an earlier verify), also prove that the
        log still reaches that position with that hash: nothing up to it
        changed and nothing was cut.

        Raises:
            ChainBrokenError: a row was altered, inserted or removed, or the
                log does not hold ``expect``.
        """
        ...

    def close(self) -> None:
        """Lifecycle: release connections and whatever else the store holds."""
        ...
