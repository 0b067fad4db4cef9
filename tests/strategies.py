"""Every hypothesis strategy of the test suite, and the commands that build random logs.

Random histories are built the way an analyst builds a real one: by running
commands through the public API (record, joint statement, withdraw, retract,
correct), so that the properties speak about logs negotrack can actually hold.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
from hypothesis import strategies as st

import negotrack
from negotrack import (
    AlreadyRetractedError,
    ClauseAmended,
    ClauseTabled,
    ClauseWithdrawn,
    Event,
    Evidence,
    IntervalScale,
    JointStatementRecorded,
    Membership,
    MembershipEnded,
    MembershipStarted,
    NegotiationOpened,
    NoteRecorded,
    Ordinal,
    PartyKind,
    PartyRegistered,
    Precision,
    Reading,
    RecordedEvent,
    Role,
    Source,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
)
from negotrack.projections.claims import Claim

# The contract suite's test negotiation; the tests import it from here.
from negotrack.testing import (  # noqa: F401 - re-exported
    BASE,
    CLAUSES,
    NEGOTIATION,
    PARTIES,
    QUOTE,
    day,
    open_test_negotiation,
)

slugs = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)
party_ids = st.one_of(st.from_regex(r"[A-Z]{2}", fullmatch=True), slugs)

# -- text as an attacker writes it ---------------------------------------------

SPECIAL_CHARACTERS = (
    "'",
    '"',
    ";",
    "--",
    "/*",
    "\\",
    "%",
    "_",
    "\r\n",
    "\t",
    "\x1b",  # escape: terminal control sequences
    "\x7f",
    "\u0301",  # combining acute accent
    "\u200b",  # zero-width space
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u0627",  # Arabic alef
    "\ufeff",  # byte order mark
    "\U0001f600",
)
"""SQL metacharacters, control, combining and right-to-left characters."""

UNSTORABLE_CHARACTERS = ("\x00", "\ud800", "\udbff", "\udc80", "\udfff")
"""NUL (PostgreSQL refuses it in text) and lone surrogates (not Unicode)."""

_storable = st.one_of(
    st.characters(codec="utf-8", exclude_characters="\x00"),
    st.sampled_from(SPECIAL_CHARACTERS),
)
short_texts = (
    st.lists(_storable, min_size=1, max_size=12).map("".join).filter(lambda s: s.strip() != "")
)
long_texts = st.builds(operator.mul, short_texts, st.integers(500, 5_000))
"""Very long strings (up to some 60,000 characters)."""
texts = st.one_of(short_texts, short_texts, short_texts, long_texts)
"""Text every backend stores: hostile characters and lengths, but no NUL or lone surrogate."""
unstorable_texts = st.builds(
    lambda before, bad, after: before + bad + after,
    st.just("") | short_texts,
    st.sampled_from(UNSTORABLE_CHARACTERS),
    st.just("") | short_texts,
)

# -- times, far away and at odd offsets -----------------------------------------

zones = st.sampled_from([UTC, ZoneInfo("Europe/Kyiv"), ZoneInfo("America/New_York")])
aware_datetimes = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=zones,
    allow_imaginary=False,
)
"""Instants of the negotiations the views are tested on."""

odd_zones = st.sampled_from(
    [
        UTC,
        ZoneInfo("Europe/Kyiv"),  # +02:02:04 local mean time before 1924
        ZoneInfo("America/New_York"),
        ZoneInfo("Asia/Kathmandu"),  # +05:45
        timezone(timedelta(hours=5, minutes=30, seconds=15)),
        timezone(-timedelta(hours=3, microseconds=1)),
        timezone(timedelta(hours=14)),
        timezone(-timedelta(hours=12)),
    ]
)
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)
far_datetimes = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=odd_zones
).filter(lambda d: _FIRST <= d <= _LAST)
"""Any instant from year 1 to 9999, in zones and at offsets with seconds: what events may hold."""
edge_datetimes = st.one_of(
    st.datetimes(timezones=odd_zones),  # some fall outside years 1 to 9999 in UTC
    st.datetimes(),  # naive
    st.sampled_from(
        [
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
            datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=5))),
        ]
    ),
)

# -- numbers ---------------------------------------------------------------------

unit = st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0), st.sampled_from([0, 1, -0.0]))
"""A salience or confidence, sometimes an int or -0.0 (stored as the float)."""
hostile_numbers = st.one_of(
    st.sampled_from(
        [
            float("nan"),
            float("inf"),
            float("-inf"),
            True,
            "0.5",
            b"1",
            None,
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    # Built, not sampled: hypothesis prints sampled values, and 10**5000 has no repr.
    st.builds(
        lambda sign, digits: sign * 10**digits,
        st.sampled_from([1, -1]),
        st.sampled_from([400, 5000]),
    ),
)
"""Values a number field may be handed: most must be refused, some are fine."""
wrong_types = st.one_of(
    st.integers(),
    st.booleans(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(object()),
)
hostile_values = st.one_of(
    texts,
    unstorable_texts,
    hostile_numbers,
    edge_datetimes,
    wrong_types,
    st.none(),
    st.lists(texts | unstorable_texts, max_size=3),
)
"""Anything a caller may pass for any field of any event."""
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
    | unstorable_texts,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
"""Any JSON value (lone surrogates included: JSON escapes can write them)."""
interval_numbers = st.one_of(
    st.floats(min_value=-100, max_value=100), st.integers(-100, 100), st.just(-0.0)
)
ordinals = st.sampled_from(list(Ordinal))

sources = st.builds(
    Source,
    outlet=texts,
    title=st.none() | texts,
    url=st.none() | st.just("https://example.org/report"),
    published=st.none() | st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)),
    file=st.none() | st.just("000_855a6cc0775a402e.txt"),
)
evidence = st.builds(Evidence, source=sources, quote=texts, stated=st.booleans())
evidence_tuples = st.lists(evidence, max_size=3).map(tuple)


@st.composite
def interval_scales(draw: st.DrawFn) -> IntervalScale:
    """An interval scale with a few labelled points inside it."""
    low = draw(st.integers(-100, 50))
    high = low + draw(st.integers(1, 100))
    points = draw(st.lists(st.integers(low, high), max_size=3, unique=True))
    # Ints, as a script would write them: the scale holds them as floats.
    return IntervalScale(low=low, high=high, labels={p: draw(short_texts) for p in points})


def _base(cls: type, **fields: st.SearchStrategy[object]) -> st.SearchStrategy[Event]:
    return st.builds(cls, negotiation=slugs, event_id=st.uuids().map(lambda u: u.hex), **fields)


def _dated(cls: type, **fields: st.SearchStrategy[object]) -> st.SearchStrategy[Event]:
    """An event with a valid time, sometimes a range with its basis (the codec takes any pair)."""
    return _base(cls, earliest=st.none() | far_datetimes, basis=st.none() | texts, **fields)


def _joint_statements(signatories: tuple[str, ...]) -> st.SearchStrategy[Event]:
    """A joint statement; the groups speaking for their members are among its signatories."""
    return _dated(
        JointStatementRecorded,
        signatories=st.just(signatories),
        clause=slugs,
        stance=ordinals,
        valid_at=far_datetimes,
        evidence=evidence_tuples,
        salience=unit,
        confidence=unit,
        conditions=st.none() | texts,
        title=st.none() | texts,
        statement=st.none() | slugs,
        readings=st.lists(
            st.builds(
                Reading,
                signatories=st.lists(party_ids, max_size=3).map(tuple),
                source=st.none() | sources,
                note=st.none() | texts,
            ),
            max_size=2,
        ).map(tuple),
        speaker=st.none() | texts,
        on_behalf_of=st.lists(st.sampled_from(signatories), max_size=2, unique=True).map(tuple),
    )


events_by_type: dict[type, st.SearchStrategy[Event]] = {
    NegotiationOpened: _base(
        NegotiationOpened,
        title=texts,
        timezone=st.sampled_from(["UTC", "Europe/Kyiv", "Asia/Kathmandu"]),
        description=st.none() | texts,
    ),
    PartyRegistered: _base(
        PartyRegistered,
        party=party_ids,
        name=texts,
        kind=st.sampled_from([*PartyKind, "state", "bloc"]),
        aliases=st.lists(texts, max_size=2) | st.lists(texts, max_size=2).map(tuple),
    ),
    MembershipStarted: _dated(
        MembershipStarted,
        member=party_ids,
        group=party_ids,
        role=st.sampled_from([*Role, "speaks_for"]),
        valid_at=far_datetimes,
        precision=st.sampled_from([*Precision, "day"]),
        note=st.none() | texts,
    ),
    MembershipEnded: _dated(
        MembershipEnded, member=party_ids, group=party_ids, valid_at=far_datetimes
    ),
    ClauseTabled: _dated(
        ClauseTabled,
        clause=slugs,
        title=texts,
        topic=st.none() | texts,
        text=st.none() | texts,
        scale=st.none() | interval_scales(),
        valid_at=far_datetimes,
    ),
    ClauseAmended: _dated(
        ClauseAmended,
        clause=slugs,
        text=texts,
        valid_at=far_datetimes,
        evidence=evidence_tuples,
        note=st.none() | texts,
    ),
    ClauseWithdrawn: _dated(
        ClauseWithdrawn,
        clause=slugs,
        valid_at=aware_datetimes,
        reason=st.none() | texts,
        evidence=evidence_tuples,
        note=st.none() | texts,
    ),
    StanceRecorded: _dated(
        StanceRecorded,
        party=party_ids,
        clause=slugs,
        stance=ordinals | interval_numbers | st.sampled_from(["support", "lean_oppose"]),
        valid_at=far_datetimes,
        precision=st.sampled_from(list(Precision)),
        evidence=evidence_tuples,
        salience=unit,
        confidence=unit,
        conditions=st.none() | texts,
        speaker=st.none() | texts,
        note=st.none() | texts,
    ),
    JointStatementRecorded: st.lists(party_ids, min_size=1, max_size=4, unique=True)
    .map(tuple)
    .flatmap(_joint_statements),
    StanceWithdrawn: _dated(
        StanceWithdrawn,
        party=party_ids,
        clause=slugs,
        valid_at=far_datetimes,
        evidence=evidence_tuples,
        reason=st.none() | texts,
        speaker=st.none() | texts,
        note=st.none() | texts,
    ),
    StanceRetracted: _base(
        StanceRetracted,
        retracted=st.uuids().map(lambda u: u.hex),
        reason=texts,
        replaced_by=st.none() | st.uuids().map(lambda u: u.hex),
    ),
    NoteRecorded: _dated(
        NoteRecorded,
        kind=st.sampled_from(["meeting", "call", "deadline"]),
        text=texts,
        valid_at=far_datetimes,
        parties=st.lists(party_ids, max_size=3).map(tuple),
        evidence=evidence_tuples,
    ),
}
"""One strategy per event type; a new event type must be added here (a test checks)."""

any_event = st.one_of(*events_by_type.values())


# -- commands: random histories through the public API -----------------------


@attrs.frozen
class Record:
    party: str
    clause: str
    stance: Ordinal
    valid_day: int
    hours: int
    salience: float | None = None
    confidence: float | None = None


@attrs.frozen
class Joint:
    signatories: tuple[str, ...]
    clause: str
    stance: Ordinal
    valid_day: int


@attrs.frozen
class Withdraw:
    party: str
    clause: str
    valid_day: int


@attrs.frozen
class Retract:
    target: int  # index into the stance events recorded so far (mod their number)


@attrs.frozen
class Correct:
    target: int
    stance: Ordinal
    valid_day: int


Command = Record | Joint | Withdraw | Retract | Correct

days = st.integers(0, 9)
parties = st.sampled_from(PARTIES)
clauses = st.sampled_from(CLAUSES)
commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(Record, parties, clauses, ordinals, days, st.sampled_from([0, 0, 6, 12]), unit, unit),
    st.builds(
        Joint,
        st.lists(parties, min_size=1, max_size=3, unique=True).map(tuple),
        clauses,
        ordinals,
        days,
    ),
    st.builds(Withdraw, parties, clauses, days),
    st.builds(Retract, st.integers(0, 1000)),
    st.builds(Correct, st.integers(0, 1000), ordinals, days),
)
command_lists = st.lists(commands, max_size=25)
stance_commands = st.lists(
    st.builds(Record, parties, clauses, ordinals, days, st.sampled_from([0, 6, 12])), max_size=20
)


def apply(neg: negotrack.Negotiation, command: Command, stance_events: list[str]) -> None:
    """Run one command; ``stance_events`` collects the ids of stance events recorded."""
    match command:
        case Record(party, clause, stance, valid_day, hours, salience, confidence):
            r = neg.record_stance(
                party,
                clause,
                stance,
                valid_at=day(valid_day, hours),
                evidence=QUOTE,
                salience=salience,
                confidence=confidence,
            )
            stance_events.append(r.event.event_id)
        case Joint(signatories, clause, stance, valid_day):
            r = neg.record_joint_statement(
                signatories, clause, stance, valid_at=day(valid_day), evidence=QUOTE
            )
            stance_events.append(r.event.event_id)
        case Withdraw(party, clause, valid_day):
            r = neg.withdraw_stance(party, clause, valid_at=day(valid_day))
            stance_events.append(r.event.event_id)
        case Retract(target) if stance_events:
            with contextlib.suppress(AlreadyRetractedError):
                neg.retract(stance_events[target % len(stance_events)], reason="misquote")
        case Correct(target, stance, valid_day) if stance_events:
            original = stance_events[target % len(stance_events)]
            try:
                _, replacement = neg.correct(
                    original, reason="wrong date", stance=stance, valid_at=day(valid_day)
                )
            except (AlreadyRetractedError, negotrack.ValidationError):
                return  # already retracted, or a withdrawal (which cannot be corrected)
            stance_events.append(replacement.event.event_id)
        case _:
            pass


def build_log(neg: negotrack.Negotiation, cmds: Sequence[Command]) -> list[str]:
    """Run the commands in order; return the ids of the stance events recorded."""
    stance_events: list[str] = []
    for command in cmds:
        apply(neg, command, stance_events)
    return stance_events


@st.composite
def as_of_times(draw: st.DrawFn) -> datetime:
    """An as-of instant around the random logs' valid times (ties included)."""
    return day(draw(st.integers(-2, 11)), draw(st.sampled_from([0, 6, 12, 23])))


