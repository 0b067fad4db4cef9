"""The hostile-input suite: nothing a caller passes may break the log.

Every call through the public API, the dataset importer and the JSON Lines
restore ends in a clean success or a :class:`NegotrackError`.  After a failure
the log is unchanged; after a success every read works (matrix, history, the
registry), and at the end of each example the log exports, restores into a
fresh store byte for byte, and verifies.

CI runs the hypothesis profile's number of examples.  The long run sets
``NEGOTRACK_HOSTILE_EXAMPLES`` (see docs/reliability.md)::

    NEGOTRACK_HOSTILE_EXAMPLES=2000 .venv/bin/python -m pytest tests/test_hostile.py
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import negotrack
from negotrack import DatasetError, NegotrackError
from negotrack.io.dataset import import_dataset
from negotrack.io.jsonl import export_jsonl, read_jsonl, restore_jsonl
from tests.conftest import Backend
from tests.strategies import (
    SPECIAL_CHARACTERS,
    UNSTORABLE_CHARACTERS,
    edge_datetimes,
    hostile_numbers,
    hostile_values,
    long_texts,
    short_texts,
    texts,
    unstorable_texts,
)
from tests.test_dataset import MINIMAL

_EXAMPLES = int(os.environ.get("NEGOTRACK_HOSTILE_EXAMPLES", "0"))
TALLY: Counter[str] = Counter()
"""Outcomes of the hostile calls, written out for scripts/reliability.py when it asks."""


@pytest.fixture(scope="module", autouse=True)
def _tally_report() -> Iterator[None]:
    yield
    report = os.environ.get("NEGOTRACK_RELIABILITY_TALLY")
    if report:
        Path(report).write_text(json.dumps(dict(TALLY), sort_keys=True), encoding="utf-8")


hostile = settings(
    max_examples=_EXAMPLES or settings().max_examples,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""The profile's examples in CI; ``NEGOTRACK_HOSTILE_EXAMPLES`` for the long run."""

NEGOTIATION = "hostile-talks"
PARTIES = ("GB", "FR", "eu", "e3")
CLAUSES = ("territory", "scale-clause")
QUOTE = negotrack.Evidence(source=negotrack.Source(outlet="Wire"), quote="said so")


# -- what a caller may pass --------------------------------------------------------

sql_text = st.sampled_from(
    ["'; DROP TABLE events; --", "' OR '1'='1", '"); DELETE FROM cells; --', "%", "_", "\\"]
)
lookup_text = st.one_of(short_texts, sql_text, long_texts)
"""Text a lookup may be handed: hostile, but storable (NUL and surrogates: see below)."""
any_text = st.one_of(texts, sql_text, unstorable_texts)
ids = st.one_of(st.sampled_from(PARTIES + CLAUSES), lookup_text, unstorable_texts)
party = st.one_of(st.sampled_from(PARTIES), ids)
clause = st.one_of(st.sampled_from(CLAUSES), ids)
when = st.one_of(
    st.dates(),
    edge_datetimes,
    st.just(date(2025, 11, 22)),
    st.just(datetime(2025, 11, 22, 12, tzinfo=UTC)),
)
stance = st.one_of(
    st.sampled_from(["support", "oppose", "lean_support", "SUPPORT", "", 50, 100.0]),
    hostile_numbers,
    any_text,
)
maybe = st.one_of(st.none(), hostile_values)


