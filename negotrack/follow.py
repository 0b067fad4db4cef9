"""Following the log as it grows: every event once, in order; and the changes it makes.

The store numbers events without gaps under its writers' lock and commits them
in that order (see :mod:`negotrack.store.sql`), so a follower that reads "after
the last position I saw" never skips an event that a slower writer commits
later.  Between reads it waits on a :class:`negotrack.store.wakeup.Wakeup`
(LISTEN/NOTIFY on PostgreSQL, ``data_version`` on a SQLite file).

Both generators stop when ``stop`` is set, when ``timeout`` seconds pass with
nothing new, or when the caller stops iterating (``break``, ``close()``); the
connection held for waiting is released in every case.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator

from negotrack.errors import ValidationError
from negotrack.events import EVENT_TYPES, Event
from negotrack.projections.changes import Change, CurrentPositions
from negotrack.store import EventStore, RecordedEvent

__all__ = ["follow", "follow_changes"]

_SLICE = 0.25  # the longest wait between two looks at ``stop``, in seconds


def _type_names(types: Iterable[type[Event] | str] | None) -> frozenset[str] | None:
    if types is None:
        return None
    names = frozenset(t if isinstance(t, str) else getattr(t, "__name__", repr(t)) for t in types)
    unknown = sorted(names - EVENT_TYPES.keys())
    if unknown:
        raise ValidationError(
            f"unknown event type {unknown[0]!r}: expected one of {', '.join(sorted(EVENT_TYPES))}"
        )
    return names


def follow(
    store: EventStore,
    *,
    after: int = 0,
    negotiation: str | None = None,
    types: Iterable[type[Event] | str] | None = None,
    stop: threading.Event | None = None,
    timeout: float | None = None,
) -> Iterator[RecordedEvent]:
    """Yield the events after position ``after`` in position order, then wait for more.

    Args:
        store: the log to follow (``tracker.store``).
        after: the position of the last event already processed (0: from the start).
        negotiation: only this negotiation's events.
        types: only events of these classes (or type names), e.g. ``[StanceRecorded]``.
        stop: set it (from any thread) to end the iteration at the next wait.
        timeout: end after this many seconds without a new event (``None``: never).

    Raises:
        ValidationError: ``types`` names an unknown event type.
    """
    from negotrack.store.wakeup import wakeup_for  # noqa: PLC0415 - SQLAlchemy's, loaded when used

    names = _type_names(types)
    wakeup = wakeup_for(getattr(store, "engine", None))
    try:
        quiet_since = time.monotonic()
        while True:
            wakeup.arm()  # before reading: a commit during the read still wakes the wait
            for record in store.read(after=after, negotiation=negotiation):
                after = record.position
                quiet_since = time.monotonic()
                if names is None or type(record.event).__name__ in names:
                    yield record
                if stop is not None and stop.is_set():
                    return
            if stop is not None and stop.is_set():
                return
            pause = _SLICE
            if timeout is not None:
                pause = min(pause, timeout - (time.monotonic() - quiet_since))
                if pause <= 0:
                    return
            wakeup.wait(pause)
    finally:
        wakeup.close()


def follow_changes(
    store: EventStore,
    negotiation: str,
    *,
    after: int = 0,
    stop: threading.Event | None = None,
    timeout: float | None = None,
) -> Iterator[Change]:
    """Yield what each event after ``after`` changes in the negotiation's current matrix.

    The current matrix holds each cell's latest stance by valid time, as known
    now (see :mod:`negotrack.projections.changes`): a back-dated record that is
    not its cell's latest yields nothing; a retraction of the record a cell
    rests on yields a change.  The log up to ``after`` is read first to know
    the matrix there.

    Args:
        store: the log to follow.
        negotiation: the negotiation whose matrix to watch.
        after: the position of the last event already processed.
        stop: set it to end the iteration at the next wait.
        timeout: end after this many seconds without a new event.
    """
    current = CurrentPositions(negotiation)
    for record in store.read(negotiation=negotiation):
        if record.position > after:
            break
        current.apply(record)
    for record in follow(store, after=after, negotiation=negotiation, stop=stop, timeout=timeout):
        change = current.apply(record)
        if change is not None:
            yield change
