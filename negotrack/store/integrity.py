"""The log's integrity: its hash chain, and the index rows its events imply.

``chain`` links each row of ``events`` to the one before it; the checks here
prove that ``cell_entries``, ``cells`` and ``retractions`` (which the as-of
query reads, and which no trigger can protect from an INSERT) hold exactly
what the events imply.  :func:`verify_log` runs them over the whole log for
:meth:`negotrack.store.sql.SqlEventStore.verify`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from sqlalchemy import Connection, func, or_, select

from negotrack.errors import ChainBrokenError
from negotrack.store import CELL_EVENT_NAMES
from negotrack.store.chain import GENESIS, check_link
from negotrack.store.receipt import Receipt, check_receipt
from negotrack.store.schema import cell_entries, cells, events, retractions

__all__ = [
    "check_cells_and_retractions",
    "check_entries",
    "check_positions_in_log",
    "entries_implied",
    "verify_log",
]

_PAGE = 2_000  # rows per page: memory stays flat however long the log


def verify_log(
    conn: Connection, expect: Receipt | None = None, key: bytes | None = None
) -> Receipt:
    """Check the chain and the indexes of the whole log; return its receipt.

    Args:
        conn: a connection in one read transaction (a snapshot): the log and
            its indexes are read as of one instant, so writers appending
            meanwhile cannot make them look out of step.
        expect: a receipt taken before, that the log must still hold.
        key: the key of a keyed chain (see :mod:`negotrack.store.keying`).

    Raises:
        ChainBrokenError: a row was altered, inserted or removed, or the log
            does not hold the receipt.
    """
    previous, head, there = GENESIS, 0, None
    versions: dict[tuple[str, str, str], int] = {}
    retraction_events = 0
    query = select(events).order_by(events.c.position).limit(_PAGE)
    while True:
        rows = conn.execute(query.where(events.c.position > head)).mappings().all()
        expected_entries = []
        for row in rows:
            previous = check_link(previous, row, head + 1, key)
            head += 1
            if expect is not None and head == expect.position:
                there = previous
            expected_entries += entries_implied(row, versions)
            retraction_events += row["type"] == "StanceRetracted"
        if rows:
            check_entries(conn, expected_entries, rows[0]["position"] - 1, head)
        if len(rows) < _PAGE:
            break
    check_positions_in_log(conn, head)
    check_cells_and_retractions(conn, set(versions), retraction_events)
    if expect is not None:
        check_receipt(expect, head, there)
    return Receipt(position=head, hash=previous if head else None)


def check_positions_in_log(conn: Connection, head: int) -> None:
    """Every position the indexes name is one of the log's, 1 to ``head``.

    The page checks read the indexes by position within the log; a row
    beyond the head (or at 0 or below) is found only here.
    """
    for name, column in (
        ("cell index", cell_entries.c.position),
        ("retraction index", retractions.c.position),
        ("retraction index", retractions.c.retracted),
    ):
        outside = conn.execute(
            select(column).where(or_(column < 1, column > head)).order_by(column).limit(1)
        ).scalar()
        if outside is not None:
            raise ChainBrokenError(
                outside, f"the {name} names position {outside}, outside the log (1 to {head})"
            )


def entries_implied(row: Any, versions: dict[tuple[str, str, str], int]) -> list[tuple[Any, ...]]:
    """The cell entries an events row implies, numbering cell versions as it goes."""
    if row["type"] not in CELL_EVENT_NAMES:
        return []
    if row["type"] == "JointStatementRecorded":
        parties = json.loads(row["payload"])["signatories"]
    else:
        parties = [row["party"]]
    implied = []
    for party in parties:
        key = (row["negotiation"], party, row["clause"])
        versions[key] = versions.get(key, 0) + 1
        withdrawn = row["type"] == "StanceWithdrawn"
        implied.append((*key, versions[key], row["valid_at"], row["position"], withdrawn))
    return implied


def check_entries(conn: Connection, implied: list[tuple[Any, ...]], after: int, last: int) -> None:
    """The cell entries of positions (after, last] are exactly those the events imply."""
    stored = conn.execute(
        select(
            cell_entries.c.negotiation,
            cell_entries.c.party,
            cell_entries.c.clause,
            cell_entries.c.version,
            cell_entries.c.valid_at,
            cell_entries.c.position,
            cell_entries.c.withdrawn,
        )
        .where(cell_entries.c.position > after, cell_entries.c.position <= last)
        .order_by(cell_entries.c.position, cell_entries.c.party)
    ).all()
    found = [(*row[:6], bool(row[6])) for row in stored]
    expected = sorted(implied, key=lambda entry: (entry[5], entry[1]))
    if found != expected:
        bad = next((a or b for a, b in itertools.zip_longest(found, expected) if a != b), (after,))
        position = bad[5] if len(bad) > 5 else after + 1
        raise ChainBrokenError(position, "the cell index does not match the events")


def check_cells_and_retractions(
    conn: Connection, implied_cells: set[tuple[str, str, str]], retraction_events: int
) -> None:
    """``cells`` lists exactly the implied cells; each retraction row matches its event."""
    stored_cells = {(r[0], r[1], r[2]) for r in conn.execute(select(cells))}
    if stored_cells != implied_cells:
        raise ChainBrokenError(0, "the cells index does not match the events")
    retracting = events.alias("retracting")
    target = events.alias("target")
    rows = conn.execute(
        select(retractions.c.position, retracting.c.type, retracting.c.payload, target.c.event_id)
        .join(retracting, retracting.c.position == retractions.c.position)
        .join(target, target.c.position == retractions.c.retracted)
    ).all()
    for position, type_, payload, target_id in rows:
        if type_ != "StanceRetracted" or json.loads(payload)["retracted"] != target_id:
            raise ChainBrokenError(position, "the retraction index does not match the events")
    total = conn.execute(select(func.count()).select_from(retractions)).scalar_one()
    if total != retraction_events or len(rows) != total:
        raise ChainBrokenError(0, "the retraction index does not match the events")
