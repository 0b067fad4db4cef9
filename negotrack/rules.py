"""The write rules: what the log accepts, checked before anything is written.

Every write reaches the log through :func:`check`, whichever way it comes: the
:class:`~negotrack.Negotiation` methods, the low-level
:meth:`~negotrack.Tracker.append`, the dataset importer and the JSON Lines
restore.  The rules, each stated once, here:

references
    Every event but :class:`NegotiationOpened` belongs to an opened
    negotiation, and every party and clause it names is registered or tabled
    there: in the log, or earlier in the same batch.
scales
    A stance is a point of its clause's scale (a label on the ordinal scale,
    a number within an interval scale).  (Each field's own range, such as a
    party kind or a time zone, is checked where the event is made, in
    :mod:`negotrack.events`: no event holds a value outside it.)
declarations are made once
    A negotiation is opened, a party registered and a clause tabled once.  The
    same declaring event again (same event id) is a retry, not a duplicate: the
    store writes nothing for it.  A second declaring event is refused with a
    :class:`~negotrack.DuplicateError` that tells the same declaration (every
    field but the id equal: a notebook run twice) from a different one, and
    names the fields that differ; the :class:`~negotrack.Negotiation` methods
    answer the same declaration with the existing one (get-or-create).
dates
    A date range ends at ``valid_at``: its ``earliest`` bound is not after
    it, and a range (``earliest`` before ``valid_at``) says how it was worked
    out in ``basis`` (see :mod:`negotrack.dating`).
retractions
    A retraction names a stance event (a stance, a joint statement or a
    withdrawal) of its own negotiation, recorded before it (in the log or
    earlier in the batch), and retracted at most once.

The rules read a fold, :class:`Declarations`, of what the log has declared.
A tracker keeps one and refreshes it when it finds something unknown; but
another writer may declare the same party, or retract the same event, between
the check and the write.  So the rules also name, in :attr:`Admission.new_streams`,
the streams that must still be empty when the batch is written: each
declaration and each retraction is the first event of its own stream, and the
store's optimistic concurrency enforces "still empty" in the write transaction
itself.  A :class:`~negotrack.ConcurrencyError` on one of those streams means a
duplicate, and the tracker reports it as the error the stream names.

Stance event ids are not kept in the fold, since they grow with the log: a
retraction's target is found in the batch or looked up in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeAlias

import attrs

from negotrack.dating import ValidTime
from negotrack.errors import (
    AlreadyRetractedError,
    ConflictError,
    DuplicateError,
    NegotrackError,
    UnknownClauseError,
    UnknownEventError,
    UnknownNegotiationError,
    UnknownPartyError,
    ValidationError,
)
from negotrack.events import (
    CELL_EVENTS,
    ClauseAmended,
    ClauseTabled,
    ClauseWithdrawn,
    Event,
    JointStatementRecorded,
    MembershipEnded,
    MembershipStarted,
    NegotiationOpened,
    NoteRecorded,
    PartyRegistered,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
)
from negotrack.model import IntervalScale, on_scale
from negotrack.store import stream_of

__all__ = [
    "DECLARING_TYPES",
    "Admission",
    "Declarations",
    "Field",
    "Find",
    "Locate",
    "check",
    "stance_target",
]

Field: TypeAlias = tuple[str | int, ...]
"""Where in an event a refused value is: ``("signatories", 2)``, ``("stance",)``."""

Find: TypeAlias = Callable[[str], Event | None]
"""Looks up a stored event by id (``None``: not in the log)."""

Locate: TypeAlias = Callable[[int, Field, NegotrackError], NegotrackError]
"""Turns a refusal of the event at an index of the batch into the error to raise.

