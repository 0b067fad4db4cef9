"""Every error negotrack raises.

The tree::

    NegotrackError
    ├── ValidationError (ValueError)        a value is not acceptable
    │   ├── InvalidIdError                  an id that is empty or badly formed
    │   ├── InvalidStanceError              a stance off the clause's scale
    │   ├── NaiveDatetimeError              a datetime without a time zone
    │   └── DatasetError                    a dataset file is wrong (file, line, field)
    ├── NotFoundError (KeyError)            something named is not in the store
    │   ├── UnknownNegotiationError
    │   ├── UnknownPartyError
    │   ├── UnknownClauseError
    │   └── UnknownEventError
    ├── ConflictError                       the log refuses a write
    │   ├── ConcurrencyError                a stale expected version
    │   ├── DuplicateError                  a second registration of the same thing
    │   ├── AlreadyRetractedError           an event retracted twice
    │   └── StaleCheckpointError            a follower's checkpoint moved under it
    └── StoreError                          the storage itself
        ├── ChainBrokenError                the hash chain does not verify
        ├── SchemaBehindError               the database needs `negotrack db upgrade`
        ├── MissingDependencyError (ImportError)  an optional extra is not installed
        └── DatabaseError                   the database failed an operation (where, detail)
            ├── DatabaseUnavailableError (ConnectionError)  it cannot be reached or opened
            ├── DatabaseBusyError (TimeoutError)  locked by another writer, or timed out
            ├── DatabaseReadOnlyError (PermissionError)  it refuses writes
            └── DatabaseFullError (OSError)     its disk or quota is full

Each error keeps its context as attributes and builds its message from them,
so a caller can both print it and act on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "AlreadyRetractedError",
    "ChainBrokenError",
    "ConcurrencyError",
    "ConflictError",
    "DatabaseBusyError",
    "DatabaseError",
    "DatabaseFullError",
    "DatabaseReadOnlyError",
    "DatabaseUnavailableError",
    "DatasetError",
    "DuplicateError",
    "InvalidIdError",
    "InvalidStanceError",
    "MissingDependencyError",
    "NaiveDatetimeError",
    "NegotrackError",
    "NotFoundError",
    "SchemaBehindError",
    "StaleCheckpointError",
    "StoreError",
    "UnknownClauseError",
    "UnknownEventError",
    "UnknownNegotiationError",
    "UnknownPartyError",
    "ValidationError",
]


class NegotrackError(Exception):
    """The root of every error negotrack raises."""


class ValidationError(NegotrackError, ValueError):
    """A value given to negotrack is not acceptable."""


class InvalidIdError(ValidationError):
    """An id is empty or does not have the required form."""

    def __init__(self, what: str, value: object, expected: str) -> None:
        self.what = what
        self.value = value
        self.expected = expected
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"invalid {self.what} id {self.value!r}: expected {self.expected}"


class InvalidStanceError(ValidationError):
    """A stance is not a point of the scale it is recorded on."""

    def __init__(self, value: object, expected: str, clause: str | None = None) -> None:
        self.value = value
        self.expected = expected
        self.clause = clause
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" on clause {self.clause!r}" if self.clause else ""
        return f"invalid stance {self.value!r}{where}: expected {self.expected}"


class NaiveDatetimeError(ValidationError):
    """A datetime has no time zone, so the instant it names is unknown."""

    def __init__(self, field: str, value: object) -> None:
        self.field = field
        self.value = value
        super().__init__(str(self))

    def __str__(self) -> str:
        return (
            f"{self.field} = {self.value!r} has no time zone: give a tz-aware datetime "
            "(e.g. datetime(..., tzinfo=timezone.utc)) or a date"
        )


class DatasetError(ValidationError):
    """A dataset file cannot be imported; names the file, the line and the field."""

    def __init__(
        self,
        problem: str,
        *,
        file: str,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" (field {self.field})" if self.field else ""
        return f"{where}{field}: {self.problem}"


class NotFoundError(NegotrackError, KeyError):
    """Something named is not in the store."""

    what = "thing"

    def __init__(self, name: str, negotiation: str | None = None) -> None:
        self.name = name
        self.negotiation = negotiation
        super().__init__(name)

    def __str__(self) -> str:  # KeyError would quote the repr of the args
        where = f" in negotiation {self.negotiation!r}" if self.negotiation else ""
        return f"unknown {self.what} {self.name!r}{where}"


class UnknownNegotiationError(NotFoundError):
    """No negotiation with this id has been opened."""

    what = "negotiation"


class UnknownPartyError(NotFoundError):
    """No party with this id is registered in the negotiation."""

    what = "party"


class UnknownClauseError(NotFoundError):
    """No clause with this id is tabled in the negotiation."""

    what = "clause"


class UnknownEventError(NotFoundError):
    """No event with this id is in the log (or it is not a stance)."""

    what = "event"


class ConflictError(NegotrackError):
    """The log refuses a write that contradicts what it holds."""


class ConcurrencyError(ConflictError):
    """An append expected a stream at a version it is no longer at."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        self.stream = stream
        self.expected = expected
        self.actual = actual
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"stream {self.stream!r} is at version {self.actual}, expected {self.expected}"


