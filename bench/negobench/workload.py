"""The generated workload: stance events over party x clause cells, and the expected answers."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from negotrack.events import ClauseTabled, Event, PartyRegistered, StanceRecorded
from negotrack.model import Evidence, Ordinal, PartyKind, Source

# ---------------------------------------------------------------------------
# Workload
# ---------------------------------------------------------------------------

NEGOTIATION = "bench-negotiation"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = datetime(2025, 1, 1, tzinfo=UTC)
T0_US = (T0 - EPOCH) // timedelta(microseconds=1)
SPAN_US = 90 * 86_400 * 1_000_000  # valid times spread over 90 days
LAG_US = 3 * 86_400 * 1_000_000  # a stance is logged up to 3 days after it held
QUOTE_LEN = 80
GENESIS = "0" * 64
ORDINALS = tuple(Ordinal)
OUTLETS = ("Reuters", "AP", "AFP", "RFE/RL", "Kyiv Independent", "TASS", "BBC", "Le Monde")
WORDS = (
    "we",
    "will",
    "not",
    "accept",
    "any",
    "ceasefire",
    "that",
    "freezes",
    "the",
    "line",
    "guarantees",
    "must",
    "be",
    "binding",
    "sanctions",
    "relief",
    "only",
    "after",
    "withdrawal",
    "of",
    "forces",
    "security",
    "council",
    "review",
    "in",
    "principle",
    "agreed",
    "subject",
    "to",
)


def at(micros: int) -> datetime:
    """The UTC instant of a count of microseconds since the epoch (negotrack's storage unit)."""
    return EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True, slots=True)
class Stance:
    """One stance event of the workload, in plain values every system can take."""

    event_id: str
    party: str
    clause: str
    stance: Ordinal
    valid_us: int
    outlet: str
    quote: str

    @property
    def stream(self) -> str:
        return f"{NEGOTIATION}/{self.party}/{self.clause}"


Cell = tuple[str, str]  # (party, clause)


