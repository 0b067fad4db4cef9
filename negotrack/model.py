"""The domain values: ids, the stance scales, parties, clauses and evidence.

Everything here is a frozen attrs value, validated when it is made, so that a
wrong value is refused at the edge with an error that names it rather than
stored and discovered later.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeAlias, TypeVar

import attrs

from negotrack.errors import InvalidIdError, InvalidStanceError, NaiveDatetimeError, ValidationError

__all__ = [
    "SLUG_FORM",
    "Clause",
    "ClauseVersion",
    "Evidence",
    "IntervalScale",
    "Membership",
    "Ordinal",
    "Party",
    "PartyKind",
    "Precision",
    "Role",
    "Source",
    "StanceValue",
    "check_aware",
    "check_clause_id",
    "check_negotiation_id",
    "check_party_id",
    "on_scale",
    "parse_choice",
    "parse_stance",
    "stance_label",
    "stance_point",
    "validate_aware",
    "validate_unit",
]

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_STATE = re.compile(r"[A-Z]{2}\Z")
SLUG_FORM = "lowercase letters and digits joined by single hyphens, e.g. 'military-cap'"


def check_negotiation_id(value: object) -> str:
    """Return ``value`` if it is a valid negotiation id (a slug), else raise."""
    if not isinstance(value, str) or not _SLUG.match(value):
        raise InvalidIdError("negotiation", value, SLUG_FORM)
    return value


def check_party_id(value: object) -> str:
    """Return ``value`` if it is an ISO 3166-1 alpha-2 code or a slug, else raise."""
    if not isinstance(value, str) or not (_STATE.match(value) or _SLUG.match(value)):
        raise InvalidIdError(
            "party", value, f"an ISO 3166-1 alpha-2 code such as 'GB', or {SLUG_FORM}"
        )
    return value


def check_clause_id(value: object) -> str:
    """Return ``value`` if it is a valid clause id (a slug), else raise."""
    if not isinstance(value, str) or not _SLUG.match(value):
        raise InvalidIdError("clause", value, SLUG_FORM)
    return value


def check_aware(field: str, value: datetime) -> datetime:
    """Refuse a naive datetime: without a zone the instant it names is unknown."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(field, value)
    return value


def validate_aware(_: object, attribute: attrs.Attribute[Any], value: datetime) -> None:
    """attrs validator: a tz-aware datetime."""
    check_aware(attribute.name, value)


