"""Following the log: every event once and in order, waking on appends, stopping cleanly;
the change feed against a fold; checkpoints for exactly-once processing."""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

import negotrack
from negotrack import StaleCheckpointError, StanceRecorded, StanceRetracted, StoreError
from negotrack.follow import follow_changes
from negotrack.projections.matrix import project_matrix
from negotrack.store import migrations
from negotrack.store.checkpoints import Checkpoint
from negotrack.store.sql.engine import make_engine
from tests.conftest import Backend
from tests.strategies import (
    NEGOTIATION,
    PARTIES,
    build_log,
    command_lists,
    day,
    open_test_negotiation,
)

END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


@pytest.fixture
def shared_url(backend: Backend) -> str:
    """A file (or server) store at the newest schema, with the test negotiation declared."""
    url = backend.url()
    with negotrack.open(url) as tracker:
        open_test_negotiation(tracker)
    return url


def _record_later(url: str, count: int, delay: float) -> threading.Thread:
    """Start a thread that records ``count`` stances after ``delay`` seconds, on its own tracker."""

    def run() -> None:
        time.sleep(delay)
        with negotrack.open(url) as tracker:
            neg = tracker.negotiation(NEGOTIATION)
            for i in range(count):
                neg.record_stance("GB", "territory", "support", valid_at=day(i))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


class TestFollow:
    """follow(): the log in position order, then new events as they commit."""

    def test_reads_the_log_then_waits_for_new_events(self, shared_url: str) -> None:
        """Events committed by another tracker while the follower waits arrive, in order, well before the timeout."""
        with negotrack.open(shared_url) as tracker:
            start = tracker.store.last_position()
            writer = _record_later(shared_url, 3, delay=0.3)
            began = time.monotonic()
            seen = []
            for record in tracker.follow(after=start, timeout=5):
                seen.append(record.position)
                if len(seen) == 3:
                    break
            writer.join()
            assert seen == [start + 1, start + 2, start + 3]
            assert time.monotonic() - began < 3  # woken by the append, not by the timeout

    def test_types_and_negotiation_filter(self, shared_url: str) -> None:
        """Only events of the named types (classes or names) are yielded, in order."""
        with negotrack.open(shared_url) as tracker:
            neg = tracker.negotiation(NEGOTIATION)
            first = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            neg.retract(first.event.event_id, reason="misquote")
            other = tracker.open_negotiation("other-talks", title="Other")
            other.register_party("GB", "UK")
            stances = list(tracker.follow(types=[StanceRecorded, "StanceRetracted"], timeout=0))
            assert [type(r.event) for r in stances] == [StanceRecorded, StanceRetracted]
            own = list(tracker.follow(negotiation="other-talks", timeout=0))
            assert {r.event.negotiation for r in own} == {"other-talks"}
            assert len(own) == 2

    def test_unknown_type_is_refused(self, tracker: negotrack.Tracker) -> None:
        """A type name that is not an event type raises ValidationError naming it."""
        with pytest.raises(negotrack.ValidationError, match="StanceChanged"):
            next(tracker.follow(types=["StanceChanged"], timeout=0))

    def test_stop_event_ends_the_wait(self, shared_url: str) -> None:
        """Setting ``stop`` from another thread ends a follower that waits with no timeout."""
        stop = threading.Event()
        with negotrack.open(shared_url) as tracker:
            end = tracker.store.last_position()
            timer = threading.Timer(0.3, stop.set)
            timer.start()
            began = time.monotonic()
            assert list(tracker.follow(after=end, stop=stop)) == []
            assert time.monotonic() - began < 2

    def test_timeout_ends_a_quiet_follower(self, shared_url: str) -> None:
        """With nothing new, the follower ends after about ``timeout`` seconds."""
        with negotrack.open(shared_url) as tracker:
            began = time.monotonic()
            assert list(tracker.follow(after=tracker.store.last_position(), timeout=0.3)) == []
            assert 0.3 <= time.monotonic() - began < 2

    def test_closing_the_iterator_releases_the_listener(self, backend: Backend) -> None:
        """Breaking out of a follower closes its waiting connection (no LISTEN left on PostgreSQL)."""
        if backend.name != "postgresql":
            pytest.skip("LISTEN connections exist on PostgreSQL only")
        url = backend.url()
        with negotrack.open(url) as tracker:
            open_test_negotiation(tracker)
            engine = tracker.store.engine
            for _ in tracker.follow(timeout=1):
                break
            with engine.connect() as conn:
                listening = conn.execute(
                    sa.text("SELECT count(*) FROM pg_listening_channels()")
                ).scalar()
                others = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE query LIKE 'LISTEN negotrack%' AND state = 'idle' "
                        "AND pid <> pg_backend_pid() AND backend_start > now() - interval '5 s'"
                    )
                ).scalar()
            assert listening == 0
            assert others == 0


def _write_own_cell(url: str, party: str, count: int) -> None:
    with negotrack.open(url) as tracker:
        neg = tracker.negotiation(NEGOTIATION)
        for i in range(count):
            neg.record_stance(party, "territory", "support", valid_at=day(i % 9))


