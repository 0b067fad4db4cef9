"""The events of the log: facts in the past tense, each with a schema version.

An event is what the analyst asserts happened.  What the store knows about it
(its global position, when it was recorded) lives beside it, in
:class:`negotrack.store.RecordedEvent`, because the store assigns those and the
caller never does.

Every event belongs to one negotiation and carries a unique ``event_id``; an
append of an id already in the log writes nothing (idempotency), which is what
makes a dataset import safe to repeat.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, TypeAlias

import attrs

from negotrack._time import zone
from negotrack.dating import validate_basis
from negotrack.errors import ValidationError
from negotrack.model import (
    Evidence,
    IntervalScale,
    PartyKind,
    Precision,
    Role,
    Source,
    StanceValue,
    canonical_instant,
    canonical_tuple,
    check_clause_id,
    check_event_id,
    check_negotiation_id,
    check_party_id,
    check_text,
    instance_of,
    parse_choice,
    stance_point,
    unit,
    valid_at,
    validate_optional_text,
    validate_text,
)

__all__ = [
    "CELL_EVENTS",
    "EVENT_TYPES",
    "ClauseAmended",
    "ClauseTabled",
    "ClauseWithdrawn",
    "Event",
    "JointStatementRecorded",
    "MembershipEnded",
    "MembershipStarted",
    "NegotiationOpened",
    "NoteRecorded",
    "PartyRegistered",
    "Reading",
    "StanceEvent",
    "StanceRecorded",
    "StanceRetracted",
    "StanceWithdrawn",
    "new_event_id",
]


def new_event_id() -> str:
    """A fresh random event id."""
    return uuid.uuid4().hex


# Every field of every event is checked (or brought to its canonical form) when
# the event is made, so that nothing the log accepts can fail to decode, and
# what is stored is what is read back: attrs converters turn 0 into 0.0 and
# "day" into Precision.DAY; validators refuse what has no canonical form.


def _event_id(_: object, __: attrs.Attribute[Any], value: object) -> None:
    check_event_id(value)


def _optional_event_id(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_event_id(value)


def _negotiation(_: object, __: attrs.Attribute[Any], value: object) -> None:
    check_negotiation_id(value)


def _party(_: object, __: attrs.Attribute[Any], value: object) -> None:
    check_party_id(value)


def _clause(_: object, __: attrs.Attribute[Any], value: object) -> None:
    check_clause_id(value)


def _timezone(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    zone(check_text(attribute.name, value))


def _scale(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, IntervalScale):
        raise ValidationError(f"{attribute.name} must be an IntervalScale or None, got {value!r}")


def _kind(value: object) -> PartyKind:
    return parse_choice(PartyKind, value, "kind")


def _role(value: object) -> Role:
    return parse_choice(Role, value, "role")


def _precision(value: object) -> Precision:
    return parse_choice(Precision, value, "precision")


def _salience(value: object) -> float | None:
    return unit("salience", value)


def _confidence(value: object) -> float | None:
    return unit("confidence", value)


def _aliases(value: object) -> tuple[str, ...]:
    return canonical_tuple("aliases", value, lambda alias: check_text("aliases", alias))


def _party_ids(value: object) -> tuple[str, ...]:
    return canonical_tuple("parties", value, check_party_id)


def _signatories(value: object) -> tuple[str, ...]:
    return canonical_tuple("signatories", value, check_party_id)


def _on_behalf_of(value: object) -> tuple[str, ...]:
    return canonical_tuple("on_behalf_of", value, check_party_id)


def _evidence(value: object) -> tuple[Evidence, ...]:
    return canonical_tuple("evidence", value, instance_of(Evidence, "evidence"))


def _readings(value: object) -> tuple[Reading, ...]:
    return canonical_tuple("readings", value, instance_of(Reading, "readings"))


def _optional_source(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, Source):
        raise ValidationError(f"{attribute.name} must be a Source or None, got {value!r}")


@attrs.frozen(kw_only=True)
class _Base:
    schema_version: ClassVar[int] = 1

    negotiation: str = attrs.field(validator=_negotiation)
    event_id: str = attrs.field(factory=new_event_id, validator=_event_id)


def _earliest(value: object) -> datetime | None:
    return None if value is None else canonical_instant("earliest", value)


@attrs.frozen(kw_only=True)
class _Dated(_Base):
    """What every event with a valid time carries about how sure that time is.

    ``valid_at`` (on each subclass) is the latest the fact can have happened;
    ``earliest``, when set, is the earliest, and ``basis`` says how the date
    was worked out.  A matrix holds the fact from ``valid_at`` and shows it as
    possibly held from ``earliest`` (see :mod:`negotrack.dating`).  That
    ``earliest`` is not after ``valid_at`` and that a range has a basis are
    write rules (:mod:`negotrack.rules`).
    """

    earliest: datetime | None = attrs.field(default=None, converter=_earliest)
    basis: str | None = attrs.field(default=None, validator=validate_basis)


@attrs.frozen(kw_only=True)
class NegotiationOpened(_Base):
    """A negotiation is opened for tracking; its time zone turns dates into instants."""

    title: str = attrs.field(validator=validate_text)
    timezone: str = attrs.field(default="UTC", validator=_timezone)
    description: str | None = attrs.field(default=None, validator=validate_optional_text)


@attrs.frozen(kw_only=True)
class PartyRegistered(_Base):
    """A party is registered in the negotiation."""

    party: str = attrs.field(validator=_party)
    name: str = attrs.field(validator=validate_text)
    kind: PartyKind = attrs.field(converter=_kind)
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_aliases)


@attrs.frozen(kw_only=True)
class MembershipStarted(_Dated):
    """From ``valid_at``, ``member`` belongs to (or speaks for) ``group``."""

    schema_version: ClassVar[int] = 2

    member: str = attrs.field(validator=_party)
    group: str = attrs.field(validator=_party)
    role: Role = attrs.field(default=Role.MEMBER, converter=_role)
    valid_at: datetime = attrs.field(converter=valid_at)
    precision: Precision = attrs.field(default=Precision.INSTANT, converter=_precision)
    note: str | None = attrs.field(default=None, validator=validate_optional_text)


@attrs.frozen(kw_only=True)
class MembershipEnded(_Dated):
    """From ``valid_at``, ``member`` no longer belongs to ``group``."""

    schema_version: ClassVar[int] = 2

    member: str = attrs.field(validator=_party)
    group: str = attrs.field(validator=_party)
    valid_at: datetime = attrs.field(converter=valid_at)
    precision: Precision = attrs.field(default=Precision.INSTANT, converter=_precision)
    note: str | None = attrs.field(default=None, validator=validate_optional_text)


@attrs.frozen(kw_only=True)
class ClauseTabled(_Dated):
    """A clause is put on the table at ``valid_at``."""

    schema_version: ClassVar[int] = 2

    clause: str = attrs.field(validator=_clause)
    title: str = attrs.field(validator=validate_text)
    topic: str | None = attrs.field(default=None, validator=validate_optional_text)
    text: str | None = attrs.field(default=None, validator=validate_optional_text)
    scale: IntervalScale | None = attrs.field(default=None, validator=_scale)
    valid_at: datetime = attrs.field(converter=valid_at)
    precision: Precision = attrs.field(default=Precision.INSTANT, converter=_precision)


@attrs.frozen(kw_only=True)
class ClauseAmended(_Dated):
    """A clause's text changes at ``valid_at``."""

    schema_version: ClassVar[int] = 2

    clause: str = attrs.field(validator=_clause)
    text: str = attrs.field(validator=validate_text)
    valid_at: datetime = attrs.field(converter=valid_at)
    precision: Precision = attrs.field(default=Precision.INSTANT, converter=_precision)
    evidence: tuple[Evidence, ...] = attrs.field(default=(), converter=_evidence)
    note: str | None = attrs.field(default=None, validator=validate_optional_text)


