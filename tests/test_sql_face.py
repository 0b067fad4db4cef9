"""The SQL face: views and a function that plain clients (psql, Datasette) read."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import negotrack
from tests.conftest import Backend
from tests.strategies import (
    NEGOTIATION,
    as_of_times,
    build_log,
    command_lists,
    day,
    open_test_negotiation,
)

END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


def _iso(value: object) -> str:
    """A view's time as ISO text in UTC, whichever way the backend returns it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert isinstance(value, str)
    return value


def _cells(matrix: negotrack.Matrix) -> list[tuple[object, ...]]:
    return [
        (c.party, c.clause, str(c.label), c.event_id, c.position, c.valid_at.astimezone(UTC))
        for c in matrix
    ]


def _stance_text(value: object) -> str:
    return str(float(value)) if isinstance(value, int | float) else str(value)


def _build(backend: Backend, cmds: list[object]) -> tuple[str, list[negotrack.RecordedEvent]]:
    url = backend.url()
    with negotrack.open(url) as tracker:
        build_log(open_test_negotiation(tracker), cmds)  # type: ignore[arg-type]
        records = list(tracker.events())
    return url, records


def _parse(text: object) -> datetime:
    return datetime.fromisoformat(_iso(text).replace("Z", "+00:00"))


class TestViews:
    """negotrack_events and negotrack_current_positions, on both backends."""

    @settings(max_examples=25)  # each example builds and migrates a store
    @given(cmds=command_lists)
    def test_current_positions_is_the_current_matrix(
        self, backend: Backend, cmds: list[object]
    ) -> None:
        """The view holds the matrix as of the end of time, as known now, cell for cell."""
        url, _ = _build(backend, cmds)
        with negotrack.open(url) as tracker:
            expected = _cells(tracker.negotiation(NEGOTIATION).matrix(END_OF_TIME))
            with tracker.store.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT party, clause, stance, event_id, position, valid_at "
                        "FROM negotrack_current_positions WHERE negotiation = :n "
                        "ORDER BY party, clause"
                    ),
                    {"n": NEGOTIATION},
                ).all()
        found = [(p, c, _stance_text(s), e, pos, _parse(v)) for p, c, s, e, pos, v in rows]
        assert found == expected

    def test_events_have_iso_times_and_payload_columns(self, backend: Backend) -> None:
        """Every event's times read back as the instants the API reports; payload fields are columns."""
        url, records = _build(backend, [])
        with negotrack.open(url) as tracker:
            neg = tracker.negotiation(NEGOTIATION)
            recorded = neg.record_joint_statement(
                ("GB", "FR"),
                "territory",
                "oppose",
                valid_at=datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
            )
            records = list(tracker.events())
            with tracker.store.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT position, recorded_at, valid_at, stance, signatories "
                        "FROM negotrack_events ORDER BY position"
                    )
                ).all()
        assert [_parse(r.recorded_at) for r in rows] == [r.recorded_at for r in records]
        last = rows[-1]
        assert (
            _parse(last.valid_at) == recorded.event.valid_at
        )  # before 1970: floor, not truncation
        assert last.stance == "oppose"
        signatories = last.signatories
        if isinstance(signatories, str):  # SQLite: JSON text; PostgreSQL: jsonb
            signatories = json.loads(signatories)
        assert signatories == ["GB", "FR"]


STATED = negotrack.Evidence(
    source=negotrack.Source(outlet="RFE/RL", published=datetime(2025, 11, 22).date()),
    quote="we will not accept it",
    stated=True,
)
INFERRED = negotrack.Evidence(source=STATED.source, quote="reportedly wary", stated=False)

# Two claims on GB's cell at one instant: (stance, evidence, confidence) each, and
# what the claim rule shows: a stance, None for a conflict, or "empty".
CLAIM_RULE_CASES = {
    "stated beats inferred": (
        [("support", INFERRED, 0.9), ("oppose", STATED, None)],
        "oppose",
    ),
    "higher confidence": ([("support", INFERRED, 0.4), ("oppose", INFERRED, 0.6)], "oppose"),
    "any confidence beats none": ([("support", INFERRED, None), ("oppose", INFERRED, 0.0)], "oppose"),
    "a tie left is a conflict": ([("support", INFERRED, None), ("oppose", INFERRED, None)], None),
    "agreeing claims are no conflict": (
        [("oppose", INFERRED, 0.5), ("oppose", STATED, 0.5)],
        "oppose",
    ),
    "a stated withdrawal empties the cell": (
        [("support", INFERRED, None), ("withdrawn", STATED, None)],
        "empty",
    ),
    "a withdrawal tied with a stance is a conflict": (
        [("support", STATED, None), ("withdrawn", STATED, None)],
        None,
    ),
}


