"""The store's side of trust: verify() is exact, anchored by receipts, keyed, and append-only holds.

Each tamper case runs on both SQL backends, with the SQL an attacker with
rights on the tables would run.
"""

from __future__ import annotations

import io
import itertools
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import negotrack
from negotrack import ChainBrokenError, PartyRegistered, Receipt, StoreError, ValidationError, codec
from negotrack._time import now_micros, to_micros
from negotrack.cli import main
from negotrack.store import stream_of
from negotrack.store.chain import GENESIS, chain, row_of
from negotrack.store.keying import KEY_VARIABLE
from negotrack.store.memory import MemoryEventStore
from negotrack.store.schema import events
from tests.conftest import Backend
from tests.strategies import (
    NEGOTIATION,
    Command,
    build_log,
    command_lists,
    day,
    open_test_negotiation,
)


def _sql(tracker: negotrack.Tracker, statement: str, **params: object) -> None:
    """Run ``statement`` on the tracker's database, as an attacker with table rights would."""
    with tracker.store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.text(statement), params)


def _open_new_cells(url: str, name: str, rounds: int, stop: threading.Event | None = None) -> int:
    """Table a clause and record a stance on it (a new cell), ``rounds`` times; return the count."""
    with negotrack.open(url) as writer:
        neg = writer.negotiation(NEGOTIATION)
        for n in range(rounds):
            if stop is not None and stop.is_set():
                return n
            clause = f"c-{name}-{n}"
            neg.table_clause(clause, clause, valid_at=day(-1))
            neg.record_stance("GB", clause, "support", valid_at=day(1))
        return rounds


def _verify_while(url: str, writing: Callable[[], bool]) -> tuple[list[ChainBrokenError], int]:
    """Loop verify() while ``writing()`` (at least 20 times); return the alarms and the runs."""
    alarms, runs = [], 0
    with negotrack.open(url) as checker:
        while writing() or runs < 20:
            try:
                checker.verify()
            except ChainBrokenError as exc:
                alarms.append(exc)
            runs += 1
    return alarms, runs


class TestOneSnapshot:
    """verify() reads the chain and the indexes as of one instant: writers cause no false alarm."""

    def test_writer_threads(self, backend: Backend) -> None:
        """Threads opening new cells while verify() loops never make it report a broken log."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            open_test_negotiation(tracker)
        stop = threading.Event()
        with ThreadPoolExecutor(3) as pool:
            writes = [pool.submit(_open_new_cells, url, str(i), 10_000, stop) for i in range(3)]
            deadline = time.monotonic() + 6
            try:
                alarms, runs = _verify_while(url, lambda: time.monotonic() < deadline)
            finally:
                stop.set()
            assert all(write.result() > 0 for write in writes)
        assert alarms == [], f"{len(alarms)} false alarms in {runs} runs: {alarms[0]}"

    def test_writer_processes(self, backend: Backend) -> None:
        """Processes opening new cells while verify() loops never make it report a broken log."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            open_test_negotiation(tracker)
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            writes = pool.starmap_async(_open_new_cells, [(url, f"p{i}", 60) for i in range(2)])
            alarms, runs = _verify_while(url, lambda: not writes.ready())
            assert writes.get() == [60, 60]
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
        with negotrack.open(backend.url()) as tracker:
            neg = open_test_negotiation(tracker)
            stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            neg.record_stance("FR", "territory", "oppose", valid_at=day(2))
            _rewrite(tracker, f"UPDATE events SET {change} WHERE position = {stance.position}")
            _recompute_hashes(tracker)
            with pytest.raises(ChainBrokenError, match=reason) as caught:
                tracker.verify()
            assert caught.value.position == stance.position


def _rewrite(tracker: negotrack.Tracker, statement: str) -> None:
    """Run an UPDATE on ``events`` with the append-only triggers dropped, as an owner could."""
    _drop_triggers(tracker)
    _sql(tracker, statement)


_LOG_TABLES = ("events", "cells", "cell_entries", "retractions")


