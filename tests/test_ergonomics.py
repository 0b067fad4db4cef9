"""The facade's conveniences: ISO date strings, get-or-create, party_history, the known_at hint."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import negotrack
from negotrack import (
    DuplicateError,
    JointStatementRecorded,
    NaiveDatetimeError,
    PartyKind,
    PartyRegistered,
    StanceRecorded,
    StanceWithdrawn,
    UnknownClauseError,
    UnknownPartyError,
    ValidationError,
)
from negotrack._time import parse_when, to_micros
from negotrack.io.dataset import import_dataset
from negotrack.projections.matrix import project_matrix
from tests import strategies
from tests.conftest import Backend
from tests.test_dataset import GENEVA


@pytest.fixture
def geneva(backend: Backend) -> Iterator[negotrack.Negotiation]:
    """The Geneva example on a fresh store, closed after the test."""
    with backend.tracker() as tracker:
        import_dataset(tracker, GENEVA)
        yield tracker.negotiation("us-peace-plan-2025")


class TestIsoStrings:
    """A date may be written as an ISO string wherever negotrack takes one."""

    @given(strategies.iso_times())
    def test_parse_round_trip(self, written: tuple[str, date | datetime]) -> None:
        """The string of a date or an aware datetime reads back as that value."""
        text, value = written
        parsed = parse_when(text, "as_of")
        assert type(parsed) is type(value)
        if isinstance(value, datetime):
            # As instants: Python never finds an hour a clock repeats equal across zones.
            assert isinstance(parsed, datetime)
            assert to_micros(parsed) == to_micros(value)
        else:
            assert parsed == value

    @settings(max_examples=25, deadline=None)
    @given(strategies.command_lists, strategies.as_of_times(), st.data())
    def test_matrix_of_strings_is_the_fold(
        self, cmds: list[strategies.Command], as_of: datetime, data: st.DataObject
    ) -> None:
        """matrix(as_of as a string, known_at as a string) equals the reference fold."""
        with negotrack.open("sqlite://") as tracker:
            neg = strategies.open_test_negotiation(tracker)
            strategies.build_log(neg, cmds)
            records = list(tracker.events())
            known = data.draw(strategies.known_at_times(records))
            got = neg.matrix(
                as_of.isoformat(), known_at=None if known is None else known.isoformat()
            )
            assert got == project_matrix(records, neg.id, as_of, known)

    def test_everywhere(self, geneva: negotrack.Negotiation) -> None:
        """valid_at, as_of, known_at and a diff's ends all take strings."""
        assert geneva.matrix("2025-11-22") == geneva.matrix(date(2025, 11, 22))
        assert list(geneva.diff("2025-11-21", "2025-11-22")) == list(
            geneva.diff(date(2025, 11, 21), date(2025, 11, 22))
        )
        later = "2099-01-01T00:00:00+00:00"
        assert (
            geneva.matrix("2025-11-22", known_at=later).cells == geneva.matrix("2025-11-22").cells
        )
        assert geneva.matrix("2025-11-22", known_at=later).known_at == datetime(
            2099, 1, 1, tzinfo=UTC
        )
        recorded = geneva.record_stance("GB", "territory", "oppose", valid_at="2025-11-24")
        assert recorded.event.valid_at == datetime(2025, 11, 24, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (lambda n: n.matrix("22/11/2025"), "as_of"),
            (lambda n: n.matrix("2025-11-22", known_at="yesterday"), "known_at"),
            (lambda n: n.diff("2025-13-01", "2025-11-22"), "from"),
            (lambda n: n.diff("2025-11-21", "soon"), "to"),
            (lambda n: n.record_stance("GB", "territory", "oppose", valid_at="x"), "valid_at"),
        ],
    )
    def test_bad_string_names_the_field(
        self, geneva: negotrack.Negotiation, call: object, field: str
    ) -> None:
        """A string that is not ISO 8601 is a ValidationError naming the field."""
        with pytest.raises(ValidationError, match=rf"^{field} = .* is not a date"):
            call(geneva)  # type: ignore[operator]

    def test_naive_string_is_refused(self, geneva: negotrack.Negotiation) -> None:
        """A date-time string without a zone names no instant."""
        with pytest.raises(NaiveDatetimeError, match="known_at"):
            geneva.matrix("2025-11-22", known_at="2025-11-22T10:00:00")


