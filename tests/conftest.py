"""Shared fixtures: the backends every storage test runs on, and hypothesis profiles.

Storage tests run once per backend: the in-memory store and SQLite always,
PostgreSQL when ``NEGOTRACK_TEST_POSTGRES_URL`` is set (CI sets it and fails,
rather than skips, when the server does not answer).

- ``make_store`` (what :mod:`negotrack.testing` asks for) and ``tracker`` hand
  out fresh stores and trackers on every backend, memory included;
- ``backend`` is for the tests that need a URL (reopening a store, other
  processes, the CLI, SQL internals): SQLite and PostgreSQL only.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings

import negotrack
from negotrack.store import EventStore
from negotrack.store.memory import MemoryEventStore
from negotrack.store.sql import SqlEventStore

if TYPE_CHECKING:
    # Imported for its type only: its @given tests must be defined after the
    # profile below is loaded, or they would keep hypothesis' defaults.
    from negotrack.testing import StoreFactory

settings.register_profile("dev", max_examples=25, deadline=None)
# CI must finish well inside its time budget on 2 cores with every storage test run
# on PostgreSQL too; the long profile is the documented deeper run (docs/testing.md).
settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
# Mutation testing runs each mutant's tests once, so it wants them few, repeatable and
# not shrunk: a failure is all a mutant's verdict needs (pyproject.toml [tool.mutmut]
# selects it; docs/testing.md says why). mutmut runs the suite more than once in one
# process, so a test class gets new instances: harmless here, the classes hold no state.
settings.register_profile(
    "mutation",
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.differing_executors, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("NEGOTRACK_HYPOTHESIS_PROFILE", "dev"))

POSTGRES_URL = os.environ.get("NEGOTRACK_TEST_POSTGRES_URL")
SKIP_POSTGRES = (
    "PostgreSQL tests need a server: set NEGOTRACK_TEST_POSTGRES_URL, e.g. "
    "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


class Backend:
    """Makes fresh, empty stores on one backend and cleans them up."""

    def __init__(self, name: str, tmp: Path) -> None:
        self.name = name
        self._tmp = tmp
        self._schemas: list[str] = []
        self._engine: sa.Engine | None = None
        if name == "postgresql":
            assert POSTGRES_URL is not None
            self._engine = sa.create_engine(POSTGRES_URL)
            with self._engine.connect() as conn:  # fail loudly if the server is away
                conn.execute(sa.text("SELECT 1"))

    def url(self, *, memory: bool = False) -> str:
        """The URL of a fresh SQL store (an in-memory SQLite one when ``memory``)."""
        if self.name == "memory":
            raise TypeError("the in-memory backend has no URL to share: take a store")
        if self.name == "sqlite":
            if memory:
                return "sqlite://"
            return f"sqlite:///{self._tmp / f'{uuid.uuid4().hex}.db'}"
        assert self._engine is not None
        assert POSTGRES_URL is not None
        schema = f"nt_{uuid.uuid4().hex[:16]}"
        with self._engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        self._schemas.append(schema)
        separator = "&" if "?" in POSTGRES_URL else "?"
        return f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"

    def allow_updates(self, conn: sa.Connection) -> None:
        """Let UPDATE through on ``events``: the test plays someone with a SQL prompt."""
        if self.name == "sqlite":
            conn.execute(sa.text("DROP TRIGGER events_no_update"))
        else:
            conn.execute(sa.text("ALTER TABLE events DISABLE TRIGGER events_append_only"))

    def store(self, *, memory: bool = False) -> EventStore:
        """A fresh, empty store; SQLite in memory when ``memory`` (one thread only)."""
        if self.name == "memory":
            return MemoryEventStore()
        return SqlEventStore(self.url(memory=memory))

    def tracker(self, *, memory: bool = True) -> negotrack.Tracker:
        """A tracker on a fresh store (SQLite in memory by default: it is faster)."""
        return negotrack.Tracker(self.store(memory=memory))

    def close(self) -> None:
        if self._engine is not None:
            for schema in self._schemas:  # one per transaction: each drop takes many locks
                with self._engine.begin() as conn:
                    conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            self._engine.dispose()


def _postgres() -> object:
    return pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(POSTGRES_URL is None, reason=SKIP_POSTGRES),
        ],
    )


def _made(request: pytest.FixtureRequest, factory: pytest.TempPathFactory) -> Iterator[Backend]:
    made = Backend(request.param, factory.mktemp(request.param))
    yield made
    made.close()


@pytest.fixture(scope="session", params=["memory", "sqlite", _postgres()])
def any_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """Each backend in turn, memory included (session-scoped, so hypothesis can use it)."""
    yield from _made(request, tmp_path_factory)


@pytest.fixture(scope="session", params=["sqlite", _postgres()])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """Each SQL backend in turn, for the tests that need a URL."""
    yield from _made(request, tmp_path_factory)


@pytest.fixture(scope="session")
def make_store(any_backend: Backend) -> StoreFactory:
    """Fresh stores on each backend (SQLite on files, so threads can share one)."""
    return any_backend.store


@pytest.fixture
def tracker(any_backend: Backend) -> Iterator[negotrack.Tracker]:
    """A tracker on a fresh store of each backend."""
    with any_backend.tracker() as opened:
        yield opened


GENEVA = Path(__file__).resolve().parents[1] / "examples" / "geneva_2025" / "geneva_2025.yaml"


@pytest.fixture(scope="session")
def geneva(tmp_path_factory: pytest.TempPathFactory) -> Iterator[negotrack.Tracker]:
    """The Geneva example imported once into a SQLite file; tests only read it."""
    from negotrack.io.dataset import import_dataset

    url = f"sqlite:///{tmp_path_factory.mktemp('geneva') / 'geneva.db'}"
    with negotrack.open(url) as opened:
        import_dataset(opened, GENEVA)
        yield opened
