"""The one cattrs converter of negotrack, and the upcasters of old event schemas.

Payloads are JSON objects without the type tag: the type and the schema
version live in their own columns of the log (and in the envelope of the JSON
Lines export), so a reader can pick the class and upcast before structuring.

A stance is written as its label (``"lean_oppose"``) on the ordinal scale and
as a number on an interval scale, which keeps the JSON readable and the two
scales unambiguous (``Ordinal.SUPPORT == 2`` in Python).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import cattrs
from cattrs.preconf.json import make_converter

from negotrack.errors import ValidationError
from negotrack.events import EVENT_TYPES, Event
from negotrack.model import IntervalScale, Ordinal, StanceValue, parse_stance

__all__ = [
    "UPCASTERS",
    "converter",
    "decode",
    "dumps",
    "encode",
    "structure_event",
    "unstructure_event",
]

converter = make_converter()
"""negotrack's private converter; never the global one (its hooks would leak)."""


def _structure_stance(value: Any, _: type) -> StanceValue:
    if isinstance(value, str):
        return parse_stance(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"stance must be a label or a number, got {value!r}")
    return float(value)


def _unstructure_stance(value: StanceValue) -> str | float:
    return value.label if isinstance(value, Ordinal) else value


# A predicate, not a type key: the preconf converter's own union strategy
# would otherwise claim ``Ordinal | float`` first.
converter.register_structure_hook_func(lambda t: t == StanceValue, _structure_stance)
converter.register_unstructure_hook_func(lambda t: t == StanceValue, _unstructure_stance)
converter.register_unstructure_hook(datetime, datetime.isoformat)
converter.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
converter.register_unstructure_hook(date, date.isoformat)
converter.register_structure_hook(date, lambda v, _: date.fromisoformat(v))


def _unstructure_scale(scale: IntervalScale) -> dict[str, Any]:
    # JSON object keys are strings; keep the points as [number, label] pairs.
    return {
        "low": scale.low,
        "high": scale.high,
        "labels": [[point, label] for point, label in sorted(scale.labels.items())],
    }


def _structure_scale(value: Any, _: type) -> IntervalScale:
    labels = {float(point): str(label) for point, label in value.get("labels", [])}
    return IntervalScale(low=float(value["low"]), high=float(value["high"]), labels=labels)


converter.register_unstructure_hook(IntervalScale, _unstructure_scale)
converter.register_structure_hook(IntervalScale, _structure_scale)


def _evidence_as_tuple(payload: dict[str, Any]) -> dict[str, Any]:
    """StanceRecorded schema 1 held one ``evidence`` object; schema 2 a list."""
    evidence = payload.get("evidence")
    if isinstance(evidence, dict):
        return {**payload, "evidence": [evidence]}
    if evidence is None:
        return {**payload, "evidence": []}
    return payload


def _filled(**added: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """An upcaster for a schema that only added keys: each takes the value it had before."""

    def fill(payload: dict[str, Any]) -> dict[str, Any]:
        return {**added, **payload}

    return fill


# Every dated event gained ``earliest`` and ``basis`` (a date may be a range);
# before them, every valid time was exact and its basis lived in free text.
_DATING = {"earliest": None, "basis": None}

UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("StanceRecorded", 1): _evidence_as_tuple,
    ("StanceRecorded", 2): _filled(**_DATING),
    ("MembershipStarted", 1): _filled(**_DATING),
    ("MembershipEnded", 1): _filled(**_DATING),
    ("ClauseTabled", 1): _filled(**_DATING),
    ("ClauseAmended", 1): _filled(**_DATING, evidence=[], note=None),
    ("ClauseWithdrawn", 1): _filled(**_DATING, evidence=[], note=None),
    ("JointStatementRecorded", 1): _filled(**_DATING, speaker=None, on_behalf_of=[]),
    ("StanceWithdrawn", 1): _filled(**_DATING, speaker=None, note=None),
    ("NoteRecorded", 1): _filled(**_DATING),
}
"""(type, schema version) -> a function lifting a payload to the next version."""


def upcast(type_name: str, schema_version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Lift ``payload`` from ``schema_version`` to the current schema of its type."""
    current = EVENT_TYPES[type_name].schema_version
    if not 1 <= schema_version <= current:
        raise ValidationError(
            f"{type_name} has no schema version {schema_version}: "
            f"this negotrack reads 1 to {current}"
        )
    while schema_version < current:
        payload = UPCASTERS[(type_name, schema_version)](payload)
        schema_version += 1
    return payload


def unstructure_event(event: Event) -> dict[str, Any]:
    """The event's payload as plain JSON-ready data (without the type tag)."""
    payload: dict[str, Any] = converter.unstructure(event)
    return payload


def structure_event(type_name: str, schema_version: int, payload: dict[str, Any]) -> Event:
    """Build the event of ``type_name`` from a payload of any known schema version.

    Raises:
        ValidationError: the type is unknown or the payload does not fit it.
    """
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise ValidationError(f"unknown event type {type_name!r}")
    try:
        event: Event = converter.structure(upcast(type_name, schema_version, payload), cls)
    except cattrs.BaseValidationError as exc:
        detail = "; ".join(cattrs.transform_error(exc))
        raise ValidationError(f"{type_name} payload does not fit: {detail}") from exc
    return event


def dumps(payload: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys, no spaces; the hash chain depends on it."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def encode(event: Event) -> str:
    """The event's payload as canonical JSON text."""
    return dumps(unstructure_event(event))


def decode(type_name: str, schema_version: int, text: str) -> Event:
    """Parse a stored payload back into its event."""
    return structure_event(type_name, schema_version, json.loads(text))
