"""Rows of ``events`` as records: the columns read, and how a row becomes a RecordedEvent."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from negotrack import codec
from negotrack._time import from_micros
from negotrack.events import Event
from negotrack.store import RecordedEvent
from negotrack.store.schema import events
from negotrack.trusted import maker

__all__ = ["CHUNK", "PAGE", "ROW_COLUMNS", "Decode", "chunks", "decode", "record_of"]

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
"""The columns a record is built from, first in every query :func:`record_of` reads."""


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


Decode = Callable[[str, str, int, str], Event]
"""(row hash, type, schema version, payload) -> the event: :func:`decode`, or a cache of it."""


def decode(row_hash: str, type_name: str, schema_version: int, payload: str) -> Event:
    """The event a row holds, rebuilt without checking again what its writer checked."""
    return codec.decode_stored(type_name, schema_version, payload)


# Every field of a record comes from the row (checked when it was written) or
# from the decode, so the record is made without attrs' ``__init__`` (half its cost).
_record = maker(RecordedEvent)


def record_of(row: Any, decode: Decode = decode) -> RecordedEvent:
    """The record of a row that starts with :data:`ROW_COLUMNS`.

    The row is unpacked by position: SQLAlchemy's access by column name costs
    microseconds a column, more than decoding the event.
    """
    position, row_hash, recorded_at, stream, version, type_name, schema_version, payload = row[:8]
    return _record(
        position=position,
        recorded_at=from_micros(recorded_at),
        stream=stream,
        version=version,
        event=decode(row_hash, type_name, schema_version, payload),
        hash=row_hash,
    )
