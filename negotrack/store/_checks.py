"""The domain checks every backend runs inside its append, on what the log already holds.

They live in one place so that the SQL and in-memory stores refuse exactly the
same appends; a backend supplies what it knows (a stream's version, the stored
events a retraction names) and these decide.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from negotrack._time import from_micros, to_micros
from negotrack.errors import (
    AlreadyRetractedError,
    DuplicateError,
    StoreError,
    UnknownEventError,
    ValidationError,
)
from negotrack.events import (
    ClauseTabled,
    Event,
    NegotiationOpened,
    PartyRegistered,
    StanceRetracted,
)
from negotrack.store import CELL_EVENT_NAMES

__all__ = [
    "CLOCK_SKEW",
    "check_first_in_stream",
    "check_ids_unique",
    "check_restored_times",
    "check_retractions",
    "first_record_time",
]

CLOCK_SKEW = timedelta(minutes=5)
"""How far past the store's clock a restored record time may lie.

A record time says when the store learned an event; one in the future is
either a clock far ahead or an edited backup, and would drag every later
append's record time there (they strictly increase): past ``known_at=now``,
and at 9999-12-31 past what a datetime can hold.  Five minutes allows for the
skew between the clocks of the machine that exported and the one restoring
(on PostgreSQL the store's clock is the server's).
"""

_LATEST = to_micros(datetime.max.replace(tzinfo=UTC))

_FIRST_OF_STREAM: dict[type[Event], str] = {
    NegotiationOpened: "negotiation",
    PartyRegistered: "party",
    ClauseTabled: "clause",
}


def check_ids_unique(batch: Sequence[Event]) -> None:
    """One append names each event id once.

    Raises:
        ValidationError: an id appears twice.
    """
    seen: set[str] = set()
    for event in batch:
        if event.event_id in seen:
            raise ValidationError(f"event id {event.event_id!r} appears twice in one append")
        seen.add(event.event_id)


def check_first_in_stream(event: Event, stream: str, version: int) -> None:
    """A declaration or a retraction must be the first event of its stream (now at ``version``).

    Raises:
        DuplicateError: a negotiation, party or clause is introduced twice.
        AlreadyRetractedError: the retracted event was retracted before.
    """
    if version == 0:
        return
    what = _FIRST_OF_STREAM.get(type(event))
    if what == "negotiation":
        raise DuplicateError(what, stream)
    if what is not None:
        raise DuplicateError(what, stream.rsplit("/", 1)[-1], event.negotiation)
    if isinstance(event, StanceRetracted):
        raise AlreadyRetractedError(event.retracted)


def check_retractions(fresh: Sequence[Event], stored: Mapping[str, tuple[str, str]]) -> None:
    """Each retraction of ``fresh`` names a stance event of its own negotiation, stored or earlier.

    Args:
        fresh: the events about to be appended, in order.
        stored: event id -> (type name, negotiation) of the stored events the
            retractions name (ids not stored are left out).

    Raises:
        UnknownEventError: the target is not stored, nor earlier in the batch,
            or belongs to another negotiation.
        ValidationError: the target is not a stance event, or comes later in the batch.
    """
    earlier: dict[str, tuple[str, str]] = {}
    batch_ids = {e.event_id for e in fresh}
    for event in fresh:
        if isinstance(event, StanceRetracted):
            target = event.retracted
            found = stored.get(target) or earlier.get(target)
            if found is None and target in batch_ids:
                raise ValidationError(
                    f"the retraction of {target!r} comes before that event in the append"
                )
            if found is None or found[1] != event.negotiation:
                raise UnknownEventError(target, event.negotiation)
            if found[0] not in CELL_EVENT_NAMES:
                raise ValidationError(
                    f"event {target!r} is a {found[0]}: only stance events can be retracted"
                )
        earlier[event.event_id] = (type(event).__name__, event.negotiation)


def first_record_time(now: int, previous: int, count: int) -> int:
    """The record time of the first of ``count`` new events (each next one is 1 µs later).

    Record times strictly increase: ``now`` by the store's clock, unless the
    newest stored event (recorded at ``previous``) is not before it.

    Raises:
        StoreError: no time is left after ``previous`` (only an altered log can
            hold such a record time: restores refuse it).
    """
    first = max(now, previous + 1)
    if first + count > _LATEST:
        raise StoreError(
            f"the newest event's record time ({previous} µs after 1970) leaves no time "
            "to record after it: the log was altered; run negotrack verify"
        )
    return first


def check_restored_times(times: Sequence[int], now: int) -> None:
    """The record times of a restore strictly increase and none is in the future.

    Args:
        times: the record times, in microseconds, in the order restored.
        now: the store's clock, in microseconds.

    Raises:
        StoreError: an event is not after the one before it, or was recorded
            more than :data:`CLOCK_SKEW` after now (it names the event).
    """
    for index, (before, after) in enumerate(itertools.pairwise(times), start=2):
        if after <= before:
            raise StoreError(
                f"record times must strictly increase: event {index} is not after {index - 1}"
            )
    latest = now + CLOCK_SKEW // timedelta(microseconds=1)
    for index, time in enumerate(times, start=1):
        if time > latest:
            raise StoreError(
                f"event {index} of the restore was recorded at {from_micros(time).isoformat()}, "
                f"more than {CLOCK_SKEW.seconds // 60} minutes after now by this store's clock: "
                "a backup cannot come from the future"
            )
