"""Schema migrations: from nothing and from a store made before migrations, to the newest revision."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from hypothesis import given, settings

import negotrack
from negotrack import SchemaBehindError, StoreError
from negotrack.cli import main
from negotrack.store import migrations
from negotrack.store.migrations import State
from negotrack.store.schema import metadata
from negotrack.store.sql.engine import make_engine
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, build_log, command_lists, day, open_test_negotiation


def _as_before_migrations(url: str) -> None:
    """Turn the store at ``url`` into one as negotrack made them before migrations.

    Its schema is taken back to the baseline and the version table dropped:
    what is left is exactly the baseline's tables, with the log as written
    (revision 0005 rekeys the cell index, and its downgrade puts the old key
    back with the same rows; no other revision touches the log's own tables).
    """
    engine = make_engine(url)
    with engine.begin() as conn:
        command.downgrade(migrations._config(conn), migrations.BASELINE)
        conn.execute(sa.text(f"DROP TABLE {migrations.VERSION_TABLE}"))
    engine.dispose()


class TestRevisions:
    """The revisions shipped in the package."""

    def test_the_constants_match_the_scripts(self) -> None:
        """REVISIONS (read when a store is opened, without Alembic) lists the scripts in order."""
        scripts = ScriptDirectory.from_config(migrations._config())
        walked = [s.revision for s in scripts.walk_revisions()][::-1]
        assert tuple(walked) == migrations.REVISIONS
        assert scripts.get_current_head() == migrations.HEAD
        assert [r.revision for r in migrations.history()] == walked


class TestUpgrade:
    """upgrade(): an empty database, a store from before migrations, one already current."""

    def test_from_nothing_gives_the_tables_the_code_uses(self, backend: Backend) -> None:
        """Upgrading an empty database creates exactly the tables, columns and indexes of the code's metadata."""
        engine = make_engine(backend.url())
        assert migrations.current(engine) == (State.EMPTY, None)
        assert migrations.upgrade(engine) == migrations.HEAD
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": migrations.VERSION_TABLE}
            )
            assert compare_metadata(context, metadata) == []
        assert migrations.current(engine) == (State.CURRENT, migrations.HEAD)
        engine.dispose()

    def test_the_cell_index_is_keyed_by_the_as_of_seek(self, backend: Backend) -> None:
        """Revision 0005: cell entries are keyed by (cell, valid time, position), on SQLite in that B-tree itself."""
        engine = make_engine(backend.url())
        migrations.upgrade(engine)
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            key = inspector.get_pk_constraint("cell_entries")["constrained_columns"]
            assert key == ["negotiation", "party", "clause", "valid_at", "position"]
            assert [i["name"] for i in inspector.get_indexes("cell_entries")] == []
            if backend.name == "sqlite":
                made = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'cell_entries'"
                ).scalar_one()
                assert made.rstrip().endswith("WITHOUT ROWID")
        engine.dispose()

    # Each example builds a store and migrates it (about 1 s on PostgreSQL): a
    # fixed budget keeps CI bounded, whatever the profile.
    @settings(max_examples=25)
    @given(cmds=command_lists)
    def test_a_store_from_before_migrations_keeps_its_log(
        self, backend: Backend, cmds: list[object]
    ) -> None:
        """A store written before migrations, upgraded to the head, keeps its log, hashes and matrices, and verifies."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            neg = open_test_negotiation(tracker)
            build_log(neg, cmds)  # type: ignore[arg-type]
            before = list(tracker.events())
            matrices = [neg.matrix(day(n)) for n in (0, 4, 11)]
        _as_before_migrations(url)
        engine = make_engine(url)
        assert migrations.current(engine) == (State.BEHIND, None)
        migrations.upgrade(engine)
        assert migrations.current(engine) == (State.CURRENT, migrations.HEAD)
        engine.dispose()
        with negotrack.open(url) as tracker:
            assert list(tracker.events()) == before
            neg = tracker.negotiation(NEGOTIATION)
            assert [neg.matrix(day(n)) for n in (0, 4, 11)] == matrices
            assert tracker.verify().position == len(before)
            neg.record_stance("GB", "territory", "oppose", valid_at=day(12))  # still writable
            assert tracker.verify().position == len(before) + 1

    def test_upgrading_a_current_store_changes_nothing(self, backend: Backend) -> None:
        """A second upgrade is a no-op."""
        engine = make_engine(backend.url())
        migrations.upgrade(engine)
        assert migrations.upgrade(engine) == migrations.HEAD
        engine.dispose()

    def test_step_by_step(self, backend: Backend) -> None:
        """Upgrading to the baseline, then to the head, gives the same state as one upgrade."""
        engine = make_engine(backend.url())
        assert migrations.upgrade(engine, migrations.BASELINE) == migrations.BASELINE
        assert migrations.current(engine) == (State.BEHIND, migrations.BASELINE)
        assert migrations.upgrade(engine) == migrations.HEAD
        engine.dispose()


class TestState:
    """state() and require_current(): what opening a store will need to decide, by reading only."""

    def test_behind_names_the_command(self, backend: Backend) -> None:
        """A store from before migrations is refused with an error that names `negotrack db upgrade`."""
        url = backend.url()
        negotrack.open(url).close()
        _as_before_migrations(url)
        engine = make_engine(url)
        with (
            engine.connect() as conn,
            pytest.raises(SchemaBehindError, match="negotrack db upgrade"),
        ):
            migrations.require_current(conn, "here")
        engine.dispose()

    def test_ahead_is_refused(self, backend: Backend) -> None:
        """A revision this negotrack does not know (a newer one migrated the store) is refused."""
        engine = make_engine(backend.url())
        migrations.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '9999'"))
        assert migrations.current(engine) == (State.AHEAD, "9999")
        with engine.connect() as conn, pytest.raises(StoreError, match="upgrade negotrack"):
            migrations.require_current(conn, "here")
        with pytest.raises(StoreError, match="9999"):
            migrations.upgrade(engine)
        engine.dispose()

    def test_current_passes(self, backend: Backend) -> None:
        """An up-to-date store passes require_current."""
        engine = make_engine(backend.url())
        migrations.upgrade(engine)
        with engine.connect() as conn:
            migrations.require_current(conn, "here")
        engine.dispose()


class TestOpening:
    """negotrack.open() against a store that is behind, ahead or missing."""

    def test_a_new_store_is_made_at_the_head(self, backend: Backend) -> None:
        """Opening an empty database makes the store at the newest revision (checkpoints and views included)."""
        url = backend.url()
        negotrack.open(url).close()
        engine = make_engine(url)
        assert migrations.current(engine) == (State.CURRENT, migrations.HEAD)
        engine.dispose()

    def test_a_store_behind_is_refused_or_upgraded(self, backend: Backend) -> None:
        """A store from before migrations is refused naming the command, and opened with upgrade=True."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            open_test_negotiation(tracker)
            before = list(tracker.events())
        _as_before_migrations(url)
        with pytest.raises(SchemaBehindError, match=r"before migrations.*negotrack db upgrade --db "):
            negotrack.open(url)
        with negotrack.open(url, upgrade=True) as tracker:
            assert list(tracker.events()) == before
        engine = make_engine(url)
        assert migrations.current(engine) == (State.CURRENT, migrations.HEAD)
        engine.dispose()

    def test_a_store_at_an_older_revision_is_behind(self, backend: Backend) -> None:
        """A store stamped at the baseline is behind, and says which revision it holds."""
        url = backend.url()
        engine = make_engine(url)
        migrations.upgrade(engine, migrations.BASELINE)
        engine.dispose()
        with pytest.raises(SchemaBehindError, match=f"schema {migrations.BASELINE}"):
            negotrack.open(url, create=False)

    def test_a_store_ahead_is_refused(self, backend: Backend) -> None:
        """A store a newer negotrack migrated is refused, even with upgrade=True."""
        url = backend.url()
        negotrack.open(url).close()
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '9999'"))
        engine.dispose()
        with pytest.raises(StoreError, match="upgrade negotrack"):
            negotrack.open(url, upgrade=True)

    def test_no_store_without_create(self, backend: Backend) -> None:
        """create=False on a database without a store refuses, and creates nothing."""
        url = backend.url()
        engine = make_engine(url)
        with engine.connect():  # an empty database (on SQLite: an empty file)
            pass
        with pytest.raises(StoreError, match="has no negotrack store"):
            negotrack.open(url, create=False)
        assert migrations.current(engine) == (State.EMPTY, None)
        engine.dispose()


