"""DataFrames and Arrow tables of matrices, histories, diffs and the event log."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given

import negotrack
from negotrack import Ordinal
from negotrack.io import frames
from tests.strategies import build_log, command_lists, matrices, open_test_negotiation

PLAN = "us-peace-plan-2025"
ORDER = ["oppose", "lean_oppose", "neutral", "lean_support", "support"]


def _missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


def _utc(value: datetime | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value.astimezone(UTC))


def expected_cell_row(cell: negotrack.Cell) -> dict[str, Any]:
    """The long row of a cell, written from the cell's attributes alone (the test's model)."""
    first = cell.evidence[0] if cell.evidence else None
    ordinal = isinstance(cell.stance, Ordinal)
    return {
        "party": cell.party,
        "clause": cell.clause,
        "stance": ORDER[int(cell.stance) + 2] if ordinal else None,
        "score": float(cell.stance),
        "stated": first.stated if first else None,
        "quote": first.quote if first else None,
        "source_outlet": first.source.outlet if first else None,
        "source_url": first.source.url if first else None,
        "source_published": (
            pd.Timestamp(first.source.published) if first and first.source.published else None
        ),
        "evidence_count": len(cell.evidence),
        "valid_at": _utc(cell.valid_at),
        "recorded_at": _utc(cell.recorded_at),
        "salience": cell.salience,
        "confidence": cell.confidence,
        "conditions": cell.conditions,
        "speaker": cell.speaker,
        "signatories": cell.signatories,
        "event_id": cell.event_id,
        "position": cell.position,
    }


def assert_rows_match(frame: pd.DataFrame, expected: list[dict[str, Any]]) -> None:
    assert len(frame) == len(expected)
    for (_, row), want in zip(frame.iterrows(), expected, strict=True):
        for column, value in want.items():
            got = row[column]
            if _missing(value):
                assert _missing(got), (column, got)
            else:
                assert got == value, (column, got, value)


class TestMatrixFrames:
    """A matrix becomes a long frame (a row per cell and its evidence) or a wide grid."""

    @given(matrices())
    def test_long_frame_has_each_cell_and_its_evidence(self, matrix: negotrack.Matrix) -> None:
        """Every cell is one row whose columns equal the cell's own fields, in party, clause order."""
        frame = matrix.to_pandas()
        cells = [matrix.cells[key] for key in sorted(matrix.cells)]
        assert_rows_match(frame, [expected_cell_row(c) for c in cells])
        assert frame.attrs == {
            "negotiation": matrix.negotiation,
            "as_of": matrix.as_of,
            "known_at": matrix.known_at,
        }

    @given(matrices())
    def test_wide_frame_is_the_grid(self, matrix: negotrack.Matrix) -> None:
        """Wide: a party x clause grid holding each cell's label or number; empty cells missing."""
        for values in ("stance", "score"):
            frame = matrix.to_pandas(wide=True, values=values)  # type: ignore[arg-type]
            assert list(frame.index) == sorted({p for p, _ in matrix.cells})
            assert list(frame.columns) == sorted({c for _, c in matrix.cells})
            for party in frame.index:
                for clause in frame.columns:
                    cell = matrix.cells.get((party, clause))
                    got = frame.loc[party, clause]
                    if cell is None:
                        assert _missing(got)
                        continue
                    column_ordinal = all(
                        isinstance(c.stance, Ordinal)
                        for (_, k), c in matrix.cells.items()
                        if k == clause
                    )
                    if values == "stance" and column_ordinal:
                        assert got == ORDER[int(cell.stance) + 2]
                    else:
                        assert got == float(cell.stance)

    def test_dtypes(self, geneva: negotrack.Tracker) -> None:
        """Instants are tz-aware UTC, stances an ordered categorical from oppose to support."""
        frame = geneva.negotiation(PLAN).matrix(date(2025, 11, 22)).to_pandas()
        assert str(frame["valid_at"].dtype) == "datetime64[us, UTC]"
        assert str(frame["recorded_at"].dtype) == "datetime64[us, UTC]"
        stance = frame["stance"].dtype
        assert isinstance(stance, pd.CategoricalDtype)
        assert stance.ordered
        assert list(stance.categories) == ORDER
        assert frame["score"].dtype == "float64"
        assert str(frame["stated"].dtype) == "boolean"
        # ordered: the opponents of a clause are those below neutral
        opposed = frame[frame["stance"] < "neutral"]
        assert set(opposed["score"]) <= {-1.0, -2.0}
        assert len(opposed) > 0

    def test_wide_stance_columns_are_ordered_categoricals(self, geneva: negotrack.Tracker) -> None:
        """In the wide frame each clause column sorts oppose < ... < support."""
        frame = geneva.negotiation(PLAN).matrix(date(2025, 11, 22)).to_pandas(wide=True)
        column = frame["plan-as-a-whole"]
        assert column.dtype.ordered
        assert column["UA"] == "lean_oppose"
        assert column["US"] == "support"
        assert column.max() == "support"

    def test_wrong_values_are_refused(self) -> None:
        """values must be stance or score."""
        matrix = negotrack.Matrix(
            negotiation=PLAN, as_of=datetime(2025, 1, 1, tzinfo=UTC), known_at=None, cells={}
        )
        with pytest.raises(negotrack.ValidationError, match="'stance' or 'score'"):
            matrix.to_pandas(wide=True, values="label")  # type: ignore[arg-type]