class TestClaimRule:
    """The view and the function choose among same-instant claims by the rule, not by order."""

    @pytest.mark.parametrize("case", sorted(CLAIM_RULE_CASES))
    @pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
    def test_same_instant_claims(self, backend: Backend, case: str, reverse: bool) -> None:
        claims, shown = CLAIM_RULE_CASES[case]
        url = backend.url()
        with negotrack.open(url) as tracker:
            neg = open_test_negotiation(tracker)
            for stance, evidence, confidence in reversed(claims) if reverse else claims:
                if stance == "withdrawn":
                    neg.withdraw_stance("GB", "territory", valid_at=day(1), evidence=evidence)
                else:
                    neg.record_stance(
                        "GB", "territory", stance, valid_at=day(1),
                        evidence=evidence, confidence=confidence,
                    )  # fmt: skip
            cell = neg.matrix(END_OF_TIME).get("GB", "territory")
            assert ("empty" if cell is None else cell.label) == shown  # the Python side agrees
            queries = ["SELECT stance, conflicting FROM negotrack_current_positions"]
            if backend.name == "postgresql":
                queries.append(
                    f"SELECT stance, conflicting FROM negotrack_positions_as_of('{NEGOTIATION}', "
                    "'9999-01-01')"
                )
            with tracker.store.engine.connect() as conn:
                for query in queries:
                    rows = conn.execute(sa.text(query)).all()
                    if shown == "empty":
                        assert rows == []
                    else:
                        ((stance, conflicting),) = rows
                        assert (stance, bool(conflicting)) == (shown, shown is None)


@pytest.mark.postgres
class TestPositionsAsOf:
    """negotrack_positions_as_of(negotiation, as_of, known_at) on PostgreSQL."""

    @settings(max_examples=25)
    @given(cmds=command_lists, data=st.data())
    def test_equals_the_matrix(
        self, backend: Backend, cmds: list[object], data: st.DataObject
    ) -> None:
        """The function gives the matrix as of T, as known at K, for random logs, T and K."""
        if backend.name != "postgresql":
            pytest.skip("a PostgreSQL function")
        url, records = _build(backend, cmds)
        as_of = data.draw(as_of_times())
        known = data.draw(st.none() | st.sampled_from([r.recorded_at for r in records]))
        with negotrack.open(url) as tracker:
            expected = _cells(tracker.negotiation(NEGOTIATION).matrix(as_of, known_at=known))
            with tracker.store.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT party, clause, stance, event_id, position, valid_at "
                        "FROM negotrack_positions_as_of(:n, :t, :k)"
                    ),
                    {"n": NEGOTIATION, "t": as_of, "k": known},
                ).all()
        assert [(p, c, _stance_text(s), e, pos, v) for p, c, s, e, pos, v in rows] == expected


class TestPlainClients:
    """Real clients read the views: Datasette on SQLite, psql on PostgreSQL."""

    def test_datasette_serves_a_view_as_json(self, tmp_path: Path) -> None:
        """Datasette, serving the SQLite file, returns the current positions as JSON rows."""
        url = f"sqlite:///{tmp_path / 'talks.db'}"
        with negotrack.open(url) as tracker:
            neg = open_test_negotiation(tracker)
            neg.record_stance("GB", "territory", "oppose", valid_at=day(1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Datasette's own imports
            from datasette.app import Datasette

            datasette = Datasette([str(tmp_path / "talks.db")])

            async def fetch() -> object:
                response = await datasette.client.get(
                    "/talks/negotrack_current_positions.json?_shape=array"
                )
                assert response.status_code == 200
                return response.json()

            rows = asyncio.run(fetch())
        assert rows == [
            {
                **rows[0],  # type: ignore[index]
                "negotiation": NEGOTIATION,
                "party": "GB",
                "clause": "territory",
                "stance": "oppose",
                "valid_at": "2025-11-21T00:00:00.000000Z",
            }
        ]

    def test_psql_reads_the_views(self, backend: Backend) -> None:
        """psql reads the current positions and calls the as-of function."""
        if backend.name != "postgresql":
            pytest.skip("psql speaks to PostgreSQL")
        if shutil.which("psql") is None:
            pytest.fail("psql is not installed")
        url, _ = _build(backend, [])
        with negotrack.open(url) as tracker:
            tracker.negotiation(NEGOTIATION).record_stance(
                "GB", "territory", "oppose", valid_at=day(1)
            )
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        query = (
            "SELECT party, stance, valid_at FROM negotrack_current_positions; "
            f"SELECT party, stance FROM negotrack_positions_as_of('{NEGOTIATION}', '2025-11-21');"
            f"SELECT count(*) FROM negotrack_positions_as_of('{NEGOTIATION}', '2025-11-20');"
        )
        result = subprocess.run(
            ["psql", dsn, "-At", "-F", ",", "-c", "SET TIME ZONE 'UTC'", "-c", query],
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.splitlines()[1:] == [
            "GB,oppose,2025-11-21 00:00:00+00",
            "GB,oppose",
            "0",
        ]