def known_at_times(records: Sequence[RecordedEvent]) -> st.SearchStrategy[datetime | None]:
    """None, or an instant at, just before, or after a record time of the log."""
    if not records:
        return st.none()
    return st.none() | st.builds(
        lambda r, shift: r.recorded_at + timedelta(microseconds=shift),
        st.sampled_from(list(records)),
        st.sampled_from([-1, 0, 1]),
    )


# -- claims: simultaneous stances in one cell, and logs of stance events ---------

confidences = st.sampled_from([None, 0.0, 0.3, 0.8, 1.0])
"""Few values, so that ties on confidence are common."""
stances_or_withdrawal = st.none() | ordinals


@st.composite
def simultaneous_claims(draw: st.DrawFn) -> list[Claim]:
    """Claims on one cell at one valid instant, with unique event ids."""
    ids = draw(st.lists(st.uuids().map(lambda u: u.hex), min_size=1, max_size=6, unique=True))
    return [
        Claim(
            party="FI",
            clause="plan-as-a-whole",
            stance=draw(stances_or_withdrawal),
            valid_at=BASE,
            precision=Precision.DAY,
            stated=draw(st.booleans()),
            confidence=draw(confidences),
            event_id=event_id,
            position=draw(st.integers(1, 1000)),
            recorded_at=BASE + timedelta(days=1),
        )
        for event_id in ids
    ]


