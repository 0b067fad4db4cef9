"""The ``negotrack`` command: import, export and ask the log from a shell.

``--db URL`` (default: ``$NEGOTRACK_DB``, else ``sqlite:///negotiations.db``
in the working directory) and ``--debug`` go before or after the command;
each command takes only the options that apply to it (``negotrack COMMAND
--help`` lists them, with examples).  Errors print one line and exit with
status 1; ``--debug`` shows the traceback instead.

The package is split by concern: :mod:`~negotrack.cli.options` (the grammar),
:mod:`~negotrack.cli.commands` (what each command does) and
:mod:`~negotrack.cli.output` (tables, CSV, JSON, progress bars).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

__all__ = ["main"]

EXIT_ERROR = 1


def _store_url(given: str | None) -> str:
    from negotrack.tracker import DEFAULT_URL  # noqa: PLC0415

    return given or os.environ.get("NEGOTRACK_DB") or DEFAULT_URL


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit status."""
    import negotrack  # noqa: PLC0415
    from negotrack.cli import commands, options  # noqa: PLC0415
    from negotrack.errors import NegotrackError  # noqa: PLC0415
    from negotrack.tracker import DEFAULT_URL  # noqa: PLC0415

    args = options.parser(DEFAULT_URL, negotrack.__version__).parse_args(argv)
    debug = getattr(args, "debug", False)
    stream = sys.stdout if out is None else out
    url = _store_url(getattr(args, "db", None))
    try:
        if args.command == "db":  # migrations work on the database, not through a store
            from negotrack.cli.schema import run_db  # noqa: PLC0415

            run_db(args, url, stream)
            return 0
        if args.command == "copy":  # two stores, neither of them --db
            from negotrack.io.copy import copy_log  # noqa: PLC0415

            stream.write(f"copied {copy_log(args.source, args.target)} events\n")
            return 0
        # A reading command opens with create=False: a typo in --db is an
        # error (the file does not exist), never a new empty store.
        reading = args.command in commands.READ_ONLY
        with negotrack.open(url, create=not reading) as tracker:
            commands.run(args, tracker, stream)
    except BrokenPipeError:
        # The reader (e.g. `| head`) left early: not an error of ours.  Point
        # stdout at devnull so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (NegotrackError, OSError, SQLAlchemyError) as exc:
        # Our errors say what and where; a file or a database failing under us
        # (a full disk, a server gone) gets its first line, not a traceback.
        if debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"negotrack: error: {message}\n")
        return EXIT_ERROR
    return 0
