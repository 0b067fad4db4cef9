"""DataFrames and Arrow tables of matrices, histories, diffs and the event log.

Each view becomes flat rows first (plain Python, no dependency), then a pandas
``DataFrame`` (extra ``pandas``) or a pyarrow ``Table`` (extra ``arrow``) from
the same column list, so both carry the same columns with matching types:

- instants (``valid_at``, ``recorded_at``, ...) are tz-aware, in UTC;
- ``stance`` is an ordered categorical (``oppose`` < ... < ``support``; empty
  for a number on an interval scale), and ``score`` beside it is the number
  (-2 to +2 on the ordinal scale, the value itself on an interval scale);
- the evidence is flattened: the first item's ``quote``, ``stated`` and
  ``source_*`` fields, and ``evidence_count`` for how many the stance has.

Neither pandas nor pyarrow is imported until a frame or a table is asked for;
without the extra, :class:`~negotrack.errors.MissingDependencyError` names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

from negotrack import codec
from negotrack.errors import MissingDependencyError, ValidationError
from negotrack.model import Evidence, Ordinal, StanceValue

if TYPE_CHECKING:
    import pandas
    import pyarrow

    from negotrack.projections.diff import Diff
    from negotrack.projections.history import History, HistoryEntry
    from negotrack.projections.matrix import Cell, Matrix
    from negotrack.store import RecordedEvent

__all__ = [
    "STANCE_LABELS",
    "diff_to_arrow",
    "diff_to_pandas",
    "events_to_arrow",
    "events_to_pandas",
    "histories_to_arrow",
    "histories_to_pandas",
    "matrix_to_arrow",
    "matrix_to_pandas",
]

STANCE_LABELS = tuple(o.label for o in Ordinal)
"""The ordinal scale from lowest to highest: the order of the categorical ``stance``."""

Kind = Literal["text", "number", "integer", "flag", "instant", "day", "stance", "names"]


@attrs.frozen
class _Column:
    name: str
    kind: Kind


Row = dict[str, Any]


def _pandas() -> Any:
    try:
        import pandas  # noqa: PLC0415 - optional extra, imported when a frame is asked for
    except ImportError as exc:
        raise MissingDependencyError("pandas", "pandas", ["DataFrames"]) from exc
    return pandas


def _pyarrow() -> Any:
    try:
        import pyarrow  # noqa: PLC0415 - optional extra, imported when a table is asked for
    except ImportError as exc:
        raise MissingDependencyError("pyarrow", "arrow", ["Arrow tables and streams"]) from exc
    return pyarrow


# -- the rows --------------------------------------------------------------------


def _score(stance: StanceValue | None) -> float | None:
    return None if stance is None else float(stance)


def _stance(stance: StanceValue | None) -> str | None:
    return stance.label if isinstance(stance, Ordinal) else None


STANCE_COLUMNS = [_Column("stance", "stance"), _Column("score", "number")]
EVIDENCE_COLUMNS = [
    _Column("stated", "flag"),
    _Column("quote", "text"),
    _Column("source_outlet", "text"),
    _Column("source_title", "text"),
    _Column("source_url", "text"),
    _Column("source_published", "day"),
    _Column("source_file", "text"),
    _Column("evidence_count", "integer"),
]


def _stance_fields(stance: StanceValue | None) -> Row:
    return {"stance": _stance(stance), "score": _score(stance)}


def _evidence_fields(evidence: Sequence[Evidence]) -> Row:
    first = evidence[0] if evidence else None
    source = first.source if first else None
    return {
        "stated": None if first is None else first.stated,
        "quote": None if first is None else first.quote,
        "source_outlet": None if source is None else source.outlet,
        "source_title": None if source is None else source.title,
        "source_url": None if source is None else source.url,
        "source_published": None if source is None else source.published,
        "source_file": None if source is None else source.file,
        "evidence_count": len(evidence),
    }


CELL_COLUMNS = [
    *STANCE_COLUMNS,
    *EVIDENCE_COLUMNS,
    _Column("valid_at", "instant"),
    _Column("precision", "text"),
    _Column("recorded_at", "instant"),
    _Column("salience", "number"),
    _Column("confidence", "number"),
    _Column("conditions", "text"),
    _Column("speaker", "text"),
    _Column("signatories", "names"),
    _Column("event_id", "text"),
    _Column("position", "integer"),
]
"""A cell's own columns (after ``party`` and ``clause``)."""


