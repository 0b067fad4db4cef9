"""The backend contract suite: the tests every :class:`~negotrack.store.EventStore` must pass.

A backend author runs it against their store as SQLAlchemy's dialect
compliance suite is run against a dialect: define a ``make_store`` fixture
that returns a callable giving a fresh, empty store on each call, and import
the test classes into a test module, where pytest collects them::

    # tests/test_my_backend.py
    import pytest
    from negotrack.testing import *  # noqa: F403 - the contract's test classes

    @pytest.fixture(scope="session")
    def make_store():
        return lambda: MyEventStore(...)

The fixture should be session-scoped (hypothesis refuses function-scoped
fixtures in its tests).  The suite needs the ``test`` extra
(``pip install 'negotrack[test]'``: pytest and hypothesis).  negotrack runs it
against its in-memory, SQLite and PostgreSQL stores; see the how-to
"Writing a backend" in the docs.

The tests speak only through :class:`~negotrack.Tracker` and the protocol:
no test reaches into a store's internals.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from negotrack.errors import (
    AlreadyRetractedError,
    ChainBrokenError,
    ConcurrencyError,
    DuplicateError,
    StoreError,
    UnknownEventError,
    ValidationError,
)
from negotrack.events import NoteRecorded, StanceRecorded, StanceRetracted
from negotrack.model import Evidence, Ordinal, Source
from negotrack.store import EventStore, Receipt, cell_stream
from negotrack.tracker import Negotiation, Tracker

__all__ = [
    "BASE",
    "CLAUSES",
    "NEGOTIATION",
    "PARTIES",
    "QUOTE",
    "StoreFactory",
    "TestConcurrentWriters",
    "TestHistoryKnownAt",
    "TestLog",
    "TestOptimisticConcurrency",
    "TestRestore",
    "TestRetractionRules",
    "check_log",
    "check_race",
    "day",
    "open_test_negotiation",
    "race_one_cell",
    "write_own_cell",
]

T = TypeVar("T")

StoreFactory = Callable[[], EventStore]
"""What the ``make_store`` fixture returns: each call gives a fresh, empty store."""

NEGOTIATION = "test-talks"
PARTIES = ("GB", "FR", "UA", "eu", "e3")
CLAUSES = ("territory", "military-cap", "plan-as-a-whole")
BASE = datetime(2025, 11, 20, tzinfo=UTC)
"""Day 0 of the test logs; clauses are tabled the day before."""
QUOTE = Evidence(source=Source(outlet="Test Wire"), quote="as reported")


def day(n: int, hours: int = 0) -> datetime:
    """Valid time ``n`` days (and ``hours``) after :data:`BASE`."""
    return BASE + timedelta(days=n, hours=hours)


def open_test_negotiation(tracker: Tracker) -> Negotiation:
    """A negotiation with the test parties and clauses declared."""
    neg = tracker.open_negotiation(NEGOTIATION, title="Random talks")
    for party in PARTIES:
        neg.register_party(party, party, "state" if party.isupper() else "group")
    for clause in CLAUSES:
        neg.table_clause(clause, clause.replace("-", " "), valid_at=day(-1))
    return neg


def _stance(
    party: str, clause: str, stance: Ordinal = Ordinal.SUPPORT, n: int = 0
) -> StanceRecorded:
    return StanceRecorded(
        negotiation=NEGOTIATION,
        party=party,
        clause=clause,
        stance=stance,
        valid_at=day(n),
        evidence=(QUOTE,),
    )


def check_log(tracker: Tracker, expected_stances: int) -> None:
    """Positions gap-free, record times increasing, ids unique, the chain verified."""
    records = list(tracker.events())
    assert [r.position for r in records] == list(range(1, len(records) + 1))
    assert all(a.recorded_at < b.recorded_at for a, b in itertools.pairwise(records))
    assert len({r.event.event_id for r in records}) == len(records)
    assert sum(isinstance(r.event, StanceRecorded) for r in records) == expected_stances
    assert tracker.verify().position == len(records)


class _Contract:
    """Gives each test a tracker on a fresh store from the ``make_store`` fixture."""

    @pytest.fixture
    def tracker(self, make_store: StoreFactory) -> Iterator[Tracker]:
        """A tracker on a fresh, empty store."""
        with Tracker(make_store()) as opened:
            yield opened


class TestOptimisticConcurrency(_Contract):
    """A stale expected version raises and writes nothing; other cells never conflict."""

    @given(stances=st.lists(st.sampled_from(list(Ordinal)), min_size=1, max_size=5), data=st.data())
    def test_stale_expected_version_writes_nothing(
        self, make_store: StoreFactory, stances: list[Ordinal], data: st.DataObject
    ) -> None:
        """An append expecting any version but the current one, behind or ahead, writes nothing."""
        with Tracker(make_store()) as tracker:
            neg = open_test_negotiation(tracker)
            for n, stance in enumerate(stances):  # a note of its own: each one a new record
                neg.record_stance("GB", "territory", stance, valid_at=day(1), note=f"record {n}")
            current = neg.cell_version("GB", "territory")
            assert current == len(stances)
            stale = data.draw(st.integers(0, current + 5).filter(lambda v: v != current))
            before = list(tracker.events())
            with pytest.raises(ConcurrencyError) as caught:
                neg.record_stance(
                    "GB", "territory", "oppose", valid_at=day(2), expected_version=stale
                )
            assert (caught.value.expected, caught.value.actual) == (stale, current)
            assert caught.value.stream == cell_stream(NEGOTIATION, "GB", "territory")
            assert list(tracker.events()) == before

    @given(
        cells=st.lists(
            st.tuples(
                st.sampled_from(["GB", "FR", "UA"]), st.sampled_from(["territory", "military-cap"])
            ),
            max_size=12,
        )
    )
    def test_current_expected_versions_never_conflict(
        self, make_store: StoreFactory, cells: list[tuple[str, str]]
    ) -> None:
        """Writers that read a cell's version and append to it succeed, whatever other cells do."""
        with Tracker(make_store()) as tracker:
            neg = open_test_negotiation(tracker)
            for n, (party, clause) in enumerate(cells):
                version = neg.cell_version(party, clause)
                neg.record_stance(
                    party,
                    clause,
                    "support",
                    valid_at=day(1),
                    note=f"record {n}",  # each one a new record, not a retry
                    expected_version=version,
                )
                assert neg.cell_version(party, clause) == version + 1

    def test_joint_statement_moves_every_signatory_cell(self, tracker: Tracker) -> None:
        """A joint statement bumps every signatory's cell, so old versions are refused."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "support", valid_at=day(1))
        neg.record_joint_statement(["GB", "FR"], "territory", "oppose", valid_at=day(2))
        assert neg.cell_version("GB", "territory") == 2
        assert neg.cell_version("FR", "territory") == 1
        with pytest.raises(ConcurrencyError):
            neg.record_stance("GB", "territory", "neutral", valid_at=day(3), expected_version=1)
        with pytest.raises(ConcurrencyError):
            neg.record_joint_statement(
                ["GB", "FR"], "territory", "neutral", valid_at=day(3), expected_versions={"FR": 0}
            )
        neg.record_joint_statement(
            ["GB", "FR"], "territory", "neutral", valid_at=day(3), expected_versions={"FR": 1}
        )
        assert neg.cell_version("GB", "territory") == 3

    def test_other_streams_have_versions(self, tracker: Tracker) -> None:
        """Streams that are not cells count their own events: a party's stream its memberships."""
        neg = open_test_negotiation(tracker)
        party_stream = f"{NEGOTIATION}#party/GB"
        assert tracker.store.stream_version(party_stream) == 1
        neg.start_membership("GB", "e3", valid_at=day(0))
        assert tracker.store.stream_version(party_stream) == 2
        assert tracker.store.stream_version(f"{NEGOTIATION}#party/nobody") == 0
        with pytest.raises(ConcurrencyError):
            tracker.append([], expected_versions={party_stream: 1})

    def test_batch_is_atomic(self, tracker: Tracker) -> None:
        """When one event of a batch is refused, none of the batch is written."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "support", valid_at=day(1))
        before = list(tracker.events())
        with pytest.raises(ConcurrencyError):
            tracker.append(
                [_stance("FR", "territory"), _stance("GB", "territory")],
                expected_versions={cell_stream(NEGOTIATION, "GB", "territory"): 0},
            )
        changed = attrs.evolve(_stance("GB", "territory"), event_id=before[-1].event.event_id)
        with pytest.raises(DuplicateError):
            tracker.append([_stance("FR", "territory"), changed])
        assert list(tracker.events()) == before
        assert neg.cell_version("FR", "territory") == 0


class TestLog(_Contract):
    """Positions, record times, idempotency, declarations, lookups and the hash chain."""

    def test_record_times_are_assigned_by_the_store(self, tracker: Tracker) -> None:
        """recorded_at is the store's clock, strictly increasing with the position."""
        neg = open_test_negotiation(tracker)
        start = datetime.now(UTC)
        records = tracker.append([_stance("GB", "territory", n=i) for i in range(5)])
        assert [r.position for r in records] == list(
            range(records[0].position, records[0].position + 5)
        )
        times = [r.recorded_at for r in records]
        assert times == sorted(set(times))
        assert times[0] >= start.replace(microsecond=0)
        assert neg.matrix(day(9)).get("GB", "territory").recorded_at == times[-1]  # type: ignore[union-attr]
        assert tracker.store.last_position() == records[-1].position

    def test_reappending_returns_the_stored_records(self, tracker: Tracker) -> None:
        """An event appended again is returned as stored, and nothing is written."""
        open_test_negotiation(tracker)
        first = tracker.append([_stance("GB", "territory")])
        log = list(tracker.events())
        assert tracker.append([first[0].event]) == first
        assert list(tracker.events()) == log

    def test_same_id_different_content_is_refused(self, tracker: Tracker) -> None:
        """An event id names one event: reusing it for another is a DuplicateError."""
        open_test_negotiation(tracker)
        event = _stance("GB", "territory")
        tracker.append([event])
        with pytest.raises(DuplicateError, match=f"event {event.event_id!r} already exists"):
            tracker.append([attrs.evolve(event, stance=Ordinal.OPPOSE)])

    def test_negotiations_do_not_mix(self, tracker: Tracker) -> None:
        """A cell of one negotiation never sees another's entries, though the ids are the same.

        The other negotiation speaks at the same instant and at a later one: an
        as-of query that let either in would find the wrong latest instant or
        the wrong entries at it.
        """
        neg = open_test_negotiation(tracker)
        said = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        other = tracker.open_negotiation("other-talks", title="Other")
        other.register_party("GB", "GB")
        other.table_clause("territory", "territory", valid_at=day(-1))
        same_day = other.record_stance("GB", "territory", "oppose", valid_at=day(1))
        later = other.record_stance("GB", "territory", "neutral", valid_at=day(2))
        for talks, latest, history in (
            (NEGOTIATION, said, [said]),
            ("other-talks", later, [same_day, later]),
        ):
            entries = list(tracker.store.matrix_entries(talks, day(3), None))
            assert [(e.party, e.record) for e in entries] == [("GB", latest)]
            cell = tracker.store.cell_entries(talks, "GB", "territory")
            assert [e.record for e in cell] == history

    def test_duplicate_registrations(self, tracker: Tracker) -> None:
        """Opening, registering or tabling the same id twice is a DuplicateError."""
        neg = open_test_negotiation(tracker)
        with pytest.raises(DuplicateError, match="negotiation"):
            tracker.open_negotiation(NEGOTIATION, title="again")
        with pytest.raises(DuplicateError, match="party 'GB'"):
            neg.register_party("GB", "Britain")
        with pytest.raises(DuplicateError, match="clause 'territory'"):
            neg.table_clause("territory", "Territory", valid_at=day(0))

    def test_lookups(self, tracker: Tracker) -> None:
        """get, read, events_of_types and position_known_at answer from the log."""
        neg = open_test_negotiation(tracker)
        tracker.open_negotiation("other-talks", title="Other")
        stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        note = neg.record_note("meeting", "talks in Geneva", valid_at=day(1))
        store = tracker.store
        assert store.get(stance.event.event_id) == stance
        with pytest.raises(UnknownEventError, match="nope"):
            store.get("nope")
        log = list(store.read())
        assert [r.position for r in store.read(after=stance.position - 1)] == [
            stance.position,
            note.position,
        ]
        assert all(r.event.negotiation == NEGOTIATION for r in store.read(negotiation=NEGOTIATION))
        assert len(list(store.read(negotiation="other-talks"))) == 1
        assert store.events_of_types(NEGOTIATION, ["NoteRecorded"]) == [note]
        assert store.events_of_types(None, ["NoteRecorded"], after=note.position) == []
        assert isinstance(note.event, NoteRecorded)
        assert store.position_known_at(stance.recorded_at) == stance.position
        assert store.position_known_at(stance.recorded_at - timedelta(microseconds=1)) == (
            stance.position - 1
        )
        assert store.position_known_at(log[0].recorded_at - timedelta(days=1)) == 0
        assert store.verify().position == len(log)

    def test_hash_chain(self, tracker: Tracker) -> None:
        """Every record carries its link; the chain is the same on every backend (see chain.py)."""
        open_test_negotiation(tracker)
        records = list(tracker.events())
        assert all(r.hash is not None and len(r.hash) == 64 for r in records)
        assert len({r.hash for r in records}) == len(records)
        assert tracker.verify().position == len(records)

    def test_receipts(self, tracker: Tracker) -> None:
        """verify() returns the head; earlier heads still hold; a cut or changed one is named."""
        assert tracker.verify() == Receipt(position=0, hash=None)
        open_test_negotiation(tracker)
        records = list(tracker.events())
        assert tracker.verify() == Receipt(position=len(records), hash=records[-1].hash)
        for record in records:
            assert tracker.verify(expect=Receipt(position=record.position, hash=record.hash))
        beyond = Receipt(position=len(records) + 1, hash=records[-1].hash)
        with pytest.raises(ChainBrokenError, match="cut") as cut:
            tracker.verify(expect=beyond)
        assert cut.value.position == len(records) + 1
        changed = Receipt(position=2, hash=records[0].hash)
        with pytest.raises(ChainBrokenError, match="receipt") as rewritten:
            tracker.verify(expect=str(changed))
        assert rewritten.value.position == 2


