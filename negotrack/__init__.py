"""negotrack: the positions of every party in a negotiation, as a bitemporal event log.

Open a store with :func:`negotrack.open`, record stances through a
:class:`Negotiation`, and ask for :class:`Matrix` values as of any date and as
known at any time.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from negotrack.batch import Batch
from negotrack.errors import (
    AlreadyRetractedError,
    ChainBrokenError,
    ConcurrencyError,
    ConflictError,
    DatabaseBusyError,
    DatabaseError,
    DatabaseFullError,
    DatabaseReadOnlyError,
    DatabaseUnavailableError,
    DatasetError,
    DuplicateError,
    InvalidIdError,
    InvalidStanceError,
    MissingDependencyError,
    NaiveDatetimeError,
    NegotrackError,
    NotFoundError,
    SchemaBehindError,
    StaleCheckpointError,
    StoreError,
    UnknownClauseError,
    UnknownEventError,
    UnknownNegotiationError,
    UnknownPartyError,
    ValidationError,
)
from negotrack.events import (
    ClauseAmended,
    ClauseTabled,
    ClauseWithdrawn,
    Event,
    JointStatementRecorded,
    MembershipEnded,
    MembershipStarted,
    NegotiationOpened,
    NoteRecorded,
    PartyRegistered,
    Reading,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
)
from negotrack.model import (
    Clause,
    ClauseVersion,
    Evidence,
    IntervalScale,
    Membership,
    Ordinal,
    Party,
    PartyKind,
    Precision,
    Role,
    Source,
)
from negotrack.projections.blocs import BlocRow, BlocStance, Rule
from negotrack.projections.changes import CellChange, Change
from negotrack.projections.diff import Diff, Move
from negotrack.projections.history import History, HistoryEntry
from negotrack.projections.matrix import Cell, Matrix
from negotrack.store import Receipt, RecordedEvent, cell_stream
from negotrack.tracker import DEFAULT_URL, Negotiation, Tracker, open

if _TYPE_CHECKING:
    from negotrack.store.checkpoints import Checkpoint


def __getattr__(name: str) -> _Any:
    """``__version__`` and ``Checkpoint``, loaded when first asked for.

    importlib.metadata costs tens of milliseconds to import and to search, and
    ``Checkpoint`` needs SQLAlchemy: ``import negotrack`` should not pay for
    what most scripts never use (a ``memory://`` store needs neither).
    """
    if name == "Checkpoint":
        from negotrack.store.checkpoints import Checkpoint  # noqa: PLC0415

        return Checkpoint
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        found = version("negotrack")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        found = "0+unknown"
    globals()["__version__"] = found
    return found


__all__ = [
    "DEFAULT_URL",
    "AlreadyRetractedError",
    "Batch",
    "BlocRow",
    "BlocStance",
    "Cell",
    "CellChange",
    "ChainBrokenError",
    "Change",
    "Checkpoint",
    "Clause",
    "ClauseAmended",
    "ClauseTabled",
    "ClauseVersion",
    "ClauseWithdrawn",
    "ConcurrencyError",
    "ConflictError",
    "DatabaseBusyError",
    "DatabaseError",
    "DatabaseFullError",
    "DatabaseReadOnlyError",
    "DatabaseUnavailableError",
    "DatasetError",
    "Diff",
    "DuplicateError",
    "Event",
    "Evidence",
    "History",
    "HistoryEntry",
    "IntervalScale",
    "InvalidIdError",
    "InvalidStanceError",
    "JointStatementRecorded",
    "Matrix",
    "Membership",
    "MembershipEnded",
    "MembershipStarted",
    "MissingDependencyError",
    "Move",
    "NaiveDatetimeError",
    "Negotiation",
    "NegotiationOpened",
    "NegotrackError",
    "NotFoundError",
    "NoteRecorded",
    "Ordinal",
    "Party",
    "PartyKind",
    "PartyRegistered",
    "Precision",
    "Reading",
    "Receipt",
    "RecordedEvent",
    "Role",
    "Rule",
    "SchemaBehindError",
    "Source",
    "StaleCheckpointError",
    "StanceRecorded",
    "StanceRetracted",
    "StanceWithdrawn",
    "StoreError",
    "Tracker",
    "UnknownClauseError",
    "UnknownEventError",
    "UnknownNegotiationError",
    "UnknownPartyError",
    "ValidationError",
    "__version__",
    "cell_stream",
    "open",
]
