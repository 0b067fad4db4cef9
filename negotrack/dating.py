"""Uncertain valid times: a day, an instant, or a range from earliest to latest, with its basis.

Reports date remarks loosely ("last week", "earlier", a briefing two outlets
place a day apart).  A :class:`ValidTime` keeps what the analyst can honestly
say: the earliest and the latest the party can have taken the stance, how
precise those bounds are, and the basis of the dating in words.

The rule ``matrix`` applies to a range (see docs/claims.md):

- the stance is **held** from the latest bound: by then the party had taken
  it, whatever the true date;
- it is **possibly held** from the earliest bound until the latest;
- a bound given as a date means that day from its first instant in the
  negotiation's zone, as every date in negotrack does, so a range from a day
  to the same day is exactly that day.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from negotrack._time import to_micros, valid_instant
from negotrack.errors import ValidationError
from negotrack.model import Precision, check_text, validate_aware

__all__ = ["Standing", "ValidTime", "standing", "valid_time", "validate_basis"]


class Standing(enum.StrEnum):
    """Where a valid time stands at an as-of instant."""

    NOT_YET = "not_yet"
    POSSIBLY_HELD = "possibly_held"
    HELD = "held"


def validate_basis(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: ``None``, or a basis in words (an empty one says nothing)."""
    if value is None:
        return
    if not check_text(attribute.name, value).strip():
        raise ValidationError("basis must not be empty: say how the date was worked out")


@attrs.frozen(kw_only=True)
class ValidTime:
    """When a party took a stance, as precisely as the sources allow.

    ``earliest == latest`` is a plain day or instant; ``earliest < latest`` is
    a range, which needs a ``basis`` (why the date is uncertain, e.g.
    ``"'last week' in a report of Saturday 22 November"``).
    """

    earliest: datetime = attrs.field(validator=validate_aware)
    latest: datetime = attrs.field(validator=validate_aware)
    precision: Precision
    basis: str | None = attrs.field(default=None, validator=validate_basis)

    def __attrs_post_init__(self) -> None:
        if to_micros(self.latest) < to_micros(self.earliest):
            raise ValidationError(
                f"the latest bound {self.latest.isoformat()} is before "
                f"the earliest {self.earliest.isoformat()}"
            )
        if self.is_range and self.basis is None:
            raise ValidationError(
                "a date range needs its basis: say why the date is uncertain "
                "(e.g. \"'last week' in a report of 22 November\")"
            )

    @property
    def is_range(self) -> bool:
        """Whether the bounds differ: the true date is somewhere between them."""
        return to_micros(self.earliest) != to_micros(self.latest)


def valid_time(
    earliest: date | datetime,
    latest: date | datetime | None = None,
    *,
    tz: ZoneInfo,
    basis: str | None = None,
) -> ValidTime:
    """A valid time from one date or instant, or from two bounds of the same kind.

    Args:
        earliest: a date (that day, in ``tz``) or a tz-aware datetime.
        latest: the latest bound, of the same kind as ``earliest``; ``None``
            for a single day or instant.
        tz: the negotiation's time zone, which turns dates into instants.
        basis: how the date was worked out; required for a range.

    Raises:
        ValidationError: bounds of different kinds, in the wrong order, naive,
            or a range without a basis.
    """
    start, precision = valid_instant(earliest, tz, "earliest")
    if latest is None:
        return ValidTime(earliest=start, latest=start, precision=precision, basis=basis)
    end, end_precision = valid_instant(latest, tz, "latest")
    if end_precision is not precision:
        raise ValidationError(
            "give both bounds as dates or both as date-times with a zone, "
            f"got {earliest!r} and {latest!r}"
        )
    return ValidTime(earliest=start, latest=end, precision=precision, basis=basis)


def standing(time: ValidTime, as_of: datetime) -> Standing:
    """Whether a stance taken at ``time`` is held, possibly held, or not yet taken at ``as_of``.

    Held from the latest bound, possibly held from the earliest (the module
    docstring gives the rule and why).
    """
    at = to_micros(as_of)
    if to_micros(time.latest) <= at:
        return Standing.HELD
    if to_micros(time.earliest) <= at:
        return Standing.POSSIBLY_HELD
    return Standing.NOT_YET