class TestRetractionRules(_Contract):
    """A retraction names an earlier stance event of its own negotiation, once.

    The write rules (:mod:`negotrack.rules`) judge, on what the store answers
    (:meth:`~negotrack.store.EventStore.get` for the target); the store itself
    checks only that an id names one event.
    """

    def test_retraction_of_unknown_event(self, tracker: Tracker) -> None:
        """Retracting an id that is not in the log names it."""
        neg = open_test_negotiation(tracker)
        with pytest.raises(UnknownEventError, match="nope"):
            tracker.append([StanceRetracted(negotiation=neg.id, retracted="nope", reason="x")])

    def test_retraction_twice(self, tracker: Tracker) -> None:
        """An event is retracted at most once; a second retraction is refused, writes nothing."""
        neg = open_test_negotiation(tracker)
        recorded = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        retraction = StanceRetracted(
            negotiation=neg.id, retracted=recorded.event.event_id, reason="misquote"
        )
        tracker.append([retraction])
        before = tracker.store.last_position()
        with pytest.raises(AlreadyRetractedError):
            tracker.append([attrs.evolve(retraction, event_id="again", reason="again")])
        assert tracker.store.last_position() == before

    def test_retraction_of_a_declaration_is_refused(self, tracker: Tracker) -> None:
        """Only stance events can be retracted: a declaration is no event a retraction can name."""
        neg = open_test_negotiation(tracker)
        party = tracker.store.events_of_types(neg.id, ["PartyRegistered"])[0]
        with pytest.raises(UnknownEventError, match=party.event.event_id):
            tracker.append(
                [StanceRetracted(negotiation=neg.id, retracted=party.event.event_id, reason="x")]
            )

    def test_retraction_across_negotiations_is_refused(self, tracker: Tracker) -> None:
        """Another negotiation's event is unknown to this negotiation's retraction."""
        neg = open_test_negotiation(tracker)
        tracker.open_negotiation("other-talks", title="Other")
        stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        with pytest.raises(UnknownEventError, match="other-talks"):
            tracker.append(
                [
                    StanceRetracted(
                        negotiation="other-talks", retracted=stance.event.event_id, reason="x"
                    )
                ]
            )

    def test_retraction_before_its_target_in_one_append(self, tracker: Tracker) -> None:
        """A batch that retracts an event it appends later is refused, whole."""
        open_test_negotiation(tracker)
        target = _stance("GB", "territory")
        retraction = StanceRetracted(negotiation=NEGOTIATION, retracted=target.event_id, reason="x")
        before = tracker.store.last_position()
        with pytest.raises(ValidationError, match="comes before"):
            tracker.append([retraction, target])
        assert tracker.store.last_position() == before
        records = tracker.append([target, retraction])
        assert [r.position for r in records] == [before + 1, before + 2]
        (entry,) = tracker.store.cell_entries(NEGOTIATION, "GB", "territory")
        assert entry.retracted_by == records[1]  # the retraction found its target in the batch

    def test_same_id_twice_in_one_append(self, tracker: Tracker) -> None:
        """Two events with one id in one append are a validation error, not a stored duplicate."""
        open_test_negotiation(tracker)
        event = _stance("GB", "territory")
        with pytest.raises(ValidationError, match="appears twice"):
            tracker.store.append([event, event])

    def test_retried_append_with_its_expected_version_succeeds(self, tracker: Tracker) -> None:
        """Resending an append whose reply was lost returns the stored events, not a conflict."""
        open_test_negotiation(tracker)
        event = _stance("GB", "territory")
        expected = {cell_stream(NEGOTIATION, "GB", "territory"): 0}
        first = tracker.store.append([event], expected_versions=expected)
        assert tracker.store.append([event], expected_versions=expected) == first


