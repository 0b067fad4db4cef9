"""Timing harness: cases, repeats, loops, peak memory, result records and CPU accounting."""

from __future__ import annotations

import contextlib
import cProfile
import gc
import io
import math
import os
import pstats
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .workload import Cell

# ---------------------------------------------------------------------------
# Timing harness
# ---------------------------------------------------------------------------


def _nothing() -> Any:
    return None


def _no_check(out: Any, ctx: Any) -> None:
    pass


def _no_teardown(ctx: Any) -> None:
    pass


@dataclass
class Case:
    case_id: str
    system: str  # "sqlite3 floor", "eventsourcing", "negotrack/sqlite", ...
    label: str
    fn: Callable[[Any], Any]
    count: int  # events one call handles (the rate is count / time)
    unit: str = "ev"  # "ev": one long call; "query": looped to --min-time, time per call
    setup: Callable[[], Any] = _nothing
    check: Callable[[Any, Any], None] = _no_check
    teardown: Callable[[Any], None] = _no_teardown
    floor: tuple[str, ...] = ()  # the fastest of these is the floor of the ratio
    peer: str | None = None
    note: str = ""


@dataclass
class Result:
    case_id: str
    system: str
    label: str
    times: list[float]
    count: int
    unit: str
    loops: int
    floor: tuple[str, ...]
    peer: str | None
    peak_bytes: int | None
    note: str
    other_cpu: float | None = None
    """CPU used by other processes while the case was timed, in CPUs (1.0: one whole CPU)."""
    load: float | None = None
    """The highest 1-minute load average seen before any of the case's repetitions."""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def rate(self) -> float:
        return self.count / self.median


@dataclass
class _Tally:
    """What one case gathers over its interleaved repetitions."""

    loops: int
    times: list[float] = field(default_factory=list)
    others: float = 0.0  # CPU seconds other processes used while the case was timed
    timed: float = 0.0  # wall seconds the case was timed (with its setup and checks)
    loads: list[float] = field(default_factory=list)


class Bench:
    """Runs groups of cases, their repetitions interleaved; progress goes to stderr."""

    def __init__(self, repeat: int, min_time: float, memory: bool, profile_dir: str | None) -> None:
        self.repeat = repeat
        self.min_time = min_time
        self.memory = memory
        self.profile_dir = profile_dir
        self.results: dict[str, Result] = {}

    def run(self, case: Case) -> Result:
        return self.run_group([case])[0]

    def run_group(self, cases: Sequence[Case], repeat: int | None = None) -> list[Result]:
        """Time every case ``repeat`` times, interleaved: A1 B1 C1 A2 B2 C2 ...

        Cases compared with each other run in one group, so that a change in the
        machine's load (other processes on a shared machine) hits them all alike.
        """
        tallies = [_Tally(self._calibrate(case) if case.unit == "query" else 1) for case in cases]
        for _rep in range(repeat or self.repeat):
            for case, tally in zip(cases, tallies, strict=True):
                self._once(case, tally)
        return [self._finish(case, tally) for case, tally in zip(cases, tallies, strict=True)]

    def _once(self, case: Case, tally: _Tally) -> None:
        tally.loads.append(os.getloadavg()[0])
        machine, own, wall = busy_seconds(), own_seconds(), time.perf_counter()
        ctx = case.setup()
        gc.collect()
        start = time.perf_counter()
        for _loop in range(tally.loops):
            out = case.fn(ctx)
        tally.times.append((time.perf_counter() - start) / tally.loops)
        case.check(out, ctx)
        del out
        case.teardown(ctx)
        machine_after = busy_seconds()
        if machine is not None and machine_after is not None:
            # Another process on the machine (a test run, say) slows the case down:
            # record how much CPU the others took meanwhile (jiffy resolution).
            tally.others += max(0.0, (machine_after - machine) - (own_seconds() - own))
        tally.timed += time.perf_counter() - wall

    def _finish(self, case: Case, tally: _Tally) -> Result:
        peak = self._peak(case) if self.memory else None
        if self.profile_dir and case.system.startswith("negotrack"):
            self._profile(case)
        result = Result(
            case.case_id,
            case.system,
            case.label,
            tally.times,
            case.count,
            case.unit,
            tally.loops,
            case.floor,
            case.peer,
            peak,
            case.note,
            tally.others / tally.timed if tally.timed and busy_seconds() is not None else None,
            max(tally.loads),
        )
        self.results[case.case_id] = result
        spread = " ".join(f"{t:.4g}" for t in tally.times)
        mem = "" if peak is None else f"  peak {peak / 2**20:7.1f} MiB"
        print(
            f"  {case.case_id:<4} {case.system:<22} {case.label:<44} "
            f"median {fmt_seconds(result.median):>9}{mem}  load {result.load:.1f}  [{spread}]",
            file=sys.stderr,
            flush=True,
        )
        return result

    def _calibrate(self, case: Case) -> int:
        """Loops per repetition so that one repetition lasts about --min-time (a warm-up too)."""
        ctx = case.setup()
        start = time.perf_counter()
        out = case.fn(ctx)
        elapsed = time.perf_counter() - start
        case.check(out, ctx)
        case.teardown(ctx)
        return max(1, min(1000, math.ceil(self.min_time / max(elapsed, 1e-6))))

    def _peak(self, case: Case) -> int:
        """Peak of Python allocations during one untimed call (SQLite's own cache not traced)."""
        ctx = case.setup()
        gc.collect()
        tracemalloc.start()
        try:
            out = case.fn(ctx)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        case.check(out, ctx)
        del out
        case.teardown(ctx)
        return peak

    def _profile(self, case: Case) -> None:
        assert self.profile_dir is not None
        ctx = case.setup()
        profiler = cProfile.Profile()
        out = profiler.runcall(case.fn, ctx)
        case.check(out, ctx)
        del out
        case.teardown(ctx)
        base = os.path.join(self.profile_dir, case.case_id)
        profiler.dump_stats(base + ".pstats")
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        with open(base + ".txt", "w") as f:
            f.write(text.getvalue())


def expect(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def expect_cells(actual: dict[Cell, str], expected: dict[Cell, str], what: str) -> None:
    """Compare (party, clause) -> event id maps, naming a few differing cells."""
    if actual != expected:
        wrong = sorted(
            k for k in actual.keys() | expected.keys() if actual.get(k) != expected.get(k)
        )
        raise AssertionError(
            f"{what}: {len(actual)} cells, expected {len(expected)}; "
            f"{len(wrong)} differ, e.g. {wrong[:3]}"
        )


def fmt_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def remove_db(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


DISTURBED = 0.25  # other processes' CPU share above which a case is flagged as disturbed


def cpu_times() -> list[int] | None:
    """Aggregate CPU jiffies from /proc/stat (Linux), to report load, iowait and steal."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None


def busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy so far (all CPUs), from /proc/stat."""
    jiffies = cpu_times()
    if jiffies is None:
        return None
    return (sum(jiffies) - jiffies[3] - jiffies[4]) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    t = os.times()
    return t.user + t.system
