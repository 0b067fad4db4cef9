"""Moving a log between stores (and backends): SQLite to PostgreSQL and back.

The copy is the source's log, read in position order, restored into an empty
target: every event keeps its id, its record time (what was known when) and
its place in the hash chain, so the target's ``verify()``, matrices and
histories are the source's.
"""

from __future__ import annotations

from contextlib import ExitStack

from negotrack.tracker import Tracker, open

__all__ = ["copy_log"]


def copy_log(source: Tracker | str, target: Tracker | str) -> int:
    """Copy every event of ``source`` into the empty store ``target``; return how many.

    Args:
        source: a tracker, or the URL of an existing store (it is only read).
        target: a tracker, or the URL of a store to make (or an empty one).

    The log is read a page at a time and restored in one transaction, all or
    nothing: a failure leaves the target empty.  The whole log is held in
    memory while it is restored.

    Raises:
        StoreError: the target is not empty, or the source has no store.
        ChainBrokenError: the source's log does not verify (it is checked first).
        DatabaseError: either database fails.
    """
    with ExitStack() as opened:
        if isinstance(source, str):
            source = opened.enter_context(open(source, create=False))
        if isinstance(target, str):
            target = opened.enter_context(open(target))
        source.verify()  # copy a log that holds, or say where it breaks
        records = list(source.events())
        target.restore(records)
        return len(records)
