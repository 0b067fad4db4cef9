"""The ``negotrack`` command: import, export and ask the log from a shell.

Every command takes ``--db URL`` (default: ``$NEGOTRACK_DB``, else
``sqlite:///negotiations.db`` in the working directory), ``--negotiation ID``
(optional when the store holds one negotiation) and ``--format
table|json|csv``.  Errors print one line and exit with status 1; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TextIO

from sqlalchemy.exc import SQLAlchemyError

import negotrack
from negotrack.errors import NegotrackError, ValidationError
from negotrack.io.dataset import import_dataset
from negotrack.io.jsonl import export_jsonl, restore_jsonl
from negotrack.projections.matrix import Cell, Matrix
from negotrack.tracker import DEFAULT_URL, Negotiation, Tracker

__all__ = ["main"]

EXIT_ERROR = 1


def _when(text: str) -> date | datetime:
    """A date (YYYY-MM-DD) or a tz-aware ISO datetime, from the command line."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO date-time with a zone"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: add one, e.g. +00:00")
    return value


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", default=None, help=f"database URL (default: $NEGOTRACK_DB or {DEFAULT_URL})"
    )
    common.add_argument("--negotiation", help="negotiation id (optional if the store holds one)")
    common.add_argument("--format", choices=("table", "json", "csv"), default="table")
    common.add_argument("--debug", action="store_true", help="show tracebacks")

    parser = argparse.ArgumentParser(
        prog="negotrack", description="Parties' positions in a negotiation, as a bitemporal log."
    )
    parser.add_argument("--version", action="version", version=f"negotrack {negotrack.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[common], help=help_, description=help_)

    add(
        "import", "import a YAML dataset, or restore a JSON Lines export into an empty store"
    ).add_argument("file")
    export = add("export", "write the log as JSON Lines")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    matrix = add("matrix", "party x clause stances as of a date")
    matrix.add_argument(
        "--as-of", type=_when, required=True, help="YYYY-MM-DD (end of day) or date-time"
    )
    matrix.add_argument("--known-at", type=_when, help="as the log stood then (default: now)")
    diff = add("diff", "who moved between two dates")
    diff.add_argument("--from", dest="from_", type=_when, required=True)
    diff.add_argument("--to", type=_when, required=True)
    diff.add_argument("--known-at", type=_when)
    history = add("history", "every stance event of one party on one clause")
    history.add_argument("party")
    history.add_argument("clause")
    history.add_argument("--known-at", type=_when)
    add("parties", "the registered parties")
    add("clauses", "the tabled clauses")
    add("notes", "dated notes: meetings, calls, deadlines")
    add("negotiations", "the negotiations in the store")
    add("verify", "check the log's hash chain")
    _add_db_commands(commands, common)
    return parser


def _negotiation(tracker: Tracker, wanted: str | None) -> Negotiation:
    if wanted is not None:
        return tracker.negotiation(wanted)
    held = tracker.negotiations()
    if len(held) == 1:
        return held[0]
    if not held:
        raise ValidationError("the store holds no negotiation: import a dataset first")
    names = ", ".join(n.id for n in held)
    raise ValidationError(f"the store holds several negotiations ({names}): pass --negotiation")


def _cell(cell: Cell) -> dict[str, Any]:
    return {
        "party": cell.party,
        "clause": cell.clause,
        "stance": cell.label,
        "valid_at": cell.valid_at.isoformat(),
        "recorded_at": cell.recorded_at.isoformat(),
        "event_id": cell.event_id,
        "evidence": [
            {"source": e.source.cite(), "quote": e.quote, "stated": e.stated} for e in cell.evidence
        ],
    }


def _matrix_json(matrix: Matrix) -> dict[str, Any]:
    return {
        "negotiation": matrix.negotiation,
        "as_of": matrix.as_of.isoformat(),
        "known_at": None if matrix.known_at is None else matrix.known_at.isoformat(),
        "cells": [_cell(c) for c in matrix],
    }


def _rows(out: TextIO, fmt: str, rows: list[dict[str, Any]], document: Any = None) -> None:
    """Print rows as an aligned table, CSV, or JSON (``document`` if given, else the rows)."""
    if fmt == "json":
        json.dump(rows if document is None else document, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    if not rows:
        if fmt == "table":
            out.write("(nothing)\n")
        return
    columns = list(rows[0])
    flat = [{k: _flat(v) for k, v in row.items()} for row in rows]
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
        return
    widths = {c: min(60, max(len(c), *(len(r[c]) for r in flat))) for c in columns}
    out.write("  ".join(c.ljust(widths[c]) for c in columns).rstrip() + "\n")
    for row in flat:
        out.write("  ".join(row[c][: widths[c]].ljust(widths[c]) for c in columns).rstrip() + "\n")


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " | ".join(_flat(v) for v in value)
    if isinstance(value, dict):
        return f"{value.get('source', '')}: “{value.get('quote', '')}”"
    return str(value)


def _run(args: argparse.Namespace, tracker: Tracker, out: TextIO) -> None:
    command: str = args.command
    if command == "import":
        if args.file.endswith((".jsonl", ".ndjson")):
            restored = restore_jsonl(tracker, args.file)
            out.write(f"restored {len(restored)} events from {args.file}\n")
            return
        result = import_dataset(tracker, args.file)
        out.write(
            f"imported {args.file} into {result.negotiation}: "
            f"{result.written} new events of {result.events}\n"
        )
        return
    if command == "export":
        negotiation = args.negotiation
        if args.output:
            with open(args.output, "w", encoding="utf-8") as target:
                count = export_jsonl(tracker, target, negotiation=negotiation)
            sys.stderr.write(f"exported {count} events to {args.output}\n")
        else:
            export_jsonl(tracker, out, negotiation=negotiation)
        return
    if command == "negotiations":
        rows = [
            {"id": n.id, "title": n.title, "timezone": str(n.timezone)}
            for n in tracker.negotiations()
        ]
        _rows(out, args.format, rows)
        return
    if command == "verify":
        count = tracker.verify()
        if args.format == "json":
            _rows(out, "json", [], {"verified": count, "ok": True})
        else:
            out.write(f"ok: the hash chain of {count} events verifies\n")
        return
    neg = _negotiation(tracker, args.negotiation)
    handlers: dict[str, Callable[[argparse.Namespace, Negotiation, TextIO], None]] = {
        "matrix": _matrix,
        "diff": _diff,
        "history": _history,
        "parties": _parties,
        "clauses": _clauses,
        "notes": _notes,
    }
    handlers[command](args, neg, out)


def _matrix(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    matrix = neg.matrix(args.as_of, known_at=args.known_at)
    if args.format == "table":
        known = "now" if matrix.known_at is None else matrix.known_at.isoformat()
        out.write(f"{neg.id} as of {matrix.as_of.isoformat()}, as known {known}\n\n")
        out.write((matrix.to_table() if len(matrix) else "(no stances recorded)") + "\n")
        out.write("\n++ support  + lean_support  0 neutral  - lean_oppose  -- oppose  . none\n")
        return
    _rows(out, args.format, [_cell(c) for c in matrix], _matrix_json(matrix))


def _diff(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    moves = neg.diff(args.from_, args.to, known_at=args.known_at)
    rows = [
        {
            "party": m.party,
            "clause": m.clause,
            "change": m.change,
            "before": None if m.before is None else m.before.label,
            "after": None if m.after is None else m.after.label,
            "evidence": [] if m.after is None else _cell(m.after)["evidence"],
        }
        for m in moves
    ]
    document = {
        "negotiation": neg.id,
        "from": moves.before.as_of.isoformat(),
        "to": moves.after.as_of.isoformat(),
        "moves": rows,
    }
    _rows(out, args.format, rows, document)


def _history(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    history = neg.history(args.party, args.clause, known_at=args.known_at)
    rows = [
        {
            "valid_at": e.valid_at.isoformat(),
            "recorded_at": e.recorded_at.isoformat(),
            "kind": e.kind,
            "stance": e.label,
            "retracted_at": None if e.retracted_at is None else e.retracted_at.isoformat(),
            "event_id": e.event_id,
            "evidence": [
                {"source": v.source.cite(), "quote": v.quote, "stated": v.stated}
                for v in e.evidence
            ],
        }
        for e in history
    ]
    _rows(out, args.format, rows)


def _parties(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "kind": p.kind.value,
            "member_of": [m.group for m in p.memberships],
        }
        for p in neg.parties().values()
    ]
    _rows(out, args.format, rows)


def _clauses(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    rows = [
        {"id": c.id, "title": c.title, "topic": c.topic, "withdrawn": c.withdrawn}
        for c in neg.clauses().values()
    ]
    _rows(out, args.format, rows)


def _notes(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    rows = [
        {
            "valid_at": n.valid_at.date().isoformat(),
            "kind": n.kind,
            "parties": list(n.parties),
            "text": n.text,
        }
        for n in neg.notes()
    ]
    _rows(out, args.format, rows)


# -- negotrack db: schema migrations ------------------------------------------


def _add_db_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """``negotrack db upgrade|current|history``."""
    db = commands.add_parser(
        "db", help="the database schema: upgrade, current, history", description=_db.__doc__
    )
    steps = db.add_subparsers(dest="db_command", required=True, metavar="STEP")
    upgrade = steps.add_parser(
        "upgrade", parents=[common], help="bring the schema to the newest revision"
    )
    upgrade.add_argument("--to", default="head", help="a revision id (default: head)")
    steps.add_parser("current", parents=[common], help="the revision the database is at")
    steps.add_parser("history", parents=[common], help="every migration, oldest first")


def _db(args: argparse.Namespace, url: str, out: TextIO) -> None:
    """Schema migrations (Alembic, shipped with negotrack)."""
    from negotrack.store import migrations  # noqa: PLC0415 - only db commands need it
    from negotrack.store.sql.engine import make_engine  # noqa: PLC0415

    if args.db_command == "history":
        rows = [
            {"revision": r.revision, "down_revision": r.down_revision, "doc": r.doc}
            for r in migrations.history()
        ]
        _rows(out, args.format, rows)
        return
    engine = make_engine(url)
    try:
        if args.db_command == "upgrade":
            before = migrations.current(engine)[1]
            after = migrations.upgrade(engine, args.to)
            document = {"from": before, "to": after}
            if args.format == "json":
                _rows(out, "json", [], document)
            else:
                out.write(f"upgraded from {before or 'no revision'} to {after}\n")
            return
        found, revision = migrations.current(engine)
        row = {"revision": revision, "state": found.value, "head": migrations.HEAD}
        _rows(out, args.format, [row], row)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    stream = sys.stdout if out is None else out
    url = args.db or os.environ.get("NEGOTRACK_DB") or DEFAULT_URL
    try:
        if args.command == "db":  # migrations work on the database, not through a store
            _db(args, url, stream)
            return 0
        with negotrack.open(url) as tracker:
            _run(args, tracker, stream)
    except BrokenPipeError:
        # The reader (e.g. `| head`) left early: not an error of ours.  Point
        # stdout at devnull so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (NegotrackError, OSError, SQLAlchemyError) as exc:
        # Our errors say what and where; a file or a database failing under us
        # (a full disk, a server gone) gets its first line, not a traceback.
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"negotrack: error: {message}\n")
        return EXIT_ERROR
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
