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

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import attrs

from negotrack import rules
from negotrack._time import end_instant, parse_when, valid_instant, zone
from negotrack.batch import Batch
from negotrack.dating import valid_time
from negotrack.errors import (
    ConcurrencyError,
    DuplicateError,
    NegotrackError,
    NotFoundError,
    StoreError,
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
)
from negotrack.follow import follow, follow_changes
from negotrack.ids import readable_event_id
from negotrack.model import (
    Clause,
    Evidence,
    IntervalScale,
    Ordinal,
    Party,
    PartyKind,
    Role,
    check_event_id,
    check_negotiation_id,
    parse_choice,
    stance_point,
)
from negotrack.projections import possibly
from negotrack.projections.blocs import BlocRow, Rule, derive_bloc, members_at
from negotrack.projections.changes import Change
from negotrack.projections.claims import DEFAULT_RULE, ClaimRule
from negotrack.projections.diff import Diff, diff
from negotrack.projections.history import History, build_history
from negotrack.projections.matrix import CLAUSE_TYPES, Matrix, build_matrix
from negotrack.projections.registry import REGISTRY_TYPES, project_clauses, project_parties
from negotrack.store import DECODED_CACHE, EventStore, Receipt, RecordedEvent, cell_stream

__all__ = ["DEFAULT_URL", "Negotiation", "Tracker", "open"]

if TYPE_CHECKING:
    from negotrack.store.checkpoints import Checkpoint

DEFAULT_URL = "sqlite:///negotiations.db"
"""The embedded default: a SQLite file in the working directory."""

_PENDING = "pending"  # an event's id until its readable id is made from its content

When = date | datetime | str
"""A date (day precision, in the negotiation's time zone), a tz-aware datetime, or either
as an ISO 8601 string (``"2025-11-22"``, ``"2025-11-22T18:00:00+01:00"``)."""


def _sql_store(url: str, create: bool, upgrade: bool, decoded_cache: int) -> EventStore:
    from negotrack.store.sql import SqlEventStore  # noqa: PLC0415 - SQLAlchemy only when asked for

    return SqlEventStore(url, create=create, upgrade=upgrade, decoded_cache=decoded_cache)


def _memory_store(url: str, create: bool, upgrade: bool, decoded_cache: int) -> EventStore:
    # It keeps events, not rows: there is nothing to decode, so nothing to cache.
    from negotrack.store.memory import MemoryEventStore  # noqa: PLC0415

    if url.partition("://")[2]:
        raise StoreError(
            f"an in-memory store takes no path or options: use 'memory://', not {url!r}"
        )
    return MemoryEventStore()


_BACKENDS: dict[str, Callable[[str, bool, bool, int], EventStore]] = {
    "memory": _memory_store,
    "postgresql": _sql_store,
    "sqlite": _sql_store,
}
"""The URL scheme (before any ``+driver``) -> the factory of its store."""


def open(
    url: str | None = None,
    *,
    create: bool = True,
    upgrade: bool = False,
    decoded_cache: int = DECODED_CACHE,
) -> Tracker:
    """Open the tracker on a database URL (default: ``$NEGOTRACK_DB``, else ``sqlite:///negotiations.db``).

    The URL's scheme picks the backend.

    Args:
        url: ``sqlite:///path.db``, ``sqlite://`` (SQLite in memory),
            ``postgresql+psycopg://user@host/db``, or ``memory://`` (a
            pure-Python log that lives as long as the tracker); ``None``
            reads the ``NEGOTRACK_DB`` environment variable, as the command does.
        create: make a new store when the database has none (the default).
            With ``False`` nothing is created: a database without a store, or
            a SQLite file that does not exist, is refused (read-only callers
            want to hear about a typo, not get an empty store).
        upgrade: bring a store made by an older negotrack to the newest
            schema (``negotrack db upgrade`` does the same from a shell).
            Opening a store that is up to date runs no DDL and takes no lock
            beyond reading, so a read-only role or file can open it.
        decoded_cache: how many events read from a SQL store to keep decoded
            (0: none).  A matrix, a history and :meth:`Tracker.events` read
            a kept event without decoding its row again.  ``memory://``
            keeps every event as it is and ignores it.

    Raises:
        MissingDependencyError: PostgreSQL without the ``postgres`` extra.
        SchemaBehindError: the store is behind and ``upgrade`` is not set.
        StoreError: an unknown scheme, no store and ``create`` not set, or a
            store migrated by a newer negotrack.
        DatabaseError: the database cannot be opened (a missing SQLite file
            without ``create`` is :class:`DatabaseUnavailableError`).
        ValidationError: ``decoded_cache`` is not a whole number from 0.
    """
    if type(decoded_cache) is not int or decoded_cache < 0:
        raise ValidationError(
            f"decoded_cache must be a whole number of events from 0, got {decoded_cache!r}"
        )
    url = url or os.environ.get("NEGOTRACK_DB") or DEFAULT_URL
    scheme = url.partition(":")[0].partition("+")[0]
    try:
        backend = _BACKENDS[scheme]
    except KeyError:
        known = ", ".join(f"{name}://" for name in sorted(_BACKENDS))
        raise StoreError(f"unsupported store URL {url!r}: use one of {known}") from None
    return Tracker(backend(url, create, upgrade, decoded_cache))


