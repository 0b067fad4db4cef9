"""The peer: the eventsourcing library (optional)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from .floor_sqlite import PAGE, fold
from .workload import Cell, Stance

try:  # the peer is optional: --skip-eventsourcing, and --quick skips it when missing
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    HAVE_EVENTSOURCING = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_EVENTSOURCING = False


# ---------------------------------------------------------------------------
# The peer: the eventsourcing library
# ---------------------------------------------------------------------------
# Its classes live at module level: a stored event names its class by topic
# (module:qualname), which is resolved again when the event is read.

if HAVE_EVENTSOURCING:

    class EsCell(Aggregate):
        """One party x clause cell; each event carries what a negotrack stance carries."""

        @staticmethod
        def create_id(party: str, clause: str) -> uuid.UUID:
            return uuid.uuid5(uuid.NAMESPACE_URL, f"negotrack-bench/{party}/{clause}")

        @event("Created")
        def __init__(
            self,
            *,
            party: str,
            clause: str,
            event_id: str,
            stance: str,
            valid_at: int,
            outlet: str,
            quote: str,
        ) -> None:
            self.party, self.clause = party, clause
            self.event_id, self.stance, self.valid_at = event_id, stance, valid_at
            self.outlet, self.quote = outlet, quote

        @event("Recorded")
        def record(
            self,
            *,
            party: str,
            clause: str,
            event_id: str,
            stance: str,
            valid_at: int,
            outlet: str,
            quote: str,
        ) -> None:
            self.event_id, self.stance, self.valid_at = event_id, stance, valid_at
            self.outlet, self.quote = outlet, quote

    class BenchApp(Application[uuid.UUID]):
        log_section_size = PAGE  # the largest page the notification log hands out


def es_args(s: Stance) -> dict[str, Any]:
    return {
        "party": s.party,
        "clause": s.clause,
        "event_id": s.event_id,
        "stance": s.stance.label,
        "valid_at": s.valid_us,
        "outlet": s.outlet,
        "quote": s.quote,
    }


def es_save(app: Any, batches: Sequence[Sequence[dict[str, Any]]]) -> None:
    """One app.save() per batch; a cell's first event creates its aggregate."""
    cells: dict[tuple[str, str], Any] = {}
    for batch in batches:
        touched: dict[tuple[str, str], Any] = {}
        for args in batch:
            key = (args["party"], args["clause"])
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = EsCell(**args)
            else:
                cell.record(**args)
            touched[key] = cell
        app.save(*touched.values())


def es_replay(app: Any, as_of_us: int) -> tuple[int, dict[Cell, str]]:
    """Read the notification log page by page, decode every event, fold the as-of matrix."""
    best: dict[Cell, tuple[int, int, str]] = {}
    start, count = 1, 0
    while page := app.notification_log.select(start, PAGE):
        for notification in page:
            e = app.mapper.to_domain_event(notification)
            count += 1
            if e.valid_at <= as_of_us:
                fold(best, (e.party, e.clause), e.valid_at, notification.id, e.event_id)
        start = page[-1].id + 1
    return count, {k: v[2] for k, v in best.items()}