@st.composite
def operations(draw: st.DrawFn) -> tuple[str, Callable[[negotrack.Tracker, list[str]], Any]]:
    """One call of the public API with hostile arguments, and its name for the report."""
    name = draw(
        st.sampled_from(
            [
                "register_party",
                "start_membership",
                "table_clause",
                "amend_clause",
                "record_stance",
                "record_joint_statement",
                "withdraw_stance",
                "retract",
                "correct",
                "record_note",
                "open_negotiation",
                "append",
            ]
        )
    )
    args: dict[str, Any] = {}
    if name == "register_party":
        args = {
            "party_id": draw(ids),
            "name": draw(any_text),
            "kind": draw(st.sampled_from(["state", "bloc", "group", "empire", 3])),
            "aliases": draw(st.one_of(st.lists(any_text, max_size=2), any_text)),
        }
    elif name == "start_membership":
        args = {
            "member": draw(party),
            "group": draw(party),  # circular memberships come from two draws
            "valid_at": draw(when),
            "role": draw(st.sampled_from(["member", "speaks_for", "king"])),
            "note": draw(st.none() | any_text),
        }
    elif name == "table_clause":
        args = {
            "clause_id": draw(ids),
            "title": draw(any_text),
            "valid_at": draw(when),
            "text": draw(st.none() | any_text),
        }
    elif name == "amend_clause":
        args = {"clause_id": draw(clause), "text": draw(any_text), "valid_at": draw(when)}
    elif name == "record_stance":
        args = {
            "party": draw(party),
            "clause": draw(clause),
            "stance": draw(stance),
            "valid_at": draw(when),
            "evidence": QUOTE,
            "salience": draw(st.one_of(st.none(), hostile_numbers, any_text)),
            "confidence": draw(st.one_of(st.none(), hostile_numbers)),
            "speaker": draw(st.one_of(st.none(), any_text, st.integers())),
            "conditions": draw(st.none() | any_text),
        }
    elif name == "record_joint_statement":
        args = {
            "signatories": draw(st.lists(party, min_size=0, max_size=3)),
            "clause": draw(clause),
            "stance": draw(stance),
            "valid_at": draw(when),
            "evidence": QUOTE,
        }
    elif name == "withdraw_stance":
        args = {"party": draw(party), "clause": draw(clause), "valid_at": draw(when)}
    elif name in ("retract", "correct"):
        args = {"target": draw(st.integers(0, 20)), "reason": draw(any_text)}
        if name == "correct":
            field = draw(
                st.sampled_from(["stance", "valid_at", "precision", "salience", "speaker"])
            )
            args[field] = draw(maybe | stance | when)
    elif name == "record_note":
        args = {
            "kind": draw(any_text),
            "text": draw(any_text),
            "valid_at": draw(when),
            "parties": draw(st.lists(party, max_size=2)),
        }
    elif name == "open_negotiation":
        args = {
            "negotiation_id": draw(ids),
            "title": draw(any_text),
            "timezone": draw(st.sampled_from(["UTC", "Mars/Olympus", "Europe/Kyiv", "", "\x00"])),
        }
    elif name == "append":  # the low-level entry: an event built by the caller
        args = {"kind": draw(st.sampled_from(["state", "empire"]))}

    def run(tracker: negotrack.Tracker, stance_events: list[str]) -> Any:
        neg = tracker.negotiation(NEGOTIATION)
        if name == "open_negotiation":
            return tracker.open_negotiation(
                args["negotiation_id"], title=args["title"], timezone=args["timezone"]
            )
        if name == "append":
            return tracker.append(
                [
                    negotrack.PartyRegistered(
                        negotiation=NEGOTIATION, party="xx", name="X", kind=args["kind"]
                    )
                ]
            )
        if name in ("retract", "correct"):
            if not stance_events:
                return None
            target = stance_events[args.pop("target") % len(stance_events)]
            if name == "retract":
                return neg.retract(target, reason=args["reason"])
            reason = args.pop("reason")
            return neg.correct(target, reason=reason, **args)
        method = getattr(neg, name)
        positional = {
            "register_party": ("party_id", "name"),
            "start_membership": ("member", "group"),
            "table_clause": ("clause_id", "title"),
            "amend_clause": ("clause_id", "text"),
            "record_stance": ("party", "clause", "stance"),
            "record_joint_statement": ("signatories", "clause", "stance"),
            "withdraw_stance": ("party", "clause"),
            "record_note": ("kind", "text"),
        }[name]
        rest = {k: v for k, v in args.items() if k not in positional}
        return method(*(args[k] for k in positional), **rest)

    try:
        label = f"{name}({args!r})"[:300]
    except ValueError:  # an int too long to print
        label = f"{name}(... an integer of thousands of digits ...)"
    return label, run