def _evidence_stated(stated: bool) -> tuple[Evidence, ...]:
    return (Evidence(source=Source(outlet="Test Wire"), quote="as reported", stated=stated),)


@st.composite
def stance_event_logs(draw: st.DrawFn) -> list[Event]:
    """Stance events on a few cells and days (ties on a day are common), some retracted."""
    events: list[Event] = []
    for number in range(draw(st.integers(0, 14))):
        event_id = f"e{number}"
        kind = draw(st.sampled_from(["record", "record", "joint", "withdraw", "retract"]))
        at = day(draw(st.integers(0, 3)), draw(st.sampled_from([0, 0, 0, 12])))
        cell_event = {
            "negotiation": NEGOTIATION,
            "event_id": event_id,
            "clause": draw(st.sampled_from(CLAUSES[:2])),
            "valid_at": at,
            "precision": Precision.DAY if at.hour == 0 else Precision.INSTANT,
        }
        stated = _evidence_stated(draw(st.booleans()))
        if kind == "record":
            events.append(
                StanceRecorded(
                    **cell_event,
                    party=draw(st.sampled_from(PARTIES[:3])),
                    stance=draw(ordinals),
                    evidence=draw(st.sampled_from([(), stated])),
                    confidence=draw(confidences),
                )
            )
        elif kind == "joint":
            signatories = draw(st.lists(st.sampled_from(PARTIES[:3]), min_size=1, unique=True))
            events.append(
                JointStatementRecorded(
                    **cell_event,
                    signatories=tuple(signatories),
                    stance=draw(ordinals),
                    evidence=stated,
                    confidence=draw(confidences),
                )
            )
        elif kind == "withdraw":
            events.append(
                StanceWithdrawn(
                    **cell_event,
                    party=draw(st.sampled_from(PARTIES[:3])),
                    evidence=draw(st.sampled_from([(), stated])),
                )
            )
        elif events:
            target = draw(st.sampled_from([e.event_id for e in events]))
            events.append(
                StanceRetracted(
                    negotiation=NEGOTIATION, event_id=event_id, retracted=target, reason="misquote"
                )
            )
    return events