@attrs.frozen(kw_only=True)
class ClauseWithdrawn(_Dated):
    """A clause is taken off the table at ``valid_at``."""

    schema_version: ClassVar[int] = 2

    clause: str = attrs.field(validator=_clause)
    valid_at: datetime = attrs.field(converter=valid_at)
    precision: Precision = attrs.field(default=Precision.INSTANT, converter=_precision)
    reason: str | None = attrs.field(default=None, validator=validate_optional_text)
    evidence: tuple[Evidence, ...] = attrs.field(default=(), converter=_evidence)
    note: str | None = attrs.field(default=None, validator=validate_optional_text)


@attrs.frozen(kw_only=True)
class StanceRecorded(_Dated):
    """A party held ``stance`` on a clause at ``valid_at``, on the given evidence.

    Schema 2 holds a tuple of evidence; schema 1 (pre-release files) held one
    ``evidence`` object, which :mod:`negotrack.codec` upcasts.  Schema 3 adds
    ``earliest`` and ``basis``.
    """

    schema_version: ClassVar[int] = 3

    party: str = attrs.field(validator=_party)
    clause: str = attrs.field(validator=_clause)
    stance: StanceValue = attrs.field(converter=stance_point)
    valid_at: datetime = attrs.field(converter=valid_at)
    precision: Precision = attrs.field(default=Precision.INSTANT, converter=_precision)
    evidence: tuple[Evidence, ...] = attrs.field(default=(), converter=_evidence)
    salience: float | None = attrs.field(default=None, converter=_salience)
    confidence: float | None = attrs.field(default=None, converter=_confidence)
    conditions: str | None = attrs.field(default=None, validator=validate_optional_text)
    speaker: str | None = attrs.field(default=None, validator=validate_optional_text)
    note: str | None = attrs.field(default=None, validator=validate_optional_text)


@attrs.frozen(kw_only=True)
class Reading:
    """Another source's reading of who signed a joint statement."""

    signatories: tuple[str, ...] = attrs.field(converter=_signatories)
    source: Source | None = attrs.field(default=None, validator=_optional_source)
    note: str | None = attrs.field(default=None, validator=validate_optional_text)


