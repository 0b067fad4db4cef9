"""Opening a store: no DDL and no waiting on an up-to-date store, read-only roles and files,
no store made by a reader, and concurrent first opens of a new store."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import negotrack
from negotrack import DatabaseReadOnlyError, DatabaseUnavailableError
from negotrack.cli import main
from negotrack.store import migrations
from negotrack.store.migrations import State
from negotrack.store.sql import SqlEventStore
from negotrack.store.sql.engine import make_engine
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, day, open_test_negotiation

_DDL = ("CREATE", "DROP", "ALTER", "LOCK", "PRAGMA JOURNAL_MODE")


def _written(url: str) -> list[negotrack.RecordedEvent]:
    """A store at ``url`` with a few stances, one of them retracted; its log."""
    with negotrack.open(url) as tracker:
        neg = open_test_negotiation(tracker)
        first = neg.record_stance("GB", "territory", "oppose", valid_at=day(1))
        neg.record_stance("GB", "territory", "support", valid_at=day(2))
        neg.retract(first.event.event_id, reason="misquoted")
        return list(tracker.events())


def _reads_everything(tracker: negotrack.Tracker, log: list[negotrack.RecordedEvent]) -> None:
    """Every kind of read works: the log, a matrix, a history, verify."""
    assert list(tracker.events()) == log
    neg = tracker.negotiation(NEGOTIATION)
    assert [c.label for c in neg.matrix(day(3))] == ["support"]
    assert len(neg.history("GB", "territory")) == 2
    assert tracker.verify().position == len(log)


class TestNoDdl:
    """Opening a store at the newest revision only reads."""

    def test_opening_a_current_store_runs_no_ddl(self, backend: Backend) -> None:
        """Not one CREATE, DROP, ALTER, LOCK or journal-mode change when an up-to-date store is opened."""
        url = backend.url()
        negotrack.open(url).close()
        engine = make_engine(url)
        statements: list[str] = []
        sa.event.listen(
            engine,
            "before_cursor_execute",
            lambda _conn, _cursor, statement, *_: statements.append(statement),
        )
        SqlEventStore(engine)
        engine.dispose()
        assert statements  # it did read
        assert [s for s in statements if s.lstrip().upper().startswith(_DDL)] == []

    def test_an_idle_transaction_does_not_block_opening(self, backend: Backend) -> None:
        """A client idle in a transaction that wrote to the tables blocks neither open() nor a read."""
        if backend.name != "postgresql":
            pytest.skip("locks held by an idle transaction: PostgreSQL")
        url = backend.url()
        log = _written(url)
        idle = make_engine(url)
        with idle.connect() as holder:
            holder.begin()
            # What a writer's INSERT holds until it commits.
            holder.exec_driver_sql("LOCK TABLE events, cell_entries IN ROW EXCLUSIVE MODE")
            opened: list[list[negotrack.RecordedEvent]] = []

            def open_and_read() -> None:
                with negotrack.open(url) as tracker:
                    opened.append(list(tracker.events()))

            reader = threading.Thread(target=open_and_read, daemon=True)
            reader.start()
            reader.join(timeout=20)
            blocked = reader.is_alive()
            holder.rollback()  # lets a blocked open finish, so the test ends either way
        reader.join(timeout=30)
        idle.dispose()
        assert not blocked, "open() waited behind the idle transaction"
        assert opened == [log]


@pytest.fixture
def read_only_role(backend: Backend) -> Iterator[tuple[str, str]]:
    """(URL of a store, URL of a role that may only read it), on PostgreSQL."""
    if backend.name != "postgresql":
        pytest.skip("roles: PostgreSQL")
    url = backend.url()
    _written(url)
    role = f"nt_reader_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    reader = sa.make_url(url).set(username=role).render_as_string(hide_password=False)
    yield url, reader
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP OWNED BY {role}")
        conn.exec_driver_sql(f"DROP ROLE {role}")
    admin.dispose()


class TestReadOnly:
    """A role or a file that may only read can open the store and read everything; writes say why not."""

    def test_a_read_only_role(self, read_only_role: tuple[str, str]) -> None:
        """A role granted SELECT and USAGE reads the log, matrices, histories and verifies; a write is DatabaseReadOnlyError."""
        url, reader = read_only_role
        with negotrack.open(url) as tracker:
            log = list(tracker.events())
        with negotrack.open(reader) as tracker:
            _reads_everything(tracker, log)
            neg = tracker.negotiation(NEGOTIATION)
            with pytest.raises(DatabaseReadOnlyError, match="permission denied"):
                neg.record_stance("GB", "territory", "oppose", valid_at=day(4))
            assert tracker.last_position() == log[-1].position

    def test_a_read_only_sqlite_uri(self, tmp_path: Path) -> None:
        """A SQLite file opened with mode=ro (create left at its default) reads everything and refuses writes."""
        path = tmp_path / "talks.db"
        log = _written(f"sqlite:///{path}")
        with negotrack.open(f"sqlite:///file:{path}?mode=ro&uri=true") as tracker:
            _reads_everything(tracker, log)
            with pytest.raises(DatabaseReadOnlyError):
                tracker.negotiation(NEGOTIATION).record_stance(
                    "GB", "territory", "oppose", valid_at=day(4)
                )

    @pytest.mark.skipif(
        hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes to read-only files"
    )
    def test_a_read_only_sqlite_file(self, tmp_path: Path) -> None:
        """A SQLite file without write permission (its folder too) opens and reads."""
        folder = tmp_path / "shelf"
        folder.mkdir()
        path = folder / "talks.db"
        log = _written(f"sqlite:///{path}")
        # Keep the WAL's shared-memory files: a reader of a WAL file needs them.
        for file in folder.iterdir():
            file.chmod(stat.S_IRUSR)
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            with negotrack.open(f"sqlite:///{path}", create=False) as tracker:
                _reads_everything(tracker, log)
                with pytest.raises(DatabaseReadOnlyError):
                    tracker.negotiation(NEGOTIATION).record_stance(
                        "GB", "territory", "oppose", valid_at=day(4)
                    )
        finally:
            folder.chmod(stat.S_IRWXU)


class TestReadersMakeNoStore:
    """create=False, and the commands that only read, never make a store."""

    def test_a_missing_file_is_an_error(self, tmp_path: Path) -> None:
        """open(create=False) on a SQLite file that does not exist names the file and creates nothing."""
        path = tmp_path / "typo.db"
        with pytest.raises(DatabaseUnavailableError, match=f"{path} does not exist"):
            negotrack.open(f"sqlite:///{path}", create=False)
        assert not path.exists()
        with pytest.raises(DatabaseUnavailableError, match="does not exist"):
            negotrack.open(f"sqlite:///file:{path}?mode=rw&uri=true", create=False)
        assert not path.exists()

    @pytest.mark.parametrize(
        "command", [["verify"], ["negotiations"], ["matrix", "--as-of", "2025-11-22"], ["export"]]
    )
    def test_reading_commands_refuse_a_missing_file(
        self, command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`negotrack verify --db sqlite:///typo.db` is an error, not an empty store that verifies."""
        path = tmp_path / "typo.db"
        assert main([*command, "--db", f"sqlite:///{path}"]) == 1
        assert "does not exist" in capsys.readouterr().err
        assert not path.exists()


def _open_new(url: str, barrier: multiprocessing.synchronize.Barrier) -> str:
    """In a child process: wait for the others, then open (and so make) the store."""
    barrier.wait()
    try:
        negotrack.open(url).close()
    except Exception as exc:  # reported to the parent as text
        return f"{type(exc).__name__}: {exc}"
    return "ok"


class TestFirstOpens:
    """Several processes opening a new store at once all succeed, and make it once."""

    @pytest.mark.slow
    def test_concurrent_first_opens(self, backend: Backend) -> None:
        """Six processes open the same new store at the same moment: each succeeds; one store, at the head, in WAL mode on SQLite."""
        context = multiprocessing.get_context("spawn")
        for _ in range(2):
            url = backend.url()
            with context.Manager() as manager:
                barrier = manager.Barrier(6)
                with context.Pool(6) as pool:
                    results = pool.starmap(_open_new, [(url, barrier)] * 6)
            assert results == ["ok"] * 6
            engine = make_engine(url)
            assert migrations.current(engine) == (State.CURRENT, migrations.HEAD)
            if backend.name == "sqlite":
                with engine.connect() as conn:
                    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            engine.dispose()