def recorded_in_order(events: Sequence[Event]) -> list[RecordedEvent]:
    """The events as a store would hold them, one second apart, in the order given."""
    return [
        RecordedEvent(
            position=number,
            recorded_at=BASE + timedelta(days=30, seconds=number),
            stream="test",
            version=number,
            event=event,
        )
        for number, event in enumerate(events, start=1)
    ]


# -- uncertain valid times ------------------------------------------------------

report_days = st.dates(min_value=date(2025, 10, 1), max_value=date(2026, 3, 31))
"""Days around the negotiation, across the clock changes of late October and March."""


@st.composite
def day_ranges(draw: st.DrawFn) -> tuple[date, date]:
    """An earliest and a latest day, in order (often the same day)."""
    earliest = draw(report_days)
    return earliest, earliest + timedelta(days=draw(st.sampled_from([0, 0, 1, 6, 30])))


@st.composite
def instant_ranges(draw: st.DrawFn) -> tuple[datetime, datetime]:
    """An earliest and a latest tz-aware instant, in order, in any of the test zones."""
    earliest = draw(aware_datetimes)
    shift = timedelta(minutes=draw(st.integers(0, 60 * 24 * 10)))
    latest = (earliest.astimezone(UTC) + shift).astimezone(draw(zones))
    return earliest, latest