class TestHistoryKnownAt(_Contract):
    """``cell_entries`` with a known position leaves out what was recorded after it."""

    def test_entries_and_retractions_after_the_position_are_left_out(
        self, tracker: Tracker
    ) -> None:
        """A retraction recorded exactly at the position counts; one recorded after does not."""
        neg = open_test_negotiation(tracker)
        first = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        joint = neg.record_joint_statement(["GB", "FR"], "territory", "oppose", valid_at=day(0))
        retraction = neg.retract(first.event.event_id, reason="misquote")
        later = neg.record_stance("GB", "territory", "neutral", valid_at=day(2))
        store = tracker.store

        def seen(known: int | None) -> list[tuple[str, int | None]]:
            return [
                (
                    e.record.event.event_id,
                    None if e.retracted_by is None else e.retracted_by.position,
                )
                for e in store.cell_entries(NEGOTIATION, "GB", "territory", known)
            ]

        ids = {r.position: r.event.event_id for r in (first, joint, later)}
        assert seen(None) == [
            (ids[joint.position], None),
            (ids[first.position], retraction.position),
            (ids[later.position], None),
        ]
        assert seen(retraction.position) == seen(None)[:2]
        assert seen(retraction.position - 1) == [
            (ids[joint.position], None),
            (ids[first.position], None),
        ]
        assert seen(first.position) == [(ids[first.position], None)]
        assert seen(0) == []
        assert [e.party for e in store.cell_entries(NEGOTIATION, "FR", "territory")] == ["FR"]


