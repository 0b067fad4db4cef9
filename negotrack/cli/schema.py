"""``negotrack db upgrade|current|history``: schema migrations (Alembic, shipped with negotrack)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from negotrack.cli.output import Printer, csv_rows, write_json

__all__ = ["run_db"]


def _rows(args: argparse.Namespace, out: TextIO, rows: list[dict[str, Any]], document: Any) -> None:
    if args.format == "json":
        write_json(out, document)
    elif args.format == "csv":
        csv_rows(out, list(rows[0]) if rows else [], rows)
    else:
        headers = list(rows[0]) if rows else []
        Printer(out).table(
            headers,
            [["" if r[h] is None else str(r[h]) for h in headers] for r in rows],
            wrap=["doc"],
        )


def run_db(args: argparse.Namespace, url: str, out: TextIO) -> None:
    """Run the ``db`` step ``args`` names on the database at ``url``."""
    from negotrack.store import migrations  # noqa: PLC0415 - alembic: only db commands need it
    from negotrack.store.sql.engine import make_engine  # noqa: PLC0415

    if args.db_command == "history":
        rows = [
            {"revision": r.revision, "down_revision": r.down_revision, "doc": r.doc}
            for r in migrations.history()
        ]
        _rows(args, out, rows, rows)
        return
    engine = make_engine(url)
    try:
        if args.db_command == "upgrade":
            before = migrations.current(engine)[1]
            after = migrations.upgrade(engine, args.to)
            if args.format == "json":
                write_json(out, {"from": before, "to": after})
            else:
                out.write(f"upgraded from {before or 'no revision'} to {after}\n")
            return
        found, revision = migrations.current(engine)
        row = {"revision": revision, "state": found.value, "head": migrations.HEAD}
        _rows(args, out, [row], row)
    finally:
        engine.dispose()