def declared(tracker: negotrack.Tracker) -> negotrack.Negotiation:
    """A negotiation with parties, a bloc, an ordinal and an interval clause."""
    neg = tracker.open_negotiation(NEGOTIATION, title="Hostile talks")
    for party_id in PARTIES:
        neg.register_party(party_id, party_id, "state" if party_id.isupper() else "bloc")
    neg.table_clause("territory", "Territory", valid_at=date(2025, 11, 1))
    neg.table_clause(
        "scale-clause",
        "Scale",
        valid_at=date(2025, 11, 1),
        scale=negotrack.IntervalScale(low=0, high=100),
    )
    return neg


def head(tracker: negotrack.Tracker) -> tuple[int, str | None]:
    """The log's last position and hash: equal before and after means nothing was written."""
    last = tracker.store.last_position()
    if last == 0:
        return 0, None
    return last, next(iter(tracker.events(after=last - 1))).hash


def every_read_works(tracker: negotrack.Tracker) -> None:
    """The reads an analyst makes, over the whole log: none may raise."""
    for neg in tracker.negotiations():
        neg.matrix(date(2030, 1, 1))
        neg.parties()
        neg.clauses()
        neg.notes()
        for party_id in neg.parties():
            for clause_id in neg.clauses():
                neg.history(party_id, clause_id)
    assert tracker.verify().position == tracker.store.last_position()


def moves_intact(tracker: negotrack.Tracker, target: Backend | None = None) -> None:
    """The log exports, restores into a fresh store byte for byte, and verifies there.

    The fresh store is on ``target``, or an in-memory SQLite one: a move from
    PostgreSQL to SQLite, and cheap enough to make in every example.
    """
    first = io.StringIO()
    count = export_jsonl(tracker, first)
    with target.tracker() if target else negotrack.open("sqlite://") as copy:
        copy.restore(list(read_jsonl(io.StringIO(first.getvalue()))))
        second = io.StringIO()
        export_jsonl(copy, second)
        assert second.getvalue() == first.getvalue()
        assert copy.verify().position == count
        every_read_works(copy)


_ID_LOOKUPS: dict[str, Callable[[negotrack.Tracker, negotrack.Negotiation, str], object]] = {
    "event": lambda t, n, v: t.event(v),
    "retract": lambda t, n, v: n.retract(v, reason="r"),
    "correct": lambda t, n, v: n.correct(v, reason="r"),
    "history": lambda t, n, v: n.history("GB", v),
    "cell_version": lambda t, n, v: n.cell_version("GB", v),
}
"""Lookups by id, each of which must refuse an id no backend can hold."""


@pytest.fixture(scope="class")
def looked_up(backend: Backend) -> Iterator[negotrack.Tracker]:
    """One store per backend for the lookups: they must write nothing, so none is needed per example."""
    with backend.tracker() as tracker:
        neg = declared(tracker)
        neg.record_stance("GB", "territory", "support", valid_at=date(2025, 11, 22), evidence=QUOTE)
        yield tracker


def all_or_nothing(
    load: Callable[[negotrack.Tracker], object], refusal: type[NegotrackError], what: str
) -> None:
    """``load`` into a fresh store: a ``refusal`` that writes nothing, or a log every read works on."""
    TALLY[f"{what} tried"] += 1
    with negotrack.open("sqlite://") as tracker:
        try:
            load(tracker)
        except refusal:
            assert tracker.last_position() == 0
            return
        every_read_works(tracker)


