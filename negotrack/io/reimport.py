"""Re-importing an edited dataset file: record exactly what changed, as corrections.

A dataset file gives every event a stable id (``{negotiation}/stance/{id}``,
see :mod:`negotrack.io.dataset`).  When the file is edited and imported again,
:func:`plan_reimport` compares what the log holds *now* for each of those ids
with what the file says, and plans:

- an observation whose content changed: a **correction**, the retraction of
  the event that stands for it now (naming the replacement) and the
  replacement, appended together;
- an observation removed from the file: a **retraction**;
- a new observation: an **append**, under its own stable id;
- an observation the file still holds unchanged: nothing.  The same file
  again plans nothing.

"What the log holds now" for an id follows the corrections: the event first
imported under the id, or, if it was corrected, its replacement, and so on.
A replacement's id is the observation's id, ``~`` and a digest of the last
event of the chain and the new content, so two analysts re-importing the same
edited file plan the same events and the second writes nothing (appends are
idempotent by id), while reverting an edit still makes a new event.

A file may carry its own errata (the ``retractions:`` and ``corrections:`` of
``negotrack/2``).  What the file says about an observation is then read the
same way as the log: the live event of its chain in the file.  An observation
new to the log is recorded as the file has it, errata included, so its
history shows what was wrong and why.

Only stance events can be retracted.  A changed or removed party, clause,
membership, note or negotiation is not planned but listed as *refused*, so the
importer can name its line; nothing of the plan is written then.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

import attrs

from negotrack.codec import dumps
from negotrack.events import CELL_EVENTS, Event, StanceRetracted
from negotrack.ids import event_content

__all__ = ["Correction", "Refusal", "ReimportPlan", "Removal", "plan_reimport"]


@attrs.frozen(kw_only=True)
class Correction:
    """An observation the file changed: the event standing for it, retracted and replaced."""

    observation: str
    """The stable id the file gives the observation."""
    before: Event
    retraction: StanceRetracted
    replacement: Event


@attrs.frozen(kw_only=True)
class Removal:
    """An observation no longer in the file: the event standing for it, retracted."""

    observation: str
    before: Event
    retraction: StanceRetracted


@attrs.frozen(kw_only=True)
class Refusal:
    """A change the log cannot record (only stance events can be retracted)."""

    observation: str
    problem: str


@attrs.frozen(kw_only=True)
class ReimportPlan:
    """What a re-import records: appends, corrections and removals, or the refusals that stop it."""

    appends: tuple[Event, ...] = ()
    corrections: tuple[Correction, ...] = ()
    removals: tuple[Removal, ...] = ()
    refused: tuple[Refusal, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether there is nothing to record (the file matches the log)."""
        return not (self.appends or self.corrections or self.removals)

    def events(self) -> list[Event]:
        """The events to append, in one batch: new declarations before what may refer to them."""
        out: list[Event] = list(self.appends)
        for correction in self.corrections:
            out += [correction.retraction, correction.replacement]
        out += [removal.retraction for removal in self.removals]
        return out

    def describe(self) -> list[str]:
        """One line per planned event or refusal, for ``negotrack import --dry-run``."""
        lines = [f"append {event.event_id}" for event in self.appends]
        for correction in self.corrections:
            changed = ", ".join(_changed_fields(correction.before, correction.replacement))
            lines.append(
                f"correct {correction.observation}: {changed} "
                f"(retract {correction.before.event_id}, "
                f"record {correction.replacement.event_id})"
            )
        lines += [
            f"retract {removal.observation}: no longer in the file "
            f"(retract {removal.before.event_id})"
            for removal in self.removals
        ]
        lines += [f"refused {refusal.observation}: {refusal.problem}" for refusal in self.refused]
        return lines or ["nothing to record: the log already holds this file"]


def _changed_fields(before: Event, after: Event) -> list[str]:
    old, new = event_content(before), event_content(after)
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


@attrs.frozen
class _Standing:
    """What the log holds for one observation now: its live event, and the last id of its chain."""

    live: Event | None
    last_id: str
    chain: tuple[str, ...]


_REPLACEMENT = re.compile(r"(?P<observation>.+)~[0-9a-f]{16}\Z")
"""The id of a replacement planned here: the observation's id, ``~``, a 16-digit digest."""


