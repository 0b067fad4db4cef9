"""Instants as integer microseconds since the Unix epoch (UTC).

The log stores both times as integers: comparisons are exact and identical on
every backend, with no driver-specific time zone handling in the way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from negotrack.errors import ValidationError
from negotrack.model import Precision, check_aware

__all__ = [
    "day_start",
    "end_of_day",
    "from_micros",
    "now_micros",
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
        return ZoneInfo(name)
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
    next_day = day_start(day + timedelta(days=1), tz).astimezone(UTC)
    return next_day - _MICRO


def valid_instant(
    value: date | datetime, tz: ZoneInfo, field: str = "valid_at"
) -> tuple[datetime, Precision]:
    """A valid time and its precision: a date means its day, from its first instant.

    Raises:
        NaiveDatetimeError: ``value`` is a datetime without a time zone.
    """
    if isinstance(value, datetime):
        return check_aware(field, value), Precision.INSTANT
    if isinstance(value, date):
        return day_start(value, tz), Precision.DAY
    raise ValidationError(f"{field} must be a date or a tz-aware datetime, got {value!r}")
