"""The semantics of DESIGN.md written plainly, as the oracle of the properties.

Written apart from negotrack's own folds and cell builders (``cell_of``,
``history_entry``, ``project_*``): it reads the raw events of a log and says
what every field of every cell and history entry must be, so a bug in the
code that builds them cannot hide by appearing on both sides of a property.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from negotrack import RecordedEvent

STANCE_TYPES = ("StanceRecorded", "JointStatementRecorded", "StanceWithdrawn")


def _instant(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _known(records: Sequence[RecordedEvent], known_at: datetime | None) -> list[RecordedEvent]:
    if known_at is None:
        return list(records)
    return [r for r in records if _instant(r.recorded_at) <= _instant(known_at)]


def _retractions(known: Sequence[RecordedEvent]) -> dict[str, RecordedEvent]:
    return {
        r.event.retracted: r  # type: ignore[union-attr]
        for r in known
        if type(r.event).__name__ == "StanceRetracted"
    }


def _signers(record: RecordedEvent) -> tuple[str, ...]:
    event: Any = record.event
    if type(event).__name__ == "JointStatementRecorded":
        return tuple(event.signatories)
    return (event.party,)


def model_cells(
    records: Sequence[RecordedEvent], negotiation: str, as_of: datetime, known_at: datetime | None
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every filled cell as the dict of the fields a ``Cell`` must have."""
    known = _known(records, known_at)
    retracted = _retractions(known)
    latest: dict[tuple[str, str], RecordedEvent] = {}
    for record in known:
        event: Any = record.event
        if event.negotiation != negotiation or type(event).__name__ not in STANCE_TYPES:
            continue
        if event.event_id in retracted or _instant(event.valid_at) > _instant(as_of):
            continue
        for party in _signers(record):
            key = (party, event.clause)
            held = latest.get(key)
            if held is None or (_instant(event.valid_at), record.position) > (
                _instant(held.event.valid_at),  # type: ignore[union-attr]
                held.position,
            ):
                latest[key] = record
    cells = {}
    for (party, clause), record in latest.items():
        event = record.event
        kind = type(event).__name__
        if kind == "StanceWithdrawn":
            continue
        cells[(party, clause)] = {
            "party": party,
            "clause": clause,
            "stance": event.stance,
            "valid_at": event.valid_at,
            "precision": event.precision,
            "recorded_at": record.recorded_at,
            "event_id": event.event_id,
            "position": record.position,
            "evidence": event.evidence,
            "salience": event.salience,
            "confidence": event.confidence,
            "conditions": event.conditions,
            "speaker": None if kind == "JointStatementRecorded" else event.speaker,
            "signatories": event.signatories if kind == "JointStatementRecorded" else (),
        }
    return cells


def model_history(
    records: Sequence[RecordedEvent],
    negotiation: str,
    party: str,
    clause: str,
    known_at: datetime | None,
) -> list[dict[str, Any]]:
    """A cell's history as the dicts of the fields each ``HistoryEntry`` must have."""
    known = _known(records, known_at)
    retracted = _retractions(known)
    kinds = {
        "StanceRecorded": "stance",
        "JointStatementRecorded": "joint_statement",
        "StanceWithdrawn": "withdrawal",
    }
    entries = []
    for record in known:
        event: Any = record.event
        kind = type(event).__name__
        if event.negotiation != negotiation or kind not in STANCE_TYPES:
            continue
        if event.clause != clause or party not in _signers(record):
            continue
        retraction = retracted.get(event.event_id)
        entries.append(
            {
                "kind": kinds[kind],
                "stance": None if kind == "StanceWithdrawn" else event.stance,
                "valid_at": event.valid_at,
                "precision": event.precision,
                "recorded_at": record.recorded_at,
                "event_id": event.event_id,
                "position": record.position,
                "evidence": event.evidence,
                "retracted_at": None if retraction is None else retraction.recorded_at,
                "retraction_reason": None if retraction is None else retraction.event.reason,  # type: ignore[union-attr]
                "replaced_by": None if retraction is None else retraction.event.replaced_by,  # type: ignore[union-attr]
            }
        )
    return sorted(entries, key=lambda e: (_instant(e["valid_at"]), e["position"]))
