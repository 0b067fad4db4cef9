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

from negotrack.dating import validate_basis
from negotrack.errors import InvalidIdError, ValidationError
from negotrack.model import (
    Evidence,
    IntervalScale,
    Ordinal,
    PartyKind,
    Precision,
    Role,
    Source,
    StanceValue,
    check_clause_id,
    check_negotiation_id,
    check_party_id,
    validate_aware,
    validate_unit,
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


def _event_id(_: object, __: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidIdError("event", value, "a non-empty string of at most 200 characters")


def _negotiation(_: object, __: attrs.Attribute[Any], value: str) -> None:
    check_negotiation_id(value)


def _party(_: object, __: attrs.Attribute[Any], value: str) -> None:
    check_party_id(value)


def _clause(_: object, __: attrs.Attribute[Any], value: str) -> None:
    check_clause_id(value)


def _stance(_: object, __: attrs.Attribute[Any], value: object) -> None:
    # The scale itself is checked against the clause when the stance is recorded
    # (negotrack.tracker); here only the type is guarded.
    if isinstance(value, bool) or not isinstance(value, Ordinal | float | int):
        raise ValidationError(f"stance must be an Ordinal or a number, got {value!r}")


@attrs.frozen(kw_only=True)
class _Base:
    schema_version: ClassVar[int] = 1

    negotiation: str = attrs.field(validator=_negotiation)
    event_id: str = attrs.field(factory=new_event_id, validator=_event_id)


def _earliest(_: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None:
        validate_aware(_, attribute, value)


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

    earliest: datetime | None = attrs.field(default=None, validator=_earliest)
    basis: str | None = attrs.field(default=None, validator=validate_basis)


@attrs.frozen(kw_only=True)
class NegotiationOpened(_Base):
    """A negotiation is opened for tracking; its time zone turns dates into instants."""

    title: str
    timezone: str = "UTC"
    description: str | None = None


@attrs.frozen(kw_only=True)
class PartyRegistered(_Base):
    """A party is registered in the negotiation."""

    party: str = attrs.field(validator=_party)
    name: str
    kind: PartyKind
    aliases: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class MembershipStarted(_Dated):
    """From ``valid_at``, ``member`` belongs to (or speaks for) ``group``."""

    schema_version: ClassVar[int] = 2

    member: str = attrs.field(validator=_party)
    group: str = attrs.field(validator=_party)
    role: Role = Role.MEMBER
    valid_at: datetime = attrs.field(validator=validate_aware)
    precision: Precision = Precision.INSTANT
    note: str | None = None


@attrs.frozen(kw_only=True)
class MembershipEnded(_Dated):
    """From ``valid_at``, ``member`` no longer belongs to ``group``."""

    schema_version: ClassVar[int] = 2

    member: str = attrs.field(validator=_party)
    group: str = attrs.field(validator=_party)
    valid_at: datetime = attrs.field(validator=validate_aware)
    precision: Precision = Precision.INSTANT
    note: str | None = None


@attrs.frozen(kw_only=True)
class ClauseTabled(_Dated):
    """A clause is put on the table at ``valid_at``."""

    schema_version: ClassVar[int] = 2

    clause: str = attrs.field(validator=_clause)
    title: str
    topic: str | None = None
    text: str | None = None
    scale: IntervalScale | None = None
    valid_at: datetime = attrs.field(validator=validate_aware)
    precision: Precision = Precision.INSTANT


@attrs.frozen(kw_only=True)
class ClauseAmended(_Dated):
    """A clause's text changes at ``valid_at``."""

    schema_version: ClassVar[int] = 2

    clause: str = attrs.field(validator=_clause)
    text: str
    valid_at: datetime = attrs.field(validator=validate_aware)
    precision: Precision = Precision.INSTANT
    evidence: tuple[Evidence, ...] = ()
    note: str | None = None


@attrs.frozen(kw_only=True)
class ClauseWithdrawn(_Dated):
    """A clause is taken off the table at ``valid_at``."""

    schema_version: ClassVar[int] = 2

    clause: str = attrs.field(validator=_clause)
    valid_at: datetime = attrs.field(validator=validate_aware)
    precision: Precision = Precision.INSTANT
    reason: str | None = None
    evidence: tuple[Evidence, ...] = ()
    note: str | None = None


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
    stance: StanceValue = attrs.field(validator=_stance)
    valid_at: datetime = attrs.field(validator=validate_aware)
    precision: Precision = Precision.INSTANT
    evidence: tuple[Evidence, ...] = ()
    salience: float | None = attrs.field(default=None, validator=validate_unit)
    confidence: float | None = attrs.field(default=None, validator=validate_unit)
    conditions: str | None = None
    speaker: str | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class Reading:
    """Another source's reading of who signed a joint statement."""

    signatories: tuple[str, ...]
    source: Source | None = None
    note: str | None = None


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

    signatories: tuple[str, ...] = attrs.field()
    clause: str = attrs.field(validator=_clause)
    stance: StanceValue = attrs.field(validator=_stance)
    valid_at: datetime = attrs.field(validator=validate_aware)
    precision: Precision = Precision.INSTANT
    evidence: tuple[Evidence, ...] = ()
    salience: float | None = attrs.field(default=None, validator=validate_unit)
    confidence: float | None = attrs.field(default=None, validator=validate_unit)
    conditions: str | None = None
    title: str | None = None
    statement: str | None = None
    readings: tuple[Reading, ...] = ()
    note: str | None = None
    speaker: str | None = None
    on_behalf_of: tuple[str, ...] = attrs.field(default=())

    @signatories.validator
    def _check_signatories(self, _: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        if not value:
            raise ValidationError("a joint statement needs at least one signatory")
        for party in value:
            check_party_id(party)
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
    valid_at: datetime = attrs.field(validator=validate_aware)
    precision: Precision = Precision.INSTANT
    evidence: tuple[Evidence, ...] = ()
    reason: str | None = None
    speaker: str | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class StanceRetracted(_Base):
    """Our record was wrong: the retracted event leaves every view known after this one.

    ``replaced_by`` names the replacement when the retraction is half of a
    correction.
    """

    retracted: str = attrs.field(validator=_event_id)
    reason: str
    replaced_by: str | None = None


@attrs.frozen(kw_only=True)
class NoteRecorded(_Dated):
    """A dated happening that is not a stance: a meeting, a call, a deadline."""

    schema_version: ClassVar[int] = 2

    kind: str
    text: str
    valid_at: datetime = attrs.field(validator=validate_aware)
    precision: Precision = Precision.INSTANT
    parties: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()


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