# -- dataset file versions, for re-import --------------------------------------

Observation = tuple[str, str, Ordinal | None, int]
"""A stance observation of a file: party, clause, stance (None: a withdrawal), day."""

file_versions = st.dictionaries(
    st.sampled_from([f"s{n}" for n in range(8)]),
    st.tuples(
        st.sampled_from(PARTIES[:2]),
        st.sampled_from(CLAUSES[:2]),
        st.none() | st.sampled_from([Ordinal.SUPPORT, Ordinal.OPPOSE]),
        st.integers(0, 2),
    ),
    max_size=8,
)
"""One version of a file's stance observations by id; few values, so edits often revert."""


def file_events(version: dict[str, Observation]) -> list[Event]:
    """The events a dataset file of these observations produces, with its stable ids."""
    events: list[Event] = [
        NegotiationOpened(
            negotiation=NEGOTIATION, event_id=f"{NEGOTIATION}/negotiation", title="Random talks"
        )
    ]
    for observation, (party, clause, stance, valid_day) in sorted(version.items()):
        cell_event = {
            "negotiation": NEGOTIATION,
            "event_id": f"{NEGOTIATION}/stance/{observation}",
            "party": party,
            "clause": clause,
            "valid_at": day(valid_day),
        }
        if stance is None:
            events.append(StanceWithdrawn(**cell_event))
        else:
            events.append(StanceRecorded(**cell_event, stance=stance))
    return events


