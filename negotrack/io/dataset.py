"""The hand-written dataset format (YAML, ``format: negotrack/1``) and its importer.

A dataset file declares one negotiation: its sources, parties, memberships,
clauses, single-party stances, joint statements and dated notes (see
docs/dataset-format.md).  Import is in three steps, and nothing is written
until all of them pass:

1. parse the YAML, remembering the line of every value;
2. structure it into the ``*Spec`` classes below with a strict cattrs
   converter (unknown keys, wrong types and missing fields are refused);
3. check what types cannot: ids declared before use, unique ids, stances on
   their clause's scale, tz-aware times, a quote behind every stance.

Then the whole file becomes one list of events with stable ids, appended in
one transaction: an import is all or nothing, and importing the same file
again writes nothing new.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeAlias

import attrs
import cattrs
import yaml
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from negotrack._time import valid_instant, zone
from negotrack.errors import DatasetError, NegotrackError
from negotrack.events import (
    ClauseTabled,
    Event,
    JointStatementRecorded,
    MembershipEnded,
    MembershipStarted,
    NegotiationOpened,
    NoteRecorded,
    PartyRegistered,
    Reading,
    StanceRecorded,
)
from negotrack.model import (
    Evidence,
    IntervalScale,
    PartyKind,
    Role,
    Source,
    check_clause_id,
    check_negotiation_id,
    check_party_id,
    parse_stance,
)
from negotrack.store import RecordedEvent
from negotrack.tracker import Tracker

__all__ = [
    "FORMAT",
    "DatasetFile",
    "ImportResult",
    "dataset_events",
    "import_dataset",
    "load_dataset",
]

FORMAT = "negotrack/1"
"""The value of the ``format`` key this version reads."""

When: TypeAlias = date | datetime
Path_: TypeAlias = tuple[str | int, ...]


# -- the file's shape ----------------------------------------------------------


@attrs.frozen(kw_only=True)
class NegotiationSpec:
    id: str
    title: str
    timezone: str = "UTC"
    description: str | None = None


@attrs.frozen(kw_only=True)
class SourceSpec:
    outlet: str
    title: str | None = None
    url: str | None = None
    published: date | None = None
    file: str | None = None


@attrs.frozen(kw_only=True)
class PartySpec:
    id: str
    name: str
    kind: PartyKind
    aliases: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class MembershipSpec:
    member: str
    group: str
    role: Role = Role.MEMBER
    valid_from: When
    valid_until: When | None = None
    dated: str | None = None


@attrs.frozen(kw_only=True)
class ScaleSpec:
    low: float
    high: float
    labels: dict[float, str] = attrs.field(factory=dict)


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
class ReadingSpec:
    source: str
    signatories: tuple[str, ...]
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
    return float(value)


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


# -- parsing with line numbers ------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader whose impossible dates name their line instead of crashing."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"impossible date {node.value!r}: {exc}", node.start_mark
            ) from exc

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # Aliases make a hand-written file hard to read, and a nest of them can
        # expand without bound; a dataset states every value where it applies.
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a dataset file", mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _lines(
    node: yaml.Node, path: Path_ = (), into: dict[Path_, int] | None = None
) -> dict[Path_, int]:
    """The line (1-based) of every value in the document, by its path."""
    lines = {} if into is None else into
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _lines(value, (*path, str(key.value)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), lines)
    return lines


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


def load_dataset(path: str | Path) -> tuple[DatasetFile, _Located]:
    """Parse and structure a dataset file (no reference checks yet).

    Raises:
        DatasetError: the file is not valid YAML or does not have the dataset's shape.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"cannot read the file: {exc.strerror}", file=file) from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"not UTF-8 text (byte {exc.start})", file=file) from exc
    try:
        node = yaml.compose(text, Loader=_Loader)
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        raise DatasetError(f"not valid YAML: {exc.problem or exc}", file=file, line=line) from exc
    located = _Located(file, _lines(node) if node is not None else {})
    if not isinstance(raw, dict):
        raise located.error((), "expected a mapping with format, negotiation, parties, ...")
    if raw.get("format") != FORMAT:
        raise located.error(("format",), f"expected format: {FORMAT}, got {raw.get('format')!r}")
    try:
        return _converter.structure(raw, DatasetFile), located
    except (cattrs.BaseValidationError, ForbiddenExtraKeysError) as exc:
        where, problem = _first_error(exc)
        raise located.error(where, problem) from exc


