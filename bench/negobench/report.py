"""The report: versions and machine, ratios, the targets table, text, markdown and JSON."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

import negotrack

from .harness import Result, fmt_seconds


class Targets:
    """The thresholds of the issue (#12), as ratios measured in one run."""

    BATCHED_VS_PEER = 1.3  # negotrack at least this much faster than eventsourcing
    BATCHED_VS_NARROW = 1.5  # and within this of the narrow floor
    BULK_VS_PEER = 1.3
    YAML_RATE = 20_000  # stances/s
    YAML_MEMORY = 20.0  # peak Python memory / file size
    REPLAY_VS_PEER = 1.5
    MATRIX_COLD = 1.5  # x the best raw as-of query returning the same data
    MATRIX_WARM = 1.2
    HISTORY_VS_FLOOR = 1.5
    MATRIX_GROWTH = 1.2  # matrix at --scale-n events / at -n events
    MEMORY_GROWTH = 1.25  # "peak memory flat", with some slack for noise
    PG_BATCHED_GAIN = 1.5  # PostgreSQL batched append, x the rate before the work on #12
    PG_BATCHED_BEFORE = 15_443  # ev/s: case 1g of the full run at ffc64d5 (2026-11-25)


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
    "5": "5. Scale: the matrix and the history on the large log (SQLite)",
    "6": "2'. As-of matrix of every cell (PostgreSQL)",
    "7": "3'. History of one cell, diff of two dates (PostgreSQL)",
    "8": "8. YAML import: one dataset file into a fresh log",
    "9": "9. record_stance: one stance per transaction",
}


def group_of(case_id: str) -> str:
    if case_id[0] == "1":
        return "1a" if case_id[1] <= "g" else "1h"
    return case_id[0]