The importers pass one to name the file, line and field; without one the rule's
own error is raised.
"""

DECLARING_TYPES = (
    NegotiationOpened.__name__,
    PartyRegistered.__name__,
    ClauseTabled.__name__,
    StanceRetracted.__name__,
)
"""The event types :class:`Declarations` folds; a tracker reads only these to refresh it."""


@attrs.define
class Declarations:
    """What the log has declared: the fold the rules check a batch against.

    Each entry keeps the id of the event that declared it, so that the same
    event appended again is told apart from a second declaration.
    """

    negotiations: dict[str, NegotiationOpened] = attrs.field(factory=dict)
    parties: dict[tuple[str, str], PartyRegistered] = attrs.field(factory=dict)
    clauses: dict[tuple[str, str], ClauseTabled] = attrs.field(factory=dict)
    retracted: dict[str, str] = attrs.field(factory=dict)
    """Retracted event id -> the id of the retraction."""

    def learn(self, event: Event) -> None:
        """Fold one event in (events of other types change nothing)."""
        match event:
            case NegotiationOpened():
                self.negotiations.setdefault(event.negotiation, event)
            case PartyRegistered():
                self.parties.setdefault((event.negotiation, event.party), event)
            case ClauseTabled():
                self.clauses.setdefault((event.negotiation, event.clause), event)
            case StanceRetracted():
                self.retracted.setdefault(event.retracted, event.event_id)
            case _:
                pass


@attrs.frozen
class Admission:
    """A batch the rules accept, and the streams that must still be empty when it is written."""

    new_streams: Mapping[str, ConflictError]
    """Stream -> the error that a stream already holding events means."""

    def expected_versions(self) -> dict[str, int]:
        """The expected versions that make the store enforce :attr:`new_streams`."""
        return dict.fromkeys(self.new_streams, 0)


class _Refused(Exception):  # noqa: N818 - never leaves this module
    """A rule's error and the field of the event it refuses."""

    def __init__(self, field: Field, error: NegotrackError) -> None:
        self.field = field
        self.error = error


def check(
    events: Sequence[Event],
    declared: Declarations,
    find: Find,
    *,
    locate: Locate | None = None,
) -> Admission:
    """Check a batch against the log's declarations; nothing is written here.

    Args:
        events: the batch, in the order it will be appended.
        declared: the fold of the log's declarations (left unchanged).
        find: looks up a stored event by id, for retraction targets.
        locate: maps a refusal to the error to raise (importers name the line).

    Returns:
        The streams the store must find empty, each with its conflict error.

    Raises:
        UnknownNegotiationError, UnknownPartyError, UnknownClauseError: a
            reference to something not declared.
        UnknownEventError: a retraction of no stance event of its negotiation.
        InvalidStanceError: a stance off its clause's scale.
        ValidationError: a value out of its range, or a retraction before its target.
        DuplicateError: a second declaration.
        AlreadyRetractedError: a second retraction of one event.
    """
    batch = _Batch(declared, find, events)
    for index, event in enumerate(events):
        try:
            batch.admit(event)
        except _Refused as refused:
            if locate is None:
                raise refused.error from refused.error.__cause__
            raise locate(index, refused.field, refused.error) from refused.error
    return Admission(new_streams=batch.new_streams)


def stance_target(target: Event | None, event_id: str, negotiation: str) -> Event:
    """The event a retraction (or correction) in ``negotiation`` may name, or an error.

    Raises:
        UnknownEventError: no event ``event_id``, or not a stance event of ``negotiation``.
    """
    if target is None or target.negotiation != negotiation or not isinstance(target, CELL_EVENTS):
        raise UnknownEventError(event_id, negotiation)
    return target


