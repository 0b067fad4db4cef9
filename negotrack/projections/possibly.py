"""Stances dated by a range that covers a date: possibly held then, not yet certainly.

A matrix holds a stance from the latest bound of its valid time (see
:mod:`negotrack.dating`), so a stance reported as taken "last week" enters its
cell only at the end of that week.  Before then, from the earliest bound on, it
is *possibly held*: this module finds those stances for a matrix that asks for
them (``Negotiation.matrix(..., possibly_held=True)``), without changing any
cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from negotrack.dating import Standing, ValidTime, standing
from negotrack.events import JointStatementRecorded, StanceRecorded, StanceRetracted
from negotrack.projections.claims import Claim, claims_of
from negotrack.store import RecordedEvent

__all__ = ["READS", "PossiblyHeld", "possibly_held"]

READS = tuple(cls.__name__ for cls in (StanceRecorded, JointStatementRecorded, StanceRetracted))
"""The event types :func:`possibly_held` reads (a store's ``events_of_types`` gives them)."""


@attrs.frozen(kw_only=True)
class PossiblyHeld:
    """A claim whose valid time is a range from ``earliest`` to ``claim.valid_at`` around a date."""

    claim: Claim
    earliest: datetime
    basis: str | None

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict: who, which clause, what stance, the range and its basis."""
        return {
            "party": self.claim.party,
            "clause": self.claim.clause,
            "stance": self.claim.label,
            "earliest": self.earliest.isoformat(),
            "latest": self.claim.valid_at.isoformat(),
            "basis": self.basis,
            "event_id": self.claim.event_id,
        }


def possibly_held(
    records: Iterable[RecordedEvent], as_of: datetime, known_position: int | None = None
) -> Mapping[tuple[str, str], tuple[PossiblyHeld, ...]]:
    """The stances possibly held at ``as_of``, by cell, as known at ``known_position``.

    Args:
        records: a negotiation's stance events and retractions (any others are ignored).
        as_of: the instant the matrix is for.
        known_position: the last position known (``None``: the whole log).
    """
    known = [r for r in records if known_position is None or r.position <= known_position]
    retracted = {r.event.retracted for r in known if isinstance(r.event, StanceRetracted)}
    found: dict[tuple[str, str], list[PossiblyHeld]] = {}
    for record in known:
        event = record.event
        if (
            not isinstance(event, StanceRecorded | JointStatementRecorded)
            or event.earliest is None
            or event.event_id in retracted
        ):
            continue
        time = ValidTime(
            earliest=event.earliest,
            latest=event.valid_at,
            precision=event.precision,
            basis=event.basis,
        )
        if standing(time, as_of) is not Standing.POSSIBLY_HELD:
            continue
        for claim in claims_of(record):
            found.setdefault((claim.party, claim.clause), []).append(
                PossiblyHeld(claim=claim, earliest=event.earliest, basis=event.basis)
            )
    return {
        key: tuple(sorted(held, key=lambda p: (p.claim.valid_at, p.claim.event_id)))
        for key, held in found.items()
    }
