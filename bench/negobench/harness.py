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
from collections.abc import Callable
from dataclasses import dataclass
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
    repeat: int | None = None
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

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def rate(self) -> float:
        return self.count / self.median


class Bench:
    """Runs cases and keeps their results; progress goes to stderr."""

    def __init__(self, repeat: int, min_time: float, memory: bool, profile_dir: str | None) -> None:
        self.repeat = repeat
        self.min_time = min_time
        self.memory = memory
        self.profile_dir = profile_dir
        self.results: dict[str, Result] = {}

    def run(self, case: Case) -> Result:
        loops = self._calibrate(case) if case.unit == "query" else 1
        times = []
        machine, own, wall = busy_seconds(), own_seconds(), time.perf_counter()
        for _rep in range(case.repeat or self.repeat):
            ctx = case.setup()
            gc.collect()
            start = time.perf_counter()
            for _loop in range(loops):
                out = case.fn(ctx)
            elapsed = (time.perf_counter() - start) / loops
            case.check(out, ctx)
            del out
            case.teardown(ctx)
            times.append(elapsed)
        other = None
        machine_after = busy_seconds()
        if machine is not None and machine_after is not None:
            # Another process on the machine (a test run, say) slows the case down:
            # record how much CPU the others took meanwhile (jiffy resolution).
            others = (machine_after - machine) - (own_seconds() - own)
            other = max(0.0, others) / (time.perf_counter() - wall)
        peak = self._peak(case) if self.memory else None
        if self.profile_dir and case.system.startswith("negotrack"):
            self._profile(case)
        result = Result(
            case.case_id,
            case.system,
            case.label,
            times,
            case.count,
            case.unit,
            loops,
            case.floor,
            case.peer,
            peak,
            case.note,
            other,
        )
        self.results[case.case_id] = result
        spread = " ".join(f"{t:.4g}" for t in times)
        mem = "" if peak is None else f"  peak {peak / 2**20:7.1f} MiB"
        print(
            f"  {case.case_id:<4} {case.system:<22} {case.label:<44} "
            f"median {fmt_seconds(result.median):>9}{mem}  [{spread}]",
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