def validate_unit(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    """attrs validator: ``None`` or a number from 0 to 1 (salience, confidence)."""
    if value is not None and not (0.0 <= value <= 1.0):
        raise ValidationError(f"{attribute.name} must be between 0 and 1, got {value!r}")


def _non_empty(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip():
        raise ValidationError(f"{attribute.name} must not be empty")


class Ordinal(enum.IntEnum):
    """The default stance scale: an ordinal from oppose (-2) to support (+2)."""

    OPPOSE = -2
    LEAN_OPPOSE = -1
    NEUTRAL = 0
    LEAN_SUPPORT = 1
    SUPPORT = 2

    @property
    def label(self) -> str:
        """The analyst's word for this point, e.g. ``lean_oppose``."""
        return self.name.lower()


StanceValue: TypeAlias = Ordinal | float
"""A point on the ordinal scale, or a number on a clause's interval scale."""

_LABELS = {o.label: o for o in Ordinal}
_ORDINAL_FORM = "one of " + ", ".join(o.label for o in reversed(Ordinal))


@attrs.frozen(kw_only=True)
class IntervalScale:
    """A clause's own numeric scale, e.g. 0-100 with labelled points (DEU-style coding).

    Args:
        low: the lowest position on the scale.
        high: the highest position on the scale.
        labels: names of notable points, e.g. ``{0: "status quo", 100: "proposal"}``.
    """

    low: float
    high: float
    labels: Mapping[float, str] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low >= self.high:
            raise ValidationError(
                f"an interval scale needs low < high, got {self.low}..{self.high}"
            )
        for point in self.labels:
            if not self.low <= point <= self.high:
                raise ValidationError(f"label point {point} is outside {self.low}..{self.high}")

    def describe(self) -> str:
        """Say what the scale accepts, for error messages."""
        return f"a number from {self.low:g} to {self.high:g}"


def stance_point(value: object, clause: str | None = None) -> StanceValue:
    """Read a stance as the caller wrote it, before its clause's scale is known.

    A label (``"lean_oppose"``) or an :class:`Ordinal` is a point of the ordinal
    scale; a number is a point of an interval scale.  Whether the point is on
    the clause's scale is :func:`on_scale`'s question, asked by
    :mod:`negotrack.rules` when the event is written.

    Raises:
        InvalidStanceError: neither a label nor a finite number.
    """
    if isinstance(value, Ordinal):
        return value
    if isinstance(value, str) and value in _LABELS:
        return _LABELS[value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value) if _fits_float(value) else math.nan
        if math.isfinite(number):
            return number
    raise InvalidStanceError(value, _ORDINAL_FORM + ", or a number on the clause's scale", clause)


def _fits_float(value: int | float) -> bool:
    try:
        float(value)
    except OverflowError:  # an int beyond float range, e.g. 10**400
        return False
    return True


def on_scale(point: StanceValue, scale: IntervalScale | None, clause: str | None = None) -> None:
    """Refuse a stance point that is not on ``scale`` (``None``: the ordinal scale).

    Raises:
        InvalidStanceError: a number on the ordinal scale, a label on an
            interval scale, or a number outside the interval.
    """
    if scale is None:
        if not isinstance(point, Ordinal):
            raise InvalidStanceError(stance_label(point), _ORDINAL_FORM, clause)
        return
    if isinstance(point, Ordinal) or not (
        isinstance(point, int | float)
        and not isinstance(point, bool)
        and math.isfinite(point)
        and scale.low <= point <= scale.high
    ):
        shown = stance_label(point) if isinstance(point, Ordinal) else point
        raise InvalidStanceError(shown, scale.describe(), clause)


def parse_stance(
    value: object, scale: IntervalScale | None = None, clause: str | None = None
) -> StanceValue:
    """Turn a label, an :class:`Ordinal` or a number into a stance on ``scale``.

    Args:
        value: ``"lean_oppose"``, ``Ordinal.LEAN_OPPOSE``, or a number for an
            interval scale.
        scale: the clause's interval scale; ``None`` means the ordinal scale.
        clause: the clause id, named in the error if the value is refused.

    Raises:
        InvalidStanceError: the value is not a point of the scale.
    """
    labelled = isinstance(value, Ordinal) or (isinstance(value, str) and value in _LABELS)
    if scale is None and not labelled:
        raise InvalidStanceError(value, _ORDINAL_FORM, clause)
    point = stance_point(value, clause)
    on_scale(point, scale, clause)
    return point


_Choice = TypeVar("_Choice", bound=enum.Enum)


def parse_choice(kind: type[_Choice], value: object, field: str) -> _Choice:
    """The member of a string enum that ``value`` names (``PartyKind``, ``Role``, ...).

    Raises:
        ValidationError: ``value`` names no member; the message lists them all.
    """
    try:
        return kind(value)
    except (ValueError, TypeError):
        allowed = ", ".join(str(member.value) for member in kind)
        raise ValidationError(f"{field} must be one of {allowed}, got {value!r}") from None


def stance_label(value: StanceValue) -> str | float:
    """The stance as the analyst writes it: a label for ordinal points, else the number."""
    return value.label if isinstance(value, Ordinal) else value


class PartyKind(enum.StrEnum):
    """What kind of actor a party is."""

    STATE = "state"
    PERSON = "person"
    ORGANISATION = "organisation"
    BLOC = "bloc"
    GROUP = "group"


class Role(enum.StrEnum):
    """How a member relates to a group: it belongs to it, or speaks for it."""

    MEMBER = "member"
    SPEAKS_FOR = "speaks_for"


class Precision(enum.StrEnum):
    """How precisely a valid time is known: to the day, or to the instant."""

    DAY = "day"
    INSTANT = "instant"


@attrs.frozen(kw_only=True)
class Source:
    """Where evidence comes from: a report, a statement, a transcript."""

    outlet: str = attrs.field(validator=_non_empty)
    title: str | None = None
    url: str | None = None
    published: date | None = None
    file: str | None = None

    def cite(self) -> str:
        """A short citation, e.g. ``RFE/RL, 2025-11-22``."""
        parts = [self.outlet]
        if self.published is not None:
            parts.append(self.published.isoformat())
        if self.file is not None:
            parts.append(self.file)
        return ", ".join(parts)


@attrs.frozen(kw_only=True)
class Evidence:
    """What a stance rests on: a source, the verbatim quote, stated or inferred."""

    source: Source
    quote: str = attrs.field(validator=_non_empty)
    stated: bool = True


@attrs.frozen(kw_only=True)
class Party:
    """A party that takes positions: a state, a person, an organisation, a bloc, a group."""

    id: str = attrs.field(validator=lambda _, __, v: check_party_id(v))
    name: str
    kind: PartyKind
    aliases: tuple[str, ...] = ()
    memberships: tuple[Membership, ...] = ()


@attrs.frozen(kw_only=True)
class Membership:
    """A member belongs to (or speaks for) a group over a valid-time interval."""

    member: str
    group: str
    role: Role = Role.MEMBER
    valid_from: datetime = attrs.field(validator=validate_aware)
    valid_until: datetime | None = None

    def holds_at(self, instant: datetime) -> bool:
        """Whether the membership is in force at ``instant``."""
        return self.valid_from <= instant and (
            self.valid_until is None or instant < self.valid_until
        )


@attrs.frozen(kw_only=True)
class ClauseVersion:
    """One state of a clause's text: tabled, amended or withdrawn at a valid time."""

    change: str
    valid_at: datetime = attrs.field(validator=validate_aware)
    text: str | None
    event_id: str


@attrs.frozen(kw_only=True)
class Clause:
    """An issue key of the negotiation, with its title, topic, scale and text versions."""

    id: str = attrs.field(validator=lambda _, __, v: check_clause_id(v))
    title: str
    topic: str | None = None
    scale: IntervalScale | None = None
    versions: tuple[ClauseVersion, ...] = ()

    @property
    def text(self) -> str | None:
        """The latest text, or ``None`` once the clause is withdrawn."""
        return self.versions[-1].text if self.versions else None

    @property
    def withdrawn(self) -> bool:
        """Whether the clause's latest version is a withdrawal."""
        return bool(self.versions) and self.versions[-1].change == "withdrawn"
