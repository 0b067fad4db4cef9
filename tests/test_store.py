"""The backend contract: every test here runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

import negotrack
from negotrack import (
    AlreadyRetractedError,
    ChainBrokenError,
    ConcurrencyError,
    DuplicateError,
    Ordinal,
    StanceRecorded,
    UnknownEventError,
    cell_stream,
)
from negotrack.store.sql import SqlEventStore
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, QUOTE, day, open_test_negotiation, ordinals


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


class TestOptimisticConcurrency:
    """Invariant 3: a stale expected version raises and writes nothing; other cells never conflict."""

    @given(stances=st.lists(ordinals, min_size=1, max_size=5), stale=st.integers(0, 10))
    def test_stale_expected_version_writes_nothing(
        self, backend: Backend, stances: list[Ordinal], stale: int
    ) -> None:
        """An append expecting any version but the current one fails, and the log is as before."""
        with backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            for stance in stances:
                neg.record_stance("GB", "territory", stance, valid_at=day(1))
            current = neg.cell_version("GB", "territory")
            assert current == len(stances)
            if stale == current:
                stale += 1
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
        self, backend: Backend, cells: list[tuple[str, str]]
    ) -> None:
        """Writers that read a cell's version and append to it succeed, whatever other cells do."""
        with backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            for party, clause in cells:
                version = neg.cell_version(party, clause)
                neg.record_stance(
                    party, clause, "support", valid_at=day(1), expected_version=version
                )
                assert neg.cell_version(party, clause) == version + 1

    def test_joint_statement_moves_every_signatory_cell(self, tracker: negotrack.Tracker) -> None:
        """A joint statement bumps each signatory's cell, so a writer holding the old version is told."""
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

    def test_batch_is_atomic(self, tracker: negotrack.Tracker) -> None:
        """When one event of a batch is refused, none of the batch is written."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "support", valid_at=day(1))
        before = list(tracker.events())
        with pytest.raises(ConcurrencyError):
            tracker.append(
                [_stance("FR", "territory"), _stance("GB", "territory")],
                expected_versions={cell_stream(NEGOTIATION, "GB", "territory"): 0},
            )
        assert list(tracker.events()) == before


class TestLog:
    """Positions, record times, idempotency, retractions, append-only and the hash chain."""

    def test_record_times_are_assigned_by_the_store(self, tracker: negotrack.Tracker) -> None:
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

    def test_same_id_different_content_is_refused(self, tracker: negotrack.Tracker) -> None:
        """An event id names one event: reusing it for another is a DuplicateError."""
        open_test_negotiation(tracker)
        event = _stance("GB", "territory")
        tracker.append([event])
        with pytest.raises(DuplicateError, match=event.event_id):
            tracker.append([attrs.evolve(event, stance=Ordinal.OPPOSE)])

    def test_retraction_of_unknown_event(self, tracker: negotrack.Tracker) -> None:
        """Retracting an id that is not in the log names it."""
        neg = open_test_negotiation(tracker)
        with pytest.raises(UnknownEventError, match="nope"):
            neg.retract("nope", reason="x")

    def test_retraction_twice(self, tracker: negotrack.Tracker) -> None:
        """An event is retracted at most once; the second retraction is refused and writes nothing."""
        neg = open_test_negotiation(tracker)
        recorded = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        neg.retract(recorded.event.event_id, reason="misquote")
        before = tracker.store.last_position()
        with pytest.raises(AlreadyRetractedError):
            neg.retract(recorded.event.event_id, reason="again")
        assert tracker.store.last_position() == before

    def test_duplicate_registrations(self, tracker: negotrack.Tracker) -> None:
        """Opening, registering or tabling the same id twice is a DuplicateError."""
        neg = open_test_negotiation(tracker)
        with pytest.raises(DuplicateError, match="negotiation"):
            tracker.open_negotiation(NEGOTIATION, title="again")
        with pytest.raises(DuplicateError, match="party 'GB'"):
            neg.register_party("GB", "Britain")
        with pytest.raises(DuplicateError, match="clause 'territory'"):
            neg.table_clause("territory", "Territory", valid_at=day(0))

    def test_database_refuses_update_and_delete(self, backend: Backend) -> None:
        """Triggers make the log append-only even for someone with a SQL prompt."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            neg = open_test_negotiation(tracker)
            neg.record_stance("GB", "territory", "support", valid_at=day(1))
            engine = tracker.store.engine
            for statement in (
                "UPDATE events SET payload = '{}'",
                "DELETE FROM events",
                "DELETE FROM cell_entries",
            ):
                with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
                    conn.execute(sa.text(statement))
            assert tracker.verify() == len(list(tracker.events()))

    def test_verify_detects_tampering(self, backend: Backend) -> None:
        """A row changed behind the triggers' back breaks the chain at that row."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            neg = open_test_negotiation(tracker)
            recorded = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            engine = tracker.store.engine
            with engine.begin() as conn:
                if backend.name == "sqlite":
                    conn.execute(sa.text("DROP TRIGGER events_no_update"))
                else:
                    conn.execute(sa.text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
                conn.execute(
                    sa.text(
                        "UPDATE events SET payload = replace(payload, 'support', 'oppose') WHERE position = :p"
                    ),
                    {"p": recorded.position},
                )
            with pytest.raises(ChainBrokenError) as caught:
                tracker.verify()
            assert caught.value.position == recorded.position

    def test_reopening_keeps_the_log(self, backend: Backend) -> None:
        """A store reopened on the same URL has the same log and appends after it."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            open_test_negotiation(tracker)
            first = list(tracker.events())
        with negotrack.open(url) as tracker:
            assert list(tracker.events()) == first
            neg = tracker.negotiation(NEGOTIATION)
            recorded = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            assert recorded.position == first[-1].position + 1
            assert tracker.verify() == len(first) + 1

    def test_store_without_schema(self, backend: Backend) -> None:
        """Opening with create=False on an empty database says there is no schema."""
        with pytest.raises(negotrack.StoreError, match="no negotrack schema"):
            SqlEventStore(backend.url(), create=False)