def _current(log: Iterable[Event], namespace: str) -> dict[str, _Standing]:
    """For every observation a dataset file put in the log, the event standing for it now.

    An observation's chain holds the event imported under its id, every event
    a re-import recorded for it (``{id}~{digest}``), and every replacement a
    correction made from Python named (``replaced_by``).  The live event is the
    latest of the chain that no retraction names.
    """
    events: dict[str, Event] = {}
    order: dict[str, int] = {}
    retractions: dict[str, StanceRetracted] = {}
    for index, event in enumerate(log):
        events[event.event_id] = event
        order[event.event_id] = index
        if isinstance(event, StanceRetracted):
            retractions[event.retracted] = event
    # A replacement belongs to the observation it corrects, not to one of its own.
    replacements = {r.replaced_by for r in retractions.values()}
    chains: dict[str, list[str]] = {}
    for event_id, event in events.items():
        if (
            event_id.startswith(namespace)
            and not isinstance(event, StanceRetracted)
            and event_id not in replacements
        ):
            match = _REPLACEMENT.match(event_id)
            observation = match["observation"] if match else event_id
            chains.setdefault(observation, []).append(event_id)
    current: dict[str, _Standing] = {}
    for observation, chain in chains.items():
        for event_id in chain:  # the list grows as corrections made elsewhere are followed
            successor = retractions[event_id].replaced_by if event_id in retractions else None
            if successor in events and successor not in chain:
                chain.append(successor)
        live = [event_id for event_id in chain if event_id not in retractions]
        current[observation] = _Standing(
            live=events[max(live, key=order.__getitem__)] if live else None,
            last_id=max(chain, key=order.__getitem__),
            chain=tuple(chain),
        )
    return current


def plan_reimport(
    log: Iterable[Event], file_events: Sequence[Event], *, namespace: str, reason: str
) -> ReimportPlan:
    """Plan what to record so that the log holds what the file now says.

    Args:
        log: the negotiation's events, in log order (retractions included).
        file_events: the events the edited file produces, with their stable ids.
        namespace: the prefix of the ids a dataset file gives (``"{negotiation}/"``);
            events outside it were recorded another way and are left alone.
        reason: the reason every planned retraction gives, e.g.
            ``"re-import of geneva.yaml"``; the planned line adds what changed.

    Returns:
        The plan; its ``refused`` entries must stop the import.
    """
    current = _current(log, namespace)
    wanted = _current(file_events, namespace)
    appends: list[Event] = []
    corrections: list[Correction] = []
    removals: list[Removal] = []
    refused: list[Refusal] = []
    new_ids: set[str] = set()
    for observation, says in wanted.items():
        if observation not in current:
            new_ids.update(says.chain)
    appends += [
        event
        for event in file_events
        if event.event_id in new_ids
        or (isinstance(event, StanceRetracted) and event.retracted in new_ids)
    ]
    for observation, says in wanted.items():
        standing = current.get(observation)
        if standing is None:
            continue
        before, event = standing.live, says.live
        if event is None:  # the file retracts it itself
            if before is not None:
                removals.append(
                    _removal(observation, before, f"{reason}: {_why(file_events, says)}")
                )
            continue
        if before is not None and event_content(before) == event_content(event):
            continue
        if not isinstance(event, CELL_EVENTS) or not isinstance(before, (*CELL_EVENTS, type(None))):
            what = "changed" if before is not None else "retracted"
            refused.append(Refusal(observation=observation, problem=_refusal(event, what)))
            continue
        # The replacement's id depends on what it replaces, so reverting an edit
        # makes a new event rather than colliding with a retracted one.
        replacement = attrs.evolve(
            event,
            event_id=f"{observation}~{_digest(standing.last_id, dumps(event_content(event)))}",
        )
        if before is None:  # retracted by hand since: the file brings it back
            appends.append(replacement)
            continue
        changed = ", ".join(_changed_fields(before, event))
        retraction = StanceRetracted(
            negotiation=event.negotiation,
            event_id=f"{before.event_id}~retracted",
            retracted=before.event_id,
            reason=f"{reason}: {changed} changed in the file",
            replaced_by=replacement.event_id,
        )
        corrections.append(
            Correction(
                observation=observation,
                before=before,
                retraction=retraction,
                replacement=replacement,
            )
        )
    for observation, standing in current.items():
        if observation in wanted or standing.live is None:
            continue
        if not isinstance(standing.live, CELL_EVENTS):
            refused.append(
                Refusal(observation=observation, problem=_refusal(standing.live, "removed"))
            )
            continue
        removals.append(_removal(observation, standing.live, f"{reason}: no longer in the file"))
    return ReimportPlan(
        appends=tuple(appends),
        corrections=tuple(corrections),
        removals=tuple(removals),
        refused=tuple(refused),
    )


def _removal(observation: str, before: Event, reason: str) -> Removal:
    return Removal(
        observation=observation,
        before=before,
        retraction=StanceRetracted(
            negotiation=before.negotiation,
            event_id=f"{before.event_id}~retracted",
            retracted=before.event_id,
            reason=reason,
        ),
    )


def _why(file_events: Sequence[Event], says: _Standing) -> str:
    """The reason the file gives for retracting the last event of an observation's chain."""
    reasons = [
        e.reason
        for e in file_events
        if isinstance(e, StanceRetracted) and e.retracted == says.last_id
    ]
    return reasons[0] if reasons else "retracted in the file"


def _refusal(event: Event, what: str) -> str:
    return (
        f"a {type(event).__name__} was {what} since the last import, but only stances "
        "can be corrected or retracted: restore it as it was imported"
    )