@dataclass
class Workload:
    """The stance events in append (recording) order, and the answers every query must give."""

    stances: list[Stance]
    parties: list[str]
    clauses: list[str]
    batch_size: int
    seed: int
    as_of_us: int = field(init=False)
    """The median valid time: the as-of instant of case 2."""
    known_index: int = field(init=False)
    """The event in the middle of the recording history: known_at is its record time."""
    diff_from_us: int = field(init=False)
    diff_to_us: int = field(init=False)
    history_cell: Cell = field(init=False)

    def __post_init__(self) -> None:
        valid = sorted(s.valid_us for s in self.stances)
        self.as_of_us = valid[self.n // 2]
        self.diff_from_us = valid[self.n // 3]
        self.diff_to_us = valid[2 * self.n // 3]
        self.known_index = self.n // 2
        self.history_cell = (
            self.parties[len(self.parties) // 2],
            self.clauses[len(self.clauses) // 2],
        )

    @property
    def n(self) -> int:
        return len(self.stances)

    @property
    def cells(self) -> int:
        return len(self.parties) * len(self.clauses)

    def batches(self) -> list[list[Stance]]:
        b = self.batch_size
        return [self.stances[i : i + b] for i in range(0, self.n, b)]

    # -- the answers, in plain Python ------------------------------------------

    def latest(self, as_of_us: int, upto: int | None = None) -> dict[Cell, Stance]:
        """Per cell, the latest stance (by valid time, then log order) valid at ``as_of_us``,
        among the events up to index ``upto`` of the recording order (all by default)."""
        best: dict[Cell, tuple[int, int]] = {}
        stop = self.n if upto is None else upto + 1
        for i in range(stop):
            s = self.stances[i]
            if s.valid_us <= as_of_us:
                key = (s.party, s.clause)
                current = best.get(key)
                if current is None or (s.valid_us, i) > current:
                    best[key] = (s.valid_us, i)
        return {key: self.stances[i] for key, (_, i) in best.items()}

    def expected_matrix(self, known: bool = False) -> dict[Cell, str]:
        upto = self.known_index if known else None
        return {k: s.event_id for k, s in self.latest(self.as_of_us, upto).items()}

    def expected_history(self) -> list[str]:
        party, clause = self.history_cell
        entries = [
            (s.valid_us, i, s.event_id)
            for i, s in enumerate(self.stances)
            if (s.party, s.clause) == (party, clause)
        ]
        return [event_id for _, _, event_id in sorted(entries)]

    def expected_moves(self) -> set[Cell]:
        before, after = self.latest(self.diff_from_us), self.latest(self.diff_to_us)
        return {
            k
            for k in before.keys() | after.keys()
            if (before[k].stance if k in before else None)
            != (after[k].stance if k in after else None)
        }


def cell_shape(s: int) -> tuple[int, int]:
    """Parties x clauses = s, as square as the divisors of s allow (2,000 -> 40 x 50)."""
    parties = max(d for d in range(1, math.isqrt(s) + 1) if s % d == 0)
    return parties, s // parties


def make_workload(n: int, s: int, batch_size: int, seed: int) -> Workload:
    """n stance events over s cells, interleaved: each round visits every cell once."""
    rng = random.Random(seed)
    n_parties, n_clauses = cell_shape(s)
    pw, cw = max(2, len(str(n_parties - 1))), max(4, len(str(n_clauses - 1)))
    parties = [f"party-{i:0{pw}d}" for i in range(n_parties)]
    clauses = [f"clause-{j:0{cw}d}" for j in range(n_clauses)]
    cells = [(p, c) for p in parties for c in clauses]
    per_cell = [n // s + (1 if i < n % s else 0) for i in range(s)]
    order: list[int] = []
    for round_no in range(max(per_cell)):
        visiting = [i for i in range(s) if per_cell[i] > round_no]
        rng.shuffle(visiting)
        order.extend(visiting)

    step = SPAN_US / n
    used: set[int] = set()
    stances: list[Stance] = []
    for pos, i in enumerate(order):
        # Valid time follows the recording order, less a random reporting lag, so
        # a cell's events are not in valid-time order: the as-of query must sort.
        valid = max(T0_US, T0_US + int((pos + 1) * step) - rng.randrange(LAG_US))
        while valid in used:  # unique valid times: the as-of answer is unambiguous
            valid += 1
        used.add(valid)
        quote = " ".join(rng.choices(WORDS, k=18))[:QUOTE_LEN].ljust(QUOTE_LEN, ".")
        stances.append(
            Stance(
                event_id=f"{rng.getrandbits(128):032x}",
                party=cells[i][0],
                clause=cells[i][1],
                stance=rng.choice(ORDINALS),
                valid_us=valid,
                outlet=rng.choice(OUTLETS),
                quote=quote,
            )
        )
    return Workload(stances, parties, clauses, batch_size, seed)


# -- the workload as each system takes it (built before timing) -----------------


def registration_events(wl: Workload) -> list[Event]:
    """The parties and clauses a negotiation must declare before any stance on them."""
    declared: list[Event] = [
        PartyRegistered(negotiation=NEGOTIATION, party=p, name=p.title(), kind=PartyKind.STATE)
        for p in wl.parties
    ]
    declared += [
        ClauseTabled(negotiation=NEGOTIATION, clause=c, title=c.title(), valid_at=T0)
        for c in wl.clauses
    ]
    return declared


def stance_event(s: Stance) -> StanceRecorded:
    return StanceRecorded(
        negotiation=NEGOTIATION,
        party=s.party,
        clause=s.clause,
        stance=s.stance,
        valid_at=at(s.valid_us),
        evidence=(Evidence(source=Source(outlet=s.outlet), quote=s.quote),),
        event_id=s.event_id,
    )


def floor_payload(s: Stance) -> dict[str, Any]:
    """The same JSON object negotrack stores for the stance (checked by check_same_rows)."""
    return {
        "basis": None,
        "clause": s.clause,
        "conditions": None,
        "confidence": None,
        "earliest": None,
        "event_id": s.event_id,
        "evidence": [
            {
                "quote": s.quote,
                "source": {
                    "file": None,
                    "outlet": s.outlet,
                    "published": None,
                    "title": None,
                    "url": None,
                },
                "stated": True,
            }
        ],
        "negotiation": NEGOTIATION,
        "note": None,
        "party": s.party,
        "precision": "instant",
        "salience": None,
        "speaker": None,
        "stance": s.stance.label,
        "valid_at": at(s.valid_us).isoformat(),
    }


@dataclass(frozen=True, slots=True)
class FloorItem:
    """What the floor starts from: the plain values and payload object of one event."""

    event_id: str
    stream: str
    party: str
    clause: str
    valid_us: int
    payload: dict[str, Any]


def floor_item(s: Stance) -> FloorItem:
    return FloorItem(s.event_id, s.stream, s.party, s.clause, s.valid_us, floor_payload(s))


def dumps(payload: dict[str, Any]) -> str:
    """Canonical JSON, as negotrack writes it."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dataset_yaml(wl: Workload, count: int) -> str:
    """A dataset file (``negotrack/1``) declaring the workload's cells and its first stances.

    Strings are written as JSON strings, which YAML reads as double-quoted scalars.
    """
    outlets = {outlet: f"source-{i}" for i, outlet in enumerate(OUTLETS)}
    lines = [
        "format: negotrack/1",
        "negotiation:",
        f"  id: {NEGOTIATION}",
        '  title: "Benchmark negotiation"',
        "sources:",
    ]
    lines += [f"  {ident}:\n    outlet: {json.dumps(outlet)}" for outlet, ident in outlets.items()]
    lines.append("parties:")
    lines += [f"  - id: {p}\n    name: {p.title()}\n    kind: state" for p in wl.parties]
    lines.append("clauses:")
    lines += [f"  - id: {c}\n    title: {c.title()}\n    tabled: 2025-01-01" for c in wl.clauses]
    lines.append("stances:")
    for s in wl.stances[:count]:
        lines += [
            f"  - id: s-{s.event_id}",
            f"    party: {s.party}",
            f"    clause: {s.clause}",
            f"    stance: {s.stance.label}",
            f"    valid: {at(s.valid_us).isoformat()}",
            f"    source: {outlets[s.outlet]}",
            f"    quote: {json.dumps(s.quote)}",
        ]
    return "\n".join(lines) + "\n"
