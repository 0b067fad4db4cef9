"""The report: versions and machine, ratios, the targets table, text, markdown and JSON."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

import negotrack

from .harness import Result, fmt_seconds


class Targets:
    """The thresholds of the issue, printed beside the measured values."""

    BATCHED_VS_FLOOR = 1.3
    BULK_RATE = 50_000
    BULK_VS_FLOOR = 1.6
    MATRIX_VS_FLOOR = 1.5
    MATRIX_GROWTH = 2.0
    KNOWN_VS_PLAIN = 2.0
    REPLAY_RATE = 200_000
    MEMORY_GROWTH = 1.25  # "independent of log length", with some slack for noise
    PG_BATCHED_RATE = 5_000


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "sqlite (library)": sqlite3.sqlite_version}
    for name in ("negotrack", "SQLAlchemy", "eventsourcing", "psycopg", "attrs", "cattrs"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def negotrack_source() -> str:
    """The revision of negotrack's checkout, marked when negotrack/ has uncommitted changes."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(negotrack.__file__)))
    git = shutil.which("git")
    if git is None:
        return "unknown (no git)"
    try:
        # Fixed arguments, no shell: git itself is what the noqa is about.
        head = subprocess.run(  # noqa: S603
            [git, "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603
            [git, "-C", root, "status", "--porcelain", "--", "negotrack"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" + uncommitted changes in negotrack/" if dirty else "")


def source_digest() -> str:
    """A digest of negotrack's sources, to notice a change on disk during a run."""
    root = os.path.dirname(os.path.abspath(negotrack.__file__))
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(f for f in files if f.endswith(".py")):
            with open(os.path.join(folder, name), "rb") as f:
                digest.update(name.encode() + f.read())
    return digest.hexdigest()


def cpu_summary(before: list[int] | None, after: list[int] | None) -> str:
    if not before or not after:
        return "n/a"
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta) or 1
    busy = total - delta[3] - delta[4]  # fields: user nice system idle iowait irq softirq steal
    return (
        f"busy {100 * busy / total:.0f}%, iowait {100 * delta[4] / total:.0f}%, "
        f"steal {100 * delta[7] / total:.1f}% (all CPUs, whole run)"
    )


def floor_of(results: dict[str, Result], r: Result) -> Result | None:
    """The fastest of the case's floor candidates that ran."""
    found = [results[c] for c in r.floor if c in results]
    return min(found, key=lambda x: x.median) if found else None


def ratio(a: Result | None, b: Result | None) -> float | None:
    return None if a is None or b is None else a.median / b.median


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def fmt_rate(r: Result) -> str:
    rate, unit = (r.rate, "ev/s") if r.unit == "ev" else (1 / r.median, "q/s")
    return f"{rate:,.0f} {unit}" if rate >= 100 else f"{rate:,.1f} {unit}"


def fmt_mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f}"


GROUPS = {
    "1a": "1. Append in batches: one transaction per batch",
    "1h": "1. Bulk import: every event in one transaction",
    "2": "2. As-of matrix of every cell (SQLite)",
    "3": "3. History of one cell, diff of two dates (SQLite)",
    "4": "4. Full replay: read, decode and fold every event",
    "5": "5. Scale: the same queries on the large log (SQLite)",
    "6": "2'. As-of matrix of every cell (PostgreSQL)",
    "7": "3'. History of one cell, diff of two dates (PostgreSQL)",
}


def group_of(case_id: str) -> str:
    if case_id[0] == "1":
        return "1a" if case_id[1] <= "g" else "1h"
    return case_id[0]