@attrs.frozen(kw_only=True)
class JointStatementRecorded(_Dated):
    """Several signatories took one stance on a clause in one statement.

    Each signatory's cell gets the stance with the shared evidence.  Where
    sources disagree on who signed, ``signatories`` is the reading the default
    view uses and ``readings`` keeps the others visible.

    A group among the signatories may speak for its members without naming
    them: ``on_behalf_of`` lists such groups, whose members (by the
    memberships valid at ``valid_at``) take the stance through the group.
    ``speaker`` is who read or presented the statement, if reported.
    """

    schema_version: ClassVar[int] = 2

    signatories: tuple[str, ...] = attrs.field(converter=_signatories)
    clause: str = attrs.field(validator=_clause)
    stance: StanceValue = attrs.field(converter=stance_point)
    valid_at: datetime = attrs.field(converter=valid_at)
    precision: Precision = attrs.field(default=Precision.INSTANT, converter=_precision)
    evidence: tuple[Evidence, ...] = attrs.field(default=(), converter=_evidence)
    salience: float | None = attrs.field(default=None, converter=_salience)
    confidence: float | None = attrs.field(default=None, converter=_confidence)
    conditions: str | None = attrs.field(default=None, validator=validate_optional_text)
    title: str | None = attrs.field(default=None, validator=validate_optional_text)
    statement: str | None = attrs.field(default=None, validator=validate_optional_text)
    readings: tuple[Reading, ...] = attrs.field(default=(), converter=_readings)
    note: str | None = attrs.field(default=None, validator=validate_optional_text)
    speaker: str | None = attrs.field(default=None, validator=validate_optional_text)
    on_behalf_of: tuple[str, ...] = attrs.field(default=(), converter=_on_behalf_of)

    @signatories.validator
    def _check_signatories(self, _: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        if not value:
            raise ValidationError("a joint statement needs at least one signatory")
        if len(set(value)) != len(value):
            raise ValidationError(f"a joint statement lists a signatory twice: {value!r}")

    @on_behalf_of.validator
    def _check_on_behalf_of(self, _: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        for group in value:
            check_party_id(group)
            if group not in self.signatories:
                raise ValidationError(
                    f"{group!r} speaks for its members but does not sign the statement: "
                    "list it among the signatories"
                )
        if len(set(value)) != len(value):
            raise ValidationError(f"on_behalf_of lists a group twice: {value!r}")


@attrs.frozen(kw_only=True)
class StanceWithdrawn(_Dated):
    """A real-world change: the party dropped its stance at ``valid_at``; the cell empties."""

    schema_version: ClassVar[int] = 2

    party: str = attrs.field(validator=_party)
    clause: str = attrs.field(validator=_clause)
    valid_at: datetime = attrs.field(converter=valid_at)
    precision: Precision = attrs.field(default=Precision.INSTANT, converter=_precision)
    evidence: tuple[Evidence, ...] = attrs.field(default=(), converter=_evidence)
    reason: str | None = attrs.field(default=None, validator=validate_optional_text)
    speaker: str | None = attrs.field(default=None, validator=validate_optional_text)
    note: str | None = attrs.field(default=None, validator=validate_optional_text)


@attrs.frozen(kw_only=True)
class StanceRetracted(_Base):
    """Our record was wrong: the retracted event leaves every view known after this one.

    ``replaced_by`` names the replacement when the retraction is half of a
    correction.
    """

    retracted: str = attrs.field(validator=_event_id)
    reason: str = attrs.field(validator=validate_text)
    replaced_by: str | None = attrs.field(default=None, validator=_optional_event_id)


@attrs.frozen(kw_only=True)
class NoteRecorded(_Dated):
    """A dated happening that is not a stance: a meeting, a call, a deadline."""

    schema_version: ClassVar[int] = 2

    kind: str = attrs.field(validator=validate_text)
    text: str = attrs.field(validator=validate_text)
    valid_at: datetime = attrs.field(converter=valid_at)
    precision: Precision = attrs.field(default=Precision.INSTANT, converter=_precision)
    parties: tuple[str, ...] = attrs.field(default=(), converter=_party_ids)
    evidence: tuple[Evidence, ...] = attrs.field(default=(), converter=_evidence)


Event: TypeAlias = (
    NegotiationOpened
    | PartyRegistered
    | MembershipStarted
    | MembershipEnded
    | ClauseTabled
    | ClauseAmended
    | ClauseWithdrawn
    | StanceRecorded
    | JointStatementRecorded
    | StanceWithdrawn
    | StanceRetracted
    | NoteRecorded
)
"""Any event of the log."""

StanceEvent: TypeAlias = StanceRecorded | JointStatementRecorded | StanceWithdrawn
"""The events that fill or empty party x clause cells."""

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        NegotiationOpened,
        PartyRegistered,
        MembershipStarted,
        MembershipEnded,
        ClauseTabled,
        ClauseAmended,
        ClauseWithdrawn,
        StanceRecorded,
        JointStatementRecorded,
        StanceWithdrawn,
        StanceRetracted,
        NoteRecorded,
    )
}
"""Event classes by their type name, as stored in the log."""

CELL_EVENTS: tuple[type[StanceEvent], ...] = (
    StanceRecorded,
    JointStatementRecorded,
    StanceWithdrawn,
)
