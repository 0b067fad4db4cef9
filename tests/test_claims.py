"""Claims side by side: the claim rule, and the reference fold of cells with claims."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from negotrack import (
    Evidence,
    JointStatementRecorded,
    NoteRecorded,
    Ordinal,
    Precision,
    Source,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
)
from negotrack._time import to_micros
from negotrack.projections.claims import (
    CONFIDENCE,
    DEFAULT_RULE,
    STATED,
    Claim,
    ClaimRule,
    Resolution,
    claims_of,
    latest_resolution,
    project_claims_matrix,
)
from negotrack.projections.matrix import project_matrix
from negotrack.store import RecordedEvent
from tests.strategies import (
    BASE,
    NEGOTIATION,
    as_of_times,
    day,
    known_at_times,
    recorded_in_order,
    simultaneous_claims,
    stance_event_logs,
    zones,
)

REPORT = Source(outlet="Test Wire")


def _claim(
    event_id: str, stance: Ordinal | None, *, stated: bool, confidence: float | None
) -> Claim:
    return Claim(
        party="FI",
        clause="plan-as-a-whole",
        stance=stance,
        valid_at=BASE,
        precision=Precision.DAY,
        stated=stated,
        confidence=confidence,
        event_id=event_id,
        position=1,
        recorded_at=BASE,
    )


def model_default(claims: list[Claim]) -> tuple[object, bool]:
    """The default rule written as a sort: the stance shown (or None) and whether it conflicts."""

    def strength(claim: Claim) -> tuple[int, float]:
        return (int(claim.stated), -1.0 if claim.confidence is None else claim.confidence)

    ranked = sorted(claims, key=strength, reverse=True)
    top = [c for c in ranked if strength(c) == strength(ranked[0])]
    stances = []
    for claim in top:
        if claim.stance not in stances:
            stances.append(claim.stance)
    return (stances[0] if len(stances) == 1 else None), len(stances) > 1


def summary(resolution: object) -> tuple[object, ...]:
    """What a resolution says, without the record positions and times."""
    assert resolution is not None
    return (
        resolution.stance,  # type: ignore[attr-defined]
        resolution.conflict,  # type: ignore[attr-defined]
        [c.event_id for c in resolution.claims],  # type: ignore[attr-defined]
        [c.event_id for c in resolution.chosen],  # type: ignore[attr-defined]
    )


class TestClaimRule:
    def test_stated_beats_inferred(self) -> None:
        """Finland's stated lean_support (allies' statement) beats its inferred neutral (Baltic 8)."""
        allies = _claim("allies", Ordinal.LEAN_SUPPORT, stated=True, confidence=0.6)
        baltic = _claim("nb8", Ordinal.NEUTRAL, stated=False, confidence=0.9)
        for order in ([allies, baltic], [baltic, allies]):
            resolution = DEFAULT_RULE.resolve(order)
            assert resolution.stance is Ordinal.LEAN_SUPPORT
            assert not resolution.conflict
            assert resolution.chosen == (allies,)
            assert set(resolution.claims) == {allies, baltic}

    def test_higher_confidence_breaks_a_tie_on_stated(self) -> None:
        """Among stated claims, the higher confidence wins; no confidence ranks below 0."""
        sure = _claim("a", Ordinal.OPPOSE, stated=True, confidence=0.9)
        unsure = _claim("b", Ordinal.NEUTRAL, stated=True, confidence=0.2)
        silent = _claim("c", Ordinal.SUPPORT, stated=True, confidence=None)
        assert DEFAULT_RULE.resolve([silent, unsure, sure]).stance is Ordinal.OPPOSE
        zero = _claim("d", Ordinal.LEAN_OPPOSE, stated=True, confidence=0.0)
        assert DEFAULT_RULE.resolve([silent, zero]).stance is Ordinal.LEAN_OPPOSE

    def test_a_tie_left_is_a_conflict_with_both_shown(self) -> None:
        """Two stated claims of equal confidence that disagree: no stance, both kept."""
        one = _claim("a", Ordinal.SUPPORT, stated=True, confidence=0.5)
        other = _claim("b", Ordinal.OPPOSE, stated=True, confidence=0.5)
        resolution = DEFAULT_RULE.resolve([other, one])
        assert resolution.conflict
        assert resolution.stance is None
        assert not resolution.withdrawn
        assert resolution.chosen == (one, other)

    def test_tied_claims_that_agree_are_no_conflict(self) -> None:
        """Two equally strong claims with the same stance show that stance."""
        one = _claim("a", Ordinal.SUPPORT, stated=False, confidence=None)
        other = _claim("b", Ordinal.SUPPORT, stated=False, confidence=None)
        resolution = DEFAULT_RULE.resolve([one, other])
        assert not resolution.conflict
        assert resolution.stance is Ordinal.SUPPORT
        assert len(resolution.chosen) == 2

    def test_a_withdrawal_that_wins_empties_the_cell(self) -> None:
        """A stated withdrawal beats an inferred stance: the cell is withdrawn."""
        gone = _claim("a", None, stated=True, confidence=None)
        guess = _claim("b", Ordinal.SUPPORT, stated=False, confidence=1.0)
        resolution = DEFAULT_RULE.resolve([guess, gone])
        assert resolution.withdrawn
        assert resolution.stance is None

    def test_the_caller_can_change_the_rule(self) -> None:
        """Confidence first lets a sure inference beat an unsure statement; no rule keeps conflicts."""
        allies = _claim("allies", Ordinal.LEAN_SUPPORT, stated=True, confidence=0.6)
        baltic = _claim("nb8", Ordinal.NEUTRAL, stated=False, confidence=0.9)
        confidence_first = ClaimRule((CONFIDENCE, STATED))
        assert confidence_first.resolve([allies, baltic]).stance is Ordinal.NEUTRAL
        assert confidence_first.name == "higher confidence, then stated beats inferred"
        assert ClaimRule(()).resolve([allies, baltic]).conflict
        assert ClaimRule(()).name == "no preference"

    def test_no_claims_is_refused(self) -> None:
        """A resolution needs a claim to resolve."""
        with pytest.raises(ValueError, match=r"^a resolution needs at least one claim$"):
            DEFAULT_RULE.resolve([])

    @given(simultaneous_claims())
    def test_default_rule_equals_the_model(self, claims: list[Claim]) -> None:
        """The default rule shows what a sort by (stated, confidence) shows, and conflicts alike."""
        resolution = DEFAULT_RULE.resolve(claims)
        assert (resolution.stance, resolution.conflict) == model_default(claims)
        assert resolution.rule == "stated beats inferred, then higher confidence"
        assert set(resolution.claims) == set(claims)

    @given(simultaneous_claims(), st.randoms())
    def test_any_permutation_gives_the_same_resolution(
        self, claims: list[Claim], random: object
    ) -> None:
        """Recording order never decides: a shuffled list resolves to the very same value."""
        shuffled = list(claims)
        random.shuffle(shuffled)  # type: ignore[attr-defined]
        for rule in (DEFAULT_RULE, ClaimRule((CONFIDENCE,)), ClaimRule(())):
            assert rule.resolve(shuffled) == rule.resolve(claims)

    @given(simultaneous_claims())
    def test_without_preferences_any_disagreement_is_a_conflict(self, claims: list[Claim]) -> None:
        """The empty rule keeps every claim and conflicts exactly when two stances differ."""
        resolution = ClaimRule(()).resolve(claims)
        assert len(resolution.chosen) == len(claims)
        assert resolution.conflict == (len({c.label for c in claims}) > 1)


class TestClaimsOf:
    def _record(self, event: object) -> RecordedEvent:
        return recorded_in_order([event])[0]  # type: ignore[list-item]

    def test_a_joint_statement_claims_every_signatory_cell(self) -> None:
        """One claim per signatory, each naming all the signatories, stated from the evidence."""
        event = JointStatementRecorded(
            negotiation=NEGOTIATION,
            signatories=("FI", "NO"),
            clause="plan-as-a-whole",
            stance=Ordinal.LEAN_SUPPORT,
            valid_at=BASE,
            evidence=(Evidence(source=REPORT, quote="a basis", stated=True),),
            confidence=0.6,
        )
        claims = claims_of(self._record(event))
        assert [c.party for c in claims] == ["FI", "NO"]
        assert all(c.signatories == ("FI", "NO") and c.stated for c in claims)
        assert all(c.confidence == 0.6 and c.label == "lean_support" for c in claims)

    def test_stated_needs_stated_evidence(self) -> None:
        """A stance with only inferred evidence, or none, is an inferred claim."""
        base = StanceRecorded(
            negotiation=NEGOTIATION,
            party="FI",
            clause="territory",
            stance=Ordinal.OPPOSE,
            valid_at=BASE,
            speaker="the president",
        )
        inferred = Evidence(source=REPORT, quote="q", stated=False)
        stated = attrs.evolve(inferred, stated=True)
        assert not claims_of(self._record(base))[0].stated
        assert not claims_of(self._record(attrs.evolve(base, evidence=(inferred,))))[0].stated
        claim = claims_of(self._record(attrs.evolve(base, evidence=(inferred, stated))))[0]
        assert claim.stated
        assert claim.speaker == "the president"

    def test_a_claim_carries_its_event_and_record(self) -> None:
        """Every field of a stance event, and the position and record time of its record, reach the claim."""
        evidence = (Evidence(source=REPORT, quote="q", stated=True),)
        event = StanceRecorded(
            negotiation=NEGOTIATION,
            event_id="e1",
            party="FI",
            clause="territory",
            stance=Ordinal.OPPOSE,
            valid_at=BASE,
            precision=Precision.DAY,
            evidence=evidence,
            confidence=0.3,
            conditions="if the ceasefire holds",
            speaker="the president",
        )
        (claim,) = claims_of(
            RecordedEvent(position=7, recorded_at=day(40), stream="s", version=1, event=event)
        )
        assert claim == Claim(
            party="FI",
            clause="territory",
            stance=Ordinal.OPPOSE,
            valid_at=BASE,
            precision=Precision.DAY,
            stated=True,
            confidence=0.3,
            event_id="e1",
            position=7,
            recorded_at=day(40),
            evidence=evidence,
            signatories=(),
            speaker="the president",
            conditions="if the ceasefire holds",
        )

    def test_a_withdrawal_claims_no_stance(self) -> None:
        """A withdrawal is a claim whose stance is None."""
        event = StanceWithdrawn(
            negotiation=NEGOTIATION, party="FI", clause="territory", valid_at=BASE
        )
        (claim,) = claims_of(self._record(event))
        assert claim.stance is None
        assert claim.label is None

    def test_other_events_make_no_claim(self) -> None:
        """A note is not a stance: asking for its claims is a TypeError."""
        note = NoteRecorded(negotiation=NEGOTIATION, kind="call", text="a call", valid_at=BASE)
        with pytest.raises(TypeError, match="NoteRecorded"):
            claims_of(self._record(note))


def model_cells(
    records: list[RecordedEvent], as_of: datetime, known_at: datetime | None
) -> dict[tuple[str, str], tuple[object, bool, list[str]]]:
    """A brute-force model: scan the whole log once per cell."""
    known = [r for r in records if known_at is None or r.recorded_at <= known_at]
    retracted = {r.event.retracted for r in known if isinstance(r.event, StanceRetracted)}
    cells: dict[tuple[str, str], tuple[object, bool, list[str]]] = {}
    keys = set()
    for r in known:
        e = r.event
        if isinstance(e, JointStatementRecorded):
            keys |= {(p, e.clause) for p in e.signatories}
        elif isinstance(e, StanceRecorded | StanceWithdrawn):
            keys.add((e.party, e.clause))
    for party, clause in keys:
        claims = [
            c
            for r in known
            if isinstance(r.event, StanceRecorded | JointStatementRecorded | StanceWithdrawn)
            and r.event.event_id not in retracted
            and r.event.valid_at <= as_of
            for c in claims_of(r)
            if (c.party, c.clause) == (party, clause)
        ]
        if not claims:
            continue
        last = max(to_micros(c.valid_at) for c in claims)
        now = [c for c in claims if to_micros(c.valid_at) == last]
        stance, conflict = model_default(now)
        if stance is None and not conflict:
            continue  # withdrawn: the cell is empty
        cells[party, clause] = (stance, conflict, sorted(c.event_id for c in now))
    return cells


class TestProjectClaimsMatrix:
    @given(
        stance_event_logs(), st.integers(-1, 4), st.sampled_from([0, 12, 18]), st.integers(0, 20)
    )
    def test_equals_the_model(
        self, events: list[object], as_of_day: int, as_of_hour: int, known: int
    ) -> None:
        """Every cell holds its latest claims, resolved by the default rule, as known at K; a claim at as_of counts."""
        records = recorded_in_order(events)  # type: ignore[arg-type]
        as_of = day(as_of_day, as_of_hour)
        known_at = None if known == 20 else BASE + timedelta(days=30, seconds=known)
        cells = project_claims_matrix(records, NEGOTIATION, as_of, known_at)
        got = {
            key: (r.stance, r.conflict, [c.event_id for c in r.claims]) for key, r in cells.items()
        }
        assert got == model_cells(records, as_of, known_at)

    @given(stance_event_logs(), st.randoms(), st.integers(-1, 4))
    def test_any_permutation_of_the_log_gives_the_same_cells(
        self, events: list[object], random: object, as_of_day: int
    ) -> None:
        """Recording the same observations in another order gives the same claims and stances."""
        shuffled = list(events)
        random.shuffle(shuffled)  # type: ignore[attr-defined]
        as_of = day(as_of_day, 18)
        first = project_claims_matrix(recorded_in_order(events), NEGOTIATION, as_of)  # type: ignore[arg-type]
        second = project_claims_matrix(recorded_in_order(shuffled), NEGOTIATION, as_of)  # type: ignore[arg-type]
        assert {k: summary(v) for k, v in first.items()} == {
            k: summary(v) for k, v in second.items()
        }

    @given(stance_event_logs(), st.integers(-1, 4))
    def test_without_simultaneous_claims_it_agrees_with_project_matrix(
        self, events: list[object], as_of_day: int
    ) -> None:
        """Where a cell has one claim at its latest instant, both folds show the same event."""
        records = recorded_in_order(events)  # type: ignore[arg-type]
        as_of = day(as_of_day, 18)
        cells = project_claims_matrix(records, NEGOTIATION, as_of)
        matrix = project_matrix(records, NEGOTIATION, as_of)
        for key, resolution in cells.items():
            if len(resolution.claims) == 1:
                assert matrix[key].event_id == resolution.claims[0].event_id

    def test_the_geneva_finland_case_shows_the_stated_claim(self) -> None:
        """Allies' statement (stated) and Baltic 8 (inferred) on one day: lean_support, whatever the order."""
        allies = JointStatementRecorded(
            negotiation=NEGOTIATION,
            event_id="allies",
            signatories=("FI", "NO"),
            clause="plan-as-a-whole",
            stance=Ordinal.LEAN_SUPPORT,
            valid_at=day(2),
            precision=Precision.DAY,
            evidence=(Evidence(source=REPORT, quote="a basis", stated=True),),
            confidence=0.6,
        )
        baltic = attrs.evolve(
            allies,
            event_id="nb8",
            stance=Ordinal.NEUTRAL,
            confidence=0.3,
            evidence=(Evidence(source=REPORT, quote="sovereignty", stated=False),),
        )
        for order in ([allies, baltic], [baltic, allies]):
            cells = project_claims_matrix(recorded_in_order(order), NEGOTIATION, day(2, 23))
            assert cells["FI", "plan-as-a-whole"].stance is Ordinal.LEAN_SUPPORT
            assert len(cells["NO", "plan-as-a-whole"].claims) == 2

    def test_other_negotiations_are_ignored(self) -> None:
        """Only the named negotiation's events fill cells."""
        other = StanceRecorded(
            negotiation="other-talks",
            party="FI",
            clause="territory",
            stance=Ordinal.SUPPORT,
            valid_at=BASE,
        )
        assert project_claims_matrix(recorded_in_order([other]), NEGOTIATION, day(5)) == {}
        ours = attrs.evolve(other, negotiation=NEGOTIATION, party="NO", stance=Ordinal.OPPOSE)
        cells = project_claims_matrix(recorded_in_order([other, ours]), NEGOTIATION, day(5))
        assert {key: r.stance for key, r in cells.items()} == {("NO", "territory"): Ordinal.OPPOSE}