class TestPublicApi:
    """Random sequences of hostile calls through the facade."""

    @hostile
    @given(calls=st.lists(operations(), min_size=1, max_size=12))
    def test_hostile_calls(
        self, backend: Backend, calls: list[tuple[str, Callable[..., Any]]]
    ) -> None:
        """Each call succeeds or raises a NegotrackError; a failure writes nothing."""
        with backend.tracker() as tracker:
            declared(tracker)
            stance_events: list[str] = []
            for _, run in calls:
                before = head(tracker)
                TALLY["calls tried"] += 1
                try:
                    result = run(tracker, stance_events)
                except NegotrackError:
                    assert head(tracker) == before
                    TALLY["calls refused, log unchanged"] += 1
                    continue
                TALLY["calls accepted, every read works"] += 1
                records = result if isinstance(result, tuple | list) else [result]
                for record in records:
                    event = getattr(record, "event", None)
                    if isinstance(
                        event, negotrack.StanceRecorded | negotrack.JointStatementRecorded
                    ):
                        stance_events.append(event.event_id)
                every_read_works(tracker)
            moves_intact(tracker)
            TALLY["logs exported, restored identically and verified"] += 1

    @hostile
    @given(
        text=lookup_text,
        number=hostile_numbers,
        instant=edge_datetimes | st.dates(),
    )
    def test_hostile_lookups(
        self, looked_up: negotrack.Tracker, text: str, number: object, instant: object
    ) -> None:
        """Lookups and views with hostile arguments answer or raise a NegotrackError."""
        tracker = looked_up
        neg = tracker.negotiation(NEGOTIATION)
        before = head(tracker)
        lookups: list[Callable[[], object]] = [
            lambda: tracker.negotiation(text),
            lambda: tracker.event(text),
            lambda: neg.history(text, "territory"),
            lambda: neg.history("GB", text),
            lambda: neg.cell_version(text, text),
            lambda: neg.bloc(text, date(2025, 11, 22)),
            lambda: neg.bloc("eu", date(2025, 11, 22), rule=text),
            lambda: neg.matrix(instant),  # type: ignore[arg-type]
            lambda: neg.matrix(date(2025, 11, 22), known_at=instant),  # type: ignore[arg-type]
            lambda: neg.diff(instant, date(2025, 11, 22)),  # type: ignore[arg-type]
            lambda: neg.matrix(number),  # type: ignore[arg-type]
            lambda: neg.retract(text, reason="r"),
        ]
        for lookup in lookups:
            TALLY["lookups tried"] += 1
            with contextlib.suppress(NegotrackError):
                lookup()
        assert head(tracker) == before

    @pytest.mark.parametrize("character", UNSTORABLE_CHARACTERS)
    @pytest.mark.parametrize("name", sorted(_ID_LOOKUPS))
    def test_unstorable_lookups(self, backend: Backend, name: str, character: str) -> None:
        """A NUL or a lone surrogate in a looked-up id is a NegotrackError, not a driver's."""
        lookup = _ID_LOOKUPS[name]
        with backend.tracker() as tracker:
            neg = declared(tracker)
            with contextlib.suppress(NegotrackError):
                lookup(tracker, neg, f"id{character}")


