"""An event id names one event: the storage promise every backend keeps at append.

A store checks no write rule (:mod:`negotrack.rules` holds them all, and the
:class:`~negotrack.Tracker` applies them before every append).  What a store
does check is its own bookkeeping: an id stored once, expected versions (the
race guard the rules lean on), a restore into an empty log.  This module holds
the one such check that does not depend on how a backend stores its rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from negotrack.errors import ValidationError
from negotrack.events import Event

__all__ = ["check_ids_unique"]


def check_ids_unique(batch: Sequence[Event]) -> None:
    """One append names each event id once, so that each id is stored as one event.

    Raises:
        ValidationError: an id appears twice.
    """
    seen: set[str] = set()
    for event in batch:
        if event.event_id in seen:
            raise ValidationError(f"event id {event.event_id!r} appears twice in one append")
        seen.add(event.event_id)
