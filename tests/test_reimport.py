"""Re-importing an edited dataset file records the difference, and nothing the second time."""

from __future__ import annotations

from collections import Counter

import attrs
from hypothesis import given
from hypothesis import strategies as st

from negotrack import (
    Event,
    Ordinal,
    PartyKind,
    PartyRegistered,
    StanceRecorded,
    StanceRetracted,
)
from negotrack.io.reimport import plan_reimport
from tests.strategies import (
    NEGOTIATION,
    Observation,
    day,
    file_errata,
    file_events,
    file_versions,
    file_versions_with_errata,
)

NAMESPACE = f"{NEGOTIATION}/"
REASON = "re-import of talks.yaml"


def append(log: list[Event], events: list[Event]) -> list[Event]:
    """A model store: an event whose id is already in the log is skipped."""
    ids = {e.event_id for e in log}
    added = [e for e in events if e.event_id not in ids]
    return log + added


def view(log: list[Event]) -> Counter[Event]:
    """What the log says now, as a model: every event no retraction names, without its id."""
    retracted = {e.retracted for e in log if isinstance(e, StanceRetracted)}
    return Counter(
        attrs.evolve(e, event_id="-")
        for e in log
        if not isinstance(e, StanceRetracted) and e.event_id not in retracted
    )


def plan(log: list[Event], version: dict[str, Observation]) -> list[Event]:
    made = plan_reimport(log, file_events(version), namespace=NAMESPACE, reason=REASON)
    assert made.refused == ()
    return made.events()