class TestTwoWriters:
    """Two trackers on one store see each other's writes in their version checks."""

    def test_interleaved_writers_keep_versions_exact(self, backend: Backend) -> None:
        """A writer's cached versions are dropped when another writer moved the log."""
        url = backend.url()
        with negotrack.open(url) as first, negotrack.open(url) as second:
            a = open_test_negotiation(first)
            b = second.negotiation(NEGOTIATION)
            a.record_stance("GB", "territory", "support", valid_at=day(1), expected_version=0)
            b.record_stance("GB", "territory", "oppose", valid_at=day(2), expected_version=1)
            with pytest.raises(ConcurrencyError):
                a.record_stance("GB", "territory", "neutral", valid_at=day(3), expected_version=1)
            a.record_stance("GB", "territory", "neutral", valid_at=day(3), expected_version=2)
            declared = b.register_party("DE", "Germany")
            # a's fold has not seen it: the store's check finds it, the rules say what differs.
            with pytest.raises(DuplicateError, match="name is 'Germany', not 'Deutschland'"):
                a.register_party("DE", "Deutschland")
            # The same declaration again answers with b's (get-or-create).
            assert a.register_party("DE", "Germany").position == declared.position
            assert first.verify() == second.verify() == len(list(first.events()))


class TestIndexesAreVerified:
    """verify() also proves the index tables the as-of query reads match the events."""

    @pytest.mark.parametrize(
        "forge",
        [
            "INSERT INTO retractions (retracted, position) VALUES (:stance, 1)",
            "INSERT INTO cell_entries (negotiation, party, clause, version, valid_at, position, withdrawn)"
            " VALUES ('test-talks', 'FR', 'territory', 1, 0, :stance, false)",
            "INSERT INTO cells (negotiation, party, clause) VALUES ('test-talks', 'UA', 'territory')",
        ],
    )
    def test_forged_index_rows_are_caught(self, backend: Backend, forge: str) -> None:
        """A row inserted into an index (which the triggers allow) breaks verify()."""
        with negotrack.open(backend.url()) as tracker:
            neg = open_test_negotiation(tracker)
            stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            assert tracker.verify() == stance.position
            with tracker.store.engine.begin() as conn:
                conn.execute(sa.text(forge), {"stance": stance.position})
            with pytest.raises(ChainBrokenError, match="index"):
                tracker.verify()


class TestRetractionRules:
    """A retraction names an earlier stance event of its own negotiation."""

    def test_retraction_across_negotiations_is_refused(self, tracker: negotrack.Tracker) -> None:
        """Another negotiation's event is unknown to this negotiation's retraction."""
        neg = open_test_negotiation(tracker)
        tracker.open_negotiation("other-talks", title="Other")
        stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        with pytest.raises(UnknownEventError, match="other-talks"):
            tracker.append(
                [
                    negotrack.StanceRetracted(
                        negotiation="other-talks", retracted=stance.event.event_id, reason="x"
                    )
                ]
            )

    def test_retraction_before_its_target_in_one_append(self, tracker: negotrack.Tracker) -> None:
        """A batch that retracts an event it appends later is refused, whole."""
        open_test_negotiation(tracker)
        target = _stance("GB", "territory")
        retraction = negotrack.StanceRetracted(
            negotiation=NEGOTIATION, retracted=target.event_id, reason="x"
        )
        before = tracker.store.last_position()
        with pytest.raises(negotrack.ValidationError, match="comes before"):
            tracker.append([retraction, target])
        assert tracker.store.last_position() == before
        records = tracker.append([target, retraction])
        assert [r.position for r in records] == [before + 1, before + 2]

    def test_same_id_twice_in_one_append(self, tracker: negotrack.Tracker) -> None:
        """Two events with one id in one append are a validation error, not a stored duplicate."""
        open_test_negotiation(tracker)
        event = _stance("GB", "territory")
        with pytest.raises(negotrack.ValidationError, match="appears twice"):
            tracker.append([event, event])

    def test_retried_append_with_its_expected_version_succeeds(
        self, tracker: negotrack.Tracker
    ) -> None:
        """Resending an append whose reply was lost returns the stored events, not a conflict."""
        open_test_negotiation(tracker)
        event = _stance("GB", "territory")
        expected = {cell_stream(NEGOTIATION, "GB", "territory"): 0}
        first = tracker.append([event], expected_versions=expected)
        assert tracker.append([event], expected_versions=expected) == first


class TestDecodedCache:
    """The read cache returns the same events, and a size of 0 turns it off."""

    @pytest.mark.parametrize("size", [0, 1, 2, 1000])
    def test_any_cache_size_gives_the_same_answers(self, size: int) -> None:
        """Matrices are identical whatever the cache holds, and a cache never outgrows its size."""
        store = SqlEventStore("sqlite://", decoded_cache=size)
        tracker = negotrack.Tracker(store)
        neg = open_test_negotiation(tracker)
        for i, party in enumerate(["GB", "FR", "UA", "eu"]):
            neg.record_stance(party, "territory", "oppose", valid_at=day(i))
        first = neg.matrix(day(9))
        assert neg.matrix(day(9)) == first
        assert len(store._decoded._events) <= size
        tracker.close()
