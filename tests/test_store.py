"""What only the SQL store does: triggers, reopening, its caches, and its error boundary.

The behaviour every backend shares is the contract suite of
:mod:`negotrack.testing` (run by tests/test_contract.py); these tests need a
URL or reach into the database under the store.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import negotrack
from negotrack import ChainBrokenError, ConcurrencyError, DuplicateError, StoreError
from negotrack.events import StanceRetracted
from negotrack.io.dataset import import_dataset
from negotrack.store.memory import MemoryEventStore
from negotrack.store.sql import SqlEventStore, write
from negotrack.store.sql.boundary import mapped_errors
from negotrack.store.sql.engine import LARGE_WRITE_CACHE_KIB, large_write_cache, use_wal
from negotrack.store.sql.write import Append
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, day, open_test_negotiation
from tests.test_dataset import v2_file


class TestSqlLog:
    """Append-only triggers, tamper evidence, and a log that outlives its tracker."""

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
            assert tracker.verify().position == len(list(tracker.events()))

    def test_verify_detects_tampering(self, backend: Backend) -> None:
        """A row changed behind the triggers' back breaks the chain at that row."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            neg = open_test_negotiation(tracker)
            recorded = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            engine = tracker.store.engine
            with engine.begin() as conn:
                backend.allow_updates(conn)
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
            assert tracker.verify().position == len(first) + 1

    def test_store_without_schema(self, backend: Backend) -> None:
        """Opening with create=False where there is no store (no file, an empty schema) says so."""
        with pytest.raises(negotrack.StoreError, match=r"no negotrack store|no store there"):
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
            assert first.verify().position == second.verify().position == len(list(first.events()))

    def test_record_times_increase_when_the_clock_does_not(
        self, backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A clock that stands still (or went back) still gives each record a later time."""
        with negotrack.open(backend.url()) as tracker:
            neg = open_test_negotiation(tracker)
            # The store's clock (the server's on PostgreSQL) reads 1 µs after 1970.
            monkeypatch.setattr(Append, "_now", lambda _: 1)
            first = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            second = neg.record_stance("GB", "territory", "oppose", valid_at=day(2))
            times = [r.recorded_at for r in tracker.events()]
            assert times == sorted(set(times))
            assert second.recorded_at - first.recorded_at == timedelta(microseconds=1)


class TestUncheckedAppends:
    """The store checks no write rule, but never writes an index row that points nowhere."""

    def test_retraction_of_no_stored_event(self, backend: Backend) -> None:
        """A retraction appended past the rules, naming no event, is refused; nothing is written."""
        with negotrack.open(backend.url()) as tracker:
            open_test_negotiation(tracker)
            before = tracker.last_position()
            retraction = StanceRetracted(negotiation=NEGOTIATION, retracted="nope", reason="x")
            with pytest.raises(StoreError) as caught:
                tracker.store.append([retraction])
            assert str(caught.value) == (
                "the retraction of 'nope' names no event written before it: "
                "append through a Tracker, which checks the write rules"
            )
            assert tracker.last_position() == before


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
            assert tracker.verify().position == stance.position
            with tracker.store.engine.begin() as conn:
                conn.execute(sa.text(forge), {"stance": stance.position})
            with pytest.raises(ChainBrokenError, match="index"):
                tracker.verify()


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
        assert len(store._decoded) <= size
        tracker.close()


class TestErrorBoundary:
    """Whatever the database driver raises reaches the caller as a NegotrackError."""

    def test_writing_to_a_read_only_file(self, tmp_path: Path) -> None:
        """A SQLite file opened read-only refuses the append with DatabaseReadOnlyError, not OperationalError."""
        path = tmp_path / "log.db"
        with negotrack.open(f"sqlite:///{path}") as tracker:
            open_test_negotiation(tracker)
            before = tracker.store.last_position()
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
        with negotrack.open(url, create=False) as tracker:
            neg = tracker.negotiation(NEGOTIATION)
            with pytest.raises(negotrack.DatabaseReadOnlyError, match="read-only") as caught:
                neg.record_stance("GB", "territory", "support", valid_at=day(1))
            assert isinstance(caught.value.__cause__, sa.exc.OperationalError)
            assert str(path) in str(caught.value)
            assert tracker.store.last_position() == before

    def test_unreachable_server(self) -> None:
        """A PostgreSQL server that refuses the connection is DatabaseUnavailableError."""
        pytest.importorskip("psycopg")
        with pytest.raises(negotrack.DatabaseUnavailableError, match="cannot open the store"):
            negotrack.open("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")

    @pytest.mark.parametrize(
        ("code", "kind"),
        [
            ("SQLITE_READONLY", negotrack.DatabaseReadOnlyError),
            ("SQLITE_FULL", negotrack.DatabaseFullError),
            ("SQLITE_BUSY", negotrack.DatabaseBusyError),
            ("SQLITE_LOCKED_SHAREDCACHE", negotrack.DatabaseBusyError),
            ("SQLITE_CANTOPEN", negotrack.DatabaseUnavailableError),
            ("SQLITE_TOOBIG", negotrack.ValidationError),
            ("SQLITE_IOERR", negotrack.DatabaseError),
        ],
    )
    def test_sqlite_errors_by_code(self, code: str, kind: type[Exception]) -> None:
        """Each SQLite error code becomes the class that says what went wrong, the cause chained."""
        driver = sqlite3.OperationalError("driver words")
        driver.sqlite_errorname = code
        with pytest.raises(kind, match="driver words") as caught, mapped_errors("sqlite:///x.db"):
            raise sa.exc.OperationalError("INSERT", {}, driver)
        assert isinstance(caught.value, negotrack.NegotrackError)
        assert caught.value.__cause__ is not None

    @pytest.mark.parametrize(
        ("state", "kind"),
        [
            ("25006", negotrack.DatabaseReadOnlyError),
            ("53100", negotrack.DatabaseFullError),
            ("55P03", negotrack.DatabaseBusyError),
            ("57014", negotrack.DatabaseBusyError),
            ("08006", negotrack.DatabaseUnavailableError),
            ("22001", negotrack.ValidationError),
            ("XX000", negotrack.DatabaseError),
        ],
    )
    def test_postgresql_errors_by_sqlstate(self, state: str, kind: type[Exception]) -> None:
        """Each SQLSTATE class becomes the class that says what went wrong."""

        class DriverError(Exception):
            sqlstate = state

        with pytest.raises(kind, match="driver words"), mapped_errors("postgresql://h/db"):
            raise sa.exc.DBAPIError("INSERT", {}, DriverError("driver words"))

    def test_constraint_violation_is_a_conflict(self) -> None:
        """An integrity error the store did not foresee is a ConflictError, not IntegrityError."""
        with pytest.raises(negotrack.ConflictError, match="refused"), mapped_errors("x"):
            raise sa.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE"))

    def test_negotrack_errors_pass_through(self) -> None:
        """The boundary leaves negotrack's own errors as they are."""
        error = ConcurrencyError("s", 1, 2)
        with pytest.raises(ConcurrencyError) as caught, mapped_errors("x"):
            raise error
        assert caught.value is error


class TestOpen:
    """negotrack.open picks the backend from the URL's scheme."""

    def test_memory_scheme(self) -> None:
        """memory:// gives a fresh in-memory log each time."""
        with negotrack.open("memory://") as tracker:
            assert isinstance(tracker.store, MemoryEventStore)
            open_test_negotiation(tracker)
        with negotrack.open("memory://") as tracker:
            assert tracker.negotiations() == []

    @pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
    def test_sqlite_scheme(self, url: str) -> None:
        """sqlite URLs give the SQL store."""
        with negotrack.open(url) as tracker:
            assert isinstance(tracker.store, SqlEventStore)

    @pytest.mark.parametrize("url", ["mysql://x/y", "memory://somewhere", "nonsense"])
    def test_unknown_schemes(self, url: str) -> None:
        """An unknown scheme, or a memory URL with a path, is a StoreError naming the URL."""
        with pytest.raises(negotrack.StoreError, match="memory://"):
            negotrack.open(url)

    def test_checkpoints_need_a_sql_store(self) -> None:
        """A memory:// tracker has no database to keep follower checkpoints in."""
        with (
            negotrack.open("memory://") as tracker,
            pytest.raises(negotrack.StoreError, match="sqlite"),
        ):
            tracker.checkpoint("alerts")


class TestSqliteSettings:
    """What every SQLite connection of a store is set to (negotrack.store.sql.engine)."""

    def test_every_connection_checkpoints_late_and_syncs_at_checkpoints(self, tmp_path: Path) -> None:
        """synchronous=NORMAL, a checkpoint every 10,000 WAL pages, the WAL cut back to 64 MiB."""
        with negotrack.open(f"sqlite:///{tmp_path / 'log.db'}") as tracker:
            with tracker.store.engine.connect() as conn:
                read = {
                    pragma: conn.exec_driver_sql(f"PRAGMA {pragma}").scalar_one()
                    for pragma in ("synchronous", "wal_autocheckpoint", "journal_size_limit")
                }
            assert read == {
                "synchronous": 1,  # NORMAL
                "wal_autocheckpoint": 10_000,
                "journal_size_limit": 64 * 1024 * 1024,
            }


class RefusingConnection(sqlite3.Connection):
    """A driver connection whose own ``execute`` refuses the statements in ``refused``."""

    refused: tuple[str, ...] = ()

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.startswith(self.refused):
            raise sqlite3.OperationalError("disk I/O error")
        return super().execute(sql, *args)


def refusing_engine(url: str, monkeypatch: pytest.MonkeyPatch, *refused: str) -> sa.Engine:
    """A SQLite engine whose driver connections refuse the statements starting so."""
    monkeypatch.setattr(RefusingConnection, "refused", refused)
    return sa.create_engine(url, connect_args={"factory": RefusingConnection})


class TestLargeWriteCache:
    """An append of more than one chunk gets a larger SQLite page cache until it commits."""

    with contextlib.closing(sqlite3.connect(":memory:")) as _probe:
        DEFAULT = _probe.execute("PRAGMA cache_size").fetchone()[0]

    @staticmethod
    def _caches(engine: sa.Engine, fail: bool = False) -> list[int]:
        """The page cache of the connection at each INSERT into ``events`` (raise at one)."""
        seen: list[int] = []

        def at_insert(conn: sa.Connection, _cursor: object, statement: str, *_: object) -> None:
            if statement.startswith('INSERT INTO "events" '):
                driver = conn.connection.dbapi_connection
                assert driver is not None
                seen.append(driver.execute("PRAGMA cache_size").fetchone()[0])
                if fail:
                    raise sa.exc.OperationalError(statement, None, Exception("disk I/O error"))

        sa.event.listen(engine, "before_cursor_execute", at_insert)
        return seen

    @staticmethod
    def _pooled_cache(tracker: negotrack.Tracker) -> int:
        with tracker.store.engine.connect() as conn:  # type: ignore[attr-defined]
            return int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())

    def test_large_appends_only_and_until_they_end(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An import of eight events in chunks of two runs with the larger cache, still held
        when it commits; a single stance with SQLite's default; the pooled connection has the
        default again after."""
        monkeypatch.setattr(write, "WRITE_CHUNK", 2)
        with negotrack.open(f"sqlite:///{tmp_path / 'log.db'}") as tracker:
            engine = tracker.store.engine  # type: ignore[attr-defined]
            caches = self._caches(engine)
            at_commit: list[int] = []

            def committing(conn: sa.Connection) -> None:
                driver = conn.connection.dbapi_connection
                assert driver is not None
                at_commit.append(driver.execute("PRAGMA cache_size").fetchone()[0])

            sa.event.listen(engine, "commit", committing)
            import_dataset(tracker, v2_file(tmp_path))
            assert caches == [-LARGE_WRITE_CACHE_KIB] * 4
            assert at_commit == [-LARGE_WRITE_CACHE_KIB]
            sa.event.remove(engine, "commit", committing)
            assert self._pooled_cache(tracker) == self.DEFAULT
            caches.clear()
            tracker.negotiation("mini-talks").record_stance(
                "GB", "territory", "oppose", valid_at=day(9)
            )
            assert caches == [self.DEFAULT]

    def test_given_back_when_the_append_fails(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A large append the database refuses leaves the connection's cache as it found it."""
        monkeypatch.setattr(write, "WRITE_CHUNK", 2)
        with negotrack.open(f"sqlite:///{tmp_path / 'log.db'}") as tracker:
            caches = self._caches(tracker.store.engine, fail=True)  # type: ignore[attr-defined]
            with pytest.raises(negotrack.NegotrackError):
                import_dataset(tracker, v2_file(tmp_path))
            assert caches == [-LARGE_WRITE_CACHE_KIB]
            assert tracker.last_position() == 0
            assert self._pooled_cache(tracker) == self.DEFAULT


    def _engine(self, monkeypatch: pytest.MonkeyPatch, *refused: str) -> sa.Engine:
        return refusing_engine("sqlite://", monkeypatch, *refused)

    def test_a_cache_that_cannot_be_set_is_done_without(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The driver refusing the PRAGMA costs the speed-up, never the block, nor a raw error."""
        engine = self._engine(monkeypatch, "PRAGMA cache_size")
        with engine.connect() as conn, large_write_cache(conn):
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1

    def test_a_cache_that_cannot_be_given_back_leaves_the_pool(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A connection that cannot take its cache back is invalidated, not pooled with it."""
        engine = self._engine(monkeypatch, f"PRAGMA cache_size={self.DEFAULT}")
        with engine.connect() as conn:
            with large_write_cache(conn):
                pass
            assert conn.invalidated


class TestWalMode:
    """Putting a new file in WAL mode goes through the driver; its errors still cross the boundary."""

    def test_a_refusal_is_a_negotrack_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The driver refusing the journal mode becomes a DatabaseError naming the database."""
        engine = refusing_engine(
            f"sqlite:///{tmp_path / 'log.db'}", monkeypatch, "PRAGMA journal_mode"
        )
        refused = pytest.raises(negotrack.DatabaseError, match=r"the test database.*disk I/O")
        with refused, mapped_errors("the test database"):
            use_wal(engine)


class TestProtocol:
    """A backend written against the EventStore protocol alone works with the tracker."""

    def test_protocol_only_backend_runs(self) -> None:
        """The tracker uses nothing but protocol members: a delegating store runs it."""
        from tests.typing.protocol_only import counted

        assert counted() == 1

    def test_protocol_only_backend_type_checks(self) -> None:
        """mypy --strict accepts the tracker on a store that knows only the protocol."""
        api = pytest.importorskip("mypy.api")
        module = Path(__file__).parent / "typing" / "protocol_only.py"
        out, err, status = api.run(["--strict", "--no-error-summary", str(module)])
        assert status == 0, out + err


class TestChunkedWrites:
    """A large append is inserted a chunk of rows at a time (memory follows the chunk), in
    one transaction: all of it, or nothing."""

    @staticmethod
    def _inserts(engine: sa.Engine, fail_at: int | None = None) -> list[int]:
        """Count the INSERTs into ``events``; raise at insert number ``fail_at``."""
        count = [0]

        def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            if statement.startswith('INSERT INTO "events" '):
                count[0] += 1
                if count[0] == fail_at:
                    raise sa.exc.OperationalError(statement, None, Exception("disk I/O error"))

        sa.event.listen(engine, "before_cursor_execute", seen)
        return count

    def test_a_chunk_at_a_time(
        self, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Inserted a row at a time, an import's retraction finds the stance it names in an
        earlier insert, and the log verifies."""
        monkeypatch.setattr(write, "WRITE_CHUNK", 1)
        path = v2_file(tmp_path, "retractions:\n  - {of: gb-territory, reason: a paraphrase}\n")
        with negotrack.open(backend.url()) as tracker:
            inserts = self._inserts(tracker.store.engine)  # type: ignore[attr-defined]
            result = import_dataset(tracker, path)
            assert inserts[0] == result.written == tracker.last_position() == 8
            tracker.verify()
            (entry,) = tracker.negotiation("mini-talks").history("GB", "territory")
            assert entry.retraction_reason == "a paraphrase"

    def test_a_failing_chunk_writes_nothing(
        self, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The database failing at the third chunk leaves the log as it was."""
        monkeypatch.setattr(write, "WRITE_CHUNK", 2)
        with negotrack.open(backend.url()) as tracker:
            inserts = self._inserts(tracker.store.engine, fail_at=3)  # type: ignore[attr-defined]
            with pytest.raises(negotrack.NegotrackError):
                import_dataset(tracker, v2_file(tmp_path))
            assert inserts[0] == 3
            assert tracker.last_position() == 0
