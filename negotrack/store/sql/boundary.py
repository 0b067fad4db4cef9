"""The storage boundary: every error of SQLAlchemy or a database driver becomes a negotrack error.

The SQL store runs each use of a connection inside :func:`mapped_errors` (as
httpx runs its transport inside ``map_httpcore_exceptions``), so a caller
catches :class:`~negotrack.errors.NegotrackError` and nothing foreign.  The
driver's error stays chained as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from negotrack.errors import (
    ConflictError,
    DatabaseBusyError,
    DatabaseError,
    DatabaseFullError,
    DatabaseReadOnlyError,
    DatabaseUnavailableError,
    NegotrackError,
    ValidationError,
)

__all__ = ["mapped_errors"]

# SQLite's error names (sqlite3 exceptions carry them as ``sqlite_errorname``),
# by prefix, so SQLITE_BUSY_SNAPSHOT and SQLITE_READONLY_DBMOVED count too.
_SQLITE: tuple[tuple[str, type[DatabaseError]], ...] = (
    ("SQLITE_READONLY", DatabaseReadOnlyError),
    ("SQLITE_FULL", DatabaseFullError),
    ("SQLITE_BUSY", DatabaseBusyError),
    ("SQLITE_LOCKED", DatabaseBusyError),
    ("SQLITE_CANTOPEN", DatabaseUnavailableError),
    ("SQLITE_NOTADB", DatabaseUnavailableError),
)

# PostgreSQL's SQLSTATE codes (psycopg exceptions carry them as ``sqlstate``).
_POSTGRES: dict[str, type[DatabaseError]] = {
    "25006": DatabaseReadOnlyError,  # read_only_sql_transaction
    "42501": DatabaseReadOnlyError,  # insufficient_privilege: a role granted reading only
    "53100": DatabaseFullError,  # disk_full
    "53200": DatabaseFullError,  # out_of_memory
    "53300": DatabaseUnavailableError,  # too_many_connections
    "55P03": DatabaseBusyError,  # lock_not_available
    "57014": DatabaseBusyError,  # query_canceled (statement_timeout)
    "40P01": DatabaseBusyError,  # deadlock_detected
    "40001": DatabaseBusyError,  # serialization_failure
    "57P01": DatabaseUnavailableError,  # admin_shutdown
    "57P03": DatabaseUnavailableError,  # cannot_connect_now
}
_TOO_LONG = {"22001", "SQLITE_TOOBIG"}  # string_data_right_truncation; string or blob too big


def _kind(error: sa_exc.SQLAlchemyError) -> type[DatabaseError] | None:
    """The negotrack class of a driver error, or ``None`` for a value too long."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return DatabaseBusyError
    original = getattr(error, "orig", None)
    name = str(getattr(original, "sqlite_errorname", "") or "")
    state = str(getattr(original, "sqlstate", "") or "")
    if name in _TOO_LONG or state in _TOO_LONG:
        return None
    for prefix, kind in _SQLITE:
        if name.startswith(prefix):
            return kind
    if state in _POSTGRES:
        return _POSTGRES[state]
    if state.startswith("08") or (
        isinstance(error, sa_exc.OperationalError) and not state and not name
    ):
        # Connection exceptions; psycopg gives none a SQLSTATE when the
        # server cannot be reached at all ("connection refused").
        return DatabaseUnavailableError
    return DatabaseError


@contextmanager
def mapped_errors(where: str) -> Iterator[None]:
    """Run a block that uses the database at ``where``; translate what its driver raises.

    Raises:
        ConflictError: the database refused a write as a constraint violation.
        ValidationError: a value is too long for the database.
        DatabaseError: any other failure, as the subclass that says what it is.
    """
    try:
        yield
    except NegotrackError:
        raise
    except sa_exc.IntegrityError as exc:
        raise ConflictError(f"the database at {where} refused the write: {exc.orig}") from exc
    except sa_exc.SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip()
        kind = _kind(exc)
        if kind is None:
            raise ValidationError(
                f"a value is too long for the database at {where}: {detail}"
            ) from exc
        raise kind(where, detail) from exc
