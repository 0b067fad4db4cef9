"""The facade analysts script against: :func:`open`, :class:`Tracker`, :class:`Negotiation`.

::

    import negotrack
    from datetime import date

    with negotrack.open("sqlite:///negotiations.db") as tracker:
        plan = tracker.negotiation("us-peace-plan-2025")
        print(plan.matrix(as_of=date(2025, 11, 22)).to_table())

Dates are read in the negotiation's time zone: a date given as a valid time
means the start of that day, and a date given as ``as_of`` or ``known_at``
means the end of that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from negotrack._time import end_of_day, to_micros, valid_instant, zone
from negotrack.errors import (
    UnknownClauseError,
    UnknownEventError,
    UnknownNegotiationError,
    UnknownPartyError,
    ValidationError,
)
from negotrack.events import (
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
    Reading,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
    new_event_id,
)
from negotrack.model import (
    Clause,
    Evidence,
    IntervalScale,
    Ordinal,
    Party,
    PartyKind,
    Role,
    StanceValue,
    check_negotiation_id,
    parse_stance,
)
from negotrack.projections.blocs import BlocRow, Rule, derive_bloc, members_at
from negotrack.projections.diff import Diff, diff
from negotrack.projections.history import History, history_entry
from negotrack.projections.matrix import Matrix, cell_of
from negotrack.projections.registry import REGISTRY_TYPES, project_clauses, project_parties
from negotrack.store import RecordedEvent, cell_stream
from negotrack.store.sql import SqlEventStore

__all__ = ["DEFAULT_URL", "Negotiation", "Tracker", "open"]

DEFAULT_URL = "sqlite:///negotiations.db"
"""The embedded default: a SQLite file in the working directory."""

When = date | datetime
"""A date (day precision, in the negotiation's time zone) or a tz-aware datetime."""


def open(url: str | None = None, *, create: bool = True) -> Tracker:
    """Open the tracker on a database URL (default: ``sqlite:///negotiations.db``).

    Args:
        url: ``sqlite:///path.db``, ``sqlite://`` (in memory) or
            ``postgresql+psycopg://user@host/db``.
        create: create the tables when they are missing.

    Raises:
        MissingDependencyError: PostgreSQL without the ``postgres`` extra.
        StoreError: the database holds another schema version.
    """
    return Tracker(SqlEventStore(url or DEFAULT_URL, create=create))


def _evidence(value: Evidence | Iterable[Evidence] | None) -> tuple[Evidence, ...]:
    if value is None:
        return ()
    if isinstance(value, Evidence):
        return (value,)
    items = tuple(value)
    for item in items:
        if not isinstance(item, Evidence):
            raise ValidationError(f"evidence must be Evidence values, got {item!r}")
    return items


@attrs.define
class _Registry:
    """What a negotiation declares, cached: ids only grow, so a hit never goes stale."""

    opened: dict[str, NegotiationOpened] = attrs.field(factory=dict)
    parties: dict[str, set[str]] = attrs.field(factory=dict)
    scales: dict[str, dict[str, IntervalScale | None]] = attrs.field(factory=dict)

    def learn(self, event: Event) -> None:
        match event:
            case NegotiationOpened():
                self.opened[event.negotiation] = event
                self.parties.setdefault(event.negotiation, set())
                self.scales.setdefault(event.negotiation, {})
            case PartyRegistered():
                self.parties.setdefault(event.negotiation, set()).add(event.party)
            case ClauseTabled():
                self.scales.setdefault(event.negotiation, {})[event.clause] = event.scale
            case _:
                pass


class Tracker:
    """The log of every negotiation in one store.

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, store: SqlEventStore) -> None:
        self.store = store
        self._registry = _Registry()
        self._registry_position = 0

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    # -- negotiations ---------------------------------------------------------

    def open_negotiation(
        self,
        negotiation_id: str,
        *,
        title: str,
        timezone: str = "UTC",
        description: str | None = None,
    ) -> Negotiation:
        """Open a negotiation for tracking and return its handle.

        Raises:
            DuplicateError: a negotiation with this id is already open.
            ValidationError: the id or the time zone is not valid.
        """
        zone(timezone)
        self.append(
            [
                NegotiationOpened(
                    negotiation=negotiation_id,
                    title=title,
                    timezone=timezone,
                    description=description,
                )
            ]
        )
        return self.negotiation(negotiation_id)

    def negotiation(self, negotiation_id: str) -> Negotiation:
        """The handle of an open negotiation.

        Raises:
            UnknownNegotiationError: no negotiation with this id.
        """
        check_negotiation_id(negotiation_id)
        opened = self._opened(negotiation_id)
        return Negotiation(self, opened)

    def negotiations(self) -> list[Negotiation]:
        """Every negotiation in the store, by id."""
        self._refresh()
        return [Negotiation(self, o) for _, o in sorted(self._registry.opened.items())]

    # -- the log --------------------------------------------------------------

    def append(
        self,
        events: Sequence[Event],
        *,
        expected_versions: Mapping[str, int] | None = None,
    ) -> list[RecordedEvent]:
        """Check every reference of ``events``, then append them atomically.

        This is the low-level entry the typed methods and the importers use.

        Raises:
            UnknownNegotiationError, UnknownPartyError, UnknownClauseError: a
                reference to something not declared (in the log or earlier in
                the batch).
            InvalidStanceError: a stance off its clause's scale.
            ConcurrencyError: a stream is not at its expected version.
        """
        self._check_references(events)
        records = self.store.append(events, expected_versions=expected_versions)
        for event in events:
            self._registry.learn(event)
        return records

    def restore(self, records: Sequence[RecordedEvent]) -> list[RecordedEvent]:
        """Load an exported log into this empty store, keeping every record time.

        Raises:
            StoreError: the store is not empty, or the record times do not increase.
            UnknownPartyError, UnknownClauseError: the log refers to undeclared ids.
        """
        events = [r.event for r in records]
        self._check_references(events)
        restored = self.store.restore(records)
        for event in events:
            self._registry.learn(event)
        return restored

    def events(self, *, after: int = 0, negotiation: str | None = None) -> Iterator[RecordedEvent]:
        """Stream the log in position order, from just after position ``after``."""
        return self.store.read(after=after, negotiation=negotiation)

    def event(self, event_id: str) -> RecordedEvent:
        """The stored event with this id.

        Raises:
            UnknownEventError: no such event.
        """
        return self.store.get(event_id)

    def verify(self) -> int:
        """Check the log's hash chain; return the number of events verified.

        Raises:
            ChainBrokenError: the log was altered.
        """
        return self.store.verify()

    # -- internals ------------------------------------------------------------

    def _refresh(self) -> None:
        """Learn the declarations appended (by anyone) since the last refresh."""
        types = ("NegotiationOpened", *REGISTRY_TYPES)
        for record in self.store.events_of_types(None, types, after=self._registry_position):
            self._registry.learn(record.event)
            self._registry_position = record.position

    def _scale(self, negotiation: str, clause: str) -> IntervalScale | None:
        """The clause's interval scale (``None``: the ordinal scale)."""
        if clause not in self._registry.scales.get(negotiation, {}):
            self._refresh()
        try:
            return self._registry.scales[negotiation][clause]
        except KeyError:
            raise UnknownClauseError(clause, negotiation) from None

    def _opened(self, negotiation_id: str) -> NegotiationOpened:
        if negotiation_id not in self._registry.opened:
            self._refresh()
        try:
            return self._registry.opened[negotiation_id]
        except KeyError:
            raise UnknownNegotiationError(negotiation_id) from None

    def _check_references(self, events: Sequence[Event]) -> None:
        pending = _Registry()
        refreshed = False

        def known(kind: str, negotiation: str, name: str) -> bool:
            nonlocal refreshed
            for registry in (pending, self._registry):
                if kind == "party" and name in registry.parties.get(negotiation, ()):
                    return True
                if kind == "clause" and name in registry.scales.get(negotiation, {}):
                    return True
                if kind == "negotiation" and negotiation in registry.opened:
                    return True
            if not refreshed:  # another writer may have declared it since we looked
                self._refresh()
                refreshed = True
                return known(kind, negotiation, name)
            return False

        errors = {
            "negotiation": UnknownNegotiationError,
            "party": UnknownPartyError,
            "clause": UnknownClauseError,
        }
        for event in events:
            neg = event.negotiation
            if not isinstance(event, NegotiationOpened) and not known("negotiation", neg, neg):
                raise UnknownNegotiationError(neg)
            for kind, name in _references(event):
                if not known(kind, neg, name):
                    raise errors[kind](name, neg)
            if isinstance(event, StanceRecorded | JointStatementRecorded):
                scale = pending.scales.get(neg, {}).get(event.clause)
                if scale is None:
                    scale = self._registry.scales.get(neg, {}).get(event.clause)
                _check_scale(event.stance, scale, event.clause)
            pending.learn(event)


def _references(event: Event) -> list[tuple[str, str]]:
    """The (kind, id) of every party and clause an event refers to."""
    match event:
        case StanceRecorded() | StanceWithdrawn():
            return [("party", event.party), ("clause", event.clause)]
        case JointStatementRecorded():
            return [("party", p) for p in event.signatories] + [("clause", event.clause)]
        case MembershipStarted() | MembershipEnded():
            return [("party", event.member), ("party", event.group)]
        case ClauseAmended() | ClauseWithdrawn():
            return [("clause", event.clause)]
        case NoteRecorded():
            return [("party", p) for p in event.parties]
        case _:
            return []


def _check_scale(stance: StanceValue, scale: IntervalScale | None, clause: str) -> None:
    if scale is None and not isinstance(stance, Ordinal):
        parse_stance(stance, None, clause)  # raises: a number on the ordinal scale
    if scale is not None:
        parse_stance(stance, scale, clause)


class Negotiation:
    """One tracked negotiation: record what parties said, and ask what they held when.

    Get it from :meth:`Tracker.open_negotiation` or :meth:`Tracker.negotiation`.
    """

    def __init__(self, tracker: Tracker, opened: NegotiationOpened) -> None:
        self._tracker = tracker
        self.id = opened.negotiation
        self.title = opened.title
        self.description = opened.description
        self.timezone: ZoneInfo = zone(opened.timezone)

    def __repr__(self) -> str:
        return f"<Negotiation {self.id!r}: {self.title}>"

    # -- times ----------------------------------------------------------------

    def valid_time(self, value: When, field: str = "valid_at") -> datetime:
        """The instant a valid time names: a date means the start of that day here."""
        return valid_instant(value, self.timezone, field)[0]

    def end_of(self, value: When) -> datetime:
        """The instant an ``as_of`` or ``known_at`` names: a date means the end of that day here."""
        if isinstance(value, datetime):
            return valid_instant(value, self.timezone, "as_of")[0]
        if isinstance(value, date):
            return end_of_day(value, self.timezone)
        raise ValidationError(f"expected a date or a tz-aware datetime, got {value!r}")

    # -- declaring ------------------------------------------------------------

    def register_party(
        self,
        party_id: str,
        name: str,
        kind: PartyKind | str = PartyKind.STATE,
        *,
        aliases: Iterable[str] = (),
        event_id: str | None = None,
    ) -> RecordedEvent:
        """Register a party (a state by its ISO code, anything else by a slug).

        Raises:
            DuplicateError: the party is already registered.
            InvalidIdError: the id is not an ISO code or a slug.
        """
        try:
            kind = PartyKind(kind)
        except ValueError:
            raise ValidationError(
                f"unknown party kind {kind!r}: expected one of {', '.join(PartyKind)}"
            ) from None
        return self._append(
            PartyRegistered(
                negotiation=self.id,
                party=party_id,
                name=name,
                kind=kind,
                aliases=tuple(aliases),
                event_id=event_id or new_event_id(),
            )
        )

    def start_membership(
        self,
        member: str,
        group: str,
        *,
        valid_at: When,
        role: Role | str = Role.MEMBER,
        note: str | None = None,
    ) -> RecordedEvent:
        """From ``valid_at``, ``member`` belongs to ``group`` (or speaks for it, by ``role``)."""
        instant, precision = valid_instant(valid_at, self.timezone)
        return self._append(
            MembershipStarted(
                negotiation=self.id,
                member=member,
                group=group,
                role=Role(role),
                valid_at=instant,
                precision=precision,
                note=note,
            )
        )

    def end_membership(self, member: str, group: str, *, valid_at: When) -> RecordedEvent:
        """From ``valid_at``, ``member`` no longer belongs to ``group``."""
        instant, precision = valid_instant(valid_at, self.timezone)
        return self._append(
            MembershipEnded(
                negotiation=self.id,
                member=member,
                group=group,
                valid_at=instant,
                precision=precision,
            )
        )

    def table_clause(
        self,
        clause_id: str,
        title: str,
        *,
        valid_at: When,
        topic: str | None = None,
        text: str | None = None,
        scale: IntervalScale | None = None,
        event_id: str | None = None,
    ) -> RecordedEvent:
        """Put a clause on the table; ``scale`` gives it an interval scale, not the ordinal one.

        Raises:
            DuplicateError: the clause is already tabled.
        """
        instant, precision = valid_instant(valid_at, self.timezone)
        return self._append(
            ClauseTabled(
                negotiation=self.id,
                clause=clause_id,
                title=title,
                topic=topic,
                text=text,
                scale=scale,
                valid_at=instant,
                precision=precision,
                event_id=event_id or new_event_id(),
            )
        )

    def amend_clause(self, clause_id: str, text: str, *, valid_at: When) -> RecordedEvent:
        """Record a new text of a clause from ``valid_at``."""
        instant, precision = valid_instant(valid_at, self.timezone)
        return self._append(
            ClauseAmended(
                negotiation=self.id,
                clause=clause_id,
                text=text,
                valid_at=instant,
                precision=precision,
            )
        )

    def withdraw_clause(
        self, clause_id: str, *, valid_at: When, reason: str | None = None
    ) -> RecordedEvent:
        """Take a clause off the table from ``valid_at``."""
        instant, precision = valid_instant(valid_at, self.timezone)
        return self._append(
            ClauseWithdrawn(
                negotiation=self.id,
                clause=clause_id,
                valid_at=instant,
                precision=precision,
                reason=reason,
            )
        )

    # -- recording stances -----------------------------------------------------

    def record_stance(
        self,
        party: str,
        clause: str,
        stance: str | float | Ordinal,
        *,
        valid_at: When,
        evidence: Evidence | Iterable[Evidence] | None = None,
        salience: float | None = None,
        confidence: float | None = None,
        conditions: str | None = None,
        speaker: str | None = None,
        note: str | None = None,
        expected_version: int | None = None,
        event_id: str | None = None,
    ) -> RecordedEvent:
        """Record that ``party`` held ``stance`` on ``clause`` at ``valid_at``.

        Args:
            stance: a label (``"lean_oppose"``), an :class:`Ordinal`, or a number
                on the clause's interval scale.
            valid_at: when the party held it: a date (that day) or a tz-aware datetime.
            evidence: what the stance rests on (source, verbatim quote, stated or inferred).
            expected_version: the cell's version the caller last read; the append
                fails with :class:`ConcurrencyError` if the cell has moved on.

        Raises:
            UnknownPartyError, UnknownClauseError: the party or clause is not declared.
            InvalidStanceError: the stance is off the clause's scale.
            NaiveDatetimeError: ``valid_at`` has no time zone.
            ConcurrencyError: the cell is not at ``expected_version``.
        """
        instant, precision = valid_instant(valid_at, self.timezone)
        event = StanceRecorded(
            negotiation=self.id,
            party=party,
            clause=clause,
            stance=self._stance(stance, clause),
            valid_at=instant,
            precision=precision,
            evidence=_evidence(evidence),
            salience=salience,
            confidence=confidence,
            conditions=conditions,
            speaker=speaker,
            note=note,
            event_id=event_id or new_event_id(),
        )
        return self._append(event, self._expect(party, clause, expected_version))

    def record_joint_statement(
        self,
        signatories: Sequence[str],
        clause: str,
        stance: str | float | Ordinal,
        *,
        valid_at: When,
        evidence: Evidence | Iterable[Evidence] | None = None,
        salience: float | None = None,
        confidence: float | None = None,
        conditions: str | None = None,
        title: str | None = None,
        statement: str | None = None,
        readings: Iterable[Reading] = (),
        expected_versions: Mapping[str, int] | None = None,
        event_id: str | None = None,
    ) -> RecordedEvent:
        """Record one statement signed by several parties; each signatory's cell gets it.

        Args:
            readings: other sources' readings of who signed, kept visible.
            statement: an id grouping the events of one statement across clauses.
            expected_versions: signatory -> the cell version the caller last read.
        """
        instant, precision = valid_instant(valid_at, self.timezone)
        event = JointStatementRecorded(
            negotiation=self.id,
            signatories=tuple(signatories),
            clause=clause,
            stance=self._stance(stance, clause),
            valid_at=instant,
            precision=precision,
            evidence=_evidence(evidence),
            salience=salience,
            confidence=confidence,
            conditions=conditions,
            title=title,
            statement=statement,
            readings=tuple(readings),
            event_id=event_id or new_event_id(),
        )
        expected = {
            cell_stream(self.id, party, clause): version
            for party, version in (expected_versions or {}).items()
        }
        return self._append(event, expected)

    def withdraw_stance(
        self,
        party: str,
        clause: str,
        *,
        valid_at: When,
        evidence: Evidence | Iterable[Evidence] | None = None,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> RecordedEvent:
        """A real-world change: from ``valid_at`` the party holds no stance on the clause."""
        instant, precision = valid_instant(valid_at, self.timezone)
        event = StanceWithdrawn(
            negotiation=self.id,
            party=party,
            clause=clause,
            valid_at=instant,
            precision=precision,
            evidence=_evidence(evidence),
            reason=reason,
        )
        return self._append(event, self._expect(party, clause, expected_version))

    def retract(self, event_id: str, *, reason: str) -> RecordedEvent:
        """Our record was wrong: remove a stance event from every view known from now on.

        Raises:
            UnknownEventError: no stance event with this id in this negotiation.
            AlreadyRetractedError: it was retracted before.
        """
        self._own_stance_event(event_id)
        return self._append(StanceRetracted(negotiation=self.id, retracted=event_id, reason=reason))

    def correct(
        self, event_id: str, /, *, reason: str, **changes: Any
    ) -> tuple[RecordedEvent, RecordedEvent]:
        """Retract a stance and record its replacement, atomically.

        Args:
            event_id: the stance (or joint statement) to correct.
            reason: why the record was wrong.
            **changes: the fields that differ in the replacement (``stance``,
                ``valid_at``, ``evidence``, ``party``, ``signatories``, ...);
                the rest is copied from the original.

        Returns:
            The retraction and the replacement, as stored.
        """
        original = self._own_stance_event(event_id).event
        if isinstance(original, StanceWithdrawn):
            raise ValidationError("a withdrawal cannot be corrected; retract it instead")
        assert isinstance(original, StanceRecorded | JointStatementRecorded)
        fields = {a.name for a in attrs.fields(type(original))} - {"negotiation", "event_id"}
        unknown = set(changes) - fields
        if unknown:
            raise ValidationError(
                f"cannot change {', '.join(sorted(unknown))} of a {type(original).__name__}"
            )
        if "valid_at" in changes:
            changes["valid_at"], changes["precision"] = valid_instant(
                changes["valid_at"], self.timezone
            )
        if "evidence" in changes:
            changes["evidence"] = _evidence(changes["evidence"])
        if "signatories" in changes:
            changes["signatories"] = tuple(changes["signatories"])
        clause = changes.get("clause", original.clause)
        if "stance" in changes:
            changes["stance"] = self._stance(changes["stance"], clause)
        replacement = attrs.evolve(original, event_id=new_event_id(), **changes)
        retraction = StanceRetracted(
            negotiation=self.id,
            retracted=event_id,
            reason=reason,
            replaced_by=replacement.event_id,
        )
        retracted, replaced = self._tracker.append([retraction, replacement])
        return retracted, replaced

    def record_note(
        self,
        kind: str,
        text: str,
        *,
        valid_at: When,
        parties: Iterable[str] = (),
        evidence: Evidence | Iterable[Evidence] | None = None,
        event_id: str | None = None,
    ) -> RecordedEvent:
        """Record a dated happening that is not a stance: a meeting, a call, a deadline."""
        instant, precision = valid_instant(valid_at, self.timezone)
        return self._append(
            NoteRecorded(
                negotiation=self.id,
                kind=kind,
                text=text,
                valid_at=instant,
                precision=precision,
                parties=tuple(parties),
                evidence=_evidence(evidence),
                event_id=event_id or new_event_id(),
            )
        )

    # -- asking ----------------------------------------------------------------

    def matrix(self, as_of: When, *, known_at: When | None = None) -> Matrix:
        """The party x clause matrix as of ``as_of``, as known at ``known_at`` (default: now).

        A date means the end of that day in the negotiation's time zone.
        """
        as_of_instant = self.end_of(as_of)
        known = None if known_at is None else self.end_of(known_at)
        store = self._tracker.store
        known_position = None if known is None else store.position_known_at(known)
        cells = {}
        for entry in store.matrix_entries(self.id, as_of_instant, known_position):
            cell = cell_of(entry)
            if cell is not None:
                cells[(cell.party, cell.clause)] = cell
        return Matrix(negotiation=self.id, as_of=as_of_instant, known_at=known, cells=cells)

    def history(self, party: str, clause: str, *, known_at: When | None = None) -> History:
        """Every stance event of one cell, on both timelines, retractions included."""
        known = None if known_at is None else self.end_of(known_at)
        entries = [
            history_entry(entry, known)
            for entry in self._tracker.store.cell_entries(self.id, party, clause)
            if known is None or to_micros(entry.record.recorded_at) <= to_micros(known)
        ]
        return History(
            negotiation=self.id, party=party, clause=clause, known_at=known, entries=tuple(entries)
        )

    def diff(self, from_: When, to: When, *, known_at: When | None = None) -> Diff:
        """Who moved between two dates: the moves from ``matrix(from_)`` to ``matrix(to)``."""
        return diff(self.matrix(from_, known_at=known_at), self.matrix(to, known_at=known_at))

    def bloc(
        self,
        bloc: str,
        as_of: When,
        *,
        rule: Rule | str = Rule.MAJORITY,
        known_at: When | None = None,
    ) -> BlocRow:
        """A bloc's row as of ``as_of``: its own stances beside those derived from its members.

        Members are the parties whose membership of ``bloc`` holds at ``as_of``;
        ``rule`` is ``unanimous``, ``majority`` or ``mean`` (see
        :mod:`negotrack.projections.blocs`).

        Raises:
            UnknownPartyError: ``bloc`` is not a registered party.
        """
        parties = self.parties()
        if bloc not in parties:
            raise UnknownPartyError(bloc, self.id)
        matrix = self.matrix(as_of, known_at=known_at)
        return derive_bloc(matrix, bloc, members_at(parties, bloc, matrix.as_of), rule)

    def parties(self) -> dict[str, Party]:
        """The registered parties by id, with their memberships."""
        return project_parties(self._tracker.store.events_of_types(self.id, REGISTRY_TYPES))

    def clauses(self) -> dict[str, Clause]:
        """The tabled clauses by id, with their text versions."""
        return project_clauses(self._tracker.store.events_of_types(self.id, REGISTRY_TYPES))

    def notes(self) -> list[NoteRecorded]:
        """The dated notes, by valid time."""
        notes = [
            r.event
            for r in self._tracker.store.events_of_types(self.id, ["NoteRecorded"])
            if isinstance(r.event, NoteRecorded)
        ]
        return sorted(notes, key=lambda n: n.valid_at)

    def cell_version(self, party: str, clause: str) -> int:
        """The version of a cell: how many stance events it holds (0 for none)."""
        return self._tracker.store.stream_version(cell_stream(self.id, party, clause))

    # -- internals ------------------------------------------------------------

    def _append(self, event: Event, expected: Mapping[str, int] | None = None) -> RecordedEvent:
        return self._tracker.append([event], expected_versions=expected)[0]

    def _expect(self, party: str, clause: str, version: int | None) -> dict[str, int]:
        return {} if version is None else {cell_stream(self.id, party, clause): version}

    def _stance(self, stance: object, clause: str) -> StanceValue:
        return parse_stance(stance, self._tracker._scale(self.id, clause), clause)

    def _own_stance_event(self, event_id: str) -> RecordedEvent:
        record = self._tracker.store.get(event_id)
        if record.event.negotiation != self.id or not isinstance(
            record.event, StanceRecorded | JointStatementRecorded | StanceWithdrawn
        ):
            raise UnknownEventError(event_id, self.id)
        return record