def _cell_fields(cell: Cell | None) -> Row:
    if cell is None:
        return dict.fromkeys((c.name for c in CELL_COLUMNS), None) | {"evidence_count": 0}
    return {
        **_stance_fields(cell.stance),
        **_evidence_fields(cell.evidence),
        "valid_at": cell.valid_at,
        "precision": cell.precision.value,
        "recorded_at": cell.recorded_at,
        "salience": cell.salience,
        "confidence": cell.confidence,
        "conditions": cell.conditions,
        "speaker": cell.speaker,
        "signatories": list(cell.signatories),
        "event_id": cell.event_id,
        "position": cell.position,
    }


MATRIX_COLUMNS = [_Column("party", "text"), _Column("clause", "text"), *CELL_COLUMNS]


def matrix_rows(matrix: Matrix) -> list[Row]:
    """One row per non-empty cell, in party, clause order."""
    return [{"party": c.party, "clause": c.clause, **_cell_fields(c)} for c in matrix]


HISTORY_COLUMNS = [
    _Column("party", "text"),
    _Column("clause", "text"),
    _Column("kind", "text"),
    *STANCE_COLUMNS,
    *EVIDENCE_COLUMNS,
    _Column("valid_at", "instant"),
    _Column("precision", "text"),
    _Column("recorded_at", "instant"),
    _Column("retracted", "flag"),
    _Column("retracted_at", "instant"),
    _Column("retraction_reason", "text"),
    _Column("replaced_by", "text"),
    _Column("event_id", "text"),
    _Column("position", "integer"),
]


def _history_row(history: History, entry: HistoryEntry) -> Row:
    return {
        "party": history.party,
        "clause": history.clause,
        "kind": entry.kind,
        **_stance_fields(entry.stance),
        **_evidence_fields(entry.evidence),
        "valid_at": entry.valid_at,
        "precision": entry.precision.value,
        "recorded_at": entry.recorded_at,
        "retracted": entry.retracted,
        "retracted_at": entry.retracted_at,
        "retraction_reason": entry.retraction_reason,
        "replaced_by": entry.replaced_by,
        "event_id": entry.event_id,
        "position": entry.position,
    }


def history_rows(histories: Iterable[History]) -> list[Row]:
    """One row per entry of each history, in the order given, each by valid time."""
    return [_history_row(h, e) for h in histories for e in h]


DIFF_COLUMNS = [
    _Column("party", "text"),
    _Column("clause", "text"),
    _Column("change", "text"),
    _Column("shift", "number"),
    *(_Column(f"before_{c.name}", c.kind) for c in CELL_COLUMNS),
    *(_Column(f"after_{c.name}", c.kind) for c in CELL_COLUMNS),
]


def diff_rows(diff: Diff) -> list[Row]:
    """One row per move: the cell before and the cell after, side by side."""
    rows = []
    for move in diff:
        row: Row = {
            "party": move.party,
            "clause": move.clause,
            "change": move.change,
            "shift": move.shift,
        }
        for side, cell in (("before", move.before), ("after", move.after)):
            row |= {f"{side}_{k}": v for k, v in _cell_fields(cell).items()}
        rows.append(row)
    return rows


EVENT_COLUMNS = [
    _Column("position", "integer"),
    _Column("recorded_at", "instant"),
    _Column("type", "text"),
    _Column("schema_version", "integer"),
    _Column("negotiation", "text"),
    _Column("event_id", "text"),
    _Column("stream", "text"),
    _Column("version", "integer"),
    _Column("valid_at", "instant"),
    _Column("party", "text"),
    _Column("signatories", "names"),
    _Column("clause", "text"),
    *STANCE_COLUMNS,
    _Column("payload", "text"),
    _Column("hash", "text"),
]