class TestTheReportedCalls:
    """Each call of the trust review that broke the log is now refused, and the log reads on."""

    @pytest.mark.parametrize(
        "call",
        [
            lambda neg, e: neg.correct(e, reason="r", precision="hour"),
            lambda neg, e: neg.correct(e, reason="r", speaker=123),
            lambda neg, e: neg.correct(e, reason="r", salience="0.5"),
            lambda neg, e: neg.correct(e, reason="r", confidence=10**400),
            lambda neg, e: neg.record_stance(
                "GB", "territory", "support", valid_at=date(2025, 1, 1), salience=float("nan")
            ),
            lambda neg, e: neg.record_stance(
                "GB", "scale-clause", 10**400, valid_at=date(2025, 1, 1)
            ),
            lambda neg, e: neg.record_note("call", "x\x00y", valid_at=date(2025, 1, 1)),
            lambda neg, e: neg.register_party("x" * 201, "Long"),
            lambda neg, e: neg.register_party("ab\ud800", "Surrogate"),
            lambda neg, e: neg._tracker.append(
                [negotrack.PartyRegistered(negotiation=neg.id, party="zz", name="Z", kind="empire")]
            ),
            lambda neg, e: neg._tracker.open_negotiation(
                "mars", title="M", timezone="Mars/Olympus"
            ),
        ],
    )
    def test_refused_and_log_unchanged(self, backend: Backend, call: Callable[..., object]) -> None:
        """The call raises a NegotrackError, writes nothing, and every read still works."""
        with backend.tracker() as tracker:
            neg = declared(tracker)
            recorded = neg.record_stance(
                "GB", "territory", "support", valid_at=date(2025, 11, 22), evidence=QUOTE
            )
            before = head(tracker)
            with pytest.raises(NegotrackError):
                call(neg, recorded.event.event_id)
            assert head(tracker) == before
            every_read_works(tracker)
            moves_intact(tracker, backend)

    def test_the_lossy_values_restore(self, backend: Backend) -> None:
        """Ints for floats, -0.0 and a seconds offset: accepted, exported, restored identically."""
        with backend.tracker() as tracker:
            neg = declared(tracker)
            neg.record_stance(
                "FR",
                "scale-clause",
                0,
                valid_at=datetime(1900, 6, 1, tzinfo=negotrack_kyiv()),
                salience=1,
                confidence=0,
                evidence=QUOTE,
            )
            neg.record_stance(
                "GB", "scale-clause", -0.0, valid_at=date(9999, 12, 30), evidence=QUOTE
            )
            neg.record_note("call", "".join(SPECIAL_CHARACTERS), valid_at=date(1, 1, 2))
            every_read_works(tracker)
            moves_intact(tracker, backend)


