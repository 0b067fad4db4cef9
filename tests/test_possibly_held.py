"""Stances dated by a range: held from the latest bound, possibly held from the earliest."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import negotrack
from negotrack import ValidationError
from negotrack.cli import main
from tests.conftest import Backend

FIRST = date(2025, 11, 10)
PARTIES = ("GB", "FR", "DE")
BASIS = "'last week' in a report"


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


def open_talks(tracker: negotrack.Tracker) -> negotrack.Negotiation:
    neg = tracker.open_negotiation("talks", title="Talks", timezone="Europe/Kyiv")
    for party in PARTIES:
        neg.register_party(party, party)
    neg.table_clause("cap", "Army cap", valid_at=day(0))
    return neg


# One stance per party: (first day, last day, retracted?); a range when last > first.
stances = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 4), st.booleans()),
    min_size=len(PARTIES),
    max_size=len(PARTIES),
)


class TestMatrix:
    @given(log=stances, as_of=st.integers(0, 14))
    def test_possibly_held_is_between_the_bounds(
        self, any_backend: Backend, log: list[tuple[int, int, bool]], as_of: int
    ) -> None:
        """A stance on days e..l is possibly held as of day d when e <= d < l, held when l <= d."""
        expected_possible, expected_held = set(), set()
        with any_backend.tracker() as tracker:
            neg = open_talks(tracker)
            for party, (first, length, retracted) in zip(PARTIES, log, strict=True):
                last = first + length
                recorded = neg.record_stance(
                    party,
                    "cap",
                    "support",
                    valid_at=day(last),
                    earliest=day(first) if length else None,
                    basis=BASIS if length else None,
                )
                if retracted:
                    neg.retract(recorded.event.event_id, reason="misread")
                    continue
                if first <= as_of < last:
                    expected_possible.add(party)
                if last <= as_of:
                    expected_held.add(party)
            matrix = neg.matrix(day(as_of), possibly_held=True)
            assert {party for party, _ in matrix.possibly_held} == expected_possible
            assert {cell.party for cell in matrix} == expected_held
            assert not neg.matrix(day(as_of)).possibly_held  # only when asked

    def test_as_known_before_the_record(self, any_backend: Backend) -> None:
        """A range stance recorded later is not possibly held as known before it was recorded."""
        with any_backend.tracker() as tracker:
            neg = open_talks(tracker)
            before = tracker.event(neg.clauses()["cap"].versions[0].event_id).recorded_at
            neg.record_stance(
                "GB", "cap", "oppose", valid_at=day(5), earliest=day(1), basis=BASIS
            )
            assert neg.matrix(day(3), possibly_held=True).possibly_held
            assert not neg.matrix(day(3), known_at=before, possibly_held=True).possibly_held

    def test_the_range_is_kept(self, any_backend: Backend) -> None:
        """The bounds and the basis reach the event and the matrix's record of it."""
        with any_backend.tracker() as tracker:
            neg = open_talks(tracker)
            recorded = neg.record_stance(
                "GB", "cap", "oppose", valid_at=day(5), earliest=day(1), basis=BASIS
            )
            (held,) = neg.matrix(day(3), possibly_held=True).possibly_held["GB", "cap"]
            assert held.claim.event_id == recorded.event.event_id
            assert held.to_record()["basis"] == BASIS
            assert held.earliest == recorded.event.earliest  # type: ignore[union-attr]

    def test_a_range_needs_its_basis(self) -> None:
        with negotrack.open("memory://") as tracker:
            neg = open_talks(tracker)
            with pytest.raises(ValidationError, match="basis"):
                neg.record_stance("GB", "cap", "oppose", valid_at=day(5), earliest=day(1))


class TestCommandLine:
    def test_text_and_json(self, tmp_path: object) -> None:
        url = f"sqlite:///{tmp_path}/talks.db"
        with negotrack.open(url) as tracker:
            neg = open_talks(tracker)
            neg.record_stance("GB", "cap", "oppose", valid_at=day(5), earliest=day(1), basis=BASIS)
        out = io.StringIO()
        argv = ["matrix", "--as-of", day(3).isoformat(), "--possibly-held", "--db", url]
        assert main(argv, out=out) == 0
        assert "GB on cap: oppose, between 11 Nov 2025 and 15 Nov 2025" in out.getvalue()
        assert BASIS in out.getvalue()
        out = io.StringIO()
        assert main([*argv, "--format", "json"], out=out) == 0
        (held,) = json.loads(out.getvalue())["possibly_held"]
        assert (held["party"], held["stance"], held["basis"]) == ("GB", "oppose", BASIS)
        assert main([*argv, "--format", "csv"], out=io.StringIO()) != 0

    def test_history_shows_the_range(self, tmp_path: object) -> None:
        url = f"sqlite:///{tmp_path}/talks.db"
        with negotrack.open(url) as tracker:
            neg = open_talks(tracker)
            neg.record_stance("GB", "cap", "oppose", valid_at=day(5), earliest=day(1), basis=BASIS)
        out = io.StringIO()
        assert main(["history", "GB", "cap", "--db", url], out=out) == 0
        assert f"valid between 11 Nov 2025 and 15 Nov 2025 ({BASIS})" in out.getvalue()