class TestArrow:
    """The Arrow tables carry the same data, and the PyCapsule stream feeds other libraries."""

    @given(matrices())
    def test_arrow_table_equals_the_frame(self, matrix: negotrack.Matrix) -> None:
        """pa.table(matrix) (through __arrow_c_stream__) holds what to_pandas() holds."""
        table = pa.table(matrix)
        assert table.column_names == list(matrix.to_pandas().columns)
        assert table.schema.field("stance").type == pa.dictionary(
            pa.int8(), pa.string(), ordered=True
        )
        assert table.schema.field("valid_at").type == pa.timestamp("us", tz="UTC")
        rows = table.to_pylist()
        cells = [matrix.cells[key] for key in sorted(matrix.cells)]
        for row, cell in zip(rows, cells, strict=True):
            want = expected_cell_row(cell)
            assert row["stance"] == want["stance"]
            assert row["score"] == want["score"]
            assert row["quote"] == want["quote"]
            assert row["valid_at"].timestamp() == cell.valid_at.timestamp()
            assert row["signatories"] == list(cell.signatories)
            assert row["source_published"] == (
                cell.evidence[0].source.published if cell.evidence else None
            )

    def test_polars_duckdb_and_pandas_read_the_stream(self, geneva: negotrack.Tracker) -> None:
        """Polars, DuckDB and pandas take a matrix, a history and a diff directly."""
        plan = geneva.negotiation(PLAN)
        matrix = plan.matrix(date(2025, 11, 22))
        history = plan.history("GB", "military-cap")
        moves = plan.diff(date(2025, 11, 21), date(2025, 11, 22))
        assert pl.DataFrame(matrix).height == len(matrix)
        assert pl.DataFrame(history).height == len(history)
        assert pl.DataFrame(moves).height == len(moves)
        opposed = duckdb.sql(
            "SELECT party FROM matrix WHERE clause = 'military-cap' AND score < 0 ORDER BY party"
        ).fetchall()
        assert [p for (p,) in opposed] == sorted(
            c.party for c in matrix if c.clause == "military-cap" and c.stance < 0
        )
        if hasattr(pd.DataFrame, "from_arrow"):  # pandas >= 3
            assert len(pd.DataFrame.from_arrow(matrix)) == len(matrix)

    def test_table_metadata_names_the_view(self, geneva: negotrack.Tracker) -> None:
        """The schema metadata says which negotiation, as of and known at when."""
        matrix = geneva.negotiation(PLAN).matrix(date(2025, 11, 22))
        metadata = matrix.to_arrow().schema.metadata
        assert metadata[b"negotiation"] == PLAN.encode()
        assert metadata[b"as_of"] == matrix.as_of.isoformat().encode()
        assert metadata[b"known_at"] == b""