RATIOS = (
    # (what, numerator case, denominator case): where the time of a case goes.
    ("batched append: negotrack / narrow floor", "1e", "1a"),
    ("batched append: negotrack / same-rows floor", "1e", "1b"),
    ("batched append: negotrack / same rows into negotrack's tables", "1e", "1c"),
    ("batched append: same rows into negotrack's tables / same-rows floor", "1c", "1b"),
    ("batched append: same-rows floor / narrow floor", "1b", "1a"),
    ("batched append: negotrack / eventsourcing", "1e", "1d"),
    ("bulk import: negotrack / narrow floor", "1l", "1h"),
    ("bulk import: negotrack / same-rows floor", "1l", "1i"),
    ("bulk import: negotrack / same rows into negotrack's tables", "1l", "1j"),
    ("bulk import: negotrack / eventsourcing", "1l", "1k"),
    ("PostgreSQL batched append: negotrack / psycopg floor", "1g", "1f"),
    ("PostgreSQL bulk import: negotrack / psycopg floor", "1n", "1m"),
    ("matrix warm: negotrack / seek + json.loads", "2h", "2d"),
    ("matrix warm: negotrack / narrow seek (columns)", "2h", "2e"),
    ("matrix cold: negotrack / seek + json.loads", "2j", "2d"),
    ("matrix cold: negotrack / narrow seek (columns)", "2j", "2e"),
    ("matrix: negotrack cold / warm (decoding every cell)", "2j", "2h"),
    ("matrix: seek + json.loads / seek, payload not decoded", "2d", "2c"),
    ("matrix: MAX() join / seek", "2a", "2c"),
    ("known_at warm: negotrack / seek + json.loads", "2i", "2f"),
    ("known_at cold: negotrack / seek + json.loads", "2k", "2f"),
    ("known_at: negotrack known_at / plain as-of (warm)", "2i", "2h"),
    ("history warm: negotrack / floor + json.loads", "3d", "3a"),
    ("history cold: negotrack / floor + json.loads", "3e", "3a"),
    ("history warm: negotrack / eventsourcing", "3d", "3c"),
    ("history cold: negotrack / eventsourcing", "3e", "3c"),
    ("diff warm: negotrack / floor", "3g", "3f"),
    ("diff cold: negotrack / floor", "3h", "3f"),
    ("replay: negotrack / same-rows floor", "4d", "4a"),
    ("replay: negotrack / narrow floor", "4d", "4b"),
    ("replay: negotrack / eventsourcing", "4d", "4c"),
    ("PostgreSQL matrix warm: negotrack / seek + json.loads", "6h", "6d"),
    ("PostgreSQL matrix cold: negotrack / seek + json.loads", "6j", "6d"),
    ("PostgreSQL history warm: negotrack / floor", "7d", "7a"),
    ("PostgreSQL history cold: negotrack / floor", "7e", "7a"),
    ("PostgreSQL replay: negotrack / floor", "4f", "4e"),
    ("scale: negotrack matrix warm, large / default log", "5h", "2h"),
    ("scale: negotrack matrix cold, large / default log", "5j", "2j"),
    ("scale: seek + json.loads, large / default log", "5d", "2d"),
    ("scale: narrow seek, large / default log", "5e", "2e"),
    ("scale: negotrack matrix cold / seek + json.loads, large log", "5j", "5d"),
    ("scale: negotrack known_at warm, large / default log", "5i", "2i"),
    ("scale: negotrack history warm, large / default log", "5o", "3d"),
    ("scale: floor history, large / default log", "5l", "3a"),
    ("YAML import: negotrack / parsing the file alone", "8b", "8a"),
    ("record_stance: negotrack / floor, one per transaction", "9b", "9a"),
    ("PostgreSQL record_stance: negotrack / floor", "9d", "9c"),
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


def evaluate_targets(results: dict[str, Result], yaml_bytes: int) -> list[Target]:
    """The issue's targets, from the medians of this run (printed, never asserted)."""
    r = results.get
    t = Targets
    targets: list[Target] = []

    def add(name: str, threshold: str, value: float | None, ok: bool | None, shown: str) -> None:
        targets.append(Target(name, threshold, "-" if value is None else shown, ok))

    def faster(name: str, case: str, peer: str, least: float) -> None:
        """negotrack's case at least ``least`` times as fast as the peer's."""
        speedup = ratio(r(peer), r(case))
        add(
            name,
            f"peer / negotrack >= {least}",
            speedup,
            None if speedup is None else speedup >= least,
            f"{speedup or 0:.2f}x",
        )

    def within(name: str, value: float | None, most: float, what: str) -> None:
        add(
            name,
            f"{what} <= {most}",
            value,
            None if value is None else value <= most,
            f"{value or 0:.2f}x",
        )

    def to_floor(case: str) -> float | None:
        found = r(case)
        return ratio(found, floor_of(results, found)) if found else None

    faster("batched append (SQLite) vs eventsourcing", "1e", "1d", t.BATCHED_VS_PEER)
    within(
        "batched append (SQLite) vs narrow floor",
        ratio(r("1e"), r("1a")),
        t.BATCHED_VS_NARROW,
        "negotrack / narrow",
    )
    faster("bulk import (SQLite) vs eventsourcing", "1l", "1k", t.BULK_VS_PEER)
    yaml = r("8b")
    add(
        "YAML import rate",
        f">= {t.YAML_RATE:,} stances/s",
        None if yaml is None else yaml.rate,
        None if yaml is None else yaml.rate >= t.YAML_RATE,
        "" if yaml is None else f"{yaml.rate:,.0f} stances/s",
    )
    memory = None
    if yaml is not None and yaml.peak_bytes is not None and yaml_bytes:
        memory = yaml.peak_bytes / yaml_bytes
    within("YAML import peak memory vs file size", memory, t.YAML_MEMORY, "peak / file")
    faster("replay (SQLite) vs eventsourcing", "4d", "4c", t.REPLAY_VS_PEER)
    for where, group in (("SQLite", "2"), ("PostgreSQL", "6")):
        within(
            f"matrix cold ({where}) vs best raw as-of, same data",
            to_floor(group + "j"),
            t.MATRIX_COLD,
            "negotrack / floor",
        )
        within(
            f"matrix warm ({where}) vs best raw as-of, same data",
            to_floor(group + "h"),
            t.MATRIX_WARM,
            "negotrack / floor",
        )
    for what, case in (("warm", "3d"), ("cold", "3e")):
        within(
            f"history {what} (SQLite) vs raw floor",
            to_floor(case),
            t.HISTORY_VS_FLOOR,
            "negotrack / floor",
        )
        faster(f"history {what} (SQLite) ahead of eventsourcing", case, "3c", 1.0)
    for what, large, small in (("warm", "5h", "2h"), ("cold", "5j", "2j")):
        within(
            f"matrix {what} at scale vs at the default size",
            ratio(r(large), r(small)),
            t.MATRIX_GROWTH,
            "large / default",
        )
    for what, large, small in (("matrix warm", "5h", "2h"), ("matrix cold", "5j", "2j")):
        a, b = r(large), r(small)
        growth = None
        if a and b and a.peak_bytes and b.peak_bytes:
            growth = a.peak_bytes / b.peak_bytes
        within(
            f"peak memory of {what}: scale vs default", growth, t.MEMORY_GROWTH, "large / default"
        )
    pg = r("1g")
    gain = None if pg is None else pg.rate / t.PG_BATCHED_BEFORE
    add(
        "batched append (PostgreSQL) vs before (#12)",
        f">= {t.PG_BATCHED_GAIN}x {t.PG_BATCHED_BEFORE:,} ev/s",
        gain,
        None if gain is None else gain >= t.PG_BATCHED_GAIN,
        "" if pg is None else f"{gain:.2f}x ({pg.rate:,.0f} ev/s)",
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
                "-" if res.load is None else f"{res.load:.1f}",
            ]
        )
    return rows


HEADER = [
    "id",
    "system",
    "case",
    "median",
    "min",
    "max",
    "rate",
    "x floor",
    "x peer",
    "peak MiB",
    "load",
]


def print_report(
    results: dict[str, Result], targets: list[Target], meta: dict[str, str], notes: list[str]
) -> None:
    print()
    print("negotrack benchmark")
    for key, value in meta.items():
        print(f"  {key + ':':<12} {value}")
    rows = result_rows(results)
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *rows, strict=True)]
    right = {3, 4, 5, 6, 7, 8, 9, 10}

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
    print("load: the highest 1-minute load average seen before the case's repetitions;")
    print("the repetitions of the cases of a group are interleaved (A1 B1 C1 A2 B2 C2 ...).")
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
        "the tracemalloc peak of one extra, untimed run; *load* is the highest 1-minute load "
        "average seen before the case's repetitions, which are interleaved with those of the "
        "other cases of its group.",
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
        "results": out_results,
        "ratios": ratios,
        "targets": [asdict(t) | {"verdict": t.verdict} for t in targets],
    }