class TestRestore(_Contract):
    """A log exported from one store loads into an empty one with its record times and hashes."""

    def test_restore_keeps_times_and_hashes(
        self, tracker: Tracker, make_store: StoreFactory
    ) -> None:
        """The restored log equals the exported one, record for record, and verifies."""
        neg = open_test_negotiation(tracker)
        stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        neg.retract(stance.event.event_id, reason="misquote")
        log = list(tracker.events())
        with Tracker(make_store()) as target:
            assert target.restore(log) == log
            assert list(target.events()) == log
            assert target.verify().position == len(log)
            with pytest.raises(StoreError, match="empty"):
                target.restore(log)

    def test_restore_refuses_bad_exports(self, tracker: Tracker, make_store: StoreFactory) -> None:
        """Record times that do not increase, or an altered hash, are refused; nothing is kept."""
        open_test_negotiation(tracker)
        log = list(tracker.events())
        swapped = [attrs.evolve(log[0], recorded_at=log[1].recorded_at), *log[1:]]
        forged = [*log[:-1], attrs.evolve(log[-1], hash="0" * 64)]
        with Tracker(make_store()) as target:
            with pytest.raises(StoreError, match="strictly increase"):
                target.restore(swapped)
            with pytest.raises(StoreError, match=rf"event {len(log)}\b.*hash chain"):
                target.restore(forged)  # the error names the event whose hash differs
            assert target.store.last_position() == 0
            unhashed = [attrs.evolve(r, hash=None) for r in log]
            assert [r.hash for r in target.restore(unhashed)] == [r.hash for r in log]


