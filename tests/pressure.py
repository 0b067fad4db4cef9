"""Load and crashes against one SQL store: the harness behind tests/test_pressure.py and the figures.

:func:`load` runs writers in separate processes that race on shared cells
(with the version they just read, and now and then with a stale one on
purpose), a follower and a ``verify()`` loop alongside; then compares what the
writers were told, what the follower saw and what the log holds.

:func:`kills` starts a writer of batches, SIGKILLs it at a random moment,
and checks the log after each kill: every batch the writer was told landed is
there whole, no batch is there in part, ``verify()`` passes, an append works.

Both return counts; the tests assert the bad ones are 0, and
scripts/reliability.py prints them at the full size (docs/reliability.md).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import attrs

import negotrack
from negotrack.events import StanceRecorded
from negotrack.testing import CLAUSES, PARTIES, day, open_test_negotiation

SHARED = (("GB", "territory"), ("FR", "territory"))
"""The cells every writer races on; each writer also has a cell of its own."""
STALE_EVERY = 10
"""Every tenth append of a writer expects a version the cell is past: a conflict on purpose."""
_CONTEXT = multiprocessing.get_context("spawn")  # no fork of a process holding connections


Slot = tuple[str, str, int]
"""A cell (party, clause) and the version an append expected of it: the slot it takes."""


@attrs.frozen
class Written:
    """What one writer was told: the appends acknowledged and the conflicts raised."""

    acknowledged: list[tuple[str, Slot]]  # (event id, the slot it took)
    stale_tried: int
    stale_raised: int
    race_raised: list[Slot]  # the slots it expected when a fresh read still conflicted


@attrs.frozen
class Load:
    """The figures of one load run; every count after ``verify_runs`` must be 0."""

    writers: int
    appends: int
    acknowledged: int
    conflicts_on_purpose: int
    conflicts_raced: int
    verify_runs: int
    lost: int
    duplicated: int
    unacknowledged_in_log: int
    skipped_by_follower: int
    conflicts_missed: int
    conflicts_without_cause: int
    verify_false_alarms: int

    def bad(self) -> dict[str, int]:
        """The counts that must be 0, by name."""
        return _from(self, "lost")


def _from(figures: Load | Kills, first: str) -> dict[str, int]:
    """The counts of ``figures`` from the field ``first`` on, by name."""
    names = [f.name for f in attrs.fields(type(figures))]
    return {n: getattr(figures, n) for n in names[names.index(first) :]}


def _own_cell(writer: int) -> tuple[str, str]:
    return PARTIES[2 + writer % 3], CLAUSES[1 + writer % 2]


def _write(url: str, writer: int, appends: int, seed: int) -> Written:
    """Append ``appends`` stances, each with the version just read; every tenth one stale."""
    chance = random.Random(seed)
    acknowledged: list[tuple[str, Slot]] = []
    race_raised: list[Slot] = []
    stale_tried = stale_raised = 0
    with negotrack.open(url) as tracker:
        (neg,) = tracker.negotiations()
        for n in range(appends):
            party, clause = chance.choice([*SHARED, _own_cell(writer)])
            version = neg.cell_version(party, clause)
            stale = n % STALE_EVERY == STALE_EVERY - 1 and version > 0
            expected = version - 1 if stale else version
            try:
                record = neg.record_stance(
                    party,
                    clause,
                    chance.choice(["support", "oppose", "neutral"]),
                    valid_at=day(n % 30),
                    note=f"writer {writer} append {n}",  # a new record each time, not a retry
                    expected_version=expected,
                )
            except negotrack.ConcurrencyError:
                if stale:
                    stale_raised += 1
                else:
                    race_raised.append((party, clause, expected))
            else:
                acknowledged.append((record.event.event_id, (party, clause, expected)))
            stale_tried += stale
    return Written(acknowledged, stale_tried, stale_raised, race_raised)


def _follow(url: str, done: Path) -> list[int]:
    """Follow the log until the head the parent writes to ``done``; the positions seen."""
    seen: list[int] = []
    with negotrack.open(url) as tracker:
        while True:
            for record in tracker.follow(after=seen[-1] if seen else 0, timeout=0.5):
                seen.append(record.position)
            if done.exists() and seen and seen[-1] >= int(done.read_text()):
                return seen


def _verify_loop(url: str, done: Path) -> tuple[int, list[str]]:
    """verify() until ``done`` appears; each receipt must also hold the one before it."""
    runs, alarms = 0, []
    earlier: negotrack.Receipt | None = None
    with negotrack.open(url) as tracker:
        while not done.exists() or runs == 0:
            try:
                receipt = tracker.verify()
                if earlier is not None:
                    tracker.verify(expect=earlier)
            except negotrack.NegotrackError as error:
                alarms.append(f"{type(error).__name__}: {error}")
            else:
                earlier = receipt
            runs += 1
    return runs, alarms


def load(url: str, *, writers: int, appends: int, folder: Path, seed: int = 0) -> Load:
    """Run the load on the empty store at ``url``; see the module's docstring."""
    with negotrack.open(url) as tracker:
        open_test_negotiation(tracker)
    done = folder / f"load-done-{seed}"  # the head, once the writers are done
    done.unlink(missing_ok=True)
    with ProcessPoolExecutor(writers + 2, mp_context=_CONTEXT) as pool:
        follower = pool.submit(_follow, url, done)
        verifier = pool.submit(_verify_loop, url, done)
        writing = [pool.submit(_write, url, w, appends, seed * 1000 + w) for w in range(writers)]
        written = [w.result() for w in writing]
        with negotrack.open(url) as tracker:
            log = list(tracker.events())
        done.write_text(str(len(log)))
        seen = follower.result()
        verify_runs, alarms = verifier.result()
    done.unlink()
    stances = Counter(r.event.event_id for r in log if isinstance(r.event, StanceRecorded))
    told = Counter(event_id for w in written for event_id, _ in w.acknowledged)
    slots = Counter(slot for w in written for _, slot in w.acknowledged)
    return Load(
        writers=writers,
        appends=appends,
        acknowledged=sum(told.values()),
        conflicts_on_purpose=sum(w.stale_raised for w in written),
        conflicts_raced=sum(len(w.race_raised) for w in written),
        verify_runs=verify_runs,
        lost=sum(1 for event_id in told if event_id not in stances),
        duplicated=sum(n - 1 for n in stances.values() if n > 1)
        + sum(n - 1 for n in told.values() if n > 1),
        unacknowledged_in_log=sum(1 for event_id in stances if event_id not in told),
        skipped_by_follower=len(set(range(1, len(log) + 1)) - set(seen))
        + (seen != sorted(set(seen))),
        # a stale append written, or two appends that took one slot of a cell
        conflicts_missed=sum(w.stale_tried - w.stale_raised for w in written)
        + sum(n - 1 for n in slots.values() if n > 1),
        # a fresh read that conflicted though nobody took the slot it expected
        conflicts_without_cause=sum(
            1 for w in written for slot in w.race_raised if slot not in slots
        ),
        verify_false_alarms=len(alarms),
    )


