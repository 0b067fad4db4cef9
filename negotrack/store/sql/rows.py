"""Rows of ``events`` as records: the columns read, and how a row becomes a RecordedEvent."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from negotrack import codec
from negotrack._time import from_micros
from negotrack.events import Event
from negotrack.store import RecordedEvent
from negotrack.store.schema import events

__all__ = ["CHUNK", "PAGE", "ROW_COLUMNS", "chunks", "decode", "record_of"]

CHUNK = 500  # ids per IN (...) list: well under every backend's parameter limit
PAGE = 2_000  # rows per page when streaming the log

ROW_COLUMNS = (
    events.c.position,
    events.c.hash,
    events.c.recorded_at,
    events.c.stream,
    events.c.version,
    events.c.type,
    events.c.schema_version,
    events.c.payload,
)
"""The columns a record is built from."""


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def decode(row: Any) -> Event:
    """The event a row holds, rebuilt without checking again what its writer checked."""
    return codec.decode_stored(row.type, row.schema_version, row.payload)


def record_of(row: Any, decode: Callable[[Any], Event] = decode) -> RecordedEvent:
    """The record of a row of :data:`ROW_COLUMNS`."""
    return RecordedEvent(
        position=row.position,
        recorded_at=from_micros(row.recorded_at),
        stream=row.stream,
        version=row.version,
        event=decode(row),
        hash=row.hash,
    )