RATIOS = (
    # (what, numerator case, denominator case): where the time of a case goes.
    ("batched append: negotrack / raw, same rows", "1e", "1b"),
    ("batched append: negotrack / raw into negotrack's tables", "1e", "1c"),
    ("batched append: raw into negotrack's tables / raw, same rows", "1c", "1b"),
    ("batched append: raw, same rows / anchors-style narrow rows", "1b", "1a"),
    ("batched append: negotrack / eventsourcing", "1e", "1d"),
    ("bulk import: negotrack / raw, same rows", "1l", "1i"),
    ("bulk import: negotrack / raw into negotrack's tables", "1l", "1j"),
    ("bulk import: raw into negotrack's tables / raw, same rows", "1j", "1i"),
    ("bulk import: negotrack / eventsourcing", "1l", "1k"),
    ("PostgreSQL batched append: negotrack / raw psycopg", "1g", "1f"),
    ("PostgreSQL bulk import: negotrack / raw psycopg", "1n", "1m"),
    ("matrix: negotrack / raw per-cell seek", "2g", "2c"),
    ("matrix: negotrack / raw per-cell seek + json.loads", "2g", "2d"),
    ("matrix: negotrack cold / warm (decoding every cell)", "2i", "2g"),
    ("matrix: negotrack cold / raw per-cell seek + json.loads", "2i", "2d"),
    ("matrix: raw MAX() join / raw per-cell seek", "2a", "2c"),
    ("known_at: negotrack / raw per-cell seek with known_at", "2h", "2e"),
    ("known_at: negotrack cold / raw per-cell seek with known_at", "2j", "2e"),
    ("known_at: negotrack known_at / negotrack plain as-of", "2h", "2g"),
    ("history: negotrack / raw + json.loads", "3c", "3a"),
    ("history: negotrack cold / raw + json.loads", "3f", "3a"),
    ("diff: negotrack / raw", "3e", "3d"),
    ("diff: negotrack cold / raw", "3g", "3d"),
    ("replay: negotrack / raw", "4c", "4a"),
    ("replay: negotrack / eventsourcing", "4c", "4b"),
    ("PostgreSQL matrix: negotrack / raw per-cell seek", "6g", "6c"),
    ("PostgreSQL matrix: negotrack cold / raw per-cell seek", "6i", "6c"),
    ("PostgreSQL known_at: negotrack / raw", "6h", "6e"),
    ("PostgreSQL history: negotrack / raw", "7c", "7a"),
    ("PostgreSQL history: negotrack cold / raw", "7f", "7a"),
    ("PostgreSQL replay: negotrack / raw", "4e", "4d"),
    ("scale: negotrack matrix, large / default log", "5e", "2g"),
    ("scale: negotrack matrix cold, large / default log", "5i", "2i"),
    ("scale: raw per-cell seek, large / default log", "5c", "2c"),
    ("scale: raw MAX() join, large / default log", "5a", "2a"),
    ("scale: raw window function, large / default log", "5b", "2b"),
    ("scale: negotrack matrix / raw per-cell seek, large log", "5e", "5c"),
    ("scale: negotrack known_at, large / default log", "5f", "2h"),
    ("scale: negotrack known_at cold, large / default log", "5j", "2j"),
    ("scale: raw known_at seek, large / default log", "5d", "2e"),
    ("scale: negotrack known_at / plain as-of, large log", "5f", "5e"),
    ("scale: negotrack history, large / default log", "5h", "3c"),
    ("scale: negotrack history cold, large / default log", "5k", "3f"),
    ("scale: raw history, large / default log", "5g", "3a"),
)


def ratio_rows(results: dict[str, Result]) -> list[tuple[str, str, str]]:
    """(what, "a / b", ratio) for every ratio whose two cases ran."""
    return [
        (what, f"{a} / {b}", fmt_ratio(ratio(results[a], results[b])))
        for what, a, b in RATIOS
        if a in results and b in results
    ]


@dataclass
class Target:
    name: str
    threshold: str
    measured: str
    met: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "n/a"}[self.met]