# -- from specs to events ------------------------------------------------------


@attrs.frozen(kw_only=True)
class ImportResult:
    """What an import did: the events of the file, and how many were new."""

    negotiation: str
    events: int
    written: int
    records: tuple[RecordedEvent, ...]


def _event_id(negotiation: str, *parts: str) -> str:
    return "/".join((negotiation, *parts))


def dataset_events(data: DatasetFile, located: _Located) -> list[Event]:
    """Check a structured dataset and turn it into events with stable ids.

    Raises:
        DatasetError: an unknown or duplicate id, a bad stance or time, a missing quote.
    """
    builder = _Builder(data, located)
    try:
        return builder.events()
    except DatasetError:
        raise
    except NegotrackError as exc:  # a value refused when its event is made: name the item
        raise located.error(builder.here, str(exc)) from exc


class _Builder:
    def __init__(self, data: DatasetFile, located: _Located) -> None:
        self.data = data
        self.at = located
        self.neg = data.negotiation.id
        self.parties: set[str] = set()
        self.scales: dict[str, IntervalScale | None] = {}
        self.here: Path_ = ("negotiation",)  # the item being built, for errors found late
        self.memberships: set[str] = set()

    def _check(self, path: Path_, check: Any, value: Any) -> None:
        try:
            check(value)
        except NegotrackError as exc:
            raise self.at.error(path, str(exc)) from exc

    def _time(self, path: Path_, value: When) -> tuple[datetime, Any]:
        try:
            return valid_instant(value, self.tz, path[-1] if isinstance(path[-1], str) else "valid")
        except NegotrackError as exc:
            raise self.at.error(path, str(exc)) from exc

    def _unique(self, seen: set[str], path: Path_, value: str, what: str) -> None:
        if value in seen:
            raise self.at.error(path, f"duplicate {what} id {value!r}")
        seen.add(value)

    def _party(self, path: Path_, party: str) -> None:
        if party not in self.parties:
            raise self.at.error(path, f"unknown party {party!r}: declare it under parties")

    def _clause(self, path: Path_, clause: str) -> IntervalScale | None:
        if clause not in self.scales:
            raise self.at.error(path, f"unknown clause {clause!r}: declare it under clauses")
        return self.scales[clause]

    def _sources(self) -> dict[str, Source]:
        sources = {}
        for sid, spec in self.data.sources.items():
            try:
                sources[sid] = Source(
                    outlet=spec.outlet,
                    title=spec.title,
                    url=spec.url,
                    published=spec.published,
                    file=spec.file,
                )
            except NegotrackError as exc:
                raise self.at.error(("sources", sid), str(exc)) from exc
        return sources

    def _source(self, path: Path_, source: str) -> Source:
        if source not in self.sources:
            raise self.at.error(path, f"unknown source {source!r}: declare it under sources")
        return self.sources[source]

    def _evidence(self, path: Path_, source: str, quote: str | None, stated: bool) -> Evidence:
        if quote is None or not quote.strip():
            raise self.at.error(
                (*path, "quote"), "missing quote: every stance rests on a verbatim quote"
            )
        return Evidence(source=self._source((*path, "source"), source), quote=quote, stated=stated)

    def _stance(
        self, path: Path_, value: str | float, clause: str, scale: IntervalScale | None
    ) -> Any:
        try:
            return parse_stance(value, scale, clause)
        except NegotrackError as exc:
            raise self.at.error((*path, "stance"), str(exc)) from exc

    def _unit(self, path: Path_, value: float | None) -> None:
        if value is not None and not 0.0 <= value <= 1.0:
            raise self.at.error(path, f"expected a number from 0 to 1, got {value!r}")

    def events(self) -> list[Event]:
        data, neg = self.data, self.neg
        self._check(("negotiation", "id"), check_negotiation_id, neg)
        self._check(("negotiation", "timezone"), zone, data.negotiation.timezone)
        self.tz = zone(data.negotiation.timezone)
        self.sources = self._sources()
        out: list[Event] = [
            NegotiationOpened(
                negotiation=neg,
                event_id=_event_id(neg, "negotiation"),
                title=data.negotiation.title,
                timezone=data.negotiation.timezone,
                description=data.negotiation.description,
            )
        ]
        for i, party in enumerate(data.parties):
            path: Path_ = ("parties", i, "id")
            self.here = ("parties", i)
            self._check(path, check_party_id, party.id)
            self._unique(self.parties, path, party.id, "party")
            out.append(
                PartyRegistered(
                    negotiation=neg,
                    event_id=_event_id(neg, "party", party.id),
                    party=party.id,
                    name=party.name,
                    kind=party.kind,
                    aliases=party.aliases,
                )
            )
        self._memberships(out)
        self._clauses(out)
        self._stances(out)
        statement_ids: set[str] = set()
        for i, statement in enumerate(data.statements):
            out.extend(self._statement(("statements", i), statement, statement_ids))
        self._notes(out)
        return out

    def _memberships(self, out: list[Event]) -> None:
        data, neg = self.data, self.neg
        for i, membership in enumerate(data.memberships):
            path = self.here = ("memberships", i)
            self._party((*path, "member"), membership.member)
            self._party((*path, "group"), membership.group)
            start, precision = self._time((*path, "valid_from"), membership.valid_from)
            key = f"{membership.member}/{membership.group}/{start.isoformat()}"
            self._unique(self.memberships, (*path, "valid_from"), key, "membership")
            out.append(
                MembershipStarted(
                    negotiation=neg,
                    event_id=_event_id(neg, "membership", key),
                    member=membership.member,
                    group=membership.group,
                    role=membership.role,
                    valid_at=start,
                    precision=precision,
                    note=membership.dated,
                )
            )
            if membership.valid_until is not None:
                end, end_precision = self._time((*path, "valid_until"), membership.valid_until)
                if end <= start:
                    raise self.at.error(
                        (*path, "valid_until"), "valid_until must be after valid_from"
                    )
                out.append(
                    MembershipEnded(
                        negotiation=neg,
                        event_id=_event_id(neg, "membership-end", key),
                        member=membership.member,
                        group=membership.group,
                        valid_at=end,
                        precision=end_precision,
                    )
                )

    def _clauses(self, out: list[Event]) -> None:
        data, neg = self.data, self.neg
        for i, clause in enumerate(data.clauses):
            path = self.here = ("clauses", i)
            self._check((*path, "id"), check_clause_id, clause.id)
            if clause.id in self.scales:
                raise self.at.error((*path, "id"), f"duplicate clause id {clause.id!r}")
            scale = None
            if clause.scale is not None:
                try:
                    scale = IntervalScale(
                        low=clause.scale.low, high=clause.scale.high, labels=clause.scale.labels
                    )
                except NegotrackError as exc:
                    raise self.at.error((*path, "scale"), str(exc)) from exc
            self.scales[clause.id] = scale
            tabled, precision = self._time((*path, "tabled"), clause.tabled)
            out.append(
                ClauseTabled(
                    negotiation=neg,
                    event_id=_event_id(neg, "clause", clause.id),
                    clause=clause.id,
                    title=clause.title,
                    topic=clause.topic,
                    text=clause.text,
                    scale=scale,
                    valid_at=tabled,
                    precision=precision,
                )
            )

    def _stances(self, out: list[Event]) -> None:
        data, neg = self.data, self.neg
        ids: set[str] = set()
        for i, stance in enumerate(data.stances):
            path = self.here = ("stances", i)
            self._unique(ids, (*path, "id"), stance.id, "stance")
            self._party((*path, "party"), stance.party)
            scale = self._clause((*path, "clause"), stance.clause)
            valid_at, precision = self._time((*path, "valid"), stance.valid)
            self._unit((*path, "confidence"), stance.confidence)
            self._unit((*path, "salience"), stance.salience)
            out.append(
                StanceRecorded(
                    negotiation=neg,
                    event_id=_event_id(neg, "stance", stance.id),
                    party=stance.party,
                    clause=stance.clause,
                    stance=self._stance(path, stance.stance, stance.clause, scale),
                    valid_at=valid_at,
                    precision=precision,
                    evidence=(self._evidence(path, stance.source, stance.quote, stance.stated),),
                    salience=stance.salience,
                    confidence=stance.confidence,
                    conditions=stance.conditions,
                    speaker=stance.speaker,
                    note=_joined(stance.dated, stance.note),
                )
            )

    def _notes(self, out: list[Event]) -> None:
        data, neg = self.data, self.neg
        note_ids: set[str] = set()
        for i, note in enumerate(data.notes):
            path = self.here = ("notes", i)
            self._unique(note_ids, (*path, "id"), note.id, "note")
            for j, party in enumerate(note.parties):
                self._party((*path, "parties", j), party)
            valid_at, precision = self._time((*path, "valid"), note.valid)
            evidence: tuple[Evidence, ...] = ()
            if note.quote is not None and note.source is None:
                raise self.at.error((*path, "quote"), "a quote needs its source: add source")
            if note.source is not None:
                evidence = (self._evidence(path, note.source, note.quote, True),)
            out.append(
                NoteRecorded(
                    negotiation=neg,
                    event_id=_event_id(neg, "note", note.id),
                    kind=note.kind,
                    text=note.text,
                    valid_at=valid_at,
                    precision=precision,
                    parties=note.parties,
                    evidence=evidence,
                )
            )

    def _statement(self, path: Path_, statement: StatementSpec, seen: set[str]) -> Iterator[Event]:
        self.here = path
        self._unique(seen, (*path, "id"), statement.id, "statement")
        if not statement.signatories:
            raise self.at.error((*path, "signatories"), "a joint statement needs signatories")
        if len(set(statement.signatories)) != len(statement.signatories):
            raise self.at.error((*path, "signatories"), "a signatory is listed twice")
        for j, party in enumerate(statement.signatories):
            self._party((*path, "signatories", j), party)
        readings = []
        for j, reading in enumerate(statement.readings):
            for k, party in enumerate(reading.signatories):
                self._party((*path, "readings", j, "signatories", k), party)
            readings.append(
                Reading(
                    signatories=reading.signatories,
                    source=self._source((*path, "readings", j, "source"), reading.source),
                    note=reading.note,
                )
            )
        valid_at, precision = self._time((*path, "valid"), statement.valid)
        if not statement.positions:
            raise self.at.error(
                (*path, "positions"), "a joint statement needs at least one position"
            )
        clauses: set[str] = set()
        for j, position in enumerate(statement.positions):
            where: Path_ = (*path, "positions", j)
            self.here = where
            scale = self._clause((*where, "clause"), position.clause)
            self._unique(clauses, (*where, "clause"), position.clause, "position clause")
            self._unit((*where, "confidence"), position.confidence)
            self._unit((*where, "salience"), position.salience)
            evidence = self._evidence(where, statement.source, position.quote, position.stated)
            yield JointStatementRecorded(
                negotiation=self.neg,
                event_id=_event_id(self.neg, "statement", statement.id, position.clause),
                signatories=statement.signatories,
                clause=position.clause,
                stance=self._stance(where, position.stance, position.clause, scale),
                valid_at=valid_at,
                precision=precision,
                evidence=(evidence,),
                salience=position.salience,
                confidence=position.confidence,
                conditions=position.conditions,
                title=statement.title,
                statement=statement.id,
                readings=tuple(readings),
                note=statement.dated,
            )


def _joined(*notes: str | None) -> str | None:
    present = [n for n in notes if n]
    return "; ".join(present) if present else None


def import_dataset(tracker: Tracker, path: str | Path) -> ImportResult:
    """Validate a dataset file completely, then append all its events in one transaction.

    Re-importing the same file writes nothing (its event ids are stable).

    Raises:
        DatasetError: the file is wrong; the message names the file, line and field.
        ConflictError: the file contradicts the store (an id reused for other content).
    """
    data, located = load_dataset(path)
    events = dataset_events(data, located)
    last = tracker.store.last_position()
    records = tracker.append(events)
    written = sum(1 for r in records if r.position > last)
    return ImportResult(
        negotiation=data.negotiation.id, events=len(events), written=written, records=tuple(records)
    )