def negotrack_kyiv() -> Any:
    """Kyiv, whose offset in 1900 was local mean time (+02:02:04)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Kyiv")


# -- the dataset importer ----------------------------------------------------------


class TestDatasetFiles:
    """Whatever a dataset file holds, the import succeeds whole or raises a DatasetError."""

    @pytest.mark.parametrize(
        ("content", "problem", "line"),
        [
            (MINIMAL.replace("Mini talks", "Mini\x01talks"), "not allowed", 4),
            # LibYAML stops at its own depth limit, the pure-Python parser at ours
            (MINIMAL + "notes: " + "[" * 3000 + "]" * 3000 + "\n", "nest", 28),
            (MINIMAL + "? [a, b]\n: c\n", "a key must be a plain value", 28),
            (MINIMAL + "extra: {[1, 2]: x}\n", "a key must be a plain value", 28),
            # read a list item at a time, an item that is not a mapping is refused alone
            ("format: negotrack/1\nstances: [1, null]\n", "not iterable", 2),
            ("format: negotrack/1\nstances: []\nstances: []\n", "duplicate key", 3),
            ("", "empty", 1),
            ("# only a comment\n", "empty", 1),
            (MINIMAL.replace("oppose", "1e400"), "", 24),
            (MINIMAL.replace("oppose", ".nan"), "", 24),
            (MINIMAL.replace("Mini talks", '"Mini\\0talks"'), "NUL", 3),
            # found by the hostile long run: a quote the model refuses, named at its line
            (MINIMAL.replace('"borders must not change"', '"\\0"'), "NUL", 27),
            # LibYAML refuses the escape itself (line 4); PyYAML reads it, the check refuses it
            (MINIMAL.replace("Mini talks", '"Mini\\ud800talks"'), "surrogate|Unicode", 0),
            (
                MINIMAL.replace("  title: Mini talks", "  title: M\n  timezone: Mars/Olympus"),
                "time zone",
                5,
            ),
        ],
    )
    def test_refused_with_file_and_line(
        self, tmp_path: Path, content: str, problem: str, line: int
    ) -> None:
        """Control characters, deep nesting, complex keys, empty files: a DatasetError with its line."""
        path = tmp_path / "talks.yaml"
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
        with negotrack.open("sqlite://") as tracker:
            with pytest.raises(DatasetError) as caught:
                import_dataset(tracker, path)
            assert tracker.store.last_position() == 0
        assert caught.value.file == str(path)
        assert re.search(problem, caught.value.problem)
        assert caught.value.line == line or (line == 0 and caught.value.line is not None)

    @pytest.mark.parametrize("content", [b"\xff\xfe\x00\x01" * 64, b"format: negotrack/1\n\x80\n"])
    def test_binary(self, tmp_path: Path, content: bytes) -> None:
        """A binary file is a DatasetError naming the file and the line of the first bad byte."""
        path = tmp_path / "talks.yaml"
        path.write_bytes(content)
        with negotrack.open("sqlite://") as tracker, pytest.raises(DatasetError) as caught:
            import_dataset(tracker, path)
        assert (
            caught.value.line
            == content.count(b"\n", 0, content.index(b"\x80") if b"\x80" in content else 0) + 1
        )

    @hostile
    @given(
        value=st.one_of(any_text, st.integers(), st.floats(), st.booleans(), st.none()),
        where=st.sampled_from(
            [
                "Mini talks",
                "United Kingdom",
                "oppose",
                '"borders must not change"',
                "GB",
                "territory",
                "2025-11-22",
                "Wire",
            ]
        ),
    )
    def test_any_scalar_anywhere(
        self, tmp_path_factory: pytest.TempPathFactory, value: object, where: str
    ) -> None:
        """A hostile scalar in place of any value imports whole or raises a DatasetError."""
        if isinstance(value, float) and not math.isfinite(value):
            text = ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
        else:
            text = json.dumps(value, ensure_ascii=True)
        path = tmp_path_factory.mktemp("hostile") / "talks.yaml"
        path.write_text(MINIMAL.replace(where, text), encoding="utf-8")
        all_or_nothing(lambda tracker: import_dataset(tracker, path), DatasetError, "dataset files")


# -- the JSON Lines restore ---------------------------------------------------------


class TestJsonLinesRestore:
    """Hostile lines in an export: a DatasetError naming the line, and nothing written."""

    @hostile
    @given(
        line=st.one_of(
            st.text(max_size=200),
            st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
            st.sampled_from(["[" * 100_000, '{"x": 1e400}', "{}", "null"]),
        ),
        where=st.integers(0, 3),
    )
    def test_any_line(
        self, tmp_path_factory: pytest.TempPathFactory, line: str, where: int
    ) -> None:
        """Any text in place of any line of a small export is refused with a NegotrackError."""
        with negotrack.open("sqlite://") as source:
            declared(source)
            out = io.StringIO()
            export_jsonl(source, out)
        lines = out.getvalue().splitlines(keepends=True)
        lines[where] = line.replace("\n", " ") + "\n"
        path = tmp_path_factory.mktemp("jsonl") / "log.jsonl"
        path.write_text("".join(lines), encoding="utf-8", errors="surrogatepass")
        # Success is possible: the line may be a faithful rewrite of the original.
        all_or_nothing(
            lambda target: restore_jsonl(target, path), NegotrackError, "JSON Lines files"
        )


class TestUnprintableValues:
    """A value too large for repr() is still refused with a NegotrackError."""

    @pytest.mark.parametrize(
        "call",
        [lambda neg: neg.matrix(10**5000)],
        ids=["huge-as-of"],
    )
    def test_refused_cleanly(self, call: Callable[..., object]) -> None:
        """An as_of too large to print is a NegotrackError, not a ValueError from repr()."""
        with negotrack.open("sqlite://") as tracker:
            neg = declared(tracker)
            with contextlib.suppress(NegotrackError):
                call(neg)