class _Batch:
    """The rules applied to one batch, event by event, on top of the log's declarations."""

    def __init__(self, declared: Declarations, find: Find, events: Sequence[Event]) -> None:
        self.declared = declared
        self.find = find
        self.pending = Declarations()  # declared earlier in this batch
        self.earlier: dict[str, Event] = {}  # this batch's events so far, by id
        self.ids = {event.event_id for event in events}
        self.new_streams: dict[str, ConflictError] = {}

    def admit(self, event: Event) -> None:
        self._values(event)
        if not isinstance(event, NegotiationOpened) and not self._opened(event.negotiation):
            raise _Refused(("negotiation",), UnknownNegotiationError(event.negotiation))
        self._references(event)
        match event:
            case NegotiationOpened():
                self._declaration(event, ("negotiation",), "negotiation", event.negotiation)
            case PartyRegistered():
                self._declaration(event, ("party",), "party", event.party)
            case ClauseTabled():
                self._declaration(event, ("clause",), "clause", event.clause)
            case StanceRecorded() | JointStatementRecorded():
                scale = self._scale(event.negotiation, event.clause)
                try:
                    on_scale(event.stance, scale, event.clause)
                except NegotrackError as exc:
                    raise _Refused(("stance",), exc) from None
            case StanceRetracted():
                self._retraction(event)
            case _:
                pass
        self.pending.learn(event)
        self.earlier[event.event_id] = event

    # -- values -----------------------------------------------------------------

    def _values(self, event: Event) -> None:
        """The one rule across fields of an event: a date range ends at ``valid_at``.

        Each field's own range (a party kind, a role, a precision, a time
        zone) is checked where the event is made, by its converter or
        validator in :mod:`negotrack.events`: no event holds a value outside it.
        """
        earliest = getattr(event, "earliest", None)
        if earliest is not None:
            try:  # the one statement of what a valid range is
                ValidTime(
                    earliest=earliest,
                    latest=event.valid_at,  # type: ignore[union-attr]
                    precision=event.precision,  # type: ignore[union-attr]
                    basis=event.basis,  # type: ignore[union-attr]
                )
            except NegotrackError as exc:
                raise _Refused(("earliest",), exc) from None

    # -- references ---------------------------------------------------------------

    def _opened(self, negotiation: str) -> bool:
        return negotiation in self.pending.negotiations or negotiation in self.declared.negotiations

    def _references(self, event: Event) -> None:
        neg = event.negotiation
        for field, party in _parties_named(event):
            key = (neg, party)
            if key not in self.pending.parties and key not in self.declared.parties:
                raise _Refused(field, UnknownPartyError(party, neg))
        clause = _clause_named(event)
        if clause is not None:
            self._scale(neg, clause)

    def _scale(self, negotiation: str, clause: str) -> IntervalScale | None:
        key = (negotiation, clause)
        tabled = self.pending.clauses.get(key) or self.declared.clauses.get(key)
        if tabled is None:
            raise _Refused(("clause",), UnknownClauseError(clause, negotiation))
        return tabled.scale

    # -- declarations and retractions ---------------------------------------------

    def _declaration(self, event: Event, field: Field, what: str, name: str) -> None:
        neg = None if what == "negotiation" else event.negotiation
        if self._declared(event, what, name, self.pending) is not None:
            raise _Refused(field, DuplicateError(what, name, neg))  # twice in one batch
        stored = self._declared(event, what, name, self.declared)
        if stored is not None and stored.event_id == event.event_id:
            return  # the same event again: a retry the store answers with the stored record
        if stored is not None:
            differences = _differences(stored, event)
            raise _Refused(
                field,
                DuplicateError(what, name, neg, existing=stored.event_id, differences=differences),
            )
        self.new_streams[stream_of(event)] = DuplicateError(what, name, neg)

    @staticmethod
    def _declared(event: Event, what: str, name: str, known: Declarations) -> Event | None:
        """The event that declared ``name`` in ``known``, if any."""
        if what == "negotiation":
            return known.negotiations.get(name)
        if what == "party":
            return known.parties.get((event.negotiation, name))
        return known.clauses.get((event.negotiation, name))

    def _retraction(self, event: StanceRetracted) -> None:
        target_id = event.retracted
        if target_id in self.earlier:
            target: Event | None = self.earlier[target_id]
        elif target_id in self.ids:
            raise _Refused(
                ("retracted",),
                ValidationError(f"the retraction of {target_id!r} comes before that event"),
            )
        else:
            target = self.find(target_id)
        try:
            stance_target(target, target_id, event.negotiation)
        except NegotrackError as exc:
            raise _Refused(("retracted",), exc) from None
        again = AlreadyRetractedError(target_id)
        if target_id in self.pending.retracted:
            raise _Refused(("retracted",), again)
        stored = self.declared.retracted.get(target_id)
        if stored == event.event_id:
            return  # the same retraction again: a retry
        if stored is not None:
            raise _Refused(("retracted",), again)
        self.new_streams[stream_of(event)] = again


def _differences(stored: Event, given: Event) -> dict[str, tuple[object, object]]:
    """Field -> (stored, given) for each field but the event id where two declarations differ."""
    return {
        a.name: (getattr(stored, a.name), getattr(given, a.name))
        for a in attrs.fields(type(stored))
        if a.name != "event_id" and getattr(stored, a.name) != getattr(given, a.name)
    }


def _parties_named(event: Event) -> list[tuple[Field, str]]:
    """Each party an event names, with its field."""
    match event:
        case StanceRecorded() | StanceWithdrawn():
            return [(("party",), event.party)]
        case JointStatementRecorded():
            named: list[tuple[Field, str]] = [
                (("signatories", i), party) for i, party in enumerate(event.signatories)
            ]
            for i, reading in enumerate(event.readings):
                named += [
                    (("readings", i, "signatories", j), party)
                    for j, party in enumerate(reading.signatories)
                ]
            return named
        case MembershipStarted() | MembershipEnded():
            return [(("member",), event.member), (("group",), event.group)]
        case NoteRecorded():
            return [(("parties", i), party) for i, party in enumerate(event.parties)]
        case _:
            return []


def _clause_named(event: Event) -> str | None:
    """The clause an event refers to (not the one a ClauseTabled declares)."""
    match event:
        case (
            StanceRecorded()
            | StanceWithdrawn()
            | JointStatementRecorded()
            | ClauseAmended()
            | ClauseWithdrawn()
        ):
            return event.clause
        case _:
            return None
