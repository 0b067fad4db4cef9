"""The store's side of trust: verify() is exact, anchored by receipts, keyed, and append-only holds.

Each tamper case runs on both SQL backends, with the SQL an attacker with
rights on the tables would run.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

import negotrack
from negotrack import ChainBrokenError
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, day, open_test_negotiation


def _sql(tracker: negotrack.Tracker, statement: str, **params: object) -> None:
    """Run ``statement`` on the tracker's database, as an attacker with table rights would."""
    with tracker.store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.text(statement), params)


class TestOneSnapshot:
    """verify() reads the chain and the indexes as of one instant."""

    def test_no_false_alarm_under_concurrent_writers(self, backend: Backend) -> None:
        """Writers opening new cells while verify() loops never make it report a broken log."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            open_test_negotiation(tracker)
        stop = threading.Event()
        failures: list[BaseException] = []

        def write(name: str) -> None:
            try:
                with negotrack.open(url) as writer:
                    neg = writer.negotiation(NEGOTIATION)
                    for n in range(10_000):
                        if stop.is_set():
                            return
                        clause = f"c-{name}-{n}"
                        neg.table_clause(clause, clause, valid_at=day(-1))
                        neg.record_stance("GB", clause, "support", valid_at=day(1))  # a new cell
            except BaseException as exc:
                failures.append(exc)

        writers = [threading.Thread(target=write, args=(str(i),)) for i in range(3)]
        for thread in writers:
            thread.start()
        alarms, runs = [], 0
        try:
            with negotrack.open(url) as checker:
                deadline = time.monotonic() + 6
                while time.monotonic() < deadline or runs < 20:
                    try:
                        checker.verify()
                    except ChainBrokenError as exc:
                        alarms.append(exc)
                    runs += 1
        finally:
            stop.set()
            for thread in writers:
                thread.join()
        assert not failures
        assert alarms == [], f"{len(alarms)} false alarms in {runs} runs: {alarms[0]}"


class TestIndexPositions:
    """An index row naming a position outside the log is named."""

    @pytest.mark.parametrize("position", [0, -3, 10_000])
    @pytest.mark.parametrize(
        "forge",
        [
            "INSERT INTO cell_entries (negotiation, party, clause, version, valid_at, position,"
            " withdrawn) VALUES ('test-talks', 'FR', 'territory', 1, 0, :position, false)",
            "INSERT INTO retractions (retracted, position) VALUES (:position, :position)",
        ],
    )
    def test_outside_the_log(self, backend: Backend, forge: str, position: int) -> None:
        """A cell entry or retraction at a position <= 0 or beyond the head is caught and named."""
        with negotrack.open(backend.url()) as tracker:
            neg = open_test_negotiation(tracker)
            neg.record_stance("GB", "territory", "support", valid_at=day(1))
            _sql(tracker, forge, position=position)
            with pytest.raises(ChainBrokenError, match=f"names position {position}, outside"):
                tracker.verify()


class TestPayloads:
    """verify() decodes every payload and holds the columns to it."""

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ('payload = \'{"not": "an event"}\'', "payload does not decode"),
            ("party = 'FR'", "party column does not match the payload"),
            ("valid_at = valid_at + 1", "valid_at column does not match the payload"),
        ],
    )
    def test_rewritten_row_with_recomputed_hashes(
        self, backend: Backend, change: str, reason: str
    ) -> None:
        """A row rewritten with its hash (and every later one) recomputed is still caught."""
        from negotrack.store.chain import GENESIS, chain

        with negotrack.open(backend.url()) as tracker:
            neg = open_test_negotiation(tracker)
            stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            neg.record_stance("FR", "territory", "oppose", valid_at=day(2))
            _rewrite(tracker, f"UPDATE events SET {change} WHERE position = {stance.position}")
            with tracker.store.engine.begin() as conn:  # type: ignore[attr-defined]
                rows = conn.execute(sa.text("SELECT * FROM events ORDER BY position")).mappings()
                previous = GENESIS
                for row in list(rows):
                    previous = chain(previous, row)
                    conn.execute(
                        sa.text("UPDATE events SET hash = :h WHERE position = :p"),
                        {"h": previous, "p": row["position"]},
                    )
            with pytest.raises(ChainBrokenError, match=reason) as caught:
                tracker.verify()
            assert caught.value.position == stance.position


def _rewrite(tracker: negotrack.Tracker, statement: str) -> None:
    """Run an UPDATE on ``events`` with the append-only triggers dropped, as an owner could."""
    _drop_triggers(tracker)
    _sql(tracker, statement)


def _drop_triggers(tracker: negotrack.Tracker) -> None:
    if tracker.store.dialect == "sqlite":  # type: ignore[attr-defined]
        _sql(tracker, "DROP TRIGGER IF EXISTS events_no_update")
        _sql(tracker, "DROP TRIGGER IF EXISTS events_no_delete")
    else:
        _sql(tracker, "ALTER TABLE events DISABLE TRIGGER USER")