def evaluate_targets(results: dict[str, Result], kinds: dict[str, dict[str, str]]) -> list[Target]:
    """The issue's targets, from the measured medians (never asserted)."""
    r = results.get
    targets: list[Target] = []

    def add(
        name: str,
        threshold: str,
        value: float | None,
        ok: Callable[[float], bool],
        shown: Callable[[float], str],
    ) -> None:
        targets.append(
            Target(
                name,
                threshold,
                "-" if value is None else shown(value),
                None if value is None else ok(value),
            )
        )

    t = Targets
    add(
        "batched append (SQLite) vs raw sqlite3, same rows",
        f"<= {t.BATCHED_VS_FLOOR}x",
        ratio(r("1e"), r("1b")),
        lambda v: v <= t.BATCHED_VS_FLOOR,
        lambda v: f"{v:.2f}x",
    )
    bulk = r("1l")
    add(
        "bulk import (SQLite) rate",
        f">= {t.BULK_RATE:,} ev/s",
        None if bulk is None else bulk.rate,
        lambda v: v >= t.BULK_RATE,
        lambda v: f"{v:,.0f} ev/s",
    )
    add(
        "bulk import (SQLite) vs raw executemany, same rows",
        f"<= {t.BULK_VS_FLOOR}x",
        ratio(bulk, r("1i")),
        lambda v: v <= t.BULK_VS_FLOOR,
        lambda v: f"{v:.2f}x",
    )
    sq, sc = kinds.get("sqlite", {}), kinds.get("scale", {})

    def times(value: float) -> str:
        return f"{value:.2f}x"

    # The store caches decoded events, so a repeated matrix is "warm"; "cold" is a
    # store without the cache (every call decodes).  Both are shown.
    for kind, what in (("matrix", "warm"), ("matrix_cold", "cold")):
        matrix = r(sq.get(kind, ""))
        add(
            f"matrix ({what}) vs best raw SQL as-of",
            f"<= {t.MATRIX_VS_FLOOR}x",
            ratio(matrix, floor_of(results, matrix) if matrix else None),
            lambda v: v <= t.MATRIX_VS_FLOOR,
            times,
        )
    for kind, what in (("matrix", "warm"), ("matrix_cold", "cold")):
        add(
            f"matrix ({what}) at scale vs at the default size",
            f"<= {t.MATRIX_GROWTH}x",
            ratio(r(sc.get(kind, "")), r(sq.get(kind, ""))),
            lambda v: v <= t.MATRIX_GROWTH,
            times,
        )
    for where, found in (("default size", sq), ("scale", sc)):
        add(
            f"known_at view vs plain as-of (warm), {where}",
            f"<= {t.KNOWN_VS_PLAIN}x",
            ratio(r(found.get("known", "")), r(found.get("matrix", ""))),
            lambda v: v <= t.KNOWN_VS_PLAIN,
            times,
        )
    replay = r("4c")
    add(
        "full replay rate (SQLite)",
        f">= {t.REPLAY_RATE:,} ev/s",
        None if replay is None else replay.rate,
        lambda v: v >= t.REPLAY_RATE,
        lambda v: f"{v:,.0f} ev/s",
    )
    for kind, what in (
        ("matrix", "matrix"),
        ("matrix_cold", "matrix (cold)"),
        ("history", "history, per returned entry"),
        ("history_cold", "history (cold), per returned entry"),
    ):
        small, large = r(sq.get(kind, "")), r(sc.get(kind, ""))
        growth = None
        if small and large and small.peak_bytes and large.peak_bytes:
            # History returns every entry of the cell, which grows with the log by
            # design: compare the peak per entry returned.
            growth = (large.peak_bytes / large.count) / (small.peak_bytes / small.count)
        add(
            f"peak memory of {what}: scale vs default",
            f"<= {t.MEMORY_GROWTH}x",
            growth,
            lambda v: v <= t.MEMORY_GROWTH,
            lambda v: f"{v:.2f}x",
        )
    pg = r("1g")
    add(
        "batched append (PostgreSQL) rate",
        f">= {t.PG_BATCHED_RATE:,} ev/s",
        None if pg is None else pg.rate,
        lambda v: v >= t.PG_BATCHED_RATE,
        lambda v: f"{v:,.0f} ev/s",
    )
    return targets


def result_rows(results: dict[str, Result]) -> list[list[str]]:
    rows = []
    for res in sorted(results.values(), key=lambda x: x.case_id):
        floor = floor_of(results, res)
        peer = results.get(res.peer) if res.peer else None
        rows.append(
            [
                res.case_id,
                res.system,
                res.label + (f" [{res.note}]" if res.note else ""),
                fmt_seconds(res.median),
                fmt_seconds(min(res.times)),
                fmt_seconds(max(res.times)),
                fmt_rate(res),
                fmt_ratio(ratio(res, floor)),
                fmt_ratio(ratio(res, peer)),
                fmt_mib(res.peak_bytes),
            ]
        )
    return rows