def _process_until(url: str, limit: int, crash: bool) -> int:
    """Process up to ``limit`` events exactly once; crash (mid-transaction) on the last if asked."""
    processed = 0
    with negotrack.open(url) as tracker:
        checkpoint = tracker.checkpoint("loader")
        for record in tracker.follow(after=checkpoint.position(), timeout=1.5):
            with checkpoint.advance(record.position) as conn:
                conn.execute(
                    sa.text("INSERT INTO processed (position) VALUES (:p)"), {"p": record.position}
                )
                processed += 1
                if processed == limit:
                    if crash:
                        raise RuntimeError("crash before commit")
                    return processed
    return processed


class TestUnderLoad:
    """Writers in several processes; a follower restarted at random points from its checkpoint."""

    WRITERS = 3
    APPENDS = 40

    def test_every_event_processed_exactly_once_in_order(self, shared_url: str) -> None:
        """However the follower stops (cleanly or by crashing mid-transaction), each event is processed once, in position order."""
        engine = make_engine(shared_url)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "CREATE TABLE processed (id INTEGER PRIMARY KEY "
                    + (
                        "AUTOINCREMENT"
                        if engine.dialect.name == "sqlite"
                        else "GENERATED ALWAYS AS IDENTITY"
                    )
                    + ", position BIGINT NOT NULL)"
                )
            )
        chance = random.Random(20251122)
        context = multiprocessing.get_context("spawn")
        with context.Pool(self.WRITERS) as pool:
            writing = pool.starmap_async(
                _write_own_cell,
                [(shared_url, party, self.APPENDS) for party in PARTIES[: self.WRITERS]],
            )
            restarts = 0
            while True:
                done = writing.ready()
                with contextlib.suppress(RuntimeError):  # the crash it was asked for
                    _process_until(shared_url, chance.randint(5, 60), crash=chance.random() < 0.5)
                restarts += 1
                with engine.connect() as conn:
                    count = conn.execute(sa.text("SELECT count(*) FROM processed")).scalar()
                    last = conn.execute(sa.text("SELECT max(position) FROM events")).scalar()
                if done and count == last:
                    break
                assert restarts < 200
            writing.get()
        with engine.connect() as conn:
            order = [
                p for (p,) in conn.execute(sa.text("SELECT position FROM processed ORDER BY id"))
            ]
        engine.dispose()
        assert order == list(range(1, len(order) + 1))
        assert len(order) == last
        assert restarts > 1


class TestCheckpoint:
    """Checkpoint: a named position, moved in the same transaction as the caller's writes."""

    def test_starts_at_zero_and_moves_with_the_callers_writes(self, shared_url: str) -> None:
        """A checkpoint nobody saved is 0; advance() commits the caller's rows and the position together."""
        with negotrack.open(shared_url) as tracker:
            checkpoint = tracker.checkpoint("alerts")
            assert checkpoint.position() == 0
            with checkpoint.advance(3) as conn:
                conn.execute(sa.text("CREATE TABLE seen (position BIGINT)"))
                conn.execute(sa.text("INSERT INTO seen VALUES (3)"))
            assert checkpoint.position() == 3
            assert tracker.checkpoint("other").position() == 0

    def test_an_error_rolls_back_both(self, shared_url: str) -> None:
        """An exception in the block keeps neither the caller's writes nor the new position."""
        with negotrack.open(shared_url) as tracker:
            checkpoint = tracker.checkpoint("alerts")
            checkpoint.save(2)
            engine = tracker.store.engine
            with engine.begin() as conn:
                conn.execute(sa.text("CREATE TABLE seen (position BIGINT)"))

            def fail_after_writing() -> None:
                with checkpoint.advance(5) as conn:
                    conn.execute(sa.text("INSERT INTO seen VALUES (5)"))
                    raise RuntimeError("the webhook is down")

            with pytest.raises(RuntimeError):
                fail_after_writing()
            assert checkpoint.position() == 2
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM seen")).scalar() == 0

    def test_a_second_follower_cannot_process_an_event_again(self, shared_url: str) -> None:
        """Moving a checkpoint to a position it is at or past raises StaleCheckpointError and keeps nothing."""
        with negotrack.open(shared_url) as tracker:
            first, second = tracker.checkpoint("alerts"), tracker.checkpoint("alerts")
            first.save(4)
            with pytest.raises(StaleCheckpointError, match="'alerts' is at position 4"):
                second.save(4)
            with pytest.raises(StaleCheckpointError):
                second.save(3)
            second.save(5)
            assert first.position() == 5

    @pytest.mark.parametrize("name", ["", "   ", "x" * 201])
    def test_bad_names_are_refused(self, backend: Backend, name: str) -> None:
        """An empty or overlong name raises ValidationError (checkpoints live in SQL stores)."""
        with backend.tracker() as tracker, pytest.raises(negotrack.ValidationError, match="name"):
            tracker.checkpoint(name)

    @pytest.mark.parametrize("position", [0, -1, True, 1.5])
    def test_bad_positions_are_refused(self, shared_url: str, position: object) -> None:
        """A position that is not a positive integer raises ValidationError."""
        with negotrack.open(shared_url) as tracker, pytest.raises(negotrack.ValidationError):
            tracker.checkpoint("alerts").save(position)  # type: ignore[arg-type]

    def test_a_store_before_the_migration_names_the_command(self, backend: Backend) -> None:
        """On a store without the checkpoints table the error says to run `negotrack db upgrade`."""
        engine = make_engine(backend.url())
        migrations.upgrade(engine, migrations.BASELINE)
        with pytest.raises(StoreError, match="db upgrade"):
            Checkpoint(engine, "alerts").position()
        engine.dispose()


