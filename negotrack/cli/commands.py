"""What each command does: ask the tracker, then print with :mod:`negotrack.cli.output`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO, cast

from negotrack.cli.output import (
    Printer,
    cell_json,
    csv_rows,
    evidence_json,
    evidence_text,
    heading,
    lines_read,
    local,
    progress,
    warn,
    write_json,
)
from negotrack.errors import UnknownClauseError, UnknownPartyError, ValidationError
from negotrack.io import frames
from negotrack.io.dataset import import_dataset
from negotrack.io.examples import example_path
from negotrack.io.jsonl import export_jsonl, restore_jsonl
from negotrack.model import Precision
from negotrack.projections.history import History
from negotrack.tracker import Negotiation, Tracker

__all__ = ["READ_ONLY", "run"]

Handler = Callable[[argparse.Namespace, Negotiation, TextIO], None]

READ_ONLY = frozenset(
    {"export", "matrix", "diff", "history", "parties", "clauses", "notes", "negotiations",
     "verify", "plot", "report"}
)  # fmt: skip
"""Commands that only read: they never create a store."""


def run(args: argparse.Namespace, tracker: Tracker, out: TextIO) -> None:
    """Run the command ``args`` names against ``tracker``, printing to ``out``."""
    command: str = args.command
    if command == "import":
        _import(args, tracker, out)
    elif command == "export":
        _export(args, tracker, out)
    elif command == "negotiations":
        _negotiations(args, tracker, out)
    elif command == "verify":
        _verify(args, tracker, out)
    elif command == "report":
        _report(args, tracker, out)
    else:
        _HANDLERS[command](args, _negotiation(tracker, args.negotiation), out)


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


# -- writing and whole-log commands ---------------------------------------------------


def _import(args: argparse.Namespace, tracker: Tracker, out: TextIO) -> None:
    path = str(example_path(args.example)) if args.example else args.file
    name = args.example or path
    with lines_read(f"importing {Path(path).name}") as told:
        if path.endswith((".jsonl", ".ndjson")):
            if args.dry_run:
                raise ValidationError("--dry-run plans a dataset import; a restore has no plan")
            restored = restore_jsonl(tracker, path, progress=told)
            out.write(f"restored {len(restored)} events from {name}\n")
            return
        result = import_dataset(tracker, path, dry_run=args.dry_run, progress=told)
    if args.dry_run:
        out.writelines(f"{line}\n" for line in result.plan.describe())
        return
    out.write(
        f"imported {name} into {result.negotiation}: "
        f"{result.written} new events of {result.events}\n"
    )


class _Counting:
    """A text stream that advances a progress bar by one for each line written."""

    def __init__(self, target: TextIO, advance: Callable[[int], None]) -> None:
        self.target = target
        self.advance = advance

    def write(self, text: str) -> int:
        self.advance(text.count("\n"))
        return self.target.write(text)


def _export(args: argparse.Namespace, tracker: Tracker, out: TextIO) -> None:
    if args.negotiation is not None:
        tracker.negotiation(args.negotiation)  # an unknown one is an error, not an empty file
    total = tracker.last_position() + 1  # the header line, then at most every event
    with progress("exporting", total) as advance, ExitStack() as files:
        target = (
            out
            if not args.output
            else files.enter_context(open(args.output, "w", encoding="utf-8"))
        )
        counting = cast("TextIO", _Counting(target, advance))  # export_jsonl only calls write
        count = export_jsonl(tracker, counting, negotiation=args.negotiation)
    if args.output:
        sys.stderr.write(f"exported {count} events to {args.output}\n")


def _negotiations(args: argparse.Namespace, tracker: Tracker, out: TextIO) -> None:
    rows = [
        {"id": n.id, "title": n.title, "timezone": str(n.timezone)} for n in tracker.negotiations()
    ]
    _listing(args, out, rows)


def _verify(args: argparse.Namespace, tracker: Tracker, out: TextIO) -> None:
    own = None
    if args.negotiation is not None:
        tracker.negotiation(args.negotiation)
        own = sum(1 for _ in tracker.events(negotiation=args.negotiation))
    receipt = tracker.verify(expect=args.expect)
    if args.format == "json":
        document: dict[str, Any] = {
            "verified": receipt.position,
            "ok": True,
            "receipt": str(receipt),
        }
        if own is not None:
            document |= {"negotiation": args.negotiation, "negotiation_events": own}
        write_json(out, document)
        return
    of = "" if own is None else f", {own} of them in {args.negotiation}"
    held = "" if args.expect is None else f", and it holds the receipt {args.expect}"
    out.write(f"ok: the hash chain of {receipt.position} events verifies{of}{held}\n")
    out.write(f"receipt: {receipt}\n")


def _report(args: argparse.Namespace, tracker: Tracker, out: TextIO) -> None:
    from negotrack.report.html import write_briefing  # noqa: PLC0415

    plan = _negotiation(tracker, args.negotiation)
    path = write_briefing(
        tracker, plan.id, args.output, as_of=args.as_of, since=args.since, known_at=args.known_at
    )
    out.write(f"wrote {path}\n")


# -- one negotiation -------------------------------------------------------------------


def _matrix(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    if args.possibly_held and args.format == "csv":
        raise ValidationError("--possibly-held lists stances beside the grid: use text or json")
    matrix = neg.matrix(args.as_of, known_at=args.known_at, possibly_held=args.possibly_held)
    if matrix.hint:
        warn(matrix.hint)
    possible = [p for key in sorted(matrix.possibly_held) for p in matrix.possibly_held[key]]
    extra = {"possibly_held": [p.to_record() for p in possible]} if args.possibly_held else {}
    if args.format == "json":
        write_json(
            out,
            {
                "negotiation": matrix.negotiation,
                "as_of": matrix.as_of.isoformat(),
                "known_at": None if matrix.known_at is None else matrix.known_at.isoformat(),
                "timezone": str(neg.timezone),
                "cells": [cell_json(c) for c in matrix],
                **extra,
            },
        )
    elif args.format == "csv":
        csv_rows(out, [c.name for c in frames.MATRIX_COLUMNS], frames.matrix_rows(matrix))
    else:
        printer = Printer(out)
        printer.line(
            f"{neg.id} as of {heading(matrix.as_of, neg.timezone)}, {_known(matrix.known_at, neg)}"
        )
        printer.line()
        if len(matrix):
            printer.matrix(matrix, {c.id: c.title for c in neg.clauses().values()})
            printer.line()
            printer.legend(list(matrix))
        else:
            printer.line("(no stances recorded)")
        if args.possibly_held:
            printer.line()
            printer.line("possibly held (a date range covers this date):" if possible else
                         "possibly held: none (no date range covers this date)")  # fmt: skip
            for held in possible:
                claim, day = held.claim, held.claim.precision is Precision.DAY
                printer.line(
                    f"  {claim.party} on {claim.clause}: {claim.label}, between "
                    f"{local(held.earliest, neg.timezone, day=day)} and "
                    f"{local(claim.valid_at, neg.timezone, day=day)} ({held.basis})"
                )


def _known(known_at: Any, neg: Negotiation) -> str:
    if known_at is None:
        return "as known now"
    return f"as known at {heading(known_at, neg.timezone)}"


def _diff(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    moves = neg.diff(args.from_, args.to, known_at=args.known_at)
    for matrix in (moves.before, moves.after):
        if matrix.hint:
            warn(matrix.hint)
            break
    if args.format == "json":
        write_json(
            out,
            {
                "negotiation": neg.id,
                "from": moves.before.as_of.isoformat(),
                "to": moves.after.as_of.isoformat(),
                "known_at": None
                if moves.after.known_at is None
                else moves.after.known_at.isoformat(),
                "moves": [
                    {
                        "party": m.party,
                        "clause": m.clause,
                        "change": m.change,
                        "shift": m.shift,
                        "before": cell_json(m.before),
                        "after": cell_json(m.after),
                    }
                    for m in moves
                ],
            },
        )
    elif args.format == "csv":
        csv_rows(out, [c.name for c in frames.DIFF_COLUMNS], frames.diff_rows(moves))
    else:
        printer = Printer(out)
        tz = neg.timezone
        printer.line(
            f"{neg.id}: who moved from {heading(moves.before.as_of, tz)} "
            f"to {heading(moves.after.as_of, tz)}, {_known(moves.after.known_at, neg)}"
        )
        printer.line()
        entries = []
        for m in moves:
            shown = m.after or m.before
            fields = [
                m.party,
                m.clause,
                f"{m.change}:",
                printer.label(None if m.before is None else m.before.stance) or "(none)",
                "->",
                printer.label(None if m.after is None else m.after.stance) or "(none)",
                f"since {local(None if shown is None else shown.valid_at, tz, day=True)}",
            ]
            entries.append((fields, evidence_text(() if m.after is None else m.after.evidence)))
        printer.entries(entries)


def _history(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    if args.clause is None:
        histories = neg.party_history(args.party, known_at=args.known_at)
    else:
        histories = [neg.history(args.party, args.clause, known_at=args.known_at)]
    if args.format == "json":
        entries = [_entry_json(h, e) for h in histories for e in h]
        write_json(out, entries)
    elif args.format == "csv":
        csv_rows(out, [c.name for c in frames.HISTORY_COLUMNS], frames.history_rows(histories))
    else:
        _history_table(Printer(out), neg, histories, args.clause is None)


def _entry_json(history: History, entry: Any) -> dict[str, Any]:
    return {
        "party": history.party,
        "clause": history.clause,
        **entry.to_record(),
        "score": None if entry.stance is None else float(entry.stance),
        "precision": entry.precision.value,
        "position": entry.position,
        "evidence": [evidence_json(e) for e in entry.evidence],
    }


def _history_table(
    printer: Printer, neg: Negotiation, histories: list[History], every_clause: bool
) -> None:
    tz = neg.timezone
    entries = []
    for history in histories:
        for e in history:
            fields: list[Any] = [history.clause] if every_clause else []
            day = e.precision is Precision.DAY
            valid = local(e.valid_at, tz, day=day)
            if e.earliest is not None:  # a range: held from the latest bound
                valid = f"between {local(e.earliest, tz, day=day)} and {valid} ({e.basis})"
            fields += [
                f"valid {valid}",
                f"recorded {local(e.recorded_at, tz)}",
                e.kind,
                printer.label(e.stance) or "(withdrawn)",
            ]
            if e.retracted_at is not None:
                reason = f": {e.retraction_reason}" if e.retraction_reason else ""
                fields.append(f"retracted {local(e.retracted_at, tz)}{reason}")
            entries.append((fields, evidence_text(e.evidence)))
    printer.entries(entries)


def _listing(args: argparse.Namespace, out: TextIO, rows: list[dict[str, Any]]) -> None:
    if args.format == "json":
        write_json(out, rows)
    elif args.format == "csv":
        csv_rows(out, list(rows[0]) if rows else [], rows)
    else:
        printer = Printer(out)
        headers = list(rows[0]) if rows else []
        printer.table(
            headers,
            [[_plain(row[h]) for h in headers] for row in rows],
            wrap=[h for h in headers if h in {"title", "text", "name"}],
        )


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


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
    _listing(args, out, rows)


def _clauses(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    rows = [
        {"id": c.id, "title": c.title, "topic": c.topic, "withdrawn": c.withdrawn}
        for c in neg.clauses().values()
    ]
    _listing(args, out, rows)


def _notes(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    rows = [
        {
            "valid_at": n.valid_at.astimezone(neg.timezone).date().isoformat(),
            "kind": n.kind,
            "parties": list(n.parties),
            "text": n.text,
        }
        for n in neg.notes()
    ]
    _listing(args, out, rows)


def _plot(args: argparse.Namespace, neg: Negotiation, out: TextIO) -> None:
    from negotrack.report import plot  # noqa: PLC0415 - matplotlib, the plot extra

    if args.figure == "heatmap":
        path = plot.save_heatmap(
            neg, args.as_of, args.output, known_at=args.known_at, group=args.group
        )
    elif args.figure == "timeline":
        _refuse_unknown(neg, args.clause, args.parties or ())
        path = plot.save_timeline(
            neg, args.clause, args.output, parties=args.parties, known_at=args.known_at
        )
    else:
        path = plot.save_movement_chart(
            neg, args.from_, args.to, args.output, known_at=args.known_at
        )
    out.write(f"wrote {path}\n")


def _refuse_unknown(neg: Negotiation, clause: str, parties: Sequence[str]) -> None:
    if clause not in neg.clauses():
        raise UnknownClauseError(clause, neg.id)
    registered = neg.parties()
    for party in parties:
        if party not in registered:
            raise UnknownPartyError(party, neg.id)


_HANDLERS: dict[str, Handler] = {
    "matrix": _matrix,
    "diff": _diff,
    "history": _history,
    "parties": _parties,
    "clauses": _clauses,
    "notes": _notes,
    "plot": _plot,
}
