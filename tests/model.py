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


DEFAULT_RULE_NAME = "stated beats inferred, then higher confidence"


def _strength(event: Any) -> tuple[int, float]:
    """The default rule as a sort key: stated first, then the higher confidence (none lowest)."""
    stated = any(e.stated for e in event.evidence)
    confidence = getattr(event, "confidence", None)
    return (1 if stated else 0, -1.0 if confidence is None else confidence)


def model_cells(
    records: Sequence[RecordedEvent],
    negotiation: str,
    as_of: datetime,
    known_at: datetime | None,
    *,
    prefer: bool = True,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every filled cell as the dict of the fields a ``Cell`` must have (``claims`` as ids).

    A cell's claims are its live stance events at their latest valid instant;
    with ``prefer`` the default rule keeps the strongest, else all stand.
    The cell shows the first standing claim by event id; standing claims of
    different stances are a conflict; standing withdrawals only leave it empty.
    """
    known = _known(records, known_at)
    retracted = _retractions(known)
    held: dict[tuple[str, str], list[RecordedEvent]] = {}
    for record in known:
        event: Any = record.event
        if event.negotiation != negotiation or type(event).__name__ not in STANCE_TYPES:
            continue
        if event.event_id in retracted or _instant(event.valid_at) > _instant(as_of):
            continue
        for party in _signers(record):
            held.setdefault((party, event.clause), []).append(record)
    cells = {}
    for (party, clause), found in held.items():
        last = max(_instant(r.event.valid_at) for r in found)  # type: ignore[union-attr]
        now = sorted(
            (r for r in found if _instant(r.event.valid_at) == last),  # type: ignore[union-attr]
            key=lambda r: r.event.event_id,
        )
        standing = now
        if prefer:
            best = max(_strength(r.event) for r in now)
            standing = [r for r in now if _strength(r.event) == best]
        stances = {
            None
            if type(r.event).__name__ == "StanceWithdrawn"
            else (type(r.event.stance).__name__, r.event.stance)  # type: ignore[union-attr]
            for r in standing
        }
        if stances == {None}:
            continue  # withdrawn: the cell is empty
        record = standing[0]
        event = record.event
        kind = type(event).__name__
        conflicting = len(stances) > 1
        cells[(party, clause)] = {
            "party": party,
            "clause": clause,
            "stance": None if conflicting else event.stance,
            "valid_at": event.valid_at,
            "precision": event.precision,
            "recorded_at": record.recorded_at,
            "event_id": event.event_id,
            "position": record.position,
            "evidence": event.evidence,
            "salience": getattr(event, "salience", None),
            "confidence": getattr(event, "confidence", None),
            "conditions": getattr(event, "conditions", None),
            "speaker": event.speaker if kind == "StanceRecorded" else None,
            "signatories": event.signatories if kind == "JointStatementRecorded" else (),
            "readings": event.readings if kind == "JointStatementRecorded" else (),
            "claims": [r.event.event_id for r in now],
            "chosen": tuple(r.event.event_id for r in standing),
            "rule": DEFAULT_RULE_NAME if prefer else "no preference",
            "conflicting": conflicting,
            "stale": False,
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
                "earliest": event.earliest,
                "basis": event.basis,
            }
        )
    return sorted(entries, key=lambda e: (_instant(e["valid_at"]), e["position"]))
