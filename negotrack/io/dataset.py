"""The hand-written dataset format (YAML, ``negotrack/1`` and ``negotrack/2``) and its importer.

A dataset file declares one negotiation: its sources, parties, memberships,
clauses, single-party stances, joint statements and dated notes, and in
``negotrack/2`` clause versions, withdrawals, date ranges and its own errata
(see docs/dataset-format.md; the shape of ``negotrack/2`` is in
:mod:`negotrack.io.format_v2`).  Import is in steps, and nothing is written
until all of them pass:

1. parse the YAML a top-level item at a time (:mod:`negotrack.io.yaml_pieces`:
   memory follows the largest item, not the file; a value's line is found
   again when an error names it);
2. structure each item into the ``*Spec`` classes below as it is read, with a
   strict cattrs converter (unknown keys, wrong types and missing fields are
   refused);
3. parse each value once (tz-aware times, stances, sources, a quote behind
   every stance) into one list of events with stable ids;
4. in ``negotrack/2``, check the evidence (:mod:`negotrack.io.evidence`):
   quotes in their local source files, no group signing beside its member;
5. compare with what the log holds for the file's ids
   (:func:`negotrack.io.reimport.plan_reimport`) and append the difference
   through :meth:`Tracker.append`, whose write rules (:mod:`negotrack.rules`)
   are reported at their file, line and field.

The difference is appended in one transaction: an import is all or nothing,
importing the same file again writes nothing, and importing an edited file
records what changed as corrections and retractions.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import attrs
import cattrs
import yaml
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from negotrack import rules
from negotrack._time import valid_instant, zone
from negotrack.dating import valid_time
from negotrack.errors import (
    DatasetError,
    NegotrackError,
    UnknownClauseError,
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
from negotrack.io import format_v2 as v2
from negotrack.io.evidence import QuoteUse, check_quotes, check_signatories
from negotrack.io.format_common import (
    NegotiationSpec,
    PartySpec,
    ReadingSpec,
    ScaleSpec,
    SourceSpec,
)
from negotrack.io.progress import LineCount, Progress
from negotrack.io.reimport import ReimportPlan, plan_reimport
from negotrack.io.yaml_pieces import Piece, TextLines, pieces
from negotrack.model import (
    Evidence,
    IntervalScale,
    Membership,
    PartyKind,
    Precision,
    Role,
    Source,
    canonical_number,
    check_clause_id,
    check_negotiation_id,
    check_party_id,
    stance_point,
)
from negotrack.store import RecordedEvent
from negotrack.tracker import Tracker

__all__ = [
    "FORMATS",
    "DatasetFile",
    "ImportResult",
    "dataset_events",
    "import_dataset",
    "load_dataset",
]

FORMATS = ("negotrack/1", "negotrack/2")
"""The values of the ``format`` key this version reads; a file's rules never change."""

When: TypeAlias = date | datetime
_Dating: TypeAlias = dict[str, Any]
"""The event fields of a valid time: ``valid_at``, ``precision``, ``earliest``, ``basis``."""
Path_: TypeAlias = tuple[str | int, ...]
_E = TypeVar("_E", bound=Event)
_T = TypeVar("_T")


# -- the file's shape ----------------------------------------------------------


@attrs.frozen(kw_only=True)
class MembershipSpec:
    member: str
    group: str
    role: Role = Role.MEMBER
    valid_from: When
    valid_until: When | None = None
    dated: str | None = None


@attrs.frozen(kw_only=True)
class ClauseSpec:
    id: str
    title: str
    topic: str | None = None
    text: str | None = None
    scale: ScaleSpec | None = None
    tabled: When


@attrs.frozen(kw_only=True)
class StanceSpec:
    id: str
    party: str
    clause: str
    stance: str | float
    valid: When
    dated: str | None = None
    speaker: str | None = None
    source: str
    quote: str
    stated: bool = True
    conditions: str | None = None
    confidence: float | None = None
    salience: float | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class PositionSpec:
    clause: str
    stance: str | float
    quote: str
    stated: bool = True
    conditions: str | None = None
    confidence: float | None = None
    salience: float | None = None


@attrs.frozen(kw_only=True)
class StatementSpec:
    id: str
    title: str | None = None
    signatories: tuple[str, ...]
    valid: When
    dated: str | None = None
    source: str
    readings: tuple[ReadingSpec, ...] = ()
    positions: tuple[PositionSpec, ...]


@attrs.frozen(kw_only=True)
class NoteSpec:
    id: str
    kind: str
    valid: When
    dated: str | None = None
    parties: tuple[str, ...] = ()
    text: str
    source: str | None = None
    quote: str | None = None


@attrs.frozen(kw_only=True)
class DatasetFile:
    """A whole dataset file, structured but not yet checked for references."""

    format: str
    negotiation: NegotiationSpec
    sources: dict[str, SourceSpec] = attrs.field(factory=dict)
    parties: tuple[PartySpec, ...] = ()
    memberships: tuple[MembershipSpec, ...] = ()
    clauses: tuple[ClauseSpec, ...] = ()
    stances: tuple[StanceSpec, ...] = ()
    statements: tuple[StatementSpec, ...] = ()
    notes: tuple[NoteSpec, ...] = ()


# -- a strict converter: YAML's loose typing must not slip through -------------

_converter = cattrs.Converter(forbid_extra_keys=True)


