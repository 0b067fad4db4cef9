"""The log's rows and their hash chain, the same on every backend.

Each event is stored as one row of the columns in :data:`CHAINED`; ``chain``
links the row to the one before it.  Every backend builds its rows with
:func:`row_values`, so a log moved between backends keeps its hashes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from negotrack import codec
from negotrack._time import to_micros
from negotrack.errors import ChainBrokenError, NegotrackError, StoreError
from negotrack.events import Event
from negotrack.store import stream_of

__all__ = [
    "CHAINED",
    "GENESIS",
    "chain",
    "chain_values",
    "check_exported_link",
    "check_link",
    "row_of",
    "row_values",
]

GENESIS = "0" * 64
"""The hash before the first event."""

CHAINED = (
    "position",
    "event_id",
    "stream",
    "version",
    "type",
    "schema_version",
    "negotiation",
    "party",
    "clause",
    "valid_at",
    "recorded_at",
    "payload",
)
"""The columns of a row the hash covers: every one a query or a decoder trusts."""

_FROM_PAYLOAD = ("event_id", "stream", "type", "negotiation", "party", "clause", "valid_at")
"""The columns the queries read in place of the payload: each must say what the payload says."""


def chain(previous: str, row: Mapping[str, Any] | Any, key: bytes | None = None) -> str:
    """The hash of a row: every column that a query or a decoder trusts, and the previous hash.

    ``row`` is read by column name; see :func:`chain_values` for the rule.
    """
    return chain_values(previous, [row[column] for column in CHAINED], key)


def chain_values(previous: str, values: Sequence[Any], key: bytes | None = None) -> str:
    """The hash of a row given as its values in :data:`CHAINED` order.

    Each field is written with its length (``~`` for NULL), so no value can pass
    for a boundary between fields, whatever characters ids and payloads hold.
    With ``key`` the hash is an HMAC-SHA256 under it (see :mod:`negotrack.store.keying`).
    """
    parts = [previous]
    for value in values:
        if value is None:
            parts.append("~")
        else:
            text = str(value)
            parts.append(f"{len(text)}:{text}")
    message = "".join(parts).encode()
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def row_of(
    event: Event, *, payload: str, position: int, stream: str, version: int, recorded_at: int
) -> dict[str, Any]:
    """The row of an event (without its hash) by column name; see :func:`row_values`."""
    values = row_values(
        event,
        payload=payload,
        position=position,
        stream=stream,
        version=version,
        recorded_at=recorded_at,
    )
    return dict(zip(CHAINED, values, strict=True))


def row_values(
    event: Event, *, payload: str, position: int, stream: str, version: int, recorded_at: int
) -> tuple[Any, ...]:
    """The row of an event in :data:`CHAINED` order (without its hash); times in microseconds."""
    party = getattr(event, "party", None) or getattr(event, "member", None)
    valid_at: datetime | None = getattr(event, "valid_at", None)
    return (
        position,
        event.event_id,
        stream,
        version,
        type(event).__name__,
        event.schema_version,
        event.negotiation,
        party,
        getattr(event, "clause", None),
        None if valid_at is None else to_micros(valid_at),
        recorded_at,
        payload,
    )


def check_link(
    previous: str, row: Mapping[str, Any] | Any, position: int, key: bytes | None = None
) -> str:
    """Check the row expected at ``position`` after the hash ``previous``; return its hash.

    The hash alone proves the row is the one chained; the payload must also
    decode, and the columns the queries read instead of it must say what it
    says, or a row forged with a recomputed hash could show in a matrix what no
    event holds.

    Raises:
        ChainBrokenError: the position is missing, the hash does not match, the
            payload does not decode or a column disagrees with it.
    """
    if row["position"] != position:
        raise ChainBrokenError(position, "the event at this position is missing")
    digest = chain(previous, row, key)
    if digest != row["hash"]:
        raise ChainBrokenError(position, "the stored hash does not match the row")
    try:
        event = codec.decode(row["type"], row["schema_version"], row["payload"])
    except NegotrackError as exc:
        raise ChainBrokenError(position, f"the payload does not decode ({exc})") from exc
    implied = row_of(
        event,
        payload=row["payload"],
        position=position,
        stream=stream_of(event),
        version=row["version"],
        recorded_at=row["recorded_at"],
    )
    wrong = [column for column in _FROM_PAYLOAD if implied[column] != row[column]]
    if wrong:
        raise ChainBrokenError(
            position, f"the {', '.join(wrong)} column does not match the payload"
        )
    return digest


def check_exported_link(exported: str | None, stored: str, plain: str, number: int) -> None:
    """The hash an export carried for the ``number``-th event restored is the row's link.

    ``stored`` is the link as the store chains it; ``plain`` the plain link of
    the same rows, which an export of a plain log restored into a keyed store
    carries.  An export without hashes (``None``) has nothing to check.

    Raises:
        StoreError: the export's hash is neither.
    """
    if exported not in (None, stored, plain):
        raise StoreError(
            f"event {number} of the restore does not continue the exported hash "
            "chain: the export was altered, or an event before it is missing"
        )
