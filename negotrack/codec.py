"""The one cattrs converter of negotrack, and the upcasters of old event schemas.

Payloads are JSON objects without the type tag: the type and the schema
version live in their own columns of the log (and in the envelope of the JSON
Lines export), so a reader can pick the class and upcast before structuring.

A stance is written as its label (``"lean_oppose"``) on the ordinal scale and
as a number on an interval scale, which keeps the JSON readable and the two
scales unambiguous (``Ordinal.SUPPORT == 2`` in Python).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import cattrs
from cattrs.preconf.json import make_converter
from cattrs.v import format_exception

from negotrack.errors import NegotrackError, ValidationError
from negotrack.events import EVENT_TYPES, Event
from negotrack.model import (
    IntervalScale,
    Ordinal,
    StanceValue,
    canonical_instant,
    canonical_number,
    stance_point,
)
from negotrack.trusted import builder

__all__ = [
    "UPCASTERS",
    "converter",
    "decode",
    "decode_stored",
    "dumps",
    "encode",
    "loads",
    "structure_event",
    "unstructure_event",
]

converter = make_converter(forbid_extra_keys=True)
"""negotrack's private converter; never the global one (its hooks would leak).

Structuring is strict: a payload key the event does not have is refused, and
no value is coerced from another type (``"speaker": 123`` is not ``"123"``).
Numbers are the one leniency: an integer is read as the float it stands for.
"""


def _text(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _flag(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def _number(value: Any, _: type) -> float:
    return canonical_number("value", value)


def _instant(value: Any, _: type) -> datetime:
    return canonical_instant("value", datetime.fromisoformat(_text(value, str)))


def _date(value: Any, _: type) -> date:
    return date.fromisoformat(_text(value, str))


def _structure_stance(value: Any, _: type) -> StanceValue:
    return stance_point(value)


def _unstructure_stance(value: StanceValue) -> str | float:
    return value.label if isinstance(value, Ordinal) else value


def _is_tuple(kind: Any) -> bool:
    return getattr(kind, "__origin__", None) is tuple


def _tuple_hook(kind: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
    """Homogeneous tuples come from JSON lists only: a string is not a list of characters."""
    (item, _) = kind.__args__
    structure_item = converter.get_structure_hook(item)

    def structure(value: Any, _: Any) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return tuple(structure_item(element, item) for element in value)

    return structure


converter.register_structure_hook(str, _text)
converter.register_structure_hook(bool, _flag)
converter.register_structure_hook(float, _number)
converter.register_structure_hook_factory(_is_tuple, _tuple_hook)
# A predicate, not a type key: the preconf converter's own union strategy
# would otherwise claim ``Ordinal | float`` first.
converter.register_structure_hook_func(lambda t: t == StanceValue, _structure_stance)
converter.register_unstructure_hook_func(lambda t: t == StanceValue, _unstructure_stance)
converter.register_unstructure_hook(datetime, datetime.isoformat)
converter.register_structure_hook(datetime, _instant)
converter.register_unstructure_hook(date, date.isoformat)
converter.register_structure_hook(date, _date)


def _unstructure_scale(scale: IntervalScale) -> dict[str, Any]:
    # JSON object keys are strings; keep the points as [number, label] pairs.
    return {
        "low": scale.low,
        "high": scale.high,
        "labels": [[point, label] for point, label in sorted(scale.labels.items())],
    }


def _structure_scale(value: Any, _: type) -> IntervalScale:
    if not isinstance(value, dict) or value.keys() - {"low", "high", "labels"}:
        raise TypeError("expected an object with low, high and labels")
    pairs = value.get("labels", [])
    if not isinstance(pairs, list) or not all(
        isinstance(pair, list) and len(pair) == 2 for pair in pairs
    ):
        raise TypeError("expected labels as a list of [point, label] pairs")
    labels = {canonical_number("label point", point): label for point, label in pairs}
    if len(labels) != len(pairs):
        raise ValueError("a label point appears twice")
    return IntervalScale(low=value["low"], high=value["high"], labels=labels)


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
    if type(schema_version) is not int or not 1 <= schema_version <= current:
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
    cls = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        raise ValidationError(f"unknown event type {type_name!r}")
    if not isinstance(payload, dict):
        raise ValidationError(f"{type_name} payload must be a JSON object")
    try:
        event: Event = converter.structure(upcast(type_name, schema_version, payload), cls)
    except cattrs.BaseValidationError as exc:
        detail = "; ".join(cattrs.transform_error(exc, format_exception=_describe))
        raise ValidationError(f"{type_name} payload does not fit: {detail}") from exc
    except NegotrackError as exc:  # a field's own check, run as the event is made
        raise ValidationError(f"{type_name} payload does not fit: {exc}") from exc
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:
        # A payload is data from outside (a file, a row): whatever its shape,
        # the answer is that it does not fit, never a foreign exception.
        raise ValidationError(f"{type_name} payload does not fit: {exc!r}") from exc
    return event


def _describe(exc: BaseException, kind: type | None) -> str:
    """A cattrs leaf error as a reader can act on it: our own messages are kept."""
    if isinstance(exc, NegotrackError | TypeError) or (isinstance(exc, ValueError) and str(exc)):
        return str(exc)
    return format_exception(exc, kind)


def dumps(payload: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys, no spaces; the hash chain depends on it."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def encode(event: Event) -> str:
    """The event's payload as canonical JSON text."""
    return dumps(unstructure_event(event))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number the log can hold")


def loads(text: str) -> Any:
    """Parse JSON as the log reads it: NaN and infinities are refused, not read as floats.

    Raises:
        ValueError: the text is not JSON, holds a number out of range or too
            many digits; RecursionError: it is nested too deeply.
    """
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is too large for a 64-bit float")
    return number


def decode(type_name: str, schema_version: int, text: str) -> Event:
    """Parse a stored payload back into its event.

    Raises:
        ValidationError: the text is not a payload of this type.
    """
    try:
        payload = loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValidationError(f"{type_name} payload is not JSON the log can read: {exc}") from exc
    return structure_event(type_name, schema_version, payload)


# No parse_float hook: a stored payload holds only finite numbers, and the
# hook costs a Python call per number; NaN (never written) is still refused.
_parse_stored: Callable[[str], Any] = functools.partial(json.loads, parse_constant=_refuse_constant)
try:  # the ``fast`` extra: orjson parses a payload in half the time json takes
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    pass
else:
    _parse_stored = orjson.loads


def decode_stored(type_name: str, schema_version: int, text: str) -> Event:
    """Rebuild the event of a row of the store, without checking its fields again.

    The store holds only payloads that :func:`encode` wrote for a validated
    event (:mod:`negotrack.trusted` says why that is enough); anything else
    (a row an older schema upcasts, or one no builder can read) takes the
    validating :func:`decode`, which raises what it raises.

    Raises:
        ValidationError: the text is not a payload of this type.
    """
    cls = EVENT_TYPES.get(type_name)
    if cls is None or schema_version != cls.schema_version:
        return decode(type_name, schema_version, text)
    try:
        return builder(cls)(_parse_stored(text))
    except (ValueError, TypeError, KeyError, AttributeError):
        return decode(type_name, schema_version, text)