def _expected_changes(records: list[negotrack.RecordedEvent]) -> list[tuple[object, ...]]:
    """The reference: cell by cell, the difference of the fold's matrices before and after each event."""
    expected = []
    before = project_matrix([], NEGOTIATION, END_OF_TIME)
    for i, record in enumerate(records):
        after = project_matrix(records[: i + 1], NEGOTIATION, END_OF_TIME)
        for key in sorted(before.cells.keys() | after.cells.keys()):
            if before.cells.get(key) != after.cells.get(key):
                expected.append((record.position, key, before.cells.get(key), after.cells.get(key)))
        before = after
    return expected


class TestChangeFeed:
    """follow_changes(): what each event changes in the current matrix."""

    @given(cmds=command_lists, restart=st.integers(0, 60))
    def test_changes_are_the_differences_of_consecutive_matrices(
        self, backend: Backend, cmds: list[object], restart: int
    ) -> None:
        """For random logs, the feed equals the cell-by-cell difference of the fold's matrix before and after each event; from a restart position it is the same feed's suffix."""
        with backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            build_log(neg, cmds)  # type: ignore[arg-type]
            records = list(tracker.events())
            feed = [
                (change.cause.position, (cell.party, cell.clause), cell.before, cell.after)
                for change in follow_changes(tracker.store, NEGOTIATION, timeout=0)
                for cell in change
            ]
            assert feed == _expected_changes(records)
            resumed = [
                (change.cause.position, (cell.party, cell.clause), cell.before, cell.after)
                for change in neg.follow_changes(after=restart, timeout=0)
                for cell in change
            ]
            assert resumed == [c for c in feed if c[0] > restart]

    def test_a_back_dated_record_changes_nothing(self, tracker: negotrack.Tracker) -> None:
        """A record older (in valid time) than the cell's latest yields no change; a newer one does."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "oppose", valid_at=day(5))
        start = tracker.store.last_position()
        neg.record_stance("GB", "territory", "support", valid_at=day(1))
        assert list(neg.follow_changes(after=start, timeout=0)) == []
        neg.record_stance("GB", "territory", "support", valid_at=day(6))
        (change,) = neg.follow_changes(after=start, timeout=0)
        (cell,) = change
        assert (cell.kind, cell.describe()) == ("moved", "GB on territory: oppose -> support")

    def test_a_retraction_is_a_change(self, tracker: negotrack.Tracker) -> None:
        """Retracting the record a cell rests on changes the cell back to the record before."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "oppose", valid_at=day(1))
        wrong = neg.record_stance("GB", "territory", "support", valid_at=day(2))
        start = tracker.store.last_position()
        neg.retract(wrong.event.event_id, reason="misquote")
        (change,) = neg.follow_changes(after=start, timeout=0)
        assert isinstance(change.cause.event, StanceRetracted)
        (cell,) = change
        assert (cell.kind, cell.before.label, cell.after.label) == ("moved", "support", "oppose")  # type: ignore[union-attr]

    def test_kinds(self, tracker: negotrack.Tracker) -> None:
        """A first stance is new, the same stance again is restated, a withdrawal drops the cell."""
        neg = open_test_negotiation(tracker)
        start = tracker.store.last_position()
        neg.record_stance("GB", "territory", "oppose", valid_at=day(1))
        neg.record_stance("GB", "territory", "oppose", valid_at=day(2))
        neg.withdraw_stance("GB", "territory", valid_at=day(3))
        kinds = [
            cell.kind for change in neg.follow_changes(after=start, timeout=0) for cell in change
        ]
        assert kinds == ["new", "restated", "dropped"]

    def test_a_joint_statement_is_one_change_of_several_cells(
        self, tracker: negotrack.Tracker
    ) -> None:
        """All cells a joint statement fills come in one Change, so one checkpoint covers them."""
        neg = open_test_negotiation(tracker)
        start = tracker.store.last_position()
        neg.record_joint_statement(("GB", "FR"), "territory", "support", valid_at=day(1))
        (change,) = neg.follow_changes(after=start, timeout=0)
        assert [(c.party, c.kind) for c in change] == [("FR", "new"), ("GB", "new")]
        assert change.cause.position == start + 1
        assert change.negotiation == NEGOTIATION