def _evidence(value: Evidence | Iterable[Evidence] | None) -> tuple[Evidence, ...]:
    if value is None:
        return ()
    if isinstance(value, Evidence):
        return (value,)
    with _values_of("evidence"):
        items = tuple(value)
    for item in items:
        if not isinstance(item, Evidence):
            raise ValidationError(f"evidence must be Evidence values, got {item!r}")
    return items


class Tracker:
    """The log of every negotiation in one store.

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, store: EventStore) -> None:
        self.store: EventStore = store
        self._declared = rules.Declarations()
        self._declared_position = 0  # the log position the fold has read up to
        self._batch: Batch | None = None  # the open batch() block's queue, if any

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
        event_id: str | None = None,
    ) -> Negotiation:
        """Open a negotiation for tracking and return its handle.

        Opening it again with the same title, time zone and description returns
        the open one (so a notebook can be run again).

        Raises:
            DuplicateError: a negotiation with this id is open with other
                values (the message names the fields that differ).
            ValidationError: the id or the time zone is not valid, or a
                batch is open (its handle needs the negotiation written).
        """
        if self._batch is not None:
            raise ValidationError(
                f"cannot open negotiation {negotiation_id!r} inside a batch: "
                "open it before the batch() block"
            )
        with _values_of("NegotiationOpened"):
            opened = NegotiationOpened(
                negotiation=negotiation_id,
                title=title,
                timezone=timezone,
                description=description,
                event_id=_PENDING if event_id is None else event_id,
            )
        if event_id is None:
            opened = attrs.evolve(opened, event_id=readable_event_id(opened))
        _get_or_create(lambda: self.append([opened])[0], self)
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
        return [Negotiation(self, o) for _, o in sorted(self._declared.negotiations.items())]

    # -- the log --------------------------------------------------------------

    def append(
        self,
        events: Sequence[Event],
        *,
        expected_versions: Mapping[str, int] | None = None,
        locate: rules.Locate | None = None,
    ) -> list[RecordedEvent]:
        """Check ``events`` against the write rules, then append them atomically.

        This is the low-level entry the typed methods and the importers use; it
        applies every rule of :mod:`negotrack.rules`.  Events already stored
        (the same id, the same content) are not written again.

        Args:
            events: the batch, in order.
            expected_versions: stream name -> the version the caller last read.
            locate: maps a refusal of the event at an index to the error to
                raise (an importer names the file, line and field with it).

        Raises:
            UnknownNegotiationError, UnknownPartyError, UnknownClauseError: a
                reference to something not declared (in the log or earlier in
                the batch).
            InvalidStanceError: a stance off its clause's scale.
            DuplicateError: a negotiation, party or clause declared again.
            AlreadyRetractedError, UnknownEventError: a retraction of an event
                already retracted, or of no stance event of its negotiation.
            ConcurrencyError: a stream is not at its expected version.
        """
        given = dict(expected_versions or {})
        for attempt in (1, 2):
            admission = self._admit(events, locate)
            try:
                records = self.store.append(
                    events, expected_versions={**admission.expected_versions(), **given}
                )
            except ConcurrencyError as exc:
                conflict = admission.new_streams.get(exc.stream)
                if conflict is None or exc.stream in given:
                    raise
                if attempt == 2:
                    raise conflict from exc
                # Another writer declared (or retracted) it since the fold was
                # read: learn what it wrote; the second check names the conflict,
                # or finds our own event there (a retry) and writes the rest.
                self._refresh()
                continue
            self._learn(events)
            return records
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """Write what the block records as one transaction: all of it, or nothing.

        Inside the block, every write method of every negotiation of this
        tracker checks its arguments and queues its event instead of writing
        it; what it returns is the record as queued (position 0).  When the
        block ends, the queued events are checked against the write rules and
        appended together (:meth:`append`), and :attr:`Batch.records` holds
        their stored records.  An exception inside the block, or a refusal at
        its end, writes nothing.  Reads inside the block do not see the
        queued events.  A batch opened inside a batch joins it.

        Raises:
            NegotrackError: at the end of the block, what :meth:`append` raises.
        """
        if self._batch is not None:
            yield self._batch
            return
        batch = self._batch = Batch()
        try:
            yield batch
            batch.records = self.append(batch.events, expected_versions=batch.expected_versions)
        finally:
            self._batch = None

    def restore(
        self, records: Sequence[RecordedEvent], *, locate: rules.Locate | None = None
    ) -> list[RecordedEvent]:
        """Load an exported log into this empty store, keeping every record time.

        The log is checked against the write rules as a whole before anything
        is written.

        Raises:
            StoreError: the store is not empty, or the record times do not increase.
            NegotrackError: the log breaks a write rule (see :meth:`append`).
        """
        events = [r.event for r in records]
        rules.check(events, rules.Declarations(), lambda _: None, locate=locate)
        restored = self.store.restore(records)
        self._learn(events)
        return restored

    def last_position(self) -> int:
        """The position of the newest event in the log (0 when it is empty)."""
        return self.store.last_position()

    def events(self, *, after: int = 0, negotiation: str | None = None) -> Iterator[RecordedEvent]:
        """Stream the log in position order, from just after position ``after``."""
        return self.store.read(after=after, negotiation=negotiation)

    def event(self, event_id: str) -> RecordedEvent:
        """The stored event with this id.

        Raises:
            UnknownEventError: no such event.
            InvalidIdError: no event can have this id (refused before the database sees it).
        """
        return self.store.get(check_event_id(event_id))

    def verify(self, *, expect: Receipt | str | None = None) -> Receipt:
        """Check the log and its indexes; return its receipt (the newest event's position and hash).

        Keep ``str(receipt)`` somewhere the store's users cannot write; a later
        ``verify(expect=...)`` with it proves that nothing up to that position
        changed and nothing was cut.  docs/reliability.md says what each
        check catches.

        Args:
            expect: a receipt from an earlier verify(), or its text.

        Raises:
            ChainBrokenError: the log was altered, or does not hold ``expect``.
            ValidationError: ``expect`` is text that is not a receipt.
        """
        if isinstance(expect, str):
            expect = Receipt.parse(expect)
        return self.store.verify(expect=expect)

    # -- internals ------------------------------------------------------------

    def _refresh(self) -> None:
        """Learn the declarations appended (by anyone) since the last refresh."""
        for record in self.store.events_of_types(
            None, rules.DECLARING_TYPES, after=self._declared_position
        ):
            self._declared.learn(record.event)
            self._declared_position = record.position

    def _submit(self, events: list[Event], expected: Mapping[str, int]) -> list[RecordedEvent]:
        """Append events now, or queue them in the open batch."""
        if self._batch is not None:
            return self._batch.queue(events, expected)
        return self.append(events, expected_versions=expected)

    def _learn(self, events: Iterable[Event]) -> None:
        for event in events:
            self._declared.learn(event)

    def _readable_id(self, event: Event) -> str:
        """The readable id of a new record (:mod:`negotrack.ids`).

        The same record made again after the first one was retracted is a new
        record, not a retry: it takes the next occurrence's id.
        """
        self._refresh()  # learn retractions made by other writers too
        occurrence = 1
        while (found := readable_event_id(event, occurrence)) in self._declared.retracted:
            occurrence += 1
        return found

    def _find(self, event_id: str) -> Event | None:
        try:
            return self.store.get(check_event_id(event_id)).event
        except UnknownEventError:
            return None

    def _admit(self, events: Sequence[Event], locate: rules.Locate | None) -> rules.Admission:
        """Check a batch; on a reference the fold does not know, refresh it and check again."""
        try:
            return rules.check(events, self._declared, self._find)
        except NotFoundError:
            self._refresh()  # another writer may have declared it since we looked
        except NegotrackError:
            if locate is None:
                raise
        return rules.check(events, self._declared, self._find, locate=locate)

    def _require(
        self, negotiation: str, *, party: str | None = None, clause: str | None = None
    ) -> None:
        """Refuse a party not registered or a clause not tabled in ``negotiation``."""

        def missing() -> NotFoundError | None:
            if party is not None and (negotiation, party) not in self._declared.parties:
                return UnknownPartyError(party, negotiation)
            if clause is not None and (negotiation, clause) not in self._declared.clauses:
                return UnknownClauseError(clause, negotiation)
            return None

        if missing() is None:
            return
        self._refresh()  # another writer may have declared it since we looked
        error = missing()
        if error is not None:
            raise error

    def _opened(self, negotiation_id: str) -> NegotiationOpened:
        if negotiation_id not in self._declared.negotiations:
            self._refresh()
        try:
            return self._declared.negotiations[negotiation_id]
        except KeyError:
            raise UnknownNegotiationError(negotiation_id) from None

    # -- following (negotrack.follow) -----------------------------------------

    def follow(
        self,
        *,
        after: int = 0,
        negotiation: str | None = None,
        types: Iterable[type[Event] | str] | None = None,
        stop: threading.Event | None = None,
        timeout: float | None = None,
    ) -> Iterator[RecordedEvent]:
        """Yield the events after ``after`` in order, then wait for more.

        See :func:`negotrack.follow.follow`.
        """
        return follow(
            self.store,
            after=after,
            negotiation=negotiation,
            types=types,
            stop=stop,
            timeout=timeout,
        )

    def checkpoint(self, name: str) -> Checkpoint:
        """The follower checkpoint called ``name``, kept in this store's database.

        Raises:
            ValidationError: the name is empty or too long.
            StoreError: the store keeps no database (``memory://``).
        """
        # SQLAlchemy loads only with a SQL store: `import negotrack` stays light.
        from negotrack.store.checkpoints import Checkpoint  # noqa: PLC0415
        from negotrack.store.sql import SqlEventStore  # noqa: PLC0415

        if not isinstance(self.store, SqlEventStore):
            raise StoreError(
                "checkpoints are kept in the store's database: open a sqlite:// or "
                "postgresql:// store to use them"
            )
        return Checkpoint(self.store.engine, name)


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

    def end_of(self, value: When, field: str = "as_of") -> datetime:
        """The instant an ``as_of`` or ``known_at`` names: a date means the end of that day here.

        Raises:
            ValidationError: not a date, a tz-aware datetime or an ISO string
                (the message names ``field``).
        """
        return end_instant(value, self.timezone, field)

    # -- declaring ------------------------------------------------------------
    #
    # Every write method takes an optional ``event_id``.  Without it the event
    # gets a readable id made from its content (negotrack.ids): a retry of the
    # same call after a lost reply makes the same id and writes nothing new.

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

        Registering it again with the same name, kind and aliases returns the
        existing registration (so a notebook can be run again).

        Raises:
            DuplicateError: the party is registered with other values (the
                message names the fields that differ).
            InvalidIdError: the id is not an ISO code or a slug.
            ValidationError: ``kind`` is not a :class:`PartyKind`.
        """
        return _get_or_create(
            lambda: self._write(
                PartyRegistered,
                event_id,
                party=party_id,
                name=name,
                kind=parse_choice(PartyKind, kind, "kind"),
                aliases=_strings(aliases, "aliases"),
            ),
            self._tracker,
        )

    def start_membership(
        self,
        member: str,
        group: str,
        *,
        valid_at: When,
        role: Role | str = Role.MEMBER,
        note: str | None = None,
        event_id: str | None = None,
    ) -> RecordedEvent:
        """From ``valid_at``, ``member`` belongs to ``group`` (or speaks for it, by ``role``).

        Raises:
            ValidationError: ``role`` is not a :class:`Role`.
        """
        return self._write(
            MembershipStarted,
            event_id,
            valid_at=valid_at,
            member=member,
            group=group,
            role=parse_choice(Role, role, "role"),
            note=note,
        )

    def end_membership(
        self,
        member: str,
        group: str,
        *,
        valid_at: When,
        note: str | None = None,
        event_id: str | None = None,
    ) -> RecordedEvent:
        """From ``valid_at``, ``member`` no longer belongs to ``group``."""
        return self._write(
            MembershipEnded, event_id, valid_at=valid_at, member=member, group=group, note=note
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

        Tabling it again with the same title, valid time, topic, text and scale
        returns the existing one (so a notebook can be run again).

        Raises:
            DuplicateError: the clause is tabled with other values (the message
                names the fields that differ).
        """
        if scale is not None and not isinstance(scale, IntervalScale):
            raise ValidationError(f"scale must be an IntervalScale, got {scale!r}")
        return _get_or_create(
            lambda: self._write(
                ClauseTabled,
                event_id,
                valid_at=valid_at,
                clause=clause_id,
                title=title,
                topic=topic,
                text=text,
                scale=scale,
            ),
            self._tracker,
        )

    def amend_clause(
        self, clause_id: str, text: str, *, valid_at: When, event_id: str | None = None
    ) -> RecordedEvent:
        """Record a new text of a clause from ``valid_at``."""
        return self._write(ClauseAmended, event_id, valid_at=valid_at, clause=clause_id, text=text)

    def withdraw_clause(
        self,
        clause_id: str,
        *,
        valid_at: When,
        reason: str | None = None,
        event_id: str | None = None,
    ) -> RecordedEvent:
        """Take a clause off the table from ``valid_at``."""
        return self._write(
            ClauseWithdrawn, event_id, valid_at=valid_at, clause=clause_id, reason=reason
        )

    # -- recording stances -----------------------------------------------------

    def record_stance(
        self,
        party: str,
        clause: str,
        stance: str | float | Ordinal,
        *,
        valid_at: When,
        earliest: When | None = None,
        basis: str | None = None,
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
                With ``earliest``, the latest it can have been taken.
            earliest: when the date is uncertain ("last week"), the earliest the
                stance can have been taken, of the same kind as ``valid_at``;
                the cell holds it from ``valid_at``, and a matrix asked for
                ``possibly_held`` lists it from ``earliest``.
            basis: how the date was worked out; required with ``earliest``.
            evidence: what the stance rests on (source, verbatim quote, stated or inferred).
            expected_version: the cell's version the caller last read; the append
                fails with :class:`ConcurrencyError` if the cell has moved on.
            event_id: the event's id (default: a readable one made from what
                the event records, see :mod:`negotrack.ids`, so that a retry of
                the same call writes nothing new); a retry with the same id
                writes nothing new.

        Raises:
            UnknownPartyError, UnknownClauseError: the party or clause is not declared.
            InvalidStanceError: the stance is off the clause's scale.
            NaiveDatetimeError: ``valid_at`` has no time zone.
            ConcurrencyError: the cell is not at ``expected_version``.
        """
        return self._write(
            StanceRecorded,
            event_id,
            valid_at=valid_at,
            earliest=earliest,
            basis=basis,
            expected=self._expect({party: expected_version}, clause),
            party=party,
            clause=clause,
            stance=stance_point(stance, clause),
            evidence=_evidence(evidence),
            salience=salience,
            confidence=confidence,
            conditions=conditions,
            speaker=speaker,
            note=note,
        )

    def record_joint_statement(
        self,
        signatories: Sequence[str],
        clause: str,
        stance: str | float | Ordinal,
        *,
        valid_at: When,
        earliest: When | None = None,
        basis: str | None = None,
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
        return self._write(
            JointStatementRecorded,
            event_id,
            valid_at=valid_at,
            earliest=earliest,
            basis=basis,
            expected=self._expect(dict(expected_versions or {}), clause),
            signatories=_strings(signatories, "signatories"),
            clause=clause,
            stance=stance_point(stance, clause),
            evidence=_evidence(evidence),
            salience=salience,
            confidence=confidence,
            conditions=conditions,
            title=title,
            statement=statement,
            readings=tuple(readings),
        )

    def withdraw_stance(
        self,
        party: str,
        clause: str,
        *,
        valid_at: When,
        evidence: Evidence | Iterable[Evidence] | None = None,
        reason: str | None = None,
        expected_version: int | None = None,
        event_id: str | None = None,
    ) -> RecordedEvent:
        """A real-world change: from ``valid_at`` the party holds no stance on the clause."""
        return self._write(
            StanceWithdrawn,
            event_id,
            valid_at=valid_at,
            expected=self._expect({party: expected_version}, clause),
            party=party,
            clause=clause,
            evidence=_evidence(evidence),
            reason=reason,
        )

    def retract(
        self, event_id: str, *, reason: str, retraction_id: str | None = None
    ) -> RecordedEvent:
        """Our record was wrong: remove a stance event from every view known from now on.

        Args:
            event_id: the stance event to retract.
            reason: why the record was wrong.
            retraction_id: the retraction's own event id (``event_id`` names
                the target here); a retry with the same id writes nothing new.

        Raises:
            UnknownEventError: no stance event with this id in this negotiation.
            AlreadyRetractedError: it was retracted before.
        """
        return self._write(StanceRetracted, retraction_id, retracted=event_id, reason=reason)

    def correct(
        self,
        event_id: str,
        /,
        *,
        reason: str,
        correction_id: str | None = None,
        **changes: Any,
    ) -> tuple[RecordedEvent, RecordedEvent]:
        """Retract a stance and record its replacement, atomically.

        Args:
            event_id: the stance (or joint statement) to correct.
            reason: why the record was wrong.
            correction_id: the retraction's event id; the replacement's is
                ``{correction_id}/replacement``.  A retry with the same id
                writes nothing new.
            **changes: the fields that differ in the replacement (``stance``,
                ``valid_at``, ``evidence``, ``party``, ``signatories``, ...);
                the rest is copied from the original.

        Returns:
            The retraction and the replacement, as stored.
        """
        original = rules.stance_target(self._tracker._find(event_id), event_id, self.id)
        if isinstance(original, StanceWithdrawn):
            raise ValidationError("a withdrawal cannot be corrected; retract it instead")
        assert isinstance(original, StanceRecorded | JointStatementRecorded)
        fields = {a.name for a in attrs.fields(type(original))} - {"negotiation", "event_id"}
        unknown = set(changes) - fields
        if unknown:
            raise ValidationError(
                f"cannot change {', '.join(sorted(unknown))} of a {type(original).__name__}"
            )
        replacement_id = None if correction_id is None else f"{correction_id}/replacement"
        if "valid_at" in changes:
            changes["valid_at"], changes["precision"] = valid_instant(
                changes["valid_at"], self.timezone
            )
        with _values_of(type(original).__name__):
            if "evidence" in changes:
                changes["evidence"] = _evidence(changes["evidence"])
            if "signatories" in changes:
                changes["signatories"] = _strings(changes["signatories"], "signatories")
            if "stance" in changes:
                changes["stance"] = stance_point(
                    changes["stance"], changes.get("clause", original.clause)
                )
        replacement = self._event(
            type(original),
            replacement_id,
            **{**attrs.asdict(original, recurse=False), **changes},
        )
        retraction = self._event(
            StanceRetracted,
            correction_id,
            retracted=event_id,
            reason=reason,
            replaced_by=replacement.event_id,
        )
        retracted, replaced = self._tracker._submit([retraction, replacement], {})
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
        return self._write(
            NoteRecorded,
            event_id,
            valid_at=valid_at,
            kind=kind,
            text=text,
            parties=_strings(parties, "parties"),
            evidence=_evidence(evidence),
        )

    def batch(self) -> AbstractContextManager[Batch]:
        """Write what the block records as one transaction (see :meth:`Tracker.batch`).

        ``with negotiation.batch(): ...`` around many ``record_stance`` calls
        commits once: all of them, or none if anything in the block fails.
        """
        return self._tracker.batch()

    # -- asking ----------------------------------------------------------------

    def matrix(
        self,
        as_of: When,
        *,
        known_at: When | None = None,
        rule: ClaimRule = DEFAULT_RULE,
        possibly_held: bool = False,
    ) -> Matrix:
        """The party x clause matrix as of ``as_of``, as known at ``known_at`` (default: now).

        A date means the end of that day in the negotiation's time zone.  Each
        cell shows what ``rule`` makes of the claims at its latest valid
        instant (default: stated beats inferred, then higher confidence; a tie
        left is a conflict, see docs/claims.md), and is marked stale when its
        stance answers an older text of the clause.  When the matrix is empty
        because ``known_at`` precedes every record of the negotiation,
        :attr:`Matrix.hint` says so: record times are when the store learned a
        stance (an import's time), not when it was taken.

        A stance dated by a range (``earliest`` to ``valid_at``) fills its cell
        from the latest bound.  With ``possibly_held=True``,
        :attr:`Matrix.possibly_held` lists the stances whose range covers
        ``as_of``: taken by then, or not yet (this reads every stance event of
        the negotiation, so it is not the default).

        Raises:
            ValidationError: ``as_of`` or ``known_at`` is not a date, a tz-aware
                datetime or an ISO string.
        """
        as_of_instant = self.end_of(as_of)
        known, known_position = self._known(known_at)
        store = self._tracker.store
        entries = store.matrix_entries(self.id, as_of_instant, known_position)
        clause_records = [
            r
            for r in store.events_of_types(self.id, CLAUSE_TYPES)
            if known_position is None or r.position <= known_position
        ]
        matrix = build_matrix(
            entries, self.id, as_of_instant, known, rule=rule, clause_records=clause_records
        )
        if possibly_held:
            stance_records = store.events_of_types(self.id, possibly.READS)
            matrix = attrs.evolve(
                matrix,
                possibly_held=possibly.possibly_held(stance_records, as_of_instant, known_position),
            )
        if known is not None and not len(matrix):
            return attrs.evolve(matrix, hint=self._nothing_known_hint(known))
        return matrix

    def history(self, party: str, clause: str, *, known_at: When | None = None) -> History:
        """Every stance event of one cell, on both timelines, retractions included.

        Raises:
            UnknownPartyError, UnknownClauseError: the party is not registered
                or the clause not tabled in this negotiation.
        """
        self._tracker._require(self.id, party=party, clause=clause)
        known, known_position = self._known(known_at)
        entries = self._tracker.store.cell_entries(self.id, party, clause, known_position)
        return build_history(
            entries, self.id, party, clause, known_at=known, known_position=known_position
        )

    def party_history(self, party: str, *, known_at: When | None = None) -> list[History]:
        """Every clause's history of one party: one :class:`History` per clause it spoke on.

        Clauses in id order; a clause the party never took a stance on is left
        out. :func:`negotrack.io.frames.histories_to_pandas` makes one frame of them.

        Raises:
            UnknownPartyError: the party is not registered in this negotiation.
        """
        self._tracker._require(self.id, party=party)
        histories = (self.history(party, clause, known_at=known_at) for clause in self.clauses())
        return [history for history in histories if len(history)]

    def diff(self, from_: When, to: When, *, known_at: When | None = None) -> Diff:
        """Who moved between two dates: the moves from ``matrix(from_)`` to ``matrix(to)``."""
        before, after = self.end_of(from_, "from"), self.end_of(to, "to")
        return diff(self.matrix(before, known_at=known_at), self.matrix(after, known_at=known_at))

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
        """The version of a cell: how many stance events it holds (0 for none).

        Raises:
            UnknownPartyError, UnknownClauseError: the party is not registered
                or the clause not tabled in this negotiation.
        """
        self._tracker._require(self.id, party=party, clause=clause)
        return self._tracker.store.stream_version(cell_stream(self.id, party, clause))

    # -- internals ------------------------------------------------------------

    def _write(
        self,
        event_type: type[Event],
        event_id: str | None,
        /,
        *,
        valid_at: When | None = None,
        earliest: When | None = None,
        expected: Mapping[str, int] | None = None,
        **fields: Any,
    ) -> RecordedEvent:
        """The one write path: read the valid time here, build the event, append it."""
        if earliest is not None and valid_at is not None:
            span = valid_time(
                parse_when(earliest, "earliest"),
                parse_when(valid_at, "valid_at"),
                tz=self.timezone,
                basis=fields.get("basis"),
            )
            fields["valid_at"], fields["precision"] = span.latest, span.precision
            fields["earliest"] = span.earliest if span.is_range else None
        elif valid_at is not None:
            fields["valid_at"], fields["precision"] = valid_instant(valid_at, self.timezone)
        event = self._event(event_type, event_id, **fields)
        return self._tracker._submit([event], expected or {})[0]

    def _event(self, event_type: type[_E], event_id: str | None, /, **fields: Any) -> _E:
        fields["negotiation"] = self.id
        fields["event_id"] = _PENDING if event_id is None else event_id
        with _values_of(event_type.__name__):
            event = event_type(**fields)
        if event_id is None:
            event = attrs.evolve(event, event_id=self._tracker._readable_id(event))
        return event

    def _known(self, known_at: When | None) -> tuple[datetime | None, int | None]:
        """The instant ``known_at`` names and the last position recorded by then."""
        if known_at is None:
            return None, None
        known = self.end_of(known_at, "known_at")
        return known, self._tracker.store.position_known_at(known)

    def _nothing_known_hint(self, known: datetime) -> str | None:
        """Why a matrix known at ``known`` is empty, when the reason is the record times."""
        first = next(self._tracker.store.read(negotiation=self.id), None)
        if first is None or first.recorded_at <= known:
            return None
        return (
            f"known_at {known.isoformat()} is before the first record of {self.id!r} "
            f"({first.recorded_at.isoformat()}): record times are when the store learned "
            "a stance (for imported data, the import), not when the party took it; "
            "as_of chooses the date in the world"
        )

    def _expect(self, versions: Mapping[str, int | None], clause: str) -> dict[str, int]:
        """Expected versions of the cells of ``clause``, by party (``None``: no expectation)."""
        return {
            cell_stream(self.id, party, clause): version
            for party, version in versions.items()
            if version is not None
        }

    # -- following (negotrack.follow) -----------------------------------------

    def follow_changes(
        self,
        *,
        after: int = 0,
        stop: threading.Event | None = None,
        timeout: float | None = None,
    ) -> Iterator[Change]:
        """Yield what each event after ``after`` changes in the current matrix.

        See :func:`negotrack.follow.follow_changes`.
        """
        return follow_changes(self._tracker.store, self.id, after=after, stop=stop, timeout=timeout)


_E = TypeVar("_E", bound=Event)


def _get_or_create(declare: Callable[[], RecordedEvent], tracker: Tracker) -> RecordedEvent:
    """Run a declaring write; the same declaration made before answers with the stored one.

    The write rules tell the same declaration from a different one
    (:attr:`DuplicateError.same_declaration`); a different one is raised.
    """
    try:
        return declare()
    except DuplicateError as exc:
        if exc.existing is None or not exc.same_declaration:
            raise
        return tracker.event(exc.existing)


@contextmanager
def _values_of(what: str) -> Iterator[None]:
    """Report a value the event refuses as a ValidationError, whatever raised it.

    attrs validators and the conversions before them meet the caller's values
    first; a wrong type there raises TypeError (``salience="0.5"``) or
    OverflowError, which the caller should see as negotrack's error.
    """
    try:
        yield
    except NegotrackError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"{what}: {exc}") from exc


def _strings(values: Iterable[str], field: str) -> tuple[str, ...]:
    """A tuple of the ids (or names) given; a lone string is refused, not split into letters."""
    if isinstance(values, str):
        raise ValidationError(f"{field} must be a list, got the string {values!r}")
    with _values_of(field):
        return tuple(values)