class TestPlanReimport:
    @given(st.lists(file_versions_with_errata, min_size=1, max_size=5))
    def test_a_files_own_retractions_are_followed(
        self, versions: list[tuple[dict[str, Observation], set[str]]]
    ) -> None:
        """Import versions that retract some of their own observations: the log's live
        events are the file's minus those, and the same file again plans nothing."""
        log: list[Event] = []
        for version, retracted in versions:
            events = file_events(version) + file_errata(version, retracted)
            made = plan_reimport(log, events, namespace=NAMESPACE, reason=REASON)
            assert made.refused == ()
            log = append(log, made.events())
            gone = {f"{NEGOTIATION}/stance/{o}" for o in retracted}
            expected = Counter(
                attrs.evolve(e, event_id="-")
                for e in file_events(version)
                if e.event_id not in gone
            )
            assert view(log) == expected
            again = plan_reimport(log, events, namespace=NAMESPACE, reason=REASON)
            assert again.empty

    @given(st.lists(file_versions, min_size=1, max_size=5))
    def test_each_import_leaves_the_log_saying_what_the_file_says(
        self, versions: list[dict[str, Observation]]
    ) -> None:
        """Import each edited version in turn: the log's live events are exactly the file's."""
        log: list[Event] = []
        for version in versions:
            planned = plan(log, version)
            assert not {e.event_id for e in planned} & {e.event_id for e in log}
            log = append(log, planned)
            assert view(log) == Counter(attrs.evolve(e, event_id="-") for e in file_events(version))

    @given(st.lists(file_versions, min_size=1, max_size=4))
    def test_the_same_file_again_records_nothing(
        self, versions: list[dict[str, Observation]]
    ) -> None:
        """After an import, planning the same file again plans nothing at all."""
        log: list[Event] = []
        for version in versions:
            log = append(log, plan(log, version))
            again = plan_reimport(log, file_events(version), namespace=NAMESPACE, reason=REASON)
            assert again.empty
            assert again.events() == []

    @given(file_versions, file_versions)
    def test_a_colleague_importing_the_same_edit_writes_nothing(
        self, first: dict[str, Observation], edited: dict[str, Observation]
    ) -> None:
        """Two analysts plan the same edit from the same log: the second append adds nothing."""
        log = append([], plan([], first))
        mine, theirs = plan(log, edited), plan(log, edited)
        assert mine == theirs
        once = append(log, mine)
        assert append(once, theirs) == once

    @given(file_versions, file_versions)
    def test_corrections_name_their_replacement(
        self, first: dict[str, Observation], edited: dict[str, Observation]
    ) -> None:
        """Every retraction of a changed observation names a replacement planned with it."""
        log = append([], plan([], first))
        made = plan_reimport(log, file_events(edited), namespace=NAMESPACE, reason=REASON)
        changed = {k for k in first.keys() & edited.keys() if first[k] != edited[k]}
        assert {c.observation.rsplit("/", 1)[1] for c in made.corrections} == changed
        assert {
            r.observation.rsplit("/", 1)[1] for r in made.removals
        } == first.keys() - edited.keys()
        for correction in made.corrections:
            assert correction.retraction.replaced_by == correction.replacement.event_id
            assert correction.retraction.retracted == correction.before.event_id

    def test_describe_lists_what_would_be_recorded(self) -> None:
        """The dry-run lines say append, correct (with the fields changed) and retract."""
        first = {"s0": ("GB", "territory", Ordinal.SUPPORT, 0), "s1": ("FR", "territory", None, 1)}
        log = append([], plan([], first))
        edited = {"s0": ("GB", "territory", Ordinal.OPPOSE, 0), "s2": ("GB", "territory", None, 2)}
        made = plan_reimport(log, file_events(edited), namespace=NAMESPACE, reason=REASON)
        lines = made.describe()
        assert lines[0] == f"append {NAMESPACE}stance/s2"
        assert lines[1].startswith(f"correct {NAMESPACE}stance/s0: stance (retract ")
        assert lines[2] == (
            f"retract {NAMESPACE}stance/s1: no longer in the file (retract {NAMESPACE}stance/s1)"
        )
        assert made.corrections[0].retraction.reason == f"{REASON}: stance changed in the file"
        log = append(log, made.events())
        again = plan_reimport(log, file_events(edited), namespace=NAMESPACE, reason=REASON)
        assert again.describe() == ["nothing to record: the log already holds this file"]

    def test_events_recorded_another_way_are_left_alone(self) -> None:
        """A stance recorded from Python (outside the file's ids) is not retracted by a re-import."""
        scripted = StanceRecorded(
            negotiation=NEGOTIATION,
            party="GB",
            clause="territory",
            stance=Ordinal.SUPPORT,
            valid_at=day(0),
        )
        log = append([scripted], plan([scripted], {}))
        assert plan_reimport(log, file_events({}), namespace=NAMESPACE, reason=REASON).empty

    def test_a_stance_retracted_by_hand_is_brought_back_under_a_new_id(self) -> None:
        """The file still holds what was retracted in Python: it is appended again, not skipped."""
        version = {"s0": ("GB", "territory", Ordinal.SUPPORT, 0)}
        log = append([], plan([], version))
        log.append(
            StanceRetracted(
                negotiation=NEGOTIATION, retracted=f"{NAMESPACE}stance/s0", reason="doubt"
            )
        )
        made = plan_reimport(log, file_events(version), namespace=NAMESPACE, reason=REASON)
        (back,) = made.appends
        assert back.event_id.startswith(f"{NAMESPACE}stance/s0~")
        assert view(append(log, made.events())) == view(append([], plan([], version)))

    def test_a_changed_declaration_is_refused(self) -> None:
        """A party renamed in the file cannot be corrected: refused, and named."""
        party = PartyRegistered(
            negotiation=NEGOTIATION,
            event_id=f"{NAMESPACE}party/GB",
            party="GB",
            name="United Kingdom",
            kind=PartyKind.STATE,
        )
        renamed = attrs.evolve(party, name="Britain")
        made = plan_reimport([party], [renamed], namespace=NAMESPACE, reason=REASON)
        (refusal,) = made.refused
        assert refusal.observation == f"{NAMESPACE}party/GB"
        assert "PartyRegistered was changed" in refusal.problem
        assert made.describe() == [f"refused {NAMESPACE}party/GB: {refusal.problem}"]
        removed = plan_reimport([party], [], namespace=NAMESPACE, reason=REASON)
        assert "was removed" in removed.refused[0].problem

    def test_a_correction_made_from_python_is_followed(self) -> None:
        """Corrected in Python to what the edited file now says: the re-import records nothing."""
        version = {"s0": ("GB", "territory", Ordinal.SUPPORT, 0)}
        log = append([], plan([], version))
        original = log[-1]
        replacement = attrs.evolve(original, event_id="f00d", stance=Ordinal.OPPOSE)
        log += [
            StanceRetracted(
                negotiation=NEGOTIATION,
                retracted=original.event_id,
                reason="misquote",
                replaced_by="f00d",
            ),
            replacement,
        ]
        edited = {"s0": ("GB", "territory", Ordinal.OPPOSE, 0)}
        assert plan_reimport(log, file_events(edited), namespace=NAMESPACE, reason=REASON).empty
        back = plan_reimport(log, file_events(version), namespace=NAMESPACE, reason=REASON)
        assert [c.before for c in back.corrections] == [replacement]