HEADER = ["id", "system", "case", "median", "min", "max", "rate", "x floor", "x peer", "peak MiB"]


def print_report(
    results: dict[str, Result], targets: list[Target], meta: dict[str, str], notes: list[str]
) -> None:
    print()
    print("negotrack benchmark")
    for key, value in meta.items():
        print(f"  {key + ':':<12} {value}")
    rows = result_rows(results)
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *rows, strict=True)]
    right = {3, 4, 5, 6, 7, 8, 9}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    group = None
    for row in rows:
        if group_of(row[0]) != group:
            group = group_of(row[0])
            print()
            print(GROUPS.get(group, group))
            print(line(HEADER))
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
        print(line(row))
    print()
    print("x floor = negotrack median / the fastest floor case of the same work (raw SQL);")
    print("x peer = negotrack median / the eventsourcing case (see its note for how near it is).")
    print("Queries are timed per call (looped to --min-time); appends per whole run.")
    print("peak MiB: tracemalloc peak of Python allocations in one extra, untimed run.")
    for note in notes:
        print(f"Note: {note}")
    print()
    print("Ratios (where the time goes)")
    ratios = ratio_rows(results)
    width = max([len(r[0]) for r in ratios] + [1])
    for what, pair, value in ratios:
        print(f"  {what:<{width}}  {pair:>9}  {value:>8}")
    print()
    print("Targets (printed, never asserted)")
    width = max(len(t.name) for t in targets)
    for t in targets:
        print(f"  {t.name:<{width}}  {t.threshold:>16}  {t.measured:>16}  {t.verdict}")


def markdown(
    results: dict[str, Result], targets: list[Target], meta: dict[str, str], notes: list[str]
) -> str:
    out = [
        "# negotrack performance",
        "",
        "Generated by `python bench/run.py` (see `bench/README.md` for the method).",
        "",
    ]
    out += [f"- **{key}**: {value}" for key, value in meta.items()]
    rows = result_rows(results)
    group = None
    for row in rows:
        if group_of(row[0]) != group:
            group = group_of(row[0])
            out += [
                "",
                f"## {GROUPS.get(group, group)}",
                "",
                "| " + " | ".join(HEADER) + " |",
                "|" + "|".join("---:" if i >= 3 else "---" for i in range(len(HEADER))) + "|",
            ]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    out += [
        "",
        "*x floor*: negotrack's median over the fastest raw-SQL case of the same work; "
        "*x peer*: over the eventsourcing case. Queries are timed per call; *peak MiB* is "
        "the tracemalloc peak of one extra, untimed run.",
        "",
    ]
    out += [f"- {note}" for note in notes]
    out += ["", "## Ratios", "", "| ratio | cases | value |", "|---|---|---:|"]
    out += [f"| {what} | {pair} | {value} |" for what, pair, value in ratio_rows(results)]
    out += [
        "",
        "## Targets",
        "",
        "| target | threshold | measured | verdict |",
        "|---|---:|---:|---|",
    ]
    out += [f"| {t.name} | {t.threshold} | {t.measured} | {t.verdict} |" for t in targets]
    return "\n".join(out) + "\n"


def to_json(
    results: dict[str, Result],
    targets: list[Target],
    meta: dict[str, str],
    notes: list[str],
    kinds: dict[str, dict[str, str]],
) -> dict[str, Any]:
    out_results = []
    for res in results.values():
        floor = floor_of(results, res)
        peer = results.get(res.peer) if res.peer else None
        out_results.append(
            asdict(res)
            | {
                "median": res.median,
                "rate_per_s": res.rate,
                "floor_case": None if floor is None else floor.case_id,
                "x_floor": ratio(res, floor),
                "x_peer": ratio(res, peer),
            }
        )
    ratios = [
        {"what": what, "cases": f"{a} / {b}", "value": ratio(results[a], results[b])}
        for what, a, b in RATIOS
        if a in results and b in results
    ]
    return {
        "meta": meta,
        "notes": notes,
        "case_ids": kinds,
        "results": out_results,
        "ratios": ratios,
        "targets": [asdict(t) | {"verdict": t.verdict} for t in targets],
    }
