"""The store driven by a RuleBasedStateMachine against a plain Python model of the log."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import negotrack
from negotrack import ConcurrencyError, Ordinal
from tests.conftest import Backend
from tests.strategies import CLAUSES, PARTIES, day, open_test_negotiation, ordinals


@attrs.define
class ModelEntry:
    """The model's view of one stance event: plain data, no negotrack types but Ordinal."""

    kind: str  # the event type's name
    event_id: str
    parties: tuple[str, ...]
    clause: str
    stance: Ordinal | None  # None: a withdrawal
    valid_at: datetime
    recorded_at: datetime
    retracted_at: datetime | None = None


def model_matrix(
    entries: list[ModelEntry], as_of: datetime, known_at: datetime | None
) -> dict[tuple[str, str], tuple[str, Ordinal | None]]:
    """The semantics of DESIGN.md and docs/claims.md written as plainly as possible.

    Every entry here is inferred with no confidence, so the default claim rule
    keeps every claim at a cell's latest instant: the cell shows the first by
    event id, with no stance when they disagree, and is empty when all are
    withdrawals.  Recording order plays no part.
    """
    held: dict[tuple[str, str], list[ModelEntry]] = {}
    for entry in entries:
        if known_at is not None and entry.recorded_at > known_at:
            continue
        if entry.retracted_at is not None and (known_at is None or entry.retracted_at <= known_at):
            continue
        if entry.valid_at > as_of:
            continue
        for party in entry.parties:
            held.setdefault((party, entry.clause), []).append(entry)
    cells: dict[tuple[str, str], tuple[str, Ordinal | None]] = {}
    for key, found in held.items():
        last = max(e.valid_at for e in found)
        now = sorted((e for e in found if e.valid_at == last), key=lambda e: e.event_id)
        stances = {e.stance for e in now}
        if stances == {None}:
            continue
        cells[key] = (now[0].event_id, now[0].stance if len(stances) == 1 else None)
    return cells


