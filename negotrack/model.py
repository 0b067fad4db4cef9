"""The domain values: ids, the stance scales, parties, clauses and evidence.

Everything here is a frozen attrs value, validated when it is made, so that a
wrong value is refused at the edge with an error that names it rather than
stored and discovered later.
"""

from __future__ import annotations

import enum
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeAlias, TypeVar

import attrs

from negotrack.errors import InvalidIdError, InvalidStanceError, NaiveDatetimeError, ValidationError

__all__ = [
    "EVENT_ID_MAX",
    "ID_MAX",
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
    "canonical_instant",
    "canonical_number",
    "canonical_tuple",
    "check_clause_id",
    "check_event_id",
    "check_negotiation_id",
    "check_party_id",
    "check_text",
    "instance_of",
    "on_scale",
    "parse_choice",
    "parse_stance",
    "stance_label",
    "stance_point",
    "unit",
    "valid_at",
    "validate_aware",
    "validate_bool",
    "validate_optional_text",
    "validate_text",
]

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_STATE = re.compile(r"[A-Z]{2}\Z")

ID_MAX = 100
"""The longest negotiation, party or clause id, in characters.

The log's id columns hold 200 characters and its stream names 420 (see
:mod:`negotrack.store.schema`); a cell's stream joins three ids and a
retraction's stream a negotiation id and an event id, so 100 keeps every
stream name within its column on every backend.
"""

EVENT_ID_MAX = 200
"""The longest event id, in characters: the width of the ``event_id`` column."""

SLUG_FORM = (
    "lowercase letters and digits joined by single hyphens, e.g. 'military-cap', "
    f"at most {ID_MAX} characters"
)

_SHOWN = 60  # characters of a refused value quoted in an error message


def shown(value: object) -> str:
    """A refused value as an error quotes it: its repr, cut short if long."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print (sys.get_int_max_str_digits)
        return f"an integer of more than {_SHOWN} digits"
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


def _id_form(value: object, *forms: re.Pattern[str]) -> bool:
    return (
        isinstance(value, str) and len(value) <= ID_MAX and any(form.match(value) for form in forms)
    )


def check_negotiation_id(value: object) -> str:
    """Return ``value`` if it is a valid negotiation id (a slug), else raise."""
    if not _id_form(value, _SLUG):
        raise InvalidIdError("negotiation", _shown_id(value), SLUG_FORM)
    return value  # type: ignore[return-value]  # _id_form checked it is a str


def check_party_id(value: object) -> str:
    """Return ``value`` if it is an ISO 3166-1 alpha-2 code or a slug, else raise."""
    if not _id_form(value, _STATE, _SLUG):
        raise InvalidIdError(
            "party", _shown_id(value), f"an ISO 3166-1 alpha-2 code such as 'GB', or {SLUG_FORM}"
        )
    return value  # type: ignore[return-value]


def check_clause_id(value: object) -> str:
    """Return ``value`` if it is a valid clause id (a slug), else raise."""
    if not _id_form(value, _SLUG):
        raise InvalidIdError("clause", _shown_id(value), SLUG_FORM)
    return value  # type: ignore[return-value]


def check_event_id(value: object) -> str:
    """Return ``value`` if it can name an event, else raise.

    An event id is 1 to 200 printable characters (spaces inside it are
    printable; control, format and unassigned characters and lone surrogates
    are not) that neither start nor end with a space.  Lookups call it too, so
    that a malformed id is refused before it reaches a database driver.
    """
    if not (
        isinstance(value, str)
        and 0 < len(value) <= EVENT_ID_MAX
        and value.isprintable()
        and value == value.strip()
    ):
        raise InvalidIdError(
            "event",
            _shown_id(value),
            f"a non-empty string of at most {EVENT_ID_MAX} characters, printable, "
            "not starting or ending with a space",
        )
    return value


def _shown_id(value: object) -> object:
    """The refused value as an error keeps it: itself, unless too long to quote whole."""
    if isinstance(value, str) and len(value) > _SHOWN:
        return f"{value[:_SHOWN]}... ({len(value)} characters)"
    try:
        repr(value)
    except ValueError:  # an int too long to print
        return shown(value)
    return value


def check_text(field: str, value: object) -> str:
    """Return ``value`` if it is text every backend stores as given, else raise.

    Refused: anything but ``str`` (no silent ``str(123)``), the NUL character
    (PostgreSQL cannot store it in text) and lone surrogates (not Unicode: no
    encoding can write them).
    """
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text, got {shown(value)}")
    if "\x00" in value:
        raise ValidationError(
            f"{field} must not contain the NUL character (at {value.index(chr(0))})"
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(
                f"{field} holds a lone surrogate at character {exc.start}: not Unicode text"
            ) from None
    return value


def canonical_number(field: str, value: object) -> float:
    """``value`` as the float the log stores: finite, ``-0.0`` written as ``0.0``.

    Integers become floats here, at the edge, so that what is stored is what
    is read back (``0`` and ``0.0`` would otherwise encode differently).

    Raises:
        ValidationError: not a number (booleans and text included), not finite,
            or too large for a float.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{field} must be a number, got {shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise ValidationError(f"{field} is too large: {shown(value)}") from None
    if not math.isfinite(number):
        raise ValidationError(f"{field} must be a finite number, got {number}")
    return number + 0.0  # -0.0 + 0.0 is 0.0


_FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)
_LAST_INSTANT = datetime.max.replace(tzinfo=UTC)
_MINUTE = timedelta(minutes=1)


