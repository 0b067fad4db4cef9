"""An alerting service: post an alert each time a party's current position moves.

Follows the changes of one negotiation's current matrix (not every record: a
back-dated record that is not the latest changes nothing; a retraction that
moves a cell does) and posts one alert per moved cell, as JSON to a webhook or
as a line on standard output.  Its checkpoint lives in the store's database,
so a restart resumes after the last event it finished.

    python examples/alerts/alerts.py --db sqlite:///negotiations.db \\
        --negotiation us-peace-plan-2025 [--webhook http://127.0.0.1:8000/alerts] [--timeout 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

import negotrack

Post = Callable[[dict[str, Any]], None]


def alert(change: negotrack.Change, cell: negotrack.CellChange) -> dict[str, Any]:
    """The alert for one moved cell: what moved, and the event that moved it."""
    quote = None
    if cell.after is not None and cell.after.evidence:
        evidence = cell.after.evidence[0]
        quote = f"{evidence.source.cite()}: {evidence.quote}"
    return {
        "id": f"{change.cause.event.event_id}/{cell.party}/{cell.clause}",  # for deduplication
        "negotiation": change.negotiation,
        "text": cell.describe(),
        "change": cell.kind,
        "because": type(change.cause.event).__name__,
        "position": change.cause.position,
        "quote": quote,
    }


def to_webhook(url: str) -> Post:
    """Post each alert as JSON to ``url``."""

    def post(body: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310 - the operator names the URL
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    return post


def to_stdout(body: dict[str, Any]) -> None:
    """Print each alert on one line."""
    print(f"[{body['negotiation']}] {body['text']} ({body['because']})", flush=True)


def run(
    tracker: negotrack.Tracker,
    negotiation: str,
    post: Post,
    *,
    stop: threading.Event | None = None,
    timeout: float | None = None,
) -> int:
    """Post alerts for every change after the checkpoint; return how many were posted.

    Alerts leave the database, so delivery is at least once: an alert posted
    just before a crash is posted again on restart (the receiver can drop it
    by its ``id``).  Restatements of the same stance are not alerts.
    """
    checkpoint = tracker.checkpoint(f"alerts:{negotiation}")
    plan = tracker.negotiation(negotiation)
    posted = 0
    for change in plan.follow_changes(after=checkpoint.position(), stop=stop, timeout=timeout):
        for cell in change:
            if cell.kind != "restated":
                post(alert(change, cell))
                posted += 1
        checkpoint.save(change.cause.position)  # after posting: at least once
    return posted


def main(argv: Sequence[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=negotrack.DEFAULT_URL)
    parser.add_argument("--negotiation", required=True)
    parser.add_argument("--webhook", help="URL to POST alerts to (default: print them)")
    parser.add_argument("--timeout", type=float, help="stop after this many quiet seconds")
    args = parser.parse_args(argv)
    post = to_webhook(args.webhook) if args.webhook else to_stdout
    with negotrack.open(args.db) as tracker:
        run(tracker, args.negotiation, post, timeout=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
