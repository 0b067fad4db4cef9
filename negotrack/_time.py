"""Instants as integer microseconds since the Unix epoch (UTC).

The log stores both times as integers: comparisons are exact and identical on
every backend, with no driver-specific time zone handling in the way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from negotrack.errors import ValidationError
from negotrack.model import Precision, canonical_instant, check_text, shown

__all__ = [
    "day_start",
    "end_instant",
    "end_of_day",
    "from_micros",
    "now_micros",
    "parse_when",
    "to_micros",
    "valid_instant",
    "zone",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(instant: datetime) -> int:
    """Microseconds since the epoch of a tz-aware datetime."""
    return (instant - _EPOCH) // _MICRO


def from_micros(micros: int) -> datetime:
    """The UTC datetime of a count of microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def now_micros() -> int:
    """The current instant in microseconds since the epoch."""
    return to_micros(datetime.now(UTC))


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or a ValidationError naming it."""
    try:
        return ZoneInfo(check_text("timezone", name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {name!r}: expected an IANA name") from exc


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Midnight at the start of ``day`` in ``tz``."""
    return datetime.combine(day, time(), tzinfo=tz)


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The last microsecond of ``day`` in ``tz``: a date given as ``as_of`` means this.

    Computed in UTC: arithmetic on zoned datetimes is wall-clock arithmetic,
    which is off by the shift on a day the clocks change.
    """
    if day >= date.max:
        raise ValidationError(f"{day} is too late: the day after it cannot be represented")
    next_day = canonical_instant("as_of", day_start(day + timedelta(days=1), tz))
    return next_day.astimezone(UTC) - _MICRO


def parse_when(value: object, field: str) -> date | datetime:
    """A date or a tz-aware datetime, given as one or as an ISO 8601 string.

    ``"2025-11-22"`` is a date; ``"2025-11-22T18:00:00+01:00"`` an instant.
    Every time negotrack takes (``valid_at``, ``as_of``, ``known_at``, a
    diff's ends, a command-line option) is read here, so they all accept the
    same strings and refuse the same mistakes.

    Raises:
        NaiveDatetimeError: a datetime (or date-time string) without a time zone.
        ValidationError: neither a date nor a datetime, or a string that is
            not ISO 8601; the message names ``field``.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                f"{field} = {shown(value)} is not a date (YYYY-MM-DD) "
                "or an ISO date-time with a zone (2025-11-22T18:00:00+01:00)"
            ) from None
        return canonical_instant(field, instant)
    if isinstance(value, datetime):
        return canonical_instant(field, value)
    if isinstance(value, date):
        return value
    raise ValidationError(
        f"{field} must be a date, a tz-aware datetime or an ISO string, got {shown(value)}"
    )


def valid_instant(
    value: date | datetime | str, tz: ZoneInfo, field: str = "valid_at"
) -> tuple[datetime, Precision]:
    """A valid time and its precision: a date means its day, from its first instant.

    The instant is in its canonical form (see :func:`negotrack.model.canonical_instant`).

    Raises:
        NaiveDatetimeError: ``value`` is a datetime without a time zone.
        ValidationError: ``value`` is not a date, a datetime or an ISO string,
            or the instant lies outside years 1 to 9999 in UTC.
    """
    value = parse_when(value, field)
    if isinstance(value, datetime):
        return canonical_instant(field, value), Precision.INSTANT
    return canonical_instant(field, day_start(value, tz)), Precision.DAY


def end_instant(value: date | datetime | str, tz: ZoneInfo, field: str = "as_of") -> datetime:
    """The instant an ``as_of`` or ``known_at`` names: a date means the end of that day in ``tz``.

    Raises:
        NaiveDatetimeError: ``value`` is a datetime without a time zone.
        ValidationError: ``value`` is not a date, a datetime or an ISO string.
    """
    value = parse_when(value, field)
    if isinstance(value, datetime):
        return value
    return end_of_day(value, tz)