def _event_row(record: RecordedEvent) -> Row:
    event = record.event
    party = getattr(event, "party", None) or getattr(event, "member", None)
    return {
        "position": record.position,
        "recorded_at": record.recorded_at,
        "type": type(event).__name__,
        "schema_version": event.schema_version,
        "negotiation": event.negotiation,
        "event_id": event.event_id,
        "stream": record.stream,
        "version": record.version,
        "valid_at": getattr(event, "valid_at", None),
        "party": party,
        "signatories": list(getattr(event, "signatories", ())),
        "clause": getattr(event, "clause", None),
        **_stance_fields(getattr(event, "stance", None)),
        "payload": codec.encode(event),
        "hash": record.hash,
    }


def event_rows(records: Iterable[RecordedEvent]) -> list[Row]:
    """One row per stored event, in the order given (the log's order from ``events()``)."""
    return [_event_row(r) for r in records]


# -- pandas ----------------------------------------------------------------------


def _pandas_column(pd: Any, kind: Kind, values: list[Any]) -> Any:
    match kind:
        case "text":
            return pd.array(values, dtype=pd.StringDtype())
        case "number":
            return pd.array([float("nan") if v is None else v for v in values], dtype="float64")
        case "integer":
            return pd.array(values, dtype="Int64")
        case "flag":
            return pd.array(values, dtype="boolean")
        case "instant":
            return pd.to_datetime(pd.Series(values, dtype=object), utc=True).astype(
                "datetime64[us, UTC]"
            )
        case "day":
            return pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[s]")
        case "stance":
            return pd.Categorical(values, categories=STANCE_LABELS, ordered=True)
        case "names":
            return pd.Series([None if v is None else tuple(v) for v in values], dtype=object)


def _frame(columns: Sequence[_Column], rows: list[Row], about: Mapping[str, Any]) -> Any:
    pd = _pandas()
    data = {c.name: _pandas_column(pd, c.kind, [row[c.name] for row in rows]) for c in columns}
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    frame.attrs.update(about)
    return frame


def _about_matrix(matrix: Matrix) -> dict[str, Any]:
    return {"negotiation": matrix.negotiation, "as_of": matrix.as_of, "known_at": matrix.known_at}


def matrix_to_pandas(
    matrix: Matrix, *, wide: bool = False, values: Literal["stance", "score"] = "stance"
) -> pandas.DataFrame:
    """The matrix as a DataFrame: long (one row per cell, with its evidence) or wide.

    ``frame.attrs`` holds ``negotiation``, ``as_of`` and ``known_at``.

    Args:
        matrix: the matrix.
        wide: parties down, clauses across (every party and clause with a
            stance; an empty cell is missing). Long by default.
        values: in a wide frame, ``"stance"`` (an ordered categorical per
            clause; the number for a clause on an interval scale) or ``"score"``
            (numbers everywhere).

    Raises:
        MissingDependencyError: pandas is not installed (extra ``pandas``).
        ValidationError: ``values`` is neither ``"stance"`` nor ``"score"``.
    """
    if not wide:
        return _frame(MATRIX_COLUMNS, matrix_rows(matrix), _about_matrix(matrix))
    if values not in ("stance", "score"):
        raise ValidationError(f"values must be 'stance' or 'score', got {values!r}")
    pd = _pandas()
    parties = pd.Index(matrix.parties, name="party", dtype=pd.StringDtype())
    columns = {}
    for clause in matrix.clauses:
        stances = [matrix.get(p, clause) for p in matrix.parties]
        points = [None if c is None else c.stance for c in stances]
        ordinal = all(p is None or isinstance(p, Ordinal) for p in points)
        if values == "stance" and ordinal:
            columns[clause] = _pandas_column(pd, "stance", [_stance(p) for p in points])
        else:
            columns[clause] = _pandas_column(pd, "number", [_score(p) for p in points])
    frame = pd.DataFrame(columns, index=parties)
    frame.columns = pd.Index(list(columns), name="clause", dtype=pd.StringDtype())
    frame.attrs.update(_about_matrix(matrix))
    return frame


def histories_to_pandas(histories: Iterable[History]) -> pandas.DataFrame:
    """Several cells' histories in one DataFrame: e.g. a party's, one history per clause.

    One row per entry: its kind, stance, both times, its retraction (if known
    in the history's view) and its evidence.

    Raises:
        MissingDependencyError: pandas is not installed (extra ``pandas``).
    """
    return _frame(HISTORY_COLUMNS, history_rows(histories), {})