class TestHistoriesDiffsAndEvents:
    """Histories (one cell or several), diffs and the event log as frames."""

    @given(command_lists)
    def test_history_frames_follow_the_entries(self, commands: list[Any]) -> None:
        """One row per entry, retraction included, for each history given, in order."""
        with negotrack.open("sqlite://") as tracker:
            neg = open_test_negotiation(tracker)
            build_log(neg, commands)
            histories = [neg.history(p, "territory") for p in ("GB", "FR", "UA")]
            frame = frames.histories_to_pandas(histories)
            entries = [(h.party, e) for h in histories for e in h]
            assert len(frame) == len(entries)
            for (_, row), (party, entry) in zip(frame.iterrows(), entries, strict=True):
                assert row["party"] == party
                assert row["event_id"] == entry.event_id
                assert row["retracted"] == (entry.retracted_at is not None)
                assert row["kind"] == entry.kind
                if entry.stance is None:
                    assert _missing(row["score"])
                else:
                    assert row["score"] == float(entry.stance)
            table = frames.histories_to_arrow(histories)
            assert table.num_rows == len(entries)

    def test_a_partys_history(self, geneva: negotrack.Tracker) -> None:
        """A party's history is the histories of its cells, one frame."""
        plan = geneva.negotiation(PLAN)
        histories = [plan.history("GB", c) for c in sorted(plan.clauses())]
        frame = frames.histories_to_pandas(histories)
        assert set(frame["party"]) == {"GB"}
        assert len(frame) == sum(len(h) for h in histories)
        assert "military-cap" in set(frame["clause"])

    def test_diff_frame_puts_both_sides_of_each_move(self, geneva: negotrack.Tracker) -> None:
        """A row per move with the before and after cells and the shift."""
        plan = geneva.negotiation(PLAN)
        moves = plan.diff(date(2025, 11, 21), date(2025, 11, 23))
        frame = moves.to_pandas()
        assert len(frame) == len(moves)
        for (_, row), move in zip(frame.iterrows(), moves, strict=True):
            assert (row["party"], row["clause"], row["change"]) == (
                move.party,
                move.clause,
                move.change,
            )
            for side, cell in (("before", move.before), ("after", move.after)):
                if cell is None:
                    assert _missing(row[f"{side}_score"])
                    assert _missing(row[f"{side}_quote"])
                else:
                    assert row[f"{side}_score"] == float(cell.stance)
                    assert row[f"{side}_quote"] == cell.evidence[0].quote
        assert frame.attrs["from"] == moves.before.as_of
        assert moves.to_arrow().num_rows == len(moves)

    def test_event_log_frame(self, geneva: negotrack.Tracker) -> None:
        """One row per event, in position order, with type, times, ids and the hash."""
        records = list(geneva.events())
        frame = frames.events_to_pandas(records)
        assert list(frame["position"]) == [r.position for r in records]
        assert list(frame["type"]) == [type(r.event).__name__ for r in records]
        assert list(frame["hash"]) == [r.hash for r in records]
        assert str(frame["recorded_at"].dtype) == "datetime64[us, UTC]"
        joint = frame[frame["type"] == "JointStatementRecorded"]
        assert all(len(s) > 1 for s in joint["signatories"])
        assert frames.events_to_arrow(records).num_rows == len(records)


class TestOptionalDependencies:
    """import negotrack stays light; a missing extra gives an error naming it."""

    def test_import_negotrack_loads_neither_pandas_nor_pyarrow(self) -> None:
        """In a fresh interpreter, importing negotrack and making a matrix loads no extra."""
        code = (
            "import sys, negotrack\n"
            "from negotrack.projections.matrix import Matrix\n"
            "heavy = {'pandas', 'pyarrow', 'matplotlib', 'numpy'} & set(sys.modules)\n"
            "print(sorted(heavy))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]"

    @pytest.mark.parametrize(
        ("blocked", "call", "extra"),
        [
            ("pandas", "m.to_pandas()", "negotrack[pandas]"),
            ("pyarrow", "m.to_arrow()", "negotrack[arrow]"),
            ("matplotlib", "import negotrack.report.plot", "negotrack[plot]"),
        ],
    )
    def test_missing_extra_is_named(self, blocked: str, call: str, extra: str) -> None:
        """Without the extra, MissingDependencyError says which extra to install."""
        code = (
            f"import sys; sys.modules[{blocked!r}] = None\n"
            "from datetime import datetime, UTC\n"
            "import negotrack\n"
            "m = negotrack.Matrix(negotiation='x', as_of=datetime.now(UTC), known_at=None, cells={})\n"
            "try:\n"
            f"    {call}\n"
            "except negotrack.MissingDependencyError as exc:\n"
            "    print(exc)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert f"pip install '{extra}'" in out.stdout
        assert blocked in out.stdout
