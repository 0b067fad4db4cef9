"""Several processes appending to one store at once (SQL backends: they share it by URL).

Threads sharing one store are part of the contract suite
(:class:`negotrack.testing.TestConcurrentWriters`); processes need a database
that several interpreters can open.
"""

from __future__ import annotations

import multiprocessing

import pytest

import negotrack
from negotrack.testing import check_log, check_race, race_one_cell, write_own_cell
from tests.conftest import Backend
from tests.strategies import PARTIES, open_test_negotiation

WRITERS = 4
APPENDS = 25


def _write_own_cell(url: str, party: str, appends: int) -> int:
    with negotrack.open(url) as tracker:
        return write_own_cell(tracker, party, appends)


def _race(url: str, appends: int) -> tuple[int, int]:
    with negotrack.open(url) as tracker:
        return race_one_cell(tracker, appends)


@pytest.fixture
def shared_url(backend: Backend) -> str:
    """A file (or server) store with the test negotiation declared, shared by the writers."""
    url = backend.url()
    with negotrack.open(url) as tracker:
        open_test_negotiation(tracker)
    return url


class TestProcesses:
    """Writers in separate processes (separate connections, separate interpreters)."""

    def test_processes_append_without_loss(self, shared_url: str) -> None:
        """Several processes on their own cells: all events land once, positions gap-free."""
        context = multiprocessing.get_context("spawn")
        with context.Pool(WRITERS) as pool:
            conflicts = pool.starmap(
                _write_own_cell, [(shared_url, p, APPENDS) for p in PARTIES[:WRITERS]]
            )
        assert conflicts == [0] * WRITERS
        with negotrack.open(shared_url) as tracker:
            check_log(tracker, WRITERS * APPENDS)

    def test_processes_racing_one_cell(self, shared_url: str) -> None:
        """Processes racing on one cell: at least one append lands per round, no version skipped."""
        context = multiprocessing.get_context("spawn")
        with context.Pool(WRITERS) as pool:
            results = pool.starmap(_race, [(shared_url, APPENDS)] * WRITERS)
        with negotrack.open(shared_url) as tracker:
            check_race(tracker, results, APPENDS)