def canonical_instant(field: str, value: object) -> datetime:
    """``value`` as the log stores an instant: a plain datetime at a fixed UTC offset.

    The wall time and offset are kept (a zone becomes its offset at that
    instant), so the stored text names the same instant and reads back equal.
    An offset that is not a whole number of minutes (local mean time before
    time zones, e.g. Kyiv's +02:02:04 before 1924) cannot be written in
    RFC 3339, so that instant is stored in UTC instead.

    Raises:
        NaiveDatetimeError: ``value`` has no time zone.
        ValidationError: not a datetime, or its instant lies outside years 1 to
            9999 in UTC.
    """
    if not isinstance(value, datetime):
        raise ValidationError(f"{field} must be a tz-aware datetime, got {shown(value)}")
    offset = value.utcoffset()
    if offset is None:
        raise NaiveDatetimeError(field, value)
    if not _FIRST_INSTANT <= value <= _LAST_INSTANT:
        raise ValidationError(f"{field} = {value.isoformat()} is outside years 1 to 9999 in UTC")
    if offset % _MINUTE:
        value, offset = value.astimezone(UTC), timedelta(0)
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=UTC if not offset else timezone(offset),
    )


_Item = TypeVar("_Item")


def canonical_tuple(
    field: str, value: object, check: Callable[[object], _Item]
) -> tuple[_Item, ...]:
    """``value`` as a tuple of checked items: lists and tuples are taken, text is not.

    A string is a sequence of characters, so ``aliases="Kyiv"`` would quietly
    become five aliases; it is refused instead.
    """
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(f"{field} must be a list, got {shown(value)}")
    return tuple(check(item) for item in value)


def instance_of(kind: type[_Item], field: str) -> Callable[[object], _Item]:
    """A check that an item is a ``kind``, for :func:`canonical_tuple`."""

    def check(item: object) -> _Item:
        if not isinstance(item, kind):
            raise ValidationError(f"{field} must hold {kind.__name__} values, got {shown(item)}")
        return item

    return check


def validate_text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: text every backend stores as given (see :func:`check_text`)."""
    check_text(attribute.name, value)


def validate_optional_text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: ``None`` or text (see :func:`check_text`)."""
    if value is not None:
        check_text(attribute.name, value)


def _non_empty(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not check_text(attribute.name, value).strip():
        raise ValidationError(f"{attribute.name} must not be empty")


def validate_bool(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: ``True`` or ``False``, not a number or text that looks like one."""
    if not isinstance(value, bool):
        raise ValidationError(f"{attribute.name} must be true or false, got {shown(value)}")


def unit(field: str, value: object) -> float | None:
    """``None`` or a number from 0 to 1 (salience, confidence), as a float."""
    if value is None:
        return None
    number = canonical_number(field, value)
    if not 0.0 <= number <= 1.0:
        raise ValidationError(f"{field} must be between 0 and 1, got {number!r}")
    return number


def valid_at(value: object) -> datetime:
    """attrs converter of a ``valid_at`` field (see :func:`canonical_instant`)."""
    return canonical_instant("valid_at", value)


def validate_aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: a tz-aware instant the log can store (see :func:`canonical_instant`)."""
    canonical_instant(attribute.name, value)


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


def _scale_labels(value: object) -> dict[float, str]:
    """Label points as floats, in order, each naming text (``{0: "status quo"}``)."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"labels must be a mapping of points to names, got {shown(value)}")
    labels: dict[float, str] = {}
    for point, label in value.items():
        labels[canonical_number("label point", point)] = check_text("label", label)
    return dict(sorted(labels.items()))


def _low(value: object) -> float:
    return canonical_number("low", value)


def _high(value: object) -> float:
    return canonical_number("high", value)


@attrs.frozen(kw_only=True)
class IntervalScale:
    """A clause's own numeric scale, e.g. 0-100 with labelled points (DEU-style coding).

    Args:
        low: the lowest position on the scale.
        high: the highest position on the scale.
        labels: names of notable points, e.g. ``{0: "status quo", 100: "proposal"}``.
    """

    low: float = attrs.field(converter=_low)
    high: float = attrs.field(converter=_high)
    labels: Mapping[float, str] = attrs.field(factory=dict, converter=_scale_labels)

    def __attrs_post_init__(self) -> None:
        if self.low >= self.high:
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
    try:
        # A float, -0.0 as 0.0: what is stored is what is read back.
        return canonical_number("stance", value)
    except ValidationError:
        expected = _ORDINAL_FORM + ", or a number on the clause's scale"
        raise InvalidStanceError(_shown_id(value), expected, clause) from None


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
        raise ValidationError(f"{field} must be one of {allowed}, got {shown(value)}") from None


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


def _plain_date(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # A datetime is a date too, but would be written with its time and read back as a date.
    if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
        raise ValidationError(f"{attribute.name} must be a date, got {shown(value)}")


@attrs.frozen(kw_only=True)
class Source:
    """Where evidence comes from: a report, a statement, a transcript."""

    outlet: str = attrs.field(validator=_non_empty)
    title: str | None = attrs.field(default=None, validator=validate_optional_text)
    url: str | None = attrs.field(default=None, validator=validate_optional_text)
    published: date | None = attrs.field(default=None, validator=_plain_date)
    file: str | None = attrs.field(default=None, validator=validate_optional_text)

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

    source: Source = attrs.field(validator=attrs.validators.instance_of(Source))
    quote: str = attrs.field(validator=_non_empty)
    stated: bool = attrs.field(default=True, validator=validate_bool)


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