class DuplicateError(ConflictError):
    """A negotiation, party or clause is introduced a second time.

    ``existing`` is the id of the event that declared it first (``None`` when
    both declarations are in one batch); ``differences`` maps each field that
    differs to (existing value, given value).  No differences means the same
    declaration again: :attr:`same_declaration`.
    """

    def __init__(
        self,
        what: str,
        name: str,
        negotiation: str | None = None,
        *,
        existing: str | None = None,
        differences: Mapping[str, tuple[object, object]] | None = None,
    ) -> None:
        self.what = what
        self.name = name
        self.negotiation = negotiation
        self.existing = existing
        self.differences = dict(differences or {})
        super().__init__(str(self))

    @property
    def same_declaration(self) -> bool:
        """Whether the second declaration equals the first in every field but its id."""
        return self.existing is not None and not self.differences

    def __str__(self) -> str:
        where = f" in negotiation {self.negotiation!r}" if self.negotiation else ""
        message = f"{self.what} {self.name!r} already exists{where}"
        if self.differences:
            differ = "; ".join(
                f"{field} is {old!r}, not {new!r}"
                for field, (old, new) in sorted(self.differences.items())
            )
            return f"{message}, declared differently: {differ}"
        if self.existing is not None:
            return f"{message} (the same declaration, event {self.existing!r})"
        return message


class AlreadyRetractedError(ConflictError):
    """An event that was already retracted cannot be retracted again."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"event {self.event_id!r} is already retracted"


class StaleCheckpointError(ConflictError):
    """A follower tried to move its checkpoint to a position it is already at or past.

    Another follower under the same name processed the event first: the
    caller's writes in that transaction are rolled back, so nothing is done twice.
    """

    def __init__(self, name: str, stored: int, wanted: int) -> None:
        self.name = name
        self.stored = stored
        self.wanted = wanted
        super().__init__(str(self))

    def __str__(self) -> str:
        return (
            f"checkpoint {self.name!r} is at position {self.stored}, so position "
            f"{self.wanted} was already processed: is another follower running under this name?"
        )


class StoreError(NegotrackError):
    """The storage cannot do what was asked."""


class SchemaBehindError(StoreError):
    """The database holds an older schema than this negotrack needs."""

    def __init__(self, where: str, found: str | None, needed: str) -> None:
        self.where = where
        self.found = found
        self.needed = needed
        super().__init__(str(self))

    def __str__(self) -> str:
        found = "the schema before migrations" if self.found is None else f"schema {self.found}"
        return (
            f"the store at {self.where} holds {found}, this negotrack needs {self.needed}: "
            f"run `negotrack db upgrade --db {self.where}`"
        )


class ChainBrokenError(StoreError):
    """The log does not verify: a row of it or of its indexes was altered, added or removed.

    ``position`` is the first position found wrong, or 0 when the fault is not
    tied to one event (a cell listed that no event implies).
    """

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" at position {self.position}" if self.position else ""
        return f"the log does not verify{where}: {self.reason}"


class MissingDependencyError(StoreError, ImportError):
    """An optional dependency is needed; says which extra installs it."""

    def __init__(self, module: str, extra: str, purposes: Sequence[str] = ()) -> None:
        self.module = module
        self.extra = extra
        self.purposes = tuple(purposes)
        super().__init__(str(self))

    def __str__(self) -> str:
        why = f" for {', '.join(self.purposes)}" if self.purposes else ""
        return (
            f"{self.module} is needed{why}: install it with pip install 'negotrack[{self.extra}]'"
        )


class DatabaseError(StoreError):
    """The database failed an operation; ``where`` names the store, ``detail`` the driver's words.

    The storage layer raises it (or a subclass) for every error of the
    database driver, with the driver's error chained as ``__cause__``.
    """

    problem = "failed"

    def __init__(self, where: str, detail: str) -> None:
        self.where = where
        self.detail = detail
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"the database at {self.where} {self.problem}: {self.detail}"


class DatabaseUnavailableError(DatabaseError, ConnectionError):
    """The database cannot be reached or opened (server down, wrong address, missing file)."""

    problem = "cannot be reached or opened"

    def __str__(self) -> str:
        return f"cannot open the store at {self.where}: {self.detail}"


class DatabaseBusyError(DatabaseError, TimeoutError):
    """The database is locked by another writer, or a statement timed out: try again."""

    problem = "is busy (locked, or timed out); try again"


class DatabaseReadOnlyError(DatabaseError, PermissionError):
    """The database refuses writes (a read-only file, connection or replica)."""

    problem = "is read-only"


class DatabaseFullError(DatabaseError, OSError):
    """The database has no room left (disk or quota full)."""

    problem = "is full"