def file_errata(version: dict[str, Observation], retracted: set[str]) -> list[Event]:
    """The retractions a ``negotrack/2`` file lists for some of its observations."""
    return [
        StanceRetracted(
            negotiation=NEGOTIATION,
            event_id=f"{NEGOTIATION}/retraction/{observation}",
            retracted=f"{NEGOTIATION}/stance/{observation}",
            reason="the file retracts it",
        )
        for observation in sorted(retracted & version.keys())
    ]


file_versions_with_errata = file_versions.flatmap(
    lambda version: st.tuples(st.just(version), st.sets(st.sampled_from(sorted(version) or ["-"])))
)
"""A file version and the observations the file itself retracts."""


# -- evidence: texts with wrapped lines, and membership graphs -----------------

report_texts = st.text(alphabet="ab “”–. \n\t", max_size=60)
"""Short texts of a few letters, curly quotes, a dash and blanks: matches and near misses."""


@st.composite
def memberships_graphs(draw: st.DrawFn) -> list[Membership]:
    """Random memberships among a few parties, some ended before day 5."""
    names = ["GB", "FR", "e3", "eu", "nb8"]
    out = []
    for _ in range(draw(st.integers(0, 6))):
        member, group = draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True))
        ends = draw(st.sampled_from([None, day(3), day(8)]))
        out.append(
            Membership(
                member=member,
                group=group,
                role=draw(st.sampled_from(list(Role))),
                valid_from=day(draw(st.sampled_from([0, 6]))),
                valid_until=ends,
            )
        )
    return out


# -- view values: matrices built directly, and text a source could hold ------------

hostile_texts = (
    st.lists(
        st.sampled_from(["<script>alert(1)</script>", "</td>", "&amp;", '"', "'", "<b>", " "])
        | st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12),
        min_size=1,
        max_size=5,
    )
    .map("".join)
    .filter(lambda s: s.strip() != "")
)
"""Text as a source may hold it: markup, entities and quotes among ordinary characters."""

view_sources = st.builds(
    Source,
    outlet=hostile_texts,
    title=st.none() | hostile_texts,
    url=st.none() | st.just("https://example.org/report?a=1&b=<2>"),
    published=st.none() | st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)),
    file=st.none() | st.just("000_855a6cc0775a402e.txt"),
)
view_evidence = st.lists(
    st.builds(Evidence, source=view_sources, quote=hostile_texts, stated=st.booleans()),
    max_size=2,
).map(tuple)