def diff_to_pandas(diff: Diff) -> pandas.DataFrame:
    """The moves of a diff as a DataFrame: ``before_*`` and ``after_*`` cell columns.

    ``frame.attrs`` holds ``negotiation``, ``from`` and ``to`` (the two as-of
    instants) and ``known_at``.

    Raises:
        MissingDependencyError: pandas is not installed (extra ``pandas``).
    """
    return _frame(DIFF_COLUMNS, diff_rows(diff), _about_diff(diff))


def _about_diff(diff: Diff) -> dict[str, Any]:
    return {
        "negotiation": diff.after.negotiation,
        "from": diff.before.as_of,
        "to": diff.after.as_of,
        "known_at": diff.after.known_at,
    }


def events_to_pandas(records: Iterable[RecordedEvent]) -> pandas.DataFrame:
    """The event log as a DataFrame, e.g. ``events_to_pandas(tracker.events())``.

    One row per event: position, record time, type, stream, the ids it names,
    its valid time and stance where it has them, the payload as canonical JSON
    and its hash-chain link.

    Raises:
        MissingDependencyError: pandas is not installed (extra ``pandas``).
    """
    return _frame(EVENT_COLUMNS, event_rows(records), {})


# -- Arrow -----------------------------------------------------------------------


def _arrow_column(pa: Any, kind: Kind, values: list[Any]) -> Any:
    match kind:
        case "text":
            return pa.array(values, pa.string())
        case "number":
            return pa.array(values, pa.float64())
        case "integer":
            return pa.array(values, pa.int64())
        case "flag":
            return pa.array(values, pa.bool_())
        case "instant":
            return pa.array(values, pa.timestamp("us", tz="UTC"))
        case "day":
            return pa.array(values, pa.date32())
        case "stance":
            # A fixed, ordered dictionary: every table has the same five categories.
            indices = [None if v is None else STANCE_LABELS.index(v) for v in values]
            return pa.DictionaryArray.from_arrays(
                pa.array(indices, pa.int8()), pa.array(STANCE_LABELS), ordered=True
            )
        case "names":
            return pa.array(values, pa.list_(pa.string()))


def _table(columns: Sequence[_Column], rows: list[Row], about: Mapping[str, Any]) -> Any:
    pa = _pyarrow()
    arrays = [_arrow_column(pa, c.kind, [row[c.name] for row in rows]) for c in columns]
    metadata = {k: "" if v is None else _text(v) for k, v in about.items()}
    return pa.table(arrays, names=[c.name for c in columns], metadata=metadata)


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def matrix_to_arrow(matrix: Matrix) -> pyarrow.Table:
    """The matrix as an Arrow table, one row per cell (the long frame's columns).

    The schema's metadata holds ``negotiation``, ``as_of`` and ``known_at``
    (ISO 8601; empty when not given).

    Raises:
        MissingDependencyError: pyarrow is not installed (extra ``arrow``).
    """
    return _table(MATRIX_COLUMNS, matrix_rows(matrix), _about_matrix(matrix))


def histories_to_arrow(histories: Iterable[History]) -> pyarrow.Table:
    """Several cells' histories as one Arrow table (the columns of :func:`histories_to_pandas`).

    Raises:
        MissingDependencyError: pyarrow is not installed (extra ``arrow``).
    """
    return _table(HISTORY_COLUMNS, history_rows(histories), {})


def diff_to_arrow(diff: Diff) -> pyarrow.Table:
    """The moves of a diff as an Arrow table (the columns of :func:`diff_to_pandas`).

    Raises:
        MissingDependencyError: pyarrow is not installed (extra ``arrow``).
    """
    return _table(DIFF_COLUMNS, diff_rows(diff), _about_diff(diff))


def events_to_arrow(records: Iterable[RecordedEvent]) -> pyarrow.Table:
    """The event log as an Arrow table (the columns of :func:`events_to_pandas`).

    Raises:
        MissingDependencyError: pyarrow is not installed (extra ``arrow``).
    """
    return _table(EVENT_COLUMNS, event_rows(records), {})