def _fold_claim_by_claim(
    records: list[RecordedEvent],
    as_of: datetime,
    known_at: datetime | None,
    rule: ClaimRule,
) -> dict[tuple[str, str], Resolution]:
    """The fold as the definition reads: every claim made, instants compared in microseconds."""
    latest: dict[tuple[str, str], list[Claim]] = {}
    retracted: set[str] = set()
    for record in records:
        if known_at is not None and to_micros(record.recorded_at) > to_micros(known_at):
            break
        event = record.event
        if event.negotiation != NEGOTIATION:
            continue
        if isinstance(event, StanceRetracted):
            retracted.add(event.retracted)
        elif isinstance(
            event, StanceRecorded | JointStatementRecorded | StanceWithdrawn
        ) and to_micros(event.valid_at) <= to_micros(as_of):
            for claim in claims_of(record):
                latest.setdefault((claim.party, claim.clause), []).append(claim)
    cells = {}
    for key, claims in latest.items():
        live = [claim for claim in claims if claim.event_id not in retracted]
        if (resolution := latest_resolution(live, rule)) is not None:
            cells[key] = resolution
    return cells


class TestFoldReadsLittle:
    """The fold keeps records and makes claims only for each cell's latest instant: same answers."""

    @given(events=stance_event_logs(), data=st.data())
    def test_equals_the_fold_claim_by_claim(
        self, events: list[object], data: st.DataObject
    ) -> None:
        """Every resolution, for any rule, any zone of the valid times, as_of and known_at."""
        zone = data.draw(zones, label="zone of the valid times")
        events = [  # the same instants at another offset
            attrs.evolve(e, valid_at=e.valid_at.astimezone(zone)) if hasattr(e, "valid_at") else e  # type: ignore[attr-defined]
            for e in events
        ]
        records = recorded_in_order(events)  # type: ignore[arg-type]
        # An event's own valid time is where a comparison off by an offset shows.
        times = [e.valid_at for e in events if hasattr(e, "valid_at")]  # type: ignore[attr-defined]
        as_of = data.draw(st.sampled_from(times) | as_of_times() if times else as_of_times())
        as_of = as_of.astimezone(data.draw(zones, label="zone of as_of"))
        known_at = data.draw(known_at_times(records), label="known_at")
        if known_at is not None:
            known_at = known_at.astimezone(data.draw(zones))
        rule = data.draw(st.sampled_from([DEFAULT_RULE, ClaimRule(()), ClaimRule((CONFIDENCE,))]))
        got = project_claims_matrix(records, NEGOTIATION, as_of, known_at, rule)
        assert got == _fold_claim_by_claim(records, as_of, known_at, rule)