@st.composite
def matrices(draw: st.DrawFn) -> negotrack.Matrix:
    """A matrix made directly from random cells (ordinal or interval stances, any evidence)."""
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(PARTIES), st.sampled_from(CLAUSES)), unique=True, max_size=10
        )
    )
    cells = {}
    for index, (party, clause) in enumerate(keys):
        cells[(party, clause)] = negotrack.Cell(
            party=party,
            clause=clause,
            stance=draw(ordinals | st.floats(min_value=0, max_value=100)),
            valid_at=draw(aware_datetimes),
            precision=draw(st.sampled_from(list(Precision))),
            recorded_at=draw(aware_datetimes),
            event_id=f"{NEGOTIATION}/stance/{index}",
            position=index + 1,
            evidence=draw(view_evidence),
            salience=draw(unit),
            confidence=draw(unit),
            conditions=draw(st.none() | hostile_texts),
            speaker=draw(st.none() | st.sampled_from(PARTIES)),
            signatories=tuple(draw(st.lists(st.sampled_from(PARTIES), max_size=3, unique=True))),
        )
    return negotrack.Matrix(
        negotiation=NEGOTIATION,
        as_of=draw(aware_datetimes),
        known_at=draw(st.none() | aware_datetimes),
        cells=cells,
    )


# -- ergonomics: times written as ISO strings ------------------------------------------


@st.composite
def iso_times(draw: st.DrawFn) -> tuple[str, date | datetime]:
    """A date or a tz-aware datetime, and the ISO 8601 string that writes it."""
    value: date | datetime = draw(st.one_of(report_days, aware_datetimes))
    return value.isoformat(), value


# -- the registry: parties, memberships, clauses ----------------------------------


@st.composite
def registry_logs(draw: st.DrawFn) -> list[Event]:
    """Declarations a negotiation's log can hold, in recording order, out of valid-time order.

    Parties are registered and clauses tabled once; a membership is started,
    ended, started again (at most one open per member and group at a time); an
    end may name a membership that is not open, which closes nothing.
    """
    registered = draw(st.lists(st.sampled_from(PARTIES), min_size=1, unique=True))
    events: list[Event] = [
        PartyRegistered(
            negotiation=NEGOTIATION,
            party=party,
            name=draw(texts),
            kind=draw(st.sampled_from(list(PartyKind))),
            aliases=tuple(draw(st.lists(texts, max_size=2))),
        )
        for party in registered
    ]
    tabled = draw(st.lists(st.sampled_from(CLAUSES), unique=True))
    events += [
        ClauseTabled(
            negotiation=NEGOTIATION,
            clause=clause,
            title=draw(texts),
            topic=draw(st.none() | texts),
            text=draw(st.none() | texts),
            valid_at=day(draw(days)),
        )
        for clause in tabled
    ]
    open_spans: set[tuple[str, str]] = set()
    for _ in range(draw(st.integers(0, 12))):
        at = day(draw(days))
        if tabled and draw(st.booleans()):
            clause = draw(st.sampled_from(tabled))
            if draw(st.booleans()):
                events.append(
                    ClauseAmended(
                        negotiation=NEGOTIATION, clause=clause, text=draw(texts), valid_at=at
                    )
                )
            else:
                events.append(ClauseWithdrawn(negotiation=NEGOTIATION, clause=clause, valid_at=at))
            continue
        member = draw(st.sampled_from(registered))
        group = draw(st.sampled_from(registered))
        if (member, group) in open_spans or draw(st.integers(0, 4)) == 0:
            open_spans.discard((member, group))
            events.append(
                MembershipEnded(negotiation=NEGOTIATION, member=member, group=group, valid_at=at)
            )
        else:
            open_spans.add((member, group))
            events.append(
                MembershipStarted(
                    negotiation=NEGOTIATION,
                    member=member,
                    group=group,
                    role=draw(st.sampled_from(list(Role))),
                    valid_at=at,
                )
            )
    return events