def _drop_triggers(tracker: negotrack.Tracker) -> None:
    """Take the append-only triggers off the log's tables, as their owner could."""
    for table in _LOG_TABLES:
        if tracker.store.dialect == "sqlite":  # type: ignore[attr-defined]
            _sql(tracker, f"DROP TRIGGER IF EXISTS {table}_no_update")
            _sql(tracker, f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            _sql(tracker, f"ALTER TABLE {table} DISABLE TRIGGER USER")


def _cut(tracker: negotrack.Tracker, first: int) -> None:
    """Delete the events from position ``first`` on, and every index row they imply."""
    _drop_triggers(tracker)
    _sql(tracker, "DELETE FROM cell_entries WHERE position >= :p", p=first)
    _sql(tracker, "DELETE FROM retractions WHERE position >= :p", p=first)
    _sql(
        tracker,
        "DELETE FROM cells WHERE NOT EXISTS (SELECT 1 FROM cell_entries e WHERE"
        " e.negotiation = cells.negotiation AND e.party = cells.party AND e.clause = cells.clause)",
    )
    _sql(tracker, "DELETE FROM events WHERE position >= :p", p=first)


def _recompute_hashes(tracker: negotrack.Tracker, first: int = 1) -> None:
    """Recompute the plain hashes from position ``first`` on, as a tamperer who reads the log would."""
    with tracker.store.engine.begin() as conn:  # type: ignore[attr-defined]
        rows = list(conn.execute(sa.text("SELECT * FROM events ORDER BY position")).mappings())
        previous = rows[first - 2]["hash"] if first > 1 else GENESIS
        for row in rows[first - 1 :]:
            previous = chain(previous, row)
            conn.execute(
                sa.text("UPDATE events SET hash = :h WHERE position = :p"),
                {"h": previous, "p": row["position"]},
            )


class TestReceipts:
    """verify() returns a receipt; verify(expect=...) proves nothing up to it changed or was cut."""

    def test_the_receipt_is_the_head(self, tracker: negotrack.Tracker) -> None:
        """The receipt names the newest event's position and hash; an empty log's is 0 and no hash."""
        assert tracker.verify() == Receipt(position=0, hash=None)
        assert str(tracker.verify()) == "0:"
        neg = open_test_negotiation(tracker)
        last = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        assert tracker.verify() == Receipt(position=last.position, hash=last.hash)

    @given(
        position=st.integers(1, 10**17),
        digest=st.text("0123456789abcdef", min_size=64, max_size=64),
    )
    def test_text_round_trips(self, position: int, digest: str) -> None:
        """A receipt's text reads back as the same receipt."""
        receipt = Receipt(position=position, hash=digest)
        assert Receipt.parse(str(receipt)) == receipt
        assert Receipt.parse("0:") == Receipt(position=0, hash=None)

    @pytest.mark.parametrize(
        "text", ["", "12", "12:abc", "-1:" + "a" * 64, "0:" + "a" * 64, "3:", "x:y"]
    )
    def test_bad_text_is_refused(self, text: str) -> None:
        """Text that is not a receipt is a ValidationError that shows the text."""
        with pytest.raises(ValidationError, match="is not a receipt"):
            Receipt.parse(text)

    def test_a_growing_log_holds_its_receipts(self, tracker: negotrack.Tracker) -> None:
        """Appending after a receipt keeps it valid: the log only grew."""
        neg = open_test_negotiation(tracker)
        kept = tracker.verify()
        neg.record_stance("GB", "territory", "support", valid_at=day(1))
        assert tracker.verify(expect=kept).position == kept.position + 1
        assert tracker.verify(expect=str(kept)).position == kept.position + 1

    def test_cut_rows_are_caught_only_with_a_receipt(self, backend: Backend) -> None:
        """Deleting the newest events leaves a chain that verifies; the receipt names the cut."""
        with negotrack.open(backend.url()) as tracker:
            neg = open_test_negotiation(tracker)
            neg.record_stance("GB", "territory", "support", valid_at=day(1))
            kept = tracker.verify()
            _cut(tracker, kept.position - 1)
            cut = tracker.verify()
            assert cut.position == kept.position - 2
            with pytest.raises(ChainBrokenError, match="the log was cut") as caught:
                tracker.verify(expect=kept)
            assert caught.value.position == kept.position - 1

    def test_rewritten_log_is_caught_only_with_a_receipt(self, backend: Backend) -> None:
        """A stance changed in place, with every hash recomputed, verifies; not against a receipt."""
        with negotrack.open(backend.url()) as tracker:
            neg = open_test_negotiation(tracker)
            stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            neg.record_stance("FR", "territory", "oppose", valid_at=day(1))
            kept = tracker.verify()
            _rewrite(
                tracker,
                "UPDATE events SET payload = replace(payload, 'support', 'oppose')"
                f" WHERE position = {stance.position}",
            )
            _recompute_hashes(tracker)
            assert tracker.verify().position == kept.position
            with pytest.raises(ChainBrokenError, match="receipt") as caught:
                tracker.verify(expect=kept)
            assert caught.value.position == kept.position

    def test_the_command_checks_a_receipt(
        self, backend: Backend, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`negotrack verify` prints the receipt; `--expect` with it passes, then fails after a cut."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            neg = open_test_negotiation(tracker)
            neg.record_stance("GB", "territory", "support", valid_at=day(1))
            out = io.StringIO()
            assert main(["verify", "--db", url], out=out) == 0
            text = out.getvalue().splitlines()[-1].removeprefix("receipt: ")
            assert text == str(tracker.verify())
            assert main(["verify", "--db", url, "--expect", text], out=io.StringIO()) == 0
            _cut(tracker, tracker.last_position())
            capsys.readouterr()
            assert main(["verify", "--db", url, "--expect", text], out=io.StringIO()) != 0
            error = capsys.readouterr().err.strip()
            assert "the log was cut" in error
            assert len(error.splitlines()) == 1
            assert main(["verify", "--db", url, "--expect", "12:abc"], out=io.StringIO()) != 0
            assert "'12:abc' is not a receipt" in capsys.readouterr().err


KEY = "correct horse battery staple"


def _forge_tail(tracker: negotrack.Tracker, recorded_at: int | None = None) -> int:
    """Insert an event after the head with its plain hash recomputed (INSERT rights only).

    Its record time is 1 µs after the head's unless given.
    """
    last = list(tracker.events())[-1]
    event = PartyRegistered(negotiation=NEGOTIATION, party="XX", name="Forged", kind="state")
    row = row_of(
        event,
        payload=codec.encode(event),
        position=last.position + 1,
        stream=stream_of(event),
        version=1,
        recorded_at=to_micros(last.recorded_at) + 1 if recorded_at is None else recorded_at,
    )
    assert last.hash is not None
    row["hash"] = chain(last.hash, row)
    _sql_insert(tracker, row)
    return last.position + 1


def _sql_insert(tracker: negotrack.Tracker, row: dict[str, object]) -> None:
    """Insert ``row`` into ``events`` (INSERT rights are all it takes)."""
    with tracker.store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.insert(events), row)


class TestKeyedChain:
    """With NEGOTRACK_CHAIN_KEY, INSERT rights alone cannot forge a tail that verifies."""

    def test_a_forged_tail_is_caught_with_the_key(
        self, backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """In a keyed store the forged row's plain hash is not its HMAC: caught at its position."""
        monkeypatch.setenv(KEY_VARIABLE, KEY)
        with negotrack.open(backend.url()) as tracker:
            open_test_negotiation(tracker)
            head = tracker.verify()
            forged = _forge_tail(tracker)
            with pytest.raises(ChainBrokenError, match="stored hash") as caught:
                tracker.verify()
            assert caught.value.position == forged == head.position + 1

    def test_keyed_links_are_not_the_plain_chain(
        self, any_backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The same rows chained with the key and without give other hashes: a keyed export
        restores with its hashes only where the same key is set."""
        monkeypatch.setenv(KEY_VARIABLE, KEY)
        with negotrack.Tracker(any_backend.store()) as keyed:
            open_test_negotiation(keyed)
            records = list(keyed.events())
        with negotrack.Tracker(any_backend.store()) as same_key:
            assert same_key.restore(records) == records
        monkeypatch.delenv(KEY_VARIABLE)
        refused = pytest.raises(StoreError, match="event 1 of the restore does not continue")
        with negotrack.Tracker(any_backend.store()) as plain, refused:
            plain.restore(records)

    def test_a_missing_or_wrong_key(
        self, backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A keyed store reads without its key, but appends and verify() need the right one."""
        url = backend.url()
        monkeypatch.setenv(KEY_VARIABLE, KEY)
        with negotrack.open(url) as tracker:
            neg = open_test_negotiation(tracker)
        for key, refusal in [
            (None, "is keyed: set NEGOTRACK_CHAIN_KEY"),
            ("guess", "is not the key"),
        ]:
            if key is None:
                monkeypatch.delenv(KEY_VARIABLE)
            else:
                monkeypatch.setenv(KEY_VARIABLE, key)
            with negotrack.open(url) as tracker:
                assert len(list(tracker.events())) == 9
                neg = tracker.negotiation(NEGOTIATION)
                with pytest.raises(StoreError, match=refusal):
                    neg.record_stance("GB", "territory", "support", valid_at=day(1))
                with pytest.raises(StoreError, match=refusal):
                    tracker.verify()
                assert tracker.last_position() == 9  # nothing written

    @pytest.mark.parametrize(
        "statement",
        [
            "DELETE FROM negotrack_store WHERE key = 'chain'",
            "UPDATE negotrack_store SET value = 'x' WHERE key = 'chain'",
            "UPDATE negotrack_store SET key = 'unchained' WHERE key = 'chain'",
        ],
    )
    def test_the_marker_is_kept(
        self, backend: Backend, monkeypatch: pytest.MonkeyPatch, statement: str
    ) -> None:
        """A keyed store's marker cannot be changed or removed (nor replaced, on SQLite)."""
        monkeypatch.setenv(KEY_VARIABLE, KEY)
        with negotrack.open(backend.url()) as tracker:
            open_test_negotiation(tracker)
            statements = [statement]
            if backend.name == "sqlite":
                statements.append("INSERT OR REPLACE INTO negotrack_store VALUES ('chain', 'x')")
            for each in statements:
                with pytest.raises(sa.exc.DBAPIError, match="chain marker is written once"):
                    _sql(tracker, each)
            assert tracker.verify().position == 9

    def test_a_key_for_a_plain_store_is_refused(
        self, backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A key set for a plain store that holds events is refused, not silently unused."""
        url = backend.url()
        with negotrack.open(url) as tracker:
            open_test_negotiation(tracker)
        monkeypatch.setenv(KEY_VARIABLE, KEY)
        with negotrack.open(url) as tracker, pytest.raises(StoreError, match="chain is plain"):
            tracker.verify()

    def test_a_plain_export_restores_into_a_keyed_store(
        self, backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Restoring a plain log checks its hashes against the plain chain and stores the keyed one."""
        with negotrack.Tracker(MemoryEventStore()) as plain:
            open_test_negotiation(plain)
            records = list(plain.events())
        monkeypatch.setenv(KEY_VARIABLE, KEY)
        with negotrack.open(backend.url()) as keyed:
            keyed.restore(records)
            assert keyed.verify().position == len(records)
            assert keyed.verify().hash != records[-1].hash


_COLUMNS = {
    "events": "position, event_id, stream, version, type, schema_version, negotiation, party,"
    " clause, valid_at, recorded_at, payload, hash",
    "cells": "negotiation, party, clause",
    "cell_entries": "negotiation, party, clause, version, valid_at, position, withdrawn",
    "retractions": "retracted, position",
}
_CONFLICT = {
    "events": "position",
    "cells": "negotiation, party, clause",
    "cell_entries": "negotiation, party, clause, valid_at, position",
    "retractions": "retracted",
}


def _upserts(dialect: str, table: str) -> list[str]:
    """The statements that rewrite a row of ``table`` through an insert, on ``dialect``."""
    columns = _COLUMNS[table]
    source = f"SELECT {columns} FROM {table} WHERE true"  # WHERE: SQLite's upsert grammar
    update = f"ON CONFLICT ({_CONFLICT[table]}) DO UPDATE SET {columns.split(',')[-1].strip()}"
    upsert = f"INSERT INTO {table} ({columns}) {source} {update} = excluded.{columns.split(',')[-1].strip()}"
    if dialect == "postgresql":
        return [upsert]
    return [
        f"INSERT OR REPLACE INTO {table} ({columns}) {source}",
        f"REPLACE INTO {table} ({columns}) {source}",
        upsert,
    ]


class TestUpserts:
    """Append-only holds against inserts that replace a row (INSERT OR REPLACE, ON CONFLICT DO UPDATE)."""

    @pytest.mark.parametrize("table", list(_COLUMNS))
    def test_refused_on_every_log_table(self, backend: Backend, table: str) -> None:
        """Each upsert of a stored row is refused by the database; the log is unchanged and verifies."""
        with negotrack.open(backend.url()) as tracker:
            neg = open_test_negotiation(tracker)
            stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            neg.retract(stance.event.event_id, reason="misread")
            before = list(tracker.events())
            kept = tracker.verify()
            for statement in _upserts(backend.name, table):
                with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                    _sql(tracker, statement)
            assert list(tracker.events()) == before
            assert tracker.verify(expect=kept) == kept

    def test_a_replace_by_another_key_is_refused(self, backend: Backend) -> None:
        """On SQLite a row replaced through its event id (not its position) is refused too."""
        if backend.name != "sqlite":
            pytest.skip("INSERT OR REPLACE is SQLite's")
        with negotrack.open(backend.url()) as tracker:
            open_test_negotiation(tracker)
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                _sql(
                    tracker,
                    "INSERT OR REPLACE INTO events SELECT position + 100, event_id, stream,"
                    " version + 100, type, schema_version, negotiation, party, clause, valid_at,"
                    " recorded_at, payload, hash FROM events WHERE position = 1",
                )
            assert tracker.verify().position == 9

    def test_a_retried_append_still_writes_nothing(self, backend: Backend) -> None:
        """The insert triggers keep the write path's conflict on a stored id: a retry succeeds."""
        with negotrack.open(backend.url()) as tracker:
            neg = open_test_negotiation(tracker)
            stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            assert tracker.append([stance.event]) == [stance]
            assert tracker.last_position() == stance.position


def _set_clock(monkeypatch: pytest.MonkeyPatch, clock: Callable[[], int]) -> None:
    """Make the client's clock (what SQLite and the memory store read) ``clock``."""
    monkeypatch.setattr("negotrack.store.sql.write.now_micros", clock)
    monkeypatch.setattr("negotrack.store.memory.now_micros", clock)


class TestRecordTimes:
    """Record times strictly increase, come from the server on PostgreSQL, and stay in range."""

    def test_strictly_increasing_when_the_clock_goes_back(
        self, any_backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A client clock that runs backwards still gives strictly increasing record times."""
        ticks = itertools.count()
        start = now_micros()
        _set_clock(monkeypatch, lambda: start - 1_000_000 * next(ticks))
        with negotrack.Tracker(any_backend.store()) as tracker:
            neg = open_test_negotiation(tracker)
            for n in range(3):
                neg.record_stance("GB", "territory", "support", valid_at=day(n))
            times = [r.recorded_at for r in tracker.events()]
            assert all(a < b for a, b in itertools.pairwise(times))

    def test_postgres_uses_the_server_clock(
        self, backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A client clock a year fast moves SQLite's record times, not PostgreSQL's."""
        year = 365 * 86_400 * 1_000_000
        real = now_micros()
        _set_clock(monkeypatch, lambda: now_micros() + year)
        with negotrack.open(backend.url()) as tracker:
            open_test_negotiation(tracker)
            recorded = to_micros(list(tracker.events())[-1].recorded_at)
        if backend.name == "postgresql":
            assert abs(recorded - real) < 3_600 * 1_000_000
        else:
            assert recorded > real + year - 3_600 * 1_000_000

    @pytest.mark.parametrize("late", [datetime(9999, 12, 31, tzinfo=UTC), None])
    def test_a_restore_from_the_future_is_refused(
        self, any_backend: Backend, late: datetime | None
    ) -> None:
        """A restored record time past the clock skew is refused, naming the event; the store stays empty."""
        with negotrack.Tracker(MemoryEventStore()) as source:
            open_test_negotiation(source)
            records = list(source.events())
        when = late or records[-1].recorded_at + timedelta(days=2)
        forged = [*records[:-1], attrs.evolve(records[-1], recorded_at=when, hash=None)]
        with negotrack.Tracker(any_backend.store()) as target:
            with pytest.raises(
                StoreError, match=f"event {len(records)} of the restore was recorded at"
            ):
                target.restore(forged)
            assert target.last_position() == 0
            target.restore(records)  # the same backup, recorded in the past, restores
            neg = target.negotiation(NEGOTIATION)
            neg.record_stance("GB", "territory", "support", valid_at=day(1))
            assert target.verify().position == len(records) + 1

    def test_a_record_time_at_the_end_of_time_cannot_overflow(self, backend: Backend) -> None:
        """An inserted row recorded at the last representable instant makes appends fail cleanly."""
        with negotrack.open(backend.url()) as tracker:
            neg = open_test_negotiation(tracker)
            _forge_tail(tracker, recorded_at=to_micros(datetime.max.replace(tzinfo=UTC)))
            with pytest.raises(StoreError, match="leaves no time"):
                neg.record_stance("GB", "territory", "support", valid_at=day(1))


# -- the tamper table of docs/reliability.md ------------------------------------------

_STANCE = 10  # GB's stance in the log _tamper_log() builds: 9 declarations, then 4 events
_HEAD = 13


def _tamper_log(tracker: negotrack.Tracker) -> None:
    """Two stances on one clause, a third stance retracted: 13 events."""
    neg = open_test_negotiation(tracker)
    assert neg.record_stance("GB", "territory", "support", valid_at=day(1)).position == _STANCE
    neg.record_stance("FR", "territory", "oppose", valid_at=day(2))
    third = neg.record_stance("UA", "military-cap", "support", valid_at=day(1))
    assert neg.retract(third.event.event_id, reason="misread").position == _HEAD


def _edit_in_place(tracker: negotrack.Tracker) -> None:
    _rewrite(
        tracker,
        f"UPDATE events SET payload = replace(payload, 'support', 'oppose') WHERE position = {_STANCE}",
    )


def _delete_a_middle_event(tracker: negotrack.Tracker) -> None:
    _drop_triggers(tracker)
    _sql(tracker, "DELETE FROM cell_entries WHERE position = :p", p=_STANCE)
    _sql(tracker, "DELETE FROM events WHERE position = :p", p=_STANCE)


def _swap_two_payloads(tracker: negotrack.Tracker) -> None:
    _drop_triggers(tracker)
    with tracker.store.engine.begin() as conn:  # type: ignore[attr-defined]
        first, second = (
            conn.execute(
                sa.text("SELECT payload FROM events WHERE position = :p"), {"p": p}
            ).scalar()
            for p in (_STANCE, _STANCE + 1)
        )
        for position, payload in ((_STANCE, second), (_STANCE + 1, first)):
            conn.execute(
                sa.text("UPDATE events SET payload = :x WHERE position = :p"),
                {"x": payload, "p": position},
            )


def _index_row_beyond_the_head(tracker: negotrack.Tracker) -> None:
    _sql(
        tracker,
        "INSERT INTO cell_entries (negotiation, party, clause, version, valid_at, position,"
        " withdrawn) VALUES ('test-talks', 'GB', 'territory', 2, 0, 99, false)",
    )


def _index_row_at_zero(tracker: negotrack.Tracker) -> None:
    _sql(tracker, "INSERT INTO retractions (retracted, position) VALUES (0, 0)")


def _rewrite_and_recompute(tracker: negotrack.Tracker) -> None:
    _edit_in_place(tracker)
    _recompute_hashes(tracker, first=_STANCE)


@attrs.frozen
class Tamper:
    """One way to alter a stored log, and which check catches it."""

    name: str
    run: Callable[[negotrack.Tracker], object]
    plain: bool  # verify() on a plain store
    receipt: bool  # verify(expect=a receipt taken before) on a plain store
    keyed: bool  # verify() on a keyed store (NEGOTRACK_CHAIN_KEY)


TAMPERS = [
    Tamper("edit a payload in place", _edit_in_place, True, True, True),
    Tamper("delete a middle event", _delete_a_middle_event, True, True, True),
    Tamper("swap two events' payloads", _swap_two_payloads, True, True, True),
    Tamper("index row beyond the head", _index_row_beyond_the_head, True, True, True),
    Tamper("index row at position 0", _index_row_at_zero, True, True, True),
    Tamper("forge a tail event with its hash", _forge_tail, False, False, True),
    Tamper("rewrite an event, recompute later hashes", _rewrite_and_recompute, False, True, True),
    Tamper("cut the newest events", lambda t: _cut(t, _HEAD - 1), False, True, False),
]


class TestTamperTable:
    """Each tampering of docs/reliability.md, caught exactly by the checks the table says."""

    @pytest.mark.parametrize("tamper", TAMPERS, ids=[t.name for t in TAMPERS])
    def test_plain_store(self, backend: Backend, tamper: Tamper) -> None:
        """On a plain store: verify() alone, then against a receipt taken before."""
        with negotrack.open(backend.url()) as tracker:
            _tamper_log(tracker)
            kept = tracker.verify()
            tamper.run(tracker)
            _expect_caught(tracker, tamper.plain)
            _expect_caught(tracker, tamper.receipt, kept)

    @pytest.mark.parametrize("tamper", TAMPERS, ids=[t.name for t in TAMPERS])
    def test_keyed_store(
        self, backend: Backend, tamper: Tamper, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """On a keyed store, by a tamperer without the key: verify() alone."""
        monkeypatch.setenv(KEY_VARIABLE, KEY)
        with negotrack.open(backend.url()) as tracker:
            _tamper_log(tracker)
            tamper.run(tracker)
            _expect_caught(tracker, tamper.keyed)


def _expect_caught(tracker: negotrack.Tracker, caught: bool, expect: Receipt | None = None) -> None:
    if not caught:
        tracker.verify(expect=expect)
        return
    with pytest.raises(ChainBrokenError, match="position") as raised:
        tracker.verify(expect=expect)
    assert raised.value.reason


class TestReceiptProperty:
    """On any log built through the public API, every head it passed through is a receipt it holds."""

    @settings(max_examples=25)  # a PostgreSQL schema per example: a fixed budget bounds CI
    @given(cmds=command_lists)
    def test_every_earlier_head_holds(self, any_backend: Backend, cmds: list[Command]) -> None:
        """The receipt at each position is the record's hash there (read back, not verified);
        each holds, and the same position with another record's hash fails there."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            build_log(neg, cmds)
            records = list(tracker.events())
            assert tracker.verify() == Receipt(position=len(records), hash=records[-1].hash)
            pairs = list(itertools.pairwise(records))
            for before, record in pairs[:: max(1, len(pairs) // 8)]:  # each verify reads all
                assert tracker.verify(expect=Receipt(position=record.position, hash=record.hash))
                with pytest.raises(ChainBrokenError) as caught:
                    tracker.verify(expect=Receipt(position=record.position, hash=before.hash))
                assert caught.value.position == record.position