WRITERS = 4
APPENDS = 25


def write_own_cell(tracker: Tracker, party: str, appends: int) -> int:
    """Append to one's own cell (party, territory) with expected versions; return the conflicts."""
    conflicts = 0
    neg = tracker.negotiation(NEGOTIATION)
    for i in range(appends):
        version = neg.cell_version(party, "territory")
        try:
            neg.record_stance(
                party,
                "territory",
                "support",
                valid_at=day(i % 9),
                note=f"append {i}",  # each append a new record, not a retry of an earlier one
                expected_version=version,
            )
        except ConcurrencyError:
            conflicts += 1
    return conflicts


def race_one_cell(tracker: Tracker, appends: int) -> tuple[int, int]:
    """Race others on cell (GB, military-cap): read its version, append expecting it.

    Returns:
        How many appends landed, and how many conflicted.
    """
    written = conflicts = 0
    neg = tracker.negotiation(NEGOTIATION)
    for i in range(appends):
        version = neg.cell_version("GB", "military-cap")
        try:
            neg.record_stance(
                "GB",
                "military-cap",
                "oppose",
                valid_at=day(i % 9),
                # Each append a record of its own: the same content from two
                # writers would be one record (its readable id), not a race.
                note=f"writer {id(tracker)}, append {i}",
                expected_version=version,
            )
            written += 1
        except ConcurrencyError:
            conflicts += 1
    return written, conflicts


