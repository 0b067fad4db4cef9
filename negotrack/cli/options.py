"""The command line's grammar: each command with the options that apply to it, and help.

Every option has a help text with an example, and each command's ``--help``
ends with example invocations.  A command is given only the options it uses,
so an option that does not apply (``export --format csv``) is refused by the
parser instead of being silently ignored.  ``--db`` and ``--debug`` are
accepted before or after the command.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import Any

from negotrack._time import parse_when
from negotrack.errors import NaiveDatetimeError, ValidationError

__all__ = ["EXAMPLES", "FORMATS", "parser", "when"]

FORMATS = ("table", "json", "csv")

EXAMPLES = {
    "import": [
        "negotrack import examples/geneva_2025/geneva_2025.yaml",
        "negotrack import --example geneva_2025",
        "negotrack import backup.jsonl --db sqlite:///copy.db",
        "negotrack import examples/geneva_2025/geneva_2025.yaml --dry-run",
    ],
    "export": [
        "negotrack export -o backup.jsonl",
        "negotrack export --negotiation us-peace-plan-2025",
    ],
    "matrix": [
        "negotrack matrix --as-of 2025-11-22",
        "negotrack matrix --as-of 2025-11-22 --known-at 2025-11-25T12:00:00+00:00 --format json",
        "negotrack matrix --as-of 2025-11-20 --possibly-held",
    ],
    "diff": ["negotrack diff --from 2025-11-21 --to 2025-11-22 --format csv"],
    "history": ["negotrack history GB military-cap", "negotrack history GB --format json"],
    "parties": ["negotrack parties --format csv"],
    "clauses": ["negotrack clauses"],
    "notes": ["negotrack notes --format json"],
    "negotiations": ["negotrack negotiations"],
    "verify": [
        "negotrack verify",
        "negotrack verify --negotiation us-peace-plan-2025 --format json",
        "negotrack verify --expect "
        "1234:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ],
    "plot": [
        "negotrack plot heatmap --as-of 2025-11-22 -o heatmap.png",
        "negotrack plot timeline military-cap -o military-cap.svg",
        "negotrack plot moves --from 2025-11-21 --to 2025-11-22 -o moves.png",
    ],
    "report": ["negotrack report --as-of 2025-11-23 --since 2025-11-21 -o briefing.html"],
    "db": ["negotrack db current", "negotrack db upgrade"],
    "copy": [
        "negotrack copy --from sqlite:///negotiations.db "
        "--to postgresql+psycopg://me@localhost/talks",
    ],
}


def when(text: str) -> date | datetime:
    """A date (``YYYY-MM-DD``) or an ISO date-time with a zone, from the command line."""
    try:
        return parse_when(text, "the value")
    except NaiveDatetimeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no time zone: add one, e.g. {text}+00:00"
        ) from None
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("the value = ")) from None


_DATE = "YYYY-MM-DD means the end of that day in the negotiation's time zone; or a date-time"
_KNOWN_AT = (
    "as the log stood at this record time (default: now), e.g. 2025-11-25 or "
    "2025-11-25T12:00:00+00:00; record times are when the store learned a stance"
)


def _epilog(command: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[command])


class _Parsers:
    """Adds commands to the subparsers, each with the shared and its own options."""

    def __init__(self, commands: Any, default_db: str) -> None:
        self.commands = commands
        self.shared = argparse.ArgumentParser(add_help=False)
        _add_shared(self.shared, default_db)

    def add(self, name: str, help_: str, *, examples: str | None = None) -> argparse.ArgumentParser:
        return self.commands.add_parser(  # type: ignore[no-any-return]
            name,
            parents=[self.shared],
            help=help_,
            description=help_,
            epilog=_epilog(examples or name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )


def _add_shared(parser: argparse.ArgumentParser, default_db: str) -> None:
    # SUPPRESS: given before the command it is not overwritten by the command's default.
    parser.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        metavar="URL",
        help=f"the store, e.g. sqlite:///negotiations.db or postgresql+psycopg://user@host/db "
        f"(default: $NEGOTRACK_DB, else {default_db})",
    )
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )


def _negotiation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--negotiation",
        metavar="ID",
        help="the negotiation, e.g. us-peace-plan-2025 (optional when the store holds one)",
    )


def _format(parser: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS) -> None:
    parser.add_argument(
        "--format",
        choices=formats,
        default="table",
        help=f"table for people (the default), {' or '.join(formats[1:])} for programs, "
        f"e.g. --format {formats[1]}",
    )


def _known_at(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--known-at", type=when, metavar="TIME", help=_KNOWN_AT)


def _output(parser: argparse.ArgumentParser, what: str, *, required: bool = True) -> None:
    parser.add_argument("--output", "-o", metavar="FILE", required=required, help=what)


def parser(default_db: str, version: str) -> argparse.ArgumentParser:
    """The ``negotrack`` argument parser."""
    top = argparse.ArgumentParser(
        prog="negotrack",
        description="Parties' positions in a negotiation, as a bitemporal log.",
        epilog="Run `negotrack COMMAND --help` for a command's options and examples.",
    )
    top.add_argument("--version", action="version", version=f"negotrack {version}")
    _add_shared(top, default_db)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = _Parsers(commands, default_db).add

    imports = add("import", "import a YAML dataset, or restore a JSON Lines export")
    source = imports.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "file", nargs="?", help="a dataset (.yaml) or an export (.jsonl), e.g. geneva_2025.yaml"
    )
    source.add_argument(
        "--example", metavar="NAME", help="a dataset shipped with negotrack, e.g. geneva_2025"
    )
    imports.add_argument(
        "--dry-run",
        action="store_true",
        help="list what a dataset import would record, one line per event, and write nothing "
        "(e.g. before re-importing an edited file)",
    )

    export = add("export", "write the log as JSON Lines (the only export format)")
    _negotiation(export)
    _output(
        export, "the file to write, e.g. backup.jsonl (default: standard output)", required=False
    )

    matrix = add("matrix", "party x clause stances as of a date")
    matrix.add_argument(
        "--as-of", type=when, required=True, metavar="DATE", help=f"e.g. 2025-11-22: {_DATE}"
    )
    _known_at(matrix)
    matrix.add_argument(
        "--possibly-held",
        action="store_true",
        help="also list stances dated by a range that covers the date (e.g. 'last week' "
        "in a report): possibly held, not yet in their cells; text and json only",
    )
    _negotiation(matrix)
    _format(matrix)

    diff = add("diff", "who moved between two dates")
    diff.add_argument(
        "--from", dest="from_", type=when, required=True, metavar="DATE",
        help=f"the earlier date, e.g. 2025-11-21: {_DATE}",
    )  # fmt: skip
    diff.add_argument(
        "--to", type=when, required=True, metavar="DATE", help="the later date, e.g. 2025-11-22"
    )
    _known_at(diff)
    _negotiation(diff)
    _format(diff)

    history = add("history", "every stance event of a party on a clause, or on every clause")
    history.add_argument("party", help="a registered party, e.g. GB")
    history.add_argument(
        "clause", nargs="?", help="a tabled clause, e.g. military-cap (default: every clause)"
    )
    _known_at(history)
    _negotiation(history)
    _format(history)

    for name, help_ in (
        ("parties", "the registered parties"),
        ("clauses", "the tabled clauses"),
        ("notes", "dated notes: meetings, calls, deadlines"),
    ):
        listing = add(name, help_)
        _negotiation(listing)
        _format(listing)
    _format(add("negotiations", "the negotiations in the store"))

    _add_verify(add)
    copy = add("copy", "copy the whole log into an empty store, e.g. from SQLite to PostgreSQL")
    copy.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="the store to read, e.g. sqlite:///negotiations.db",
    )
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="an empty (or new) store, e.g. postgresql+psycopg://me@localhost/talks",
    )

    _add_plot(add, default_db)
    report = add("report", "a self-contained HTML briefing: positions, moves, sources, receipt")
    report.add_argument(
        "--as-of", type=when, required=True, metavar="DATE", help=f"e.g. 2025-11-23: {_DATE}"
    )
    report.add_argument(
        "--since", type=when, required=True, metavar="DATE",
        help="list the moves since this date, e.g. 2025-11-21",
    )  # fmt: skip
    _known_at(report)
    _negotiation(report)
    _output(report, "the HTML file to write, e.g. briefing.html")

    _add_db(add, default_db)
    return top


def _add_verify(add: Any) -> None:
    verify = add("verify", "check the whole log and its indexes; print its receipt")
    verify.add_argument(
        "--expect",
        metavar="RECEIPT",
        help="a receipt an earlier verify printed, position:hash (e.g. 1234:9f86…): fail "
        "unless the log still holds it, unchanged up to that position and not cut",
    )
    verify.add_argument(
        "--negotiation",
        metavar="ID",
        help="also count this negotiation's events (an unknown one is an error), "
        "e.g. us-peace-plan-2025",
    )
    _format(verify, ("table", "json"))


def _add_plot(add: Any, default_db: str) -> None:
    plot = add("plot", "draw a figure as PNG or SVG (needs the plot extra: matplotlib)")
    figures = plot.add_subparsers(dest="figure", required=True, metavar="FIGURE")
    heatmap = figures.add_parser(
        "heatmap", help="the matrix as coloured cells", description="the matrix as coloured cells"
    )
    heatmap.add_argument(
        "--as-of", type=when, required=True, metavar="DATE", help=f"e.g. 2025-11-22: {_DATE}"
    )
    heatmap.add_argument(
        "--group", action="store_true", help="group parties by bloc, clauses by topic"
    )
    timeline = figures.add_parser(
        "timeline",
        help="each party's stance on one clause over time",
        description="each party's stance on one clause over time",
    )
    timeline.add_argument("clause", help="a tabled clause, e.g. military-cap")
    timeline.add_argument(
        "--party", action="append", dest="parties", metavar="ID",
        help="a party to draw, e.g. --party GB --party US (default: every party with a stance)",
    )  # fmt: skip
    moves = figures.add_parser(
        "moves", help="who moved between two dates", description="who moved between two dates"
    )
    moves.add_argument("--from", dest="from_", type=when, required=True, metavar="DATE",
                       help="the earlier date, e.g. 2025-11-21")  # fmt: skip
    moves.add_argument("--to", type=when, required=True, metavar="DATE",
                       help="the later date, e.g. 2025-11-22")  # fmt: skip
    for figure in (heatmap, timeline, moves):
        _known_at(figure)
        _negotiation(figure)
        _output(figure, "the file to write: .png or .svg, e.g. heatmap.png")
        _add_shared(figure, default_db)


def _add_db(add: Any, default_db: str) -> None:
    db = add("db", "the database schema: upgrade, current, history")
    steps = db.add_subparsers(dest="db_command", required=True, metavar="STEP")
    upgrade = steps.add_parser("upgrade", help="bring the schema to the newest revision")
    upgrade.add_argument("--to", default="head", help="a revision id, e.g. 0002 (default: head)")
    _format(upgrade, ("table", "json"))
    _format(steps.add_parser("current", help="the revision the database is at"))
    _format(steps.add_parser("history", help="every migration, oldest first"))
    for step in steps.choices.values():
        _add_shared(step, default_db)