class TestGetOrCreate:
    """Declaring the same thing again returns it; declaring it differently says what differs."""

    def test_the_same_declaration_again(self, backend: Backend) -> None:
        """A notebook run twice: open_negotiation, register_party and table_clause answer again."""
        with backend.tracker() as tracker:
            for _ in range(2):
                plan = tracker.open_negotiation("talks", title="Talks", timezone="Europe/Oslo")
                party = plan.register_party("GB", "United Kingdom", aliases=["UK"])
                clause = plan.table_clause("cap", "Cap", valid_at="2025-11-20", topic="military")
            assert tracker.last_position() == 3
            assert (party.position, clause.position) == (2, 3)
            assert plan.timezone.key == "Europe/Oslo"

    def test_a_different_declaration(self, backend: Backend) -> None:
        """A party registered again under another name is refused, naming the field."""
        with backend.tracker() as tracker:
            plan = tracker.open_negotiation("talks", title="Talks")
            first = plan.register_party("GB", "United Kingdom")
            with pytest.raises(DuplicateError) as raised:
                plan.register_party("GB", "UK")
            assert raised.value.differences == {"name": ("United Kingdom", "UK")}
            assert raised.value.existing == first.event.event_id
            assert not raised.value.same_declaration
            assert "name is 'United Kingdom', not 'UK'" in str(raised.value)
            with pytest.raises(DuplicateError, match="title is 'Talks', not 'Other'"):
                tracker.open_negotiation("talks", title="Other")
            plan.table_clause("cap", "Cap", valid_at=date(2025, 11, 20))
            with pytest.raises(DuplicateError, match="valid_at"):
                plan.table_clause("cap", "Cap", valid_at=date(2025, 11, 21))
            assert tracker.last_position() == 3

    def test_low_level_append_still_refuses(self, backend: Backend) -> None:
        """append() of a second declaring event is a duplicate, marked as the same declaration."""
        with backend.tracker() as tracker:
            tracker.open_negotiation("talks", title="Talks")
            again = PartyRegistered(
                negotiation="talks",
                event_id="second",
                party="GB",
                name="United Kingdom",
                kind=PartyKind.STATE,
            )
            tracker.append([PartyRegistered(
                negotiation="talks", event_id="first", party="GB", name="United Kingdom", kind=PartyKind.STATE
            )])  # fmt: skip
            with pytest.raises(DuplicateError) as raised:
                tracker.append([again])
            assert raised.value.same_declaration
            assert raised.value.existing == "first"


class TestPartyHistory:
    """A party's history over every clause."""

    def test_every_clause_the_party_spoke_on(self, geneva: negotrack.Negotiation) -> None:
        """The clauses of party_history are those whose stance events name the party."""
        named = set()
        for record in geneva._tracker.events(negotiation=geneva.id):
            event = record.event
            if isinstance(event, StanceRecorded | StanceWithdrawn) and event.party == "GB":
                named.add(event.clause)
            if isinstance(event, JointStatementRecorded) and "GB" in event.signatories:
                named.add(event.clause)
        histories = geneva.party_history("GB")
        assert [h.clause for h in histories] == sorted(named)
        assert all(h.party == "GB" for h in histories)
        assert histories[0].entries == geneva.history("GB", histories[0].clause).entries

    def test_unknown_party_or_clause(self, geneva: negotrack.Negotiation) -> None:
        """An unregistered party or an untabled clause is an error, not an empty history."""
        with pytest.raises(UnknownPartyError):
            geneva.party_history("XX")
        with pytest.raises(UnknownPartyError):
            geneva.history("XX", "military-cap")
        with pytest.raises(UnknownClauseError):
            geneva.history("GB", "no-such-clause")


class TestKnownAtHint:
    """An empty matrix known before every record says why."""

    def test_hint(self, geneva: negotrack.Negotiation) -> None:
        """Known at the day the party spoke (before the import), the matrix hints at record times."""
        early = geneva.matrix("2025-11-22", known_at="2025-11-22")
        assert len(early) == 0
        assert early.hint is not None
        assert "record times are when the store learned" in early.hint
        assert "note: known_at" in repr(early)
        assert geneva.matrix("2025-11-22").hint is None
        assert early == geneva.matrix("2025-11-22", known_at="2025-11-22")  # not part of the value


class TestImport:
    """`import negotrack` stays light."""

    def test_heavy_modules_are_not_imported(self) -> None:
        """No pandas, pyarrow, matplotlib, rich, alembic or SQLAlchemy after `import negotrack`."""
        heavy = ["pandas", "pyarrow", "matplotlib", "rich", "alembic", "sqlalchemy"]
        code = f"import sys, negotrack; print([m for m in {heavy!r} if m in sys.modules])"
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == "[]"

    def test_version_is_lazy_and_right(self) -> None:
        """__version__ is the package metadata's; the lookup's helpers stay out of the namespace."""
        from importlib.metadata import version

        assert negotrack.__version__ == version("negotrack")
        assert not hasattr(negotrack, "version")
        assert not hasattr(negotrack, "PackageNotFoundError")
        with pytest.raises(AttributeError):
            negotrack.no_such_name  # type: ignore[attr-defined]  # noqa: B018