class StoreMachine(RuleBasedStateMachine):
    """Random appends, conflicts, retractions and re-appends; after every step the store agrees."""

    backend: Backend  # any backend, memory included

    def __init__(self) -> None:
        super().__init__()
        self.tracker = self.backend.tracker()
        self.neg = open_test_negotiation(self.tracker)
        self.entries: list[ModelEntry] = []
        self.versions: dict[tuple[str, str], int] = {}
        self.log_length = len(list(self.tracker.events()))
        self.rng = random.Random(0)

    @initialize(seed=st.integers(0, 2**32))
    def seed(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def teardown(self) -> None:
        self.tracker.close()

    def _add(
        self, record: negotrack.RecordedEvent, parties: tuple[str, ...], stance: Ordinal | None
    ) -> None:
        event = record.event
        # Readable ids: recording the same content again while the first record
        # stands is the same record (a safe retry); after a retraction it is new.
        same = [
            e
            for e in self.entries
            if e.retracted_at is None
            and (e.kind, e.parties, e.clause, e.stance, e.valid_at)
            == (type(event).__name__, parties, event.clause, stance, event.valid_at)  # type: ignore[union-attr]
        ]
        if same:
            assert event.event_id == same[0].event_id
            return
        self.entries.append(
            ModelEntry(
                kind=type(event).__name__,
                event_id=event.event_id,
                parties=parties,
                clause=event.clause,  # type: ignore[union-attr]
                stance=stance,
                valid_at=event.valid_at,  # type: ignore[union-attr]
                recorded_at=record.recorded_at,
            )
        )
        for party in parties:
            key = (party, event.clause)  # type: ignore[union-attr]
            self.versions[key] = self.versions.get(key, 0) + 1
        self.log_length += 1

    @rule(
        party=st.sampled_from(PARTIES),
        clause=st.sampled_from(CLAUSES),
        stance=ordinals,
        n=st.integers(0, 6),
    )
    def record(self, party: str, clause: str, stance: Ordinal, n: int) -> None:
        version = self.versions.get((party, clause), 0)
        record = self.neg.record_stance(
            party, clause, stance, valid_at=day(n), expected_version=version
        )
        self._add(record, (party,), stance)

    @rule(
        signatories=st.lists(st.sampled_from(PARTIES), min_size=2, max_size=3, unique=True),
        clause=st.sampled_from(CLAUSES),
        stance=ordinals,
        n=st.integers(0, 6),
    )
    def joint_statement(self, signatories: list[str], clause: str, stance: Ordinal, n: int) -> None:
        record = self.neg.record_joint_statement(signatories, clause, stance, valid_at=day(n))
        self._add(record, tuple(signatories), stance)

    @rule(party=st.sampled_from(PARTIES), clause=st.sampled_from(CLAUSES), n=st.integers(0, 6))
    def withdraw(self, party: str, clause: str, n: int) -> None:
        record = self.neg.withdraw_stance(party, clause, valid_at=day(n))
        self._add(record, (party,), None)

    @rule(
        party=st.sampled_from(PARTIES),
        clause=st.sampled_from(CLAUSES),
        offset=st.integers(-3, 3).filter(bool),
    )
    def stale_append(self, party: str, clause: str, offset: int) -> None:
        """A writer expecting any other version, behind the cell or ahead of it, is refused."""
        version = self.versions.get((party, clause), 0)
        if version + offset < 0:
            offset = -version or 1  # as far behind as the cell allows (ahead for a new cell)
        # Day 7 is a date no other rule records at: the same stance at the same date
        # would be the same readable id, a retry that succeeds whatever it expected.
        with pytest.raises(ConcurrencyError):
            self.neg.record_stance(
                party, clause, "neutral", valid_at=day(7), expected_version=version + offset
            )

    @precondition(lambda self: any(e.retracted_at is None for e in self.entries))
    @rule(data=st.data())
    def retract(self, data: st.DataObject) -> None:
        live = [e for e in self.entries if e.retracted_at is None]
        entry = data.draw(st.sampled_from(live))
        record = self.neg.retract(entry.event_id, reason="misquote")
        entry.retracted_at = record.recorded_at
        self.log_length += 1

    @precondition(lambda self: bool(self.entries))
    @rule()
    def reappend(self) -> None:
        """Appending stored events again is a no-op."""
        stored = list(self.tracker.events())
        assert self.tracker.append([r.event for r in stored[-3:]]) == stored[-3:]

    @invariant()
    def log_is_as_modelled(self) -> None:
        records = list(self.tracker.events())
        assert len(records) == self.log_length
        assert [r.position for r in records] == list(range(1, len(records) + 1))
        stance_ids = [
            r.event.event_id
            for r in records
            if r.event.event_id in {e.event_id for e in self.entries}
        ]
        assert stance_ids == [e.event_id for e in self.entries]

    @invariant()
    def matrix_equals_model(self) -> None:
        records = list(self.tracker.events())
        as_of = day(self.rng.randint(-1, 7), self.rng.choice([0, 12]))
        known_at = None
        if records and self.rng.random() < 0.7:
            known_at = self.rng.choice(records).recorded_at + timedelta(
                microseconds=self.rng.choice([-1, 0])
            )
        found = self.neg.matrix(as_of, known_at=known_at)
        assert {k: (c.event_id, c.stance) for k, c in found.cells.items()} == model_matrix(
            self.entries, as_of, known_at
        )


class TestStoreMachine:
    """The state machine on every backend."""

    def test_store_agrees_with_model(self, any_backend: Backend) -> None:
        """Random operations keep the store and the plain model in agreement."""
        StoreMachine.backend = any_backend
        run_state_machine_as_test(
            StoreMachine,
            settings=settings(
                max_examples=max(10, settings.default.max_examples // 2),
                stateful_step_count=20,
                deadline=None,
            ),
        )
