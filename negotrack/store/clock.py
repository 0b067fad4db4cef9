"""Record times: when the store learned each event, by its own clock.

A store checks these itself, whatever the write rules say: record times
strictly increase with the position, and a restore brings none from the future.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from negotrack._time import from_micros, to_micros
from negotrack.errors import StoreError

__all__ = ["CLOCK_SKEW", "check_restored_times", "first_record_time"]

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