@attrs.frozen
class Kills:
    """The figures of one crash run; every count after ``acknowledged`` must be 0."""

    kills: int
    mid_batch: int  # kills that landed after a batch began and before it was acknowledged
    acknowledged: int  # batches the writer was told landed, over all kills
    acknowledged_missing: int
    partial_batches: int
    verify_failures: int
    appends_refused_after: int

    def bad(self) -> dict[str, int]:
        """The counts that must be 0, by name."""
        return _from(self, "acknowledged_missing")


BATCH = 20
"""Events per batch of the killed writer: long enough to be killed inside one."""


def _write_batches(url: str, life: int, acks: Path) -> None:
    """Append batches for ever, noting in ``acks`` each one begun and each one acknowledged."""
    with negotrack.open(url) as tracker, acks.open("a", buffering=1, encoding="utf-8") as note:
        (neg,) = tracker.negotiations()
        note.write("ready\n")
        for batch in range(1_000_000):
            tag = f"life {life} batch {batch}"
            note.write(f"begin {tag}\n")
            with tracker.batch():
                for n in range(BATCH):
                    neg.record_stance(
                        PARTIES[n % len(PARTIES)],
                        CLAUSES[n % len(CLAUSES)],
                        "support",
                        valid_at=day(n),
                        note=f"{tag} event {n}",
                    )
            note.write(f"ack {tag}\n")


def _batches(log: list[negotrack.RecordedEvent]) -> Counter[str]:
    """Events stored per batch tag (the note up to " event ")."""
    return Counter(
        r.event.note.rsplit(" event ", 1)[0]
        for r in log
        if isinstance(r.event, StanceRecorded) and r.event.note and " event " in r.event.note
    )


def kills(url: str, *, kills: int, folder: Path, seed: int = 0, longest: float = 0.6) -> Kills:
    """SIGKILL a batch writer ``kills`` times at random moments; see the module's docstring."""
    chance = random.Random(seed)
    with negotrack.open(url) as tracker:
        open_test_negotiation(tracker)
    mid_batch = acknowledged = missing = partial = failures = refused = 0
    for life in range(kills):
        acks = folder / f"acks-{life}"
        acks.unlink(missing_ok=True)  # left by an earlier run in the same folder
        writer = _CONTEXT.Process(target=_write_batches, args=(url, life, acks))
        writer.start()
        while not (acks.exists() and acks.read_text(encoding="utf-8")):
            if not writer.is_alive():
                raise RuntimeError(f"the writer died before it began (exit {writer.exitcode})")
            time.sleep(0.01)
        time.sleep(chance.uniform(0, longest))
        os.kill(writer.pid or 0, signal.SIGKILL)
        writer.join()
        notes = acks.read_text(encoding="utf-8").splitlines()
        mid_batch += notes[-1].startswith("begin ")
        told = {line.removeprefix("ack ") for line in notes if line.startswith("ack ")}
        acknowledged += len(told)
        with negotrack.open(url) as tracker:
            stored = _batches(list(tracker.events()))
            missing += sum(1 for tag in told if stored[tag] != BATCH)
            partial += sum(1 for n in stored.values() if n != BATCH)
            try:
                tracker.verify()
            except negotrack.NegotrackError:
                failures += 1
            try:
                (neg,) = tracker.negotiations()
                neg.record_stance(
                    "GB", "territory", "oppose", valid_at=day(0), note=f"after {life}"
                )
            except negotrack.NegotrackError:
                refused += 1
    return Kills(kills, mid_batch, acknowledged, missing, partial, failures, refused)
