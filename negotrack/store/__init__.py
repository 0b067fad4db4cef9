"""Event storage: the :class:`EventStore` protocol, the envelope of stored events,
and the SQLAlchemy implementation (:mod:`negotrack.store.sql`).

Stream names follow the shape of the negotiation; ids cannot contain ``/`` or
``#``, so every name below is unambiguous:

=================================  ===========================================
``{negotiation}``                  the negotiation itself (opened once)
``{negotiation}/{party}/{clause}`` a party x clause cell (its version counts
                                   every stance event in the cell, joint
                                   statements included)
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
from typing import Protocol

import attrs

from negotrack.events import (
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

__all__ = [
    "CellEntry",
    "EventStore",
    "RecordedEvent",
    "cell_stream",
    "stream_of",
]


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


def cell_stream(negotiation: str, party: str, clause: str) -> str:
    """The stream name of a party x clause cell, e.g. ``us-peace-plan-2025/GB/military-cap``."""
    return f"{negotiation}/{party}/{clause}"


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
    """What a backend of the log provides; :class:`negotrack.store.sql.SqlEventStore` is one."""

    def append(
        self,
        events: Sequence[Event],
        *,
        expected_versions: Mapping[str, int] | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` atomically; events whose id is already stored are skipped.

        Raises:
            ConcurrencyError: a stream is not at its expected version; nothing is written.
        """
        ...

    def read(self, *, after: int = 0, negotiation: str | None = None) -> Iterator[RecordedEvent]:
        """Stream the log in position order, from just after ``after``."""
        ...

    def get(self, event_id: str) -> RecordedEvent:
        """The stored event with this id.

        Raises:
            UnknownEventError: no such event.
        """
        ...

    def stream_version(self, stream: str) -> int:
        """The current version of a stream (0 if it has no events)."""
        ...

    def last_position(self) -> int:
        """The position of the latest event (0 for an empty log)."""
        ...

    def position_known_at(self, known_at: datetime) -> int:
        """The latest position recorded at or before ``known_at``."""
        ...

    def matrix_entries(
        self, negotiation: str, as_of: datetime, known_position: int | None
    ) -> Iterator[CellEntry]:
        """For each cell, the event that fills or empties it as of ``as_of``."""
        ...

    def cell_entries(self, negotiation: str, party: str, clause: str) -> list[CellEntry]:
        """Every stance event of a cell, with its retraction, by valid time."""
        ...

    def verify(self) -> int:
        """Check the hash chain; return the number of events verified.

        Raises:
            ChainBrokenError: a row was altered, inserted or removed.
        """
        ...

    def close(self) -> None:
        """Release the connections."""
        ...