def check_race(tracker: Tracker, results: list[tuple[int, int]], appends: int) -> None:
    """What a race on one cell must leave, however the writers interleaved.

    Each conflict is caused by another writer's append landing between the
    read and the write, and one landed append can fail at most one attempt of
    each other writer; so at least ``appends`` land.  The cell's versions run
    1..written without a gap (no version skipped, none written twice).
    """
    written = sum(w for w, _ in results)
    assert written + sum(c for _, c in results) == len(results) * appends
    assert written >= appends, f"only {written} of {len(results) * appends} attempts landed"
    neg = tracker.negotiation(NEGOTIATION)
    assert neg.cell_version("GB", "military-cap") == written
    versions = [
        r.version
        for r in tracker.events()
        if isinstance(r.event, StanceRecorded) and r.event.clause == "military-cap"
    ]
    assert versions == list(range(1, written + 1))
    check_log(tracker, written)


def _run_threads(targets: list[Callable[[], T]]) -> list[T]:
    results: list[T | None] = [None] * len(targets)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = targets[i]()
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


class TestConcurrentWriters(_Contract):
    """Threads, each with its own tracker, appending to one store at once."""

    def test_different_cells_never_conflict(self, tracker: Tracker) -> None:
        """Each writer owns a cell: every append lands, with no conflict and no gap."""
        open_test_negotiation(tracker)
        writers = [Tracker(tracker.store) for _ in range(WRITERS)]
        conflicts = _run_threads(
            [
                functools.partial(write_own_cell, w, p, APPENDS)
                for w, p in zip(writers, PARTIES, strict=False)
            ]
        )
        assert conflicts == [0] * WRITERS
        check_log(tracker, WRITERS * APPENDS)

    def test_same_cell_conflicts_are_real(self, tracker: Tracker) -> None:
        """Racing writers on one cell: the conflicts are real, and every version is written once."""
        open_test_negotiation(tracker)
        writers = [Tracker(tracker.store) for _ in range(WRITERS)]
        results = _run_threads([functools.partial(race_one_cell, w, APPENDS) for w in writers])
        check_race(tracker, results, APPENDS)

    def test_two_trackers_see_each_other(self, tracker: Tracker) -> None:
        """A tracker's checks see what another tracker on the same store wrote."""
        first = open_test_negotiation(tracker)
        other = Tracker(tracker.store)
        second = other.negotiation(NEGOTIATION)
        first.record_stance("GB", "territory", "support", valid_at=day(1), expected_version=0)
        second.record_stance("GB", "territory", "oppose", valid_at=day(2), expected_version=1)
        with pytest.raises(ConcurrencyError):
            first.record_stance("GB", "territory", "neutral", valid_at=day(3), expected_version=1)
        # Each declaration and retraction below is checked against a fold that
        # has not seen the other tracker's: only the store's expected version 0
        # on the declaring stream stops the second one.
        second.register_party("DE", "Germany")
        with pytest.raises(DuplicateError):
            first.register_party("DE", "Deutschland")  # the same id, declared otherwise
        target = first.record_stance("FR", "territory", "oppose", valid_at=day(1)).event.event_id
        second.retract(target, reason="theirs")
        with pytest.raises(AlreadyRetractedError):
            tracker.append([StanceRetracted(negotiation=NEGOTIATION, retracted=target, reason="x")])
        assert len(tracker.store.events_of_types(NEGOTIATION, ["StanceRetracted"])) == 1
        first.record_stance("DE", "territory", "neutral", valid_at=day(3))
        assert tracker.verify().position == len(list(other.events()))