def _strict_str(value: Any, _: type) -> str:
    if isinstance(value, bool):
        # YAML 1.1 reads NO, no, yes, on and off as booleans.
        raise TypeError(f'expected text, got the boolean {value!r} (quote it, e.g. "NO")')
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value


def _strict_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _strict_number(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return canonical_number("value", value)  # YAML reads .inf, .nan and 1e400


def _when(value: Any, _: Any) -> When:
    if isinstance(value, datetime | date):
        return value
    raise TypeError(f"expected a date (YYYY-MM-DD) or a date-time with a zone, got {value!r}")


def _plain_date(value: Any, _: type) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise TypeError(f"expected a date (YYYY-MM-DD), got {value!r}")


def _choice(value: Any, kind: Any) -> Any:
    """A member of a string enum, named in the error with every allowed value."""
    text = _strict_str(value, str)
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValueError(f"expected one of {allowed}, got {text!r}") from None


def _stance_value(value: Any, _: type) -> str | float:
    if isinstance(value, str):
        return value
    return _strict_number(value, float)


_converter.register_structure_hook(str, _strict_str)
_converter.register_structure_hook(bool, _strict_bool)
_converter.register_structure_hook(float, _strict_number)
_converter.register_structure_hook(date, _plain_date)
# The str hook above would claim string enums too (they subclass str); these are more specific.
_converter.register_structure_hook(PartyKind, _choice)
_converter.register_structure_hook(Role, _choice)
_converter.register_structure_hook_func(lambda t: t == When, _when)
_converter.register_structure_hook_func(
    lambda t: t == (When | None), lambda v, _: None if v is None else _when(v, When)
)
_converter.register_structure_hook_func(lambda t: t == (str | float), _stance_value)


def _when_v2(value: Any, _: Any) -> v2.WhenV2:
    if isinstance(value, dict):
        return _converter.structure(value, v2.RangeSpec)
    return _when(value, When)


_converter.register_structure_hook_func(lambda t: t == v2.WhenV2, _when_v2)
_converter.register_structure_hook_func(
    lambda t: t == (v2.WhenV2 | None), lambda v, _: None if v is None else _when_v2(v, v2.WhenV2)
)


# -- parsing with line numbers ------------------------------------------------


class _Located:
    """Turns a path in the document into a DatasetError at the right line."""

    def __init__(self, file: str, lines: Mapping[Path_, int]) -> None:
        self.file = file
        self.lines = lines

    def error(self, path: Path_, problem: str) -> DatasetError:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        field = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(
            ".[", "["
        )
        return DatasetError(
            problem, file=self.file, line=self.lines.get(probe), field=field or None
        )


def _first_error(exc: BaseException, path: Path_ = ()) -> tuple[Path_, str]:
    """The path and message of the first leaf error in a cattrs exception group."""
    if isinstance(exc, ForbiddenExtraKeysError):
        keys = ", ".join(sorted(exc.extra_fields))
        return path, f"unknown key(s) {keys}"
    if isinstance(exc, ClassValidationError | IterableValidationError):
        for sub in exc.exceptions:
            step: Path_ = ()
            for note in getattr(sub, "__notes__", []):
                name = getattr(note, "name", None)
                index = getattr(note, "index", None)
                if name is not None:
                    step = (name,)
                elif index is not None:
                    step = (index,)
            return _first_error(sub, path + step)
    if isinstance(exc, KeyError):
        return path, "this field is required"
    return path, str(exc)


def _read(path: str | Path) -> str:
    """The file's text; a byte that is not UTF-8 is named by its line."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read the file: {exc.strerror}", file=str(path)) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(
            f"not UTF-8 text (byte {exc.start})", file=str(path), line=line
        ) from None


def _pieces(text: str, file: str) -> Iterator[Piece]:
    """The document's pieces (see :func:`pieces`); a fault in the YAML is a DatasetError."""
    try:
        yield from pieces(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        raise DatasetError(f"not valid YAML: {exc.problem or exc}", file=file, line=line) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. a raw control
        line = text.count("\n", 0, exc.position) + 1
        raise DatasetError(
            f"not valid YAML: character {exc.character!r} is not allowed "
            "(write control characters as escapes in a double-quoted string)",
            file=file,
            line=line,
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above is marked
        raise DatasetError(f"not valid YAML: {exc}", file=file) from None


def _item_types(shape: type) -> dict[str, type]:
    """The item type of each list of a dataset's shape, by key (``stances``: ``StanceSpec``)."""
    return {
        name: typing.get_args(hint)[0]
        for name, hint in typing.get_type_hints(shape).items()
        if typing.get_origin(hint) is tuple
    }


_SHAPES: dict[str, type[DatasetFile | v2.DatasetFileV2]] = {
    "negotrack/1": DatasetFile,
    "negotrack/2": v2.DatasetFileV2,
}
_ITEM_TYPES = {format_: _item_types(shape) for format_, shape in _SHAPES.items()}


class _Structurer:
    """Structures a document piece by piece: each list item becomes its spec as it is read.

    Only the specs are kept, a fraction of the parsed YAML.  Items read before
    ``format`` (which says their shape) wait, parsed, until it comes: a file
    written in the documented order has ``format`` first.
    """

    def __init__(self, located: _Located) -> None:
        self.at = located
        self.rest: dict[Any, Any] = {}  # the values that are not list items, structured last
        self.lists: dict[str, list[Any]] = {}
        self.waiting: list[Piece] = []

    def add(self, piece: Piece) -> None:
        if piece.key is None:  # the document is not a mapping
            raise self.at.error((), "expected a mapping with format, negotiation, parties, ...")
        if piece.index is None:
            self.rest[piece.key] = piece.value
            if piece.key == "format":
                self._format()  # refuses a format it does not know
                waiting, self.waiting = self.waiting, []
                for item in waiting:
                    self.add(item)
        elif "format" not in self.rest:
            self.waiting.append(piece)
        elif piece.key in (kinds := _ITEM_TYPES[self._format()]):
            self.lists.setdefault(piece.key, []).append(self._item(piece, kinds[piece.key]))
        else:  # not a list of the dataset: the structuring at the end refuses it
            self.rest[piece.key].append(piece.value)

    def dataset(self) -> DatasetFile | v2.DatasetFileV2:
        """The whole file, structured."""
        shape = _SHAPES[self._format()]
        try:
            data = _converter.structure(self.rest, shape)
        except (cattrs.BaseValidationError, ForbiddenExtraKeysError) as exc:
            where, problem = _first_error(exc)
            raise self.at.error(where, problem) from exc
        lists: dict[str, Any] = {key: tuple(specs) for key, specs in self.lists.items()}
        return attrs.evolve(data, **lists)

    def _format(self) -> str:
        format_ = self.rest.get("format")
        if not isinstance(format_, str) or format_ not in _SHAPES:
            expected = " or ".join(FORMATS)
            raise self.at.error(("format",), f"expected format: {expected}, got {format_!r}")
        return format_

    def _item(self, piece: Piece, kind: type) -> Any:
        # Structured as a list of one, as the whole file's list would be: cattrs then
        # wraps whatever the item raises (a number where a mapping belongs, say).
        try:
            return _converter.structure([piece.value], tuple[kind, ...])[0]  # type: ignore[valid-type]
        except (cattrs.BaseValidationError, ForbiddenExtraKeysError) as exc:
            _, *where = _first_error(exc)[0]
            raise self.at.error(
                (piece.key, piece.index or 0, *where), _first_error(exc)[1]
            ) from exc


def load_dataset(
    path: str | Path, *, progress: Progress | None = None
) -> tuple[DatasetFile | v2.DatasetFileV2, _Located]:
    """Parse and structure a dataset file (no reference checks yet), a piece at a time.

    Args:
        path: the YAML file.
        progress: told the lines read of the file's lines as it is read.

    Raises:
        DatasetError: the file is not valid YAML or does not have the dataset's shape.
    """
    file = str(path)
    text = _read(path)
    located = _Located(file, TextLines(text))
    structurer = _Structurer(located)
    count = LineCount(progress, text.count("\n") + (not text.endswith("\n")))
    for piece in _pieces(text, file):
        structurer.add(piece)
        count.reached(piece.line)
    count.done()
    if not structurer.rest:
        raise DatasetError(
            "the file is empty: expected a dataset (format: negotrack/2)", file=file, line=1
        )
    return structurer.dataset(), located


# -- from specs to events ------------------------------------------------------


@attrs.frozen(kw_only=True)
class ImportResult:
    """What an import did: the events of the file, the plan, and how many events were written.

    ``plan`` is what the import recorded (or, for a dry run, would record):
    its ``describe()`` lists it line by line.  ``events`` counts the events the
    file stands for, ``records`` holds the stored record of each planned event
    (none for a dry run), and ``written`` how many of those are new.
    """

    negotiation: str
    events: int
    written: int
    records: tuple[RecordedEvent, ...]
    plan: ReimportPlan = attrs.field(factory=ReimportPlan)


def _event_id(negotiation: str, *parts: str) -> str:
    return "/".join((negotiation, *parts))


@attrs.frozen
class _Origin:
    """Where an event comes from in the file: its item, and event fields renamed there."""

    item: Path_
    renamed: Mapping[str, Path_] = attrs.field(factory=dict)

    def path(self, field: rules.Field) -> Path_:
        if not field:
            return self.item
        head, *rest = field
        return (*self.item, *self.renamed.get(str(head), (head,)), *rest)


_HINTS: dict[type[NegotrackError], str] = {
    UnknownPartyError: ": declare it under parties",
    UnknownClauseError: ": declare it under clauses",
}


def dataset_events(data: DatasetFile | v2.DatasetFileV2, located: _Located) -> list[Event]:
    """Turn a structured dataset into events with stable ids.

    Values are parsed here (times, stances, sources, quotes); the write rules
    (references, scales, duplicates) are checked when the events are appended.

    Raises:
        DatasetError: a bad value or time, a missing quote, an id used twice in the file.
    """
    return _builder(data, located).events()


def _builder(data: DatasetFile | v2.DatasetFileV2, located: _Located) -> _Builder:
    if isinstance(data, v2.DatasetFileV2):
        return _BuilderV2(data, located)
    return _Builder(data, located)


class _Builder:
    """Events of a ``negotrack/1`` file; :class:`_BuilderV2` extends it for ``negotrack/2``."""

    def __init__(self, data: Any, located: _Located) -> None:
        self.data = data
        self.at = located
        self.neg = data.negotiation.id
        self.out: list[Event] = []
        self.origins: list[_Origin] = []

    def locate(self, index: int, field: rules.Field, error: NegotrackError) -> NegotrackError:
        """A write rule's refusal of event ``index``, at its place in the file."""
        hint = next((h for kind, h in _HINTS.items() if isinstance(error, kind)), "")
        return self.at.error(self.origins[index].path(field), f"{error}{hint}")

    def locate_id(self, event_id: str, field: rules.Field, error: NegotrackError) -> NegotrackError:
        """A refusal of a planned event, at the item of the file it comes from.

        A planned event's id is a file event's id, or one with ``~...`` after it
        (a re-import's replacement or retraction).
        """
        index = {event.event_id: i for i, event in enumerate(self.out)}
        key = event_id
        while key not in index and "~" in key:
            key = key.rsplit("~", 1)[0]
        if key not in index:
            return error
        return self.locate(index[key], field, error)

    def _add(self, origin: _Origin, event_type: type[_E], /, **fields: Any) -> _E:
        """Make one event; a value it refuses is reported at its item in the file."""
        try:
            event = event_type(negotiation=self.neg, **fields)
        except NegotrackError as exc:
            raise self.at.error(origin.item, str(exc)) from exc
        self.out.append(event)
        self.origins.append(origin)
        return event

    def _parsed(self, path: Path_, parse: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        try:
            return parse(*args, **kwargs)
        except NegotrackError as exc:
            raise self.at.error(path, str(exc)) from exc

    def _time(self, path: Path_, value: When) -> tuple[datetime, Precision]:
        field = path[-1] if isinstance(path[-1], str) else "valid"
        return self._parsed(path, valid_instant, value, self.tz, field)

    def _unique(self, seen: set[str], path: Path_, value: str, what: str) -> None:
        if value in seen:
            raise self.at.error(path, f"duplicate {what} id {value!r}")
        seen.add(value)

    def _sources(self) -> dict[str, Source]:
        return {
            sid: self._parsed(
                ("sources", sid),
                Source,
                outlet=spec.outlet,
                title=spec.title,
                url=spec.url,
                published=spec.published,
                file=spec.file,
            )
            for sid, spec in self.data.sources.items()
        }

    def _source(self, path: Path_, source: str) -> Source:
        if source not in self.sources:
            raise self.at.error(path, f"unknown source {source!r}: declare it under sources")
        return self.sources[source]

    def _evidence(self, path: Path_, source: str, quote: str | None, stated: bool) -> Evidence:
        if quote is None or not quote.strip():
            raise self.at.error(
                (*path, "quote"), "missing quote: every stance rests on a verbatim quote"
            )
        return self._parsed(
            (*path, "quote"),
            Evidence,
            source=self._source((*path, "source"), source),
            quote=quote,
            stated=stated,
        )

    def events(self) -> list[Event]:
        data, neg = self.data, self.neg
        self._parsed(("negotiation", "id"), check_negotiation_id, neg)
        self.tz = self._parsed(("negotiation", "timezone"), zone, data.negotiation.timezone)
        self.sources = self._sources()
        self._add(
            _Origin(("negotiation",), {"negotiation": ("id",)}),
            NegotiationOpened,
            event_id=_event_id(neg, "negotiation"),
            title=data.negotiation.title,
            timezone=data.negotiation.timezone,
            description=data.negotiation.description,
        )
        for i, party in enumerate(data.parties):
            self._parsed(("parties", i, "id"), check_party_id, party.id)
            self._add(
                _Origin(("parties", i), {"party": ("id",)}),
                PartyRegistered,
                event_id=_event_id(neg, "party", party.id),
                party=party.id,
                name=party.name,
                kind=party.kind,
                aliases=party.aliases,
            )
        self._memberships()
        self._clauses()
        self._stances()
        statement_ids: set[str] = set()
        for i, statement in enumerate(data.statements):
            self._statement(("statements", i), statement, statement_ids)
        self._notes()
        return self.out

    def _memberships(self) -> None:
        seen: set[str] = set()
        for i, membership in enumerate(self.data.memberships):
            path: Path_ = ("memberships", i)
            start, precision = self._time((*path, "valid_from"), membership.valid_from)
            key = f"{membership.member}/{membership.group}/{start.isoformat()}"
            self._unique(seen, (*path, "valid_from"), key, "membership")
            self._add(
                _Origin(path, {"valid_at": ("valid_from",)}),
                MembershipStarted,
                event_id=_event_id(self.neg, "membership", key),
                member=membership.member,
                group=membership.group,
                role=membership.role,
                valid_at=start,
                precision=precision,
                note=membership.dated,
            )
            if membership.valid_until is not None:
                end, end_precision = self._time((*path, "valid_until"), membership.valid_until)
                if end <= start:
                    raise self.at.error(
                        (*path, "valid_until"), "valid_until must be after valid_from"
                    )
                self._add(
                    _Origin(path, {"valid_at": ("valid_until",)}),
                    MembershipEnded,
                    event_id=_event_id(self.neg, "membership-end", key),
                    member=membership.member,
                    group=membership.group,
                    valid_at=end,
                    precision=end_precision,
                )

    def _clauses(self) -> None:
        for i, clause in enumerate(self.data.clauses):
            path: Path_ = ("clauses", i)
            self._parsed((*path, "id"), check_clause_id, clause.id)
            scale = None
            if clause.scale is not None:
                scale = self._parsed(
                    (*path, "scale"),
                    IntervalScale,
                    low=clause.scale.low,
                    high=clause.scale.high,
                    labels=clause.scale.labels,
                )
            self._add(
                _Origin(path, {"clause": ("id",)}),
                ClauseTabled,
                event_id=_event_id(self.neg, "clause", clause.id),
                clause=clause.id,
                title=clause.title,
                topic=clause.topic,
                text=clause.text,
                scale=scale,
                **self._tabled(path, clause),
            )

    def _tabled(self, path: Path_, clause: Any) -> _Dating:
        valid_at, precision = self._time((*path, "tabled"), clause.tabled)
        return {"valid_at": valid_at, "precision": precision}

    def _note_dating(self, path: Path_, note: Any) -> _Dating:
        valid_at, precision = self._time((*path, "valid"), note.valid)
        return {"valid_at": valid_at, "precision": precision}

    def _stances(self) -> None:
        ids: set[str] = set()
        for i, stance in enumerate(self.data.stances):
            path: Path_ = ("stances", i)
            self._unique(ids, (*path, "id"), stance.id, "stance")
            valid_at, precision = self._time((*path, "valid"), stance.valid)
            self._add(
                _Origin(path, {"valid_at": ("valid",)}),
                StanceRecorded,
                event_id=_event_id(self.neg, "stance", stance.id),
                party=stance.party,
                clause=stance.clause,
                stance=self._parsed((*path, "stance"), stance_point, stance.stance, stance.clause),
                valid_at=valid_at,
                precision=precision,
                evidence=(self._evidence(path, stance.source, stance.quote, stance.stated),),
                salience=stance.salience,
                confidence=stance.confidence,
                conditions=stance.conditions,
                speaker=stance.speaker,
                note=_joined(stance.dated, stance.note),
            )

    def _notes(self) -> None:
        note_ids: set[str] = set()
        for i, note in enumerate(self.data.notes):
            path: Path_ = ("notes", i)
            self._unique(note_ids, (*path, "id"), note.id, "note")
            evidence: tuple[Evidence, ...] = ()
            if note.quote is not None and note.source is None:
                raise self.at.error((*path, "quote"), "a quote needs its source: add source")
            if note.source is not None:
                evidence = (self._evidence(path, note.source, note.quote, True),)
            self._add(
                _Origin(path, {"valid_at": ("valid",)}),
                NoteRecorded,
                event_id=_event_id(self.neg, "note", note.id),
                kind=note.kind,
                text=note.text,
                parties=note.parties,
                **self._note_dating(path, note),
                evidence=evidence,
            )

    def _readings(self, path: Path_, readings: tuple[ReadingSpec, ...]) -> tuple[Reading, ...]:
        return tuple(
            self._parsed(
                (*path, "readings", j),
                Reading,
                signatories=reading.signatories,
                source=self._source((*path, "readings", j, "source"), reading.source),
                note=reading.note,
            )
            for j, reading in enumerate(readings)
        )

    def _statement(self, path: Path_, statement: StatementSpec, seen: set[str]) -> None:
        self._unique(seen, (*path, "id"), statement.id, "statement")
        valid_at, precision = self._time((*path, "valid"), statement.valid)
        self._positions(
            path,
            statement.positions,
            lambda where, position: (
                self._evidence(where, statement.source, position.quote, position.stated),
            ),
            signatories=statement.signatories,
            title=statement.title,
            statement=statement.id,
            readings=self._readings(path, statement.readings),
            note=statement.dated,
            valid_at=valid_at,
            precision=precision,
        )

    def _positions(
        self,
        path: Path_,
        positions: tuple[Any, ...],
        evidence_of: Callable[[Path_, Any], tuple[Evidence, ...]],
        **shared: Any,
    ) -> None:
        """One joint statement event per position; ``shared`` holds the statement's own fields."""
        if not positions:
            raise self.at.error(
                (*path, "positions"), "a joint statement needs at least one position"
            )
        clauses: set[str] = set()
        for j, position in enumerate(positions):
            where: Path_ = (*path, "positions", j)
            self._unique(clauses, (*where, "clause"), position.clause, "position clause")
            self._add(
                _Origin(
                    path,
                    {
                        "clause": ("positions", j, "clause"),
                        "stance": ("positions", j, "stance"),
                        "valid_at": ("valid",),
                        "earliest": ("valid",),
                    },
                ),
                JointStatementRecorded,
                event_id=_event_id(self.neg, "statement", shared["statement"], position.clause),
                clause=position.clause,
                stance=self._parsed(
                    (*where, "stance"), stance_point, position.stance, position.clause
                ),
                evidence=evidence_of(where, position),
                salience=position.salience,
                confidence=position.confidence,
                conditions=position.conditions,
                **shared,
            )


class _BuilderV2(_Builder):
    """Events of a ``negotrack/2`` file: all ``negotrack/1`` says, and the rest of the model."""

    data: v2.DatasetFileV2

    def __init__(self, data: v2.DatasetFileV2, located: _Located) -> None:
        super().__init__(data, located)
        self.quotes: list[QuoteUse] = []
        self.observations: dict[str, tuple[str, Path_]] = {}  # file id -> (kind, item)
        self.specs: dict[str, v2.StanceSpec | v2.WithdrawalSpec] = {}

    def events(self) -> list[Event]:
        out = super().events()
        self._withdrawals()
        self._errata()
        return out

    # -- valid times -------------------------------------------------------------

    def _dating(self, path: Path_, value: v2.WhenV2, dated: str | None) -> _Dating:
        """A valid time as event fields; a range ends at ``valid_at``, its latest bound."""
        if isinstance(value, v2.RangeSpec):
            span = self._parsed(
                path, valid_time, value.earliest, value.latest, tz=self.tz, basis=dated
            )
            return {
                "valid_at": span.latest,
                "precision": span.precision,
                "earliest": span.earliest if span.is_range else None,
                "basis": dated,
            }
        valid_at, precision = self._time(path, value)
        return {"valid_at": valid_at, "precision": precision, "earliest": None, "basis": dated}

    # -- evidence ----------------------------------------------------------------

    def _quoted(
        self, path: Path_, source: str, quote: str | None, stated: bool, what: str
    ) -> Evidence:
        evidence = self._evidence(path, source, quote, stated)
        if evidence.source.file is not None:
            self.quotes.append(
                QuoteUse(
                    path=(*path, "quote"),
                    observation=what,
                    file=evidence.source.file,
                    quote=evidence.quote,
                )
            )
        return evidence

    def _reported(self, path: Path_, spec: v2.ReportedSpec, what: str) -> tuple[Evidence, ...]:
        """The evidence of a stance or withdrawal: ``source`` + ``quote``, or ``sources``."""
        if spec.sources:
            if spec.source is not None or spec.quote is not None:
                raise self.at.error(
                    (*path, "sources"), "give source and quote, or sources, not both"
                )
            return tuple(
                self._quoted((*path, "sources", j), q.source, q.quote, q.stated, what)
                for j, q in enumerate(spec.sources)
            )
        if spec.source is None:
            raise self.at.error(
                (*path, "source"), "missing source: add source and quote, or sources"
            )
        return (self._quoted(path, spec.source, spec.quote, spec.stated, what),)

    def check_evidence(self, folder: Path) -> None:
        """Every quote on a source with a local file is in that file (read relative to ``folder``).

        Raises:
            DatasetError: a file cannot be read, or a quote is not in it.
        """
        texts: dict[str, str] = {}
        for sid, spec in self.data.sources.items():
            if spec.file is None or spec.file in texts:
                continue
            try:
                texts[spec.file] = (folder / spec.file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise self.at.error(
                    ("sources", sid, "file"), f"cannot read the source file {spec.file!r}: {exc}"
                ) from exc
        check_quotes(self.quotes, texts, self.at)

    # -- memberships, clauses and notes ------------------------------------------

    def _memberships(self) -> None:
        seen: set[str] = set()
        self.memberships: list[Membership] = []
        for i, membership in enumerate(self.data.memberships):
            path: Path_ = ("memberships", i)
            start = self._dating((*path, "valid_from"), membership.valid_from, membership.dated)
            key = f"{membership.member}/{membership.group}/{start['valid_at'].isoformat()}"
            self._unique(seen, (*path, "valid_from"), key, "membership")
            self._add(
                _Origin(path, {"valid_at": ("valid_from",), "earliest": ("valid_from",)}),
                MembershipStarted,
                event_id=_event_id(self.neg, "membership", key),
                member=membership.member,
                group=membership.group,
                role=membership.role,
                note=membership.note,
                **start,
            )
            until = None
            if membership.valid_until is not None:
                end = self._dating((*path, "valid_until"), membership.valid_until, None)
                until = end["valid_at"]
                if until <= start["valid_at"]:
                    raise self.at.error(
                        (*path, "valid_until"), "valid_until must be after valid_from"
                    )
                self._add(
                    _Origin(path, {"valid_at": ("valid_until",), "earliest": ("valid_until",)}),
                    MembershipEnded,
                    event_id=_event_id(self.neg, "membership-end", key),
                    member=membership.member,
                    group=membership.group,
                    **end,
                )
            self.memberships.append(
                Membership(
                    member=membership.member,
                    group=membership.group,
                    role=membership.role,
                    valid_from=start["valid_at"],
                    valid_until=until,
                )
            )

    def _clauses(self) -> None:
        super()._clauses()
        for i, clause in enumerate(self.data.clauses):
            seen: set[str] = set()
            for j, version in enumerate(clause.versions):
                self._version(("clauses", i, "versions", j), clause.id, version, seen)

    def _tabled(self, path: Path_, clause: Any) -> _Dating:
        return self._dating((*path, "tabled"), clause.tabled, clause.dated)

    def _version(
        self, path: Path_, clause: str, version: v2.ClauseVersionSpec, seen: set[str]
    ) -> None:
        if version.change not in ("amended", "withdrawn"):
            raise self.at.error(
                (*path, "change"), f"expected one of amended, withdrawn, got {version.change!r}"
            )
        amended = version.change == "amended"
        if amended and version.text is None:
            raise self.at.error((*path, "text"), "an amended clause needs its new text")
        if not amended and version.text is not None:
            raise self.at.error((*path, "text"), "a withdrawn clause has no text: remove text")
        if amended and version.reason is not None:
            raise self.at.error((*path, "reason"), "reason is for a withdrawn clause")
        evidence: tuple[Evidence, ...] = ()
        if version.quote is not None and version.source is None:
            raise self.at.error((*path, "quote"), "a quote needs its source: add source")
        if version.source is not None:
            what = f"the {version.change} version of clause {clause!r}"
            evidence = (self._quoted(path, version.source, version.quote, True, what),)
        dating = self._dating((*path, "valid"), version.valid, version.dated)
        key = f"{clause}/{version.change}/{dating['valid_at'].isoformat()}"
        self._unique(seen, (*path, "valid"), key, "clause version")
        origin = _Origin(path, {"valid_at": ("valid",), "earliest": ("valid",)})
        event_id = _event_id(self.neg, "clause", key)
        if amended:
            self._add(
                origin,
                ClauseAmended,
                event_id=event_id,
                clause=clause,
                text=version.text,
                evidence=evidence,
                note=version.note,
                **dating,
            )
        else:
            self._add(
                origin,
                ClauseWithdrawn,
                event_id=event_id,
                clause=clause,
                reason=version.reason,
                evidence=evidence,
                note=version.note,
                **dating,
            )

    def _note_dating(self, path: Path_, note: Any) -> _Dating:
        return self._dating((*path, "valid"), note.valid, note.dated)

    # -- observations: stances, withdrawals, statements --------------------------

    def _observation(self, path: Path_, file_id: str, kind: str) -> None:
        """Stance, withdrawal, statement and correction ids are unique across their lists."""
        if file_id in self.observations:
            raise self.at.error(
                (*path, "id"),
                f"duplicate observation id {file_id!r}: stances, withdrawals, statements "
                "and corrections share one set of ids",
            )
        self.observations[file_id] = (kind, path)

    def _stances(self) -> None:
        for i, stance in enumerate(self.data.stances):
            path: Path_ = ("stances", i)
            self._observation(path, stance.id, "stance")
            self.specs[stance.id] = stance
            self._stance(path, stance)

    def _stance(self, path: Path_, stance: v2.StanceSpec) -> str:
        event = self._add(
            _Origin(path, {"valid_at": ("valid",), "earliest": ("valid",)}),
            StanceRecorded,
            event_id=_event_id(self.neg, "stance", stance.id),
            party=stance.party,
            clause=stance.clause,
            stance=self._parsed((*path, "stance"), stance_point, stance.stance, stance.clause),
            evidence=self._reported(path, stance, f"stance {stance.id!r}"),
            salience=stance.salience,
            confidence=stance.confidence,
            conditions=stance.conditions,
            speaker=stance.speaker,
            note=stance.note,
            **self._dating((*path, "valid"), stance.valid, stance.dated),
        )
        return event.event_id

    def _withdrawals(self) -> None:
        for i, withdrawal in enumerate(self.data.withdrawals):
            path: Path_ = ("withdrawals", i)
            self._observation(path, withdrawal.id, "withdrawal")
            self.specs[withdrawal.id] = withdrawal
            self._withdrawal(path, withdrawal)

    def _withdrawal(self, path: Path_, withdrawal: v2.WithdrawalSpec) -> str:
        event = self._add(
            _Origin(path, {"valid_at": ("valid",), "earliest": ("valid",)}),
            StanceWithdrawn,
            event_id=_event_id(self.neg, "withdrawal", withdrawal.id),
            party=withdrawal.party,
            clause=withdrawal.clause,
            evidence=self._reported(path, withdrawal, f"withdrawal {withdrawal.id!r}"),
            reason=withdrawal.reason,
            speaker=withdrawal.speaker,
            note=withdrawal.note,
            **self._dating((*path, "valid"), withdrawal.valid, withdrawal.dated),
        )
        return event.event_id

    def _statement(self, path: Path_, statement: Any, seen: set[str]) -> None:
        spec: v2.StatementSpec = statement
        self._observation(path, spec.id, "statement")
        readings = self._readings(path, spec.readings)
        dating = self._dating((*path, "valid"), spec.valid, spec.dated)
        if spec.speaks_for_members and len(spec.signatories) != 1:
            raise self.at.error(
                (*path, "speaks_for_members"),
                "a group speaks for its members alone: list that one group as the signatory",
            )
        check_signatories(
            spec.signatories, dating["valid_at"], self.memberships, (*path, "signatories"), self.at
        )
        self._positions(
            path,
            spec.positions,
            lambda where, position: self._position_evidence(where, spec, position),
            signatories=spec.signatories,
            title=spec.title,
            statement=spec.id,
            readings=readings,
            note=spec.note,
            speaker=spec.speaker,
            on_behalf_of=spec.signatories if spec.speaks_for_members else (),
            **dating,
        )

    def _position_evidence(
        self, where: Path_, statement: v2.StatementSpec, position: v2.PositionSpec
    ) -> tuple[Evidence, ...]:
        what = f"statement {statement.id!r} on clause {position.clause!r}"
        if position.quotes:
            if position.quote is not None:
                raise self.at.error((*where, "quotes"), "give quote or quotes, not both")
            evidence = []
            for k, quoted in enumerate(position.quotes):
                if statement.sources and quoted.source not in statement.sources:
                    raise self.at.error(
                        (*where, "quotes", k, "source"),
                        f"source {quoted.source!r} is not among the statement's sources",
                    )
                evidence.append(
                    self._quoted(
                        (*where, "quotes", k), quoted.source, quoted.quote, quoted.stated, what
                    )
                )
            return tuple(evidence)
        if statement.source is None:
            raise self.at.error(
                (*where, "quote"),
                "a quote needs the statement's source: add source, or give quotes with theirs",
            )
        return (self._quoted(where, statement.source, position.quote, position.stated, what),)

    # -- the file's own errata ---------------------------------------------------

    def _target(self, path: Path_, of: str, clause: str | None) -> str:
        """The event id a retraction or correction names, by the observation's id in the file."""
        if of not in self.observations:
            raise self.at.error(
                (*path, "of"), f"unknown observation {of!r}: name a stance, withdrawal or statement"
            )
        kind, item = self.observations[of]
        if kind == "correction":
            raise self.at.error((*path, "of"), f"{of!r} is a correction: name what it corrects")
        if kind != "statement":
            if clause is not None:
                raise self.at.error(
                    (*path, "clause"), f"clause is only for a statement: {of!r} is a {kind}"
                )
            return _event_id(self.neg, kind, of)
        positions = [p.clause for p in self.data.statements[int(item[1])].positions]
        if clause not in positions:
            raise self.at.error(
                (*path, "clause"),
                f"name the clause of one of statement {of!r}'s positions: "
                + ", ".join(repr(c) for c in positions),
            )
        return _event_id(self.neg, "statement", of, clause)

    def _errata(self) -> None:
        for i, retraction in enumerate(self.data.retractions):
            path: Path_ = ("retractions", i)
            target = self._target(path, retraction.of, retraction.clause)
            suffix = () if retraction.clause is None else (retraction.clause,)
            self._add(
                _Origin(path, {"retracted": ("of",)}),
                StanceRetracted,
                event_id=_event_id(self.neg, "retraction", retraction.of, *suffix),
                retracted=target,
                reason=retraction.reason,
            )
        for i, correction in enumerate(self.data.corrections):
            self._correction(("corrections", i), correction)

    def _correction(self, path: Path_, correction: v2.CorrectionSpec) -> None:
        target = self._target(path, correction.of, None)
        kind, _ = self.observations[correction.of]
        if kind == "statement":
            raise self.at.error(
                (*path, "of"),
                "a statement is corrected position by position: retract the position "
                "and add the corrected statement under a new id",
            )
        self._observation(path, correction.id, "correction")
        if "id" in correction.set:
            raise self.at.error(
                (*path, "set", "id"), "the correction's own id replaces it: remove id"
            )
        original = self.specs[correction.of]
        merged = {**attrs.asdict(original), **correction.set, "id": correction.id}
        try:
            spec = _converter.structure(merged, type(original))
        except (cattrs.BaseValidationError, ForbiddenExtraKeysError) as exc:
            where, problem = _first_error(exc)
            raise self.at.error((*path, "set", *where[:1]), problem) from exc
        replacement = _event_id(self.neg, kind, correction.id)
        self._add(
            _Origin(path, {"retracted": ("of",)}),
            StanceRetracted,
            event_id=_event_id(self.neg, "correction", correction.id),
            retracted=target,
            reason=correction.reason,
            replaced_by=replacement,
        )
        if isinstance(spec, v2.StanceSpec):
            self._stance(path, spec)
        else:
            self._withdrawal(path, spec)


def _joined(*notes: str | None) -> str | None:
    present = [n for n in notes if n]
    return "; ".join(present) if present else None


def import_dataset(
    tracker: Tracker,
    path: str | Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate a dataset file completely, then record what the log does not hold yet.

    The file is compared with what the log holds for its ids
    (:func:`negotrack.io.reimport.plan_reimport`): new observations are
    appended, changed ones corrected, removed ones retracted, all in one
    transaction.  Importing the same file again writes nothing.

    Args:
        tracker: the store to import into.
        path: the YAML file.
        dry_run: plan only; nothing is written (``result.plan.describe()`` says what would be).
        progress: called with (lines read, lines in the file) as the file is read, every
            thousand lines and once at the end (:data:`negotrack.io.progress.Progress`).

    Raises:
        DatasetError: the file is wrong, or changes what the log cannot correct (a
            party, a clause, a note); the message names the file, line and field.
    """
    data, located = load_dataset(path, progress=progress)
    builder = _builder(data, located)
    events = builder.events()
    if isinstance(builder, _BuilderV2):
        builder.check_evidence(Path(path).parent)
    neg = data.negotiation.id
    plan = plan_reimport(
        (record.event for record in tracker.events(negotiation=neg)),
        events,
        namespace=f"{neg}/",
        reason=f"re-import of {Path(path).name}",
    )
    for refusal in plan.refused:
        refused = builder.locate_id(refusal.observation, (), ValidationError(refusal.problem))
        if isinstance(refused, DatasetError):
            raise refused
        raise DatasetError(f"{refusal.observation}: {refusal.problem}", file=located.file)
    if dry_run:
        return ImportResult(negotiation=neg, events=len(events), written=0, records=(), plan=plan)
    planned = plan.events()
    last = tracker.last_position()
    records = tracker.append(
        planned, locate=lambda i, field, error: builder.locate_id(planned[i].event_id, field, error)
    )
    written = sum(1 for r in records if r.position > last)
    return ImportResult(
        negotiation=neg, events=len(events), written=written, records=tuple(records), plan=plan
    )
