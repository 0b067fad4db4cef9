"""Readable, stable event ids, built from what an event records.

The tracker's write methods give an event this id unless the caller passes
one: ``{negotiation}/{kind}/{party, member, group or clause}/{valid date}/{digest}``,
e.g. ``us-peace-plan-2025/stance/GB/military-cap/2025-11-22/3f9c0a1b2d4e5f60``.
The digest covers everything the event says except its id, so:

* the same record written twice (a retry after a lost reply) gets the same
  id, and the log's idempotency writes nothing new;
* two different records get different ids (the digest is 64 bits of SHA-256);
* the same record made again after the first was retracted (a retraction by
  mistake, a correction back to what was first recorded) is a new record: its
  digest also covers how many times it was made (:func:`readable_event_id`'s
  ``occurrence``), so it is not taken for a retry.

An id is at most :data:`MAX_EVENT_ID` characters: a long readable part is
cut, the digest never is.
"""

from __future__ import annotations

import hashlib
from typing import Any

from negotrack.codec import dumps, unstructure_event
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

__all__ = ["MAX_EVENT_ID", "event_content", "readable_event_id"]

MAX_EVENT_ID = 200
"""The longest event id the log stores (see the event id's validator in :mod:`negotrack.events`)."""

_DIGEST = 16  # hex characters: 64 bits

# The kind of record, in the analyst's words, by event type.
_KINDS: dict[type[Event], str] = {
    NegotiationOpened: "opened",
    PartyRegistered: "party",
    MembershipStarted: "membership-started",
    MembershipEnded: "membership-ended",
    ClauseTabled: "clause-tabled",
    ClauseAmended: "clause-amended",
    ClauseWithdrawn: "clause-withdrawn",
    StanceRecorded: "stance",
    StanceWithdrawn: "stance-withdrawn",
    JointStatementRecorded: "joint-statement",
    StanceRetracted: "retraction",
    NoteRecorded: "note",
}

# The fields that say which party, group and clause a record is about, in this order.
_NAMED = ("party", "member", "group", "clause")


def event_content(event: Event) -> dict[str, Any]:
    """What an event says, without its id: two events with equal content are one record."""
    payload = unstructure_event(event)
    del payload["event_id"]
    return {"type": type(event).__name__, **payload}


def readable_event_id(event: Event, occurrence: int = 1) -> str:
    """The readable, stable id of ``event``, from its content (its own ``event_id`` is ignored).

    Args:
        event: the record.
        occurrence: 1 for the first time this record is made; the tracker
            counts up when the same record is made again after the earlier one
            was retracted, so that the new one is not taken for a retry.
    """
    content = dumps(event_content(event))
    if occurrence > 1:
        content += f"\x1f{occurrence}"
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:_DIGEST]
    words = [event.negotiation, _KINDS[type(event)]]
    words += [getattr(event, name) for name in _NAMED if hasattr(event, name)]
    valid_at = getattr(event, "valid_at", None)
    if valid_at is not None:
        words.append(valid_at.date().isoformat())
    readable = "/".join(words)[: MAX_EVENT_ID - _DIGEST - 1]
    return f"{readable}/{digest}"
