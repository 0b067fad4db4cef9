"""Several threads and several processes appending to one store at once.

No event may be lost or duplicated, positions stay gap-free and in record
order, and a conflict is raised only where two writers really wrote the same
cell from the same version.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from collections.abc import Callable

import pytest

import negotrack
from negotrack import ConcurrencyError
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, PARTIES, day, open_test_negotiation

WRITERS = 4
APPENDS = 25


def _write_own_cell(url: str, party: str, appends: int) -> int:
    """Append to one's own cell with expected versions; return how many conflicts were seen."""
    conflicts = 0
    with negotrack.open(url) as tracker:
        neg = tracker.negotiation(NEGOTIATION)
        for i in range(appends):
            version = neg.cell_version(party, "territory")
            try:
                neg.record_stance(
                    party, "territory", "support", valid_at=day(i % 9), expected_version=version
                )
            except ConcurrencyError:
                conflicts += 1
    return conflicts


def _write_shared_cell(url: str, appends: int) -> tuple[int, int]:
    """Race others on one cell: read its version, then append expecting it."""
    written = conflicts = 0
    with negotrack.open(url) as tracker:
        neg = tracker.negotiation(NEGOTIATION)
        for i in range(appends):
            version = neg.cell_version("GB", "military-cap")
            try:
                neg.record_stance(
                    "GB", "military-cap", "oppose", valid_at=day(i % 9), expected_version=version
                )
                written += 1
            except ConcurrencyError:
                conflicts += 1
    return written, conflicts


def _check_log(url: str, expected_stances: int) -> None:
    with negotrack.open(url) as tracker:
        records = list(tracker.events())
        assert [r.position for r in records] == list(range(1, len(records) + 1))
        assert all(a.recorded_at < b.recorded_at for a, b in itertools.pairwise(records))
        assert len({r.event.event_id for r in records}) == len(records)
        stances = [r for r in records if type(r.event).__name__ == "StanceRecorded"]
        assert len(stances) == expected_stances
        assert tracker.verify() == len(records)


def _run_threads(targets: list[Callable[[], object]]) -> list[object]:
    results: list[object] = [None] * len(targets)
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
    return results


@pytest.fixture
def shared_url(backend: Backend) -> str:
    """A file (or server) store with the test negotiation declared, shared by the writers."""
    url = backend.url()
    with negotrack.open(url) as tracker:
        open_test_negotiation(tracker)
    return url


class TestThreads:
    """Writers in threads of one process, each with its own tracker."""

    def test_different_cells_never_conflict(self, shared_url: str) -> None:
        """Each writer owns a cell: every append lands, with no conflict and no gap."""
        conflicts = _run_threads(
            [lambda p=p: _write_own_cell(shared_url, p, APPENDS) for p in PARTIES[:WRITERS]]
        )
        assert conflicts == [0] * WRITERS
        _check_log(shared_url, WRITERS * APPENDS)

    def test_same_cell_conflicts_are_real(self, shared_url: str) -> None:
        """Racing writers on one cell: every attempt either lands or conflicts, and the cell counts the landed ones."""
        results = _run_threads(
            [lambda: _write_shared_cell(shared_url, APPENDS) for _ in range(WRITERS)]
        )
        written = sum(w for w, _ in results)  # type: ignore[misc]
        conflicts = sum(c for _, c in results)  # type: ignore[misc]
        assert written + conflicts == WRITERS * APPENDS
        assert written >= APPENDS  # at least one writer wins every round
        with negotrack.open(shared_url) as tracker:
            assert tracker.negotiation(NEGOTIATION).cell_version("GB", "military-cap") == written
        _check_log(shared_url, written)


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
        _check_log(shared_url, WRITERS * APPENDS)

    def test_processes_racing_one_cell(self, shared_url: str) -> None:
        """Processes racing on one cell: landed plus conflicted equals attempted, and nothing is lost."""
        context = multiprocessing.get_context("spawn")
        with context.Pool(WRITERS) as pool:
            results = pool.starmap(_write_shared_cell, [(shared_url, APPENDS)] * WRITERS)
        written = sum(w for w, _ in results)
        assert written + sum(c for _, c in results) == WRITERS * APPENDS
        _check_log(shared_url, written)