class TestCommands:
    """negotrack db upgrade | current | history."""

    def test_upgrade_then_current(self, backend: Backend) -> None:
        """`db current` reports the state before and after `db upgrade`, as JSON too."""
        url = backend.url()
        out = io.StringIO()
        assert main(["db", "current", "--db", url, "--format", "json"], out) == 0
        assert json.loads(out.getvalue())["state"] == "empty"
        out = io.StringIO()
        assert main(["db", "upgrade", "--db", url], out) == 0
        assert out.getvalue() == f"upgraded from no revision to {migrations.HEAD}\n"
        out = io.StringIO()
        assert main(["db", "current", "--db", url, "--format", "json"], out) == 0
        assert json.loads(out.getvalue()) == {
            "revision": migrations.HEAD,
            "state": "current",
            "head": migrations.HEAD,
        }

    def test_history(self) -> None:
        """`db history` lists every revision with what it does."""
        out = io.StringIO()
        assert main(["db", "history", "--format", "json"], out) == 0
        rows = json.loads(out.getvalue())
        assert [r["revision"] for r in rows] == list(migrations.REVISIONS)
        assert "baseline" in rows[0]["doc"]

    def test_errors_are_one_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown revision is one line on stderr and exit status 1."""
        assert main(["db", "upgrade", "--db", "sqlite://", "--to", "nope"]) == 1
        assert capsys.readouterr().err.startswith("negotrack: error:")
