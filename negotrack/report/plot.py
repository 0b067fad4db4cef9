"""Figures (extra ``plot``): a matrix heatmap, a clause timeline and a movement chart.

Each function returns a matplotlib :class:`~matplotlib.figure.Figure` drawn on
the Agg canvas (no window, no global pyplot state); :func:`save_figure` writes
it as PNG or SVG by the file's suffix. The ``save_*`` functions make and save a
figure from a :class:`~negotrack.Negotiation` in one call.

Cells, lines and markers carry a ``gid`` (``cell:GB:military-cap``,
``step:GB``, ``retracted:<event id>``) that becomes the element id in SVG, so a
figure can be read by a program as well as by eye.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from negotrack.errors import MissingDependencyError, ValidationError
from negotrack.model import Clause, Ordinal, Party, Role, StanceValue
from negotrack.projections.diff import Diff
from negotrack.projections.history import History
from negotrack.projections.matrix import Matrix
from negotrack.report.legend import (
    EMPTY_COLOUR,
    FLAGS,
    HATCHES,
    cell_flags,
    colour_of,
    describe_instant,
    describe_known_at,
    hatch_of,
    mark_of,
    text_colour_of,
)

try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise MissingDependencyError("matplotlib", "plot", ["figures"]) from exc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from negotrack.tracker import Negotiation

__all__ = [
    "clause_timeline",
    "heatmap",
    "movement_chart",
    "save_figure",
    "save_heatmap",
    "save_movement_chart",
    "save_timeline",
]

_CELL_INCHES = 0.26
_FONT = 7
_OUTLINE = "#333333"
_FORMATS = {".png": "png", ".svg": "svg"}


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _stance_handles() -> list[Patch]:
    handles = [
        Patch(facecolor=colour_of(o), edgecolor=_OUTLINE, label=o.label) for o in reversed(Ordinal)
    ]
    handles.append(Patch(facecolor=EMPTY_COLOUR, edgecolor=_OUTLINE, label="no position"))
    return handles


def _flag_handles() -> list[Patch]:
    return [
        Patch(facecolor="#ffffff", edgecolor=_OUTLINE, hatch=HATCHES[flag], label=flag)
        for flag in FLAGS
    ]


# -- heatmap -----------------------------------------------------------------------


def _groups(
    names: Sequence[str], key: Mapping[str, str | None], last: str
) -> list[tuple[str, list[str]]]:
    """``names`` grouped by ``key`` (groups sorted by name, ungrouped last)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(key.get(name) or "", []).append(name)
    ordered = sorted((g, members) for g, members in groups.items() if g)
    if "" in groups:
        ordered.append((last, groups[""]))
    return ordered


def _bloc_of(parties: Mapping[str, Party], at: datetime) -> dict[str, str | None]:
    """Each party's bloc at ``at``: the first (by id) group it is a member of then."""
    blocs: dict[str, str | None] = {}
    for party in parties.values():
        groups = sorted(
            m.group for m in party.memberships if m.role is Role.MEMBER and m.holds_at(at)
        )
        blocs[party.id] = groups[0] if groups else None
    return blocs


def heatmap(
    matrix: Matrix,
    *,
    parties: Mapping[str, Party] | None = None,
    clauses: Mapping[str, Clause] | None = None,
    group: bool = False,
    timezone: tzinfo | None = None,
) -> Figure:
    """The matrix as a grid of coloured cells: parties down, clauses across.

    Args:
        matrix: the matrix to draw (its parties and clauses with a stance).
        parties: the registered parties (``negotiation.parties()``), to group
            rows by bloc.
        clauses: the tabled clauses (``negotiation.clauses()``), to group
            columns by topic.
        group: group parties by the bloc they belong to as of the matrix's
            date, and clauses by topic (needs ``parties`` and ``clauses``).
        timezone: the negotiation's time zone, to name the dates in the title.

    Raises:
        ValidationError: ``group`` without ``parties`` or ``clauses``.
    """
    if group and (parties is None or clauses is None):
        raise ValidationError("group=True needs the registered parties and clauses")
    if group:
        assert parties is not None
        assert clauses is not None
        row_groups = _groups(matrix.parties, _bloc_of(parties, matrix.as_of), "(no bloc)")
        topics = {c: clauses[c].topic if c in clauses else None for c in matrix.clauses}
        column_groups = _groups(matrix.clauses, topics, "(no topic)")
    else:
        row_groups = [("", matrix.parties)]
        column_groups = [("", matrix.clauses)]
    rows = [p for _, members in row_groups for p in members]
    columns = [c for _, members in column_groups for c in members]

    longest_row = max((len(p) for p in rows), default=4)
    longest_column = max((len(c) for c in columns), default=4)
    width = max(6.0, 1.2 + 0.075 * longest_row + _CELL_INCHES * len(columns) + (1.2 * group))
    height = max(3.5, 2.0 + 0.07 * longest_column + _CELL_INCHES * len(rows) + (0.4 * group))
    figure = _figure(width, height)
    ax = figure.add_subplot()
    for y, party in enumerate(rows):
        for x, clause in enumerate(columns):
            _draw_cell(ax, matrix, party, clause, x=x, y=y)
    ax.set_xlim(0, len(columns))
    ax.set_ylim(len(rows), 0)
    ax.set_aspect("equal")
    ax.set_xticks([x + 0.5 for x in range(len(columns))], columns, rotation=90, fontsize=_FONT)
    ax.set_yticks([y + 0.5 for y in range(len(rows))], rows, fontsize=_FONT)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if group:
        _draw_groups(ax, row_groups, column_groups)
    ax.set_title(
        f"{matrix.negotiation}: positions as of {describe_instant(matrix.as_of, timezone)}\n"
        f"{describe_known_at(matrix.known_at, timezone)}",
        fontsize=_FONT + 2,
        pad=40 if group else 6,
    )
    figure.legend(
        handles=_stance_handles() + _flag_handles(),
        loc="outside lower center",
        ncols=5,
        fontsize=_FONT,
        frameon=False,
    )
    return figure


def _draw_cell(ax: Axes, matrix: Matrix, party: str, clause: str, *, x: int, y: int) -> None:
    cell = matrix.get(party, clause)
    stance = None if cell is None else cell.stance
    ax.add_patch(
        Rectangle(
            (x, y),
            1,
            1,
            facecolor=colour_of(stance),
            edgecolor="#bbbbbb" if cell is None else "#ffffff",
            linewidth=0.5,
            gid=f"cell:{party}:{clause}",
            label=_describe(stance),
        )
    )
    if cell is None:
        return
    flags = cell_flags(cell)
    if flags:
        # A second, unfilled rectangle draws the hatching: the hatch takes the
        # edge colour, which must stay dark whatever the fill is.
        ax.add_patch(
            Rectangle(
                (x, y),
                1,
                1,
                facecolor="none",
                edgecolor=_OUTLINE,
                linewidth=0,
                hatch=hatch_of(flags),
                gid=f"flags:{party}:{clause}",
                label=",".join(flags),
            )
        )
    ax.text(
        x + 0.5,
        y + 0.5,
        mark_of(stance),
        ha="center",
        va="center",
        fontsize=_FONT - 1,
        color=text_colour_of(stance),
    )


def _describe(stance: StanceValue | None) -> str:
    if stance is None:
        return "no position"
    return stance.label if isinstance(stance, Ordinal) else f"{stance:g}"


def _spans(groups: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[str, int, int]]:
    """Each group's name with the first and one-past-last index of its members."""
    spans, start = [], 0
    for name, members in groups:
        spans.append((name, start, start + len(members)))
        start += len(members)
    return spans


def _draw_groups(
    ax: Axes,
    row_groups: Sequence[tuple[str, Sequence[str]]],
    column_groups: Sequence[tuple[str, Sequence[str]]],
) -> None:
    """Lines between groups, and each group's name beside (rows) or above (columns) it."""
    for name, start, end in _spans(row_groups):
        if start:
            ax.axhline(start, color="#000000", linewidth=1.2)
        ax.text(
            1.01,
            (start + end) / 2,
            name,
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=_FONT,
            gid=f"bloc:{name}",
        )
    for name, start, end in _spans(column_groups):
        if start:
            ax.axvline(start, color="#000000", linewidth=1.2)
        ax.text(
            (start + end) / 2,
            1.01,
            name,
            transform=ax.get_xaxis_transform(),
            ha="left",
            va="bottom",
            rotation=45,
            rotation_mode="anchor",
            fontsize=_FONT,
            gid=f"topic:{name}",
        )


# -- clause timeline ---------------------------------------------------------------


def clause_timeline(
    histories: Sequence[History],
    *,
    until: datetime | None = None,
    timezone: tzinfo | None = None,
) -> Figure:
    """Each party's stance on one clause as steps over valid time.

    One history per party (``negotiation.history(party, clause)``). A step holds
    from an entry's valid time to the next; a withdrawal ends it. Entries our
    record retracted (as known in the histories' view) are not steps: they are
    markers, ``x`` where the record was retracted, a hollow diamond where it
    was corrected (retracted and replaced).

    Args:
        histories: the cells to draw, all on one clause.
        until: where the last steps end (default: a day after the last entry).
        timezone: the negotiation's time zone, to name dates.

    Raises:
        ValidationError: no histories, or histories of different clauses.
    """
    if not histories:
        raise ValidationError("a clause timeline needs at least one history")
    clauses = {h.clause for h in histories}
    if len(clauses) > 1:
        raise ValidationError(f"a clause timeline shows one clause, got {sorted(clauses)}")
    entries = [e for h in histories for e in h]
    last = max((e.valid_at for e in entries), default=None)
    end = until or (last + timedelta(days=1) if last else None)
    figure = _figure(8.0, 4.0 + 0.15 * len(histories))
    ax = figure.add_subplot()
    spread = 0.3 / max(len(histories) - 1, 1)
    for index, history in enumerate(histories):
        offset = (index - (len(histories) - 1) / 2) * spread if len(histories) > 1 else 0.0
        _draw_steps(ax, history, offset, end)
    ordinal = all(e.stance is None or isinstance(e.stance, Ordinal) for e in entries)
    if ordinal:
        ax.set_yticks([float(o) for o in Ordinal], [o.label for o in Ordinal], fontsize=_FONT)
        ax.set_ylim(-2.6, 2.6)
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    ax.set_xlabel("valid time (when the party held the stance)", fontsize=_FONT)
    ax.tick_params(axis="x", labelsize=_FONT)
    known = describe_known_at(histories[0].known_at, timezone)
    ax.set_title(f"{histories[0].clause}: stances over valid time\n{known}", fontsize=_FONT + 2)
    locator = AutoDateLocator(tz=timezone)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=timezone))  # type: ignore[no-untyped-call]
    markers = [
        Line2D([], [], marker="x", linestyle="none", color=_OUTLINE, label="retracted"),
        Line2D(
            [],
            [],
            marker="D",
            linestyle="none",
            color=_OUTLINE,
            fillstyle="none",
            label="corrected",
        ),
    ]
    ax.legend(
        handles=[*ax.get_legend_handles_labels()[0], *markers],
        fontsize=_FONT,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        frameon=False,
    )
    return figure


def _day_number(instant: datetime) -> float:
    """Matplotlib's number for an instant (days since its epoch, UTC)."""
    number: float = date2num(instant)  # type: ignore[no-untyped-call]
    return number


def _draw_steps(ax: Axes, history: History, offset: float, end: datetime | None) -> None:
    times: list[float] = []
    scores: list[float] = []
    for entry in history.current():
        times.append(_day_number(entry.valid_at))
        scores.append(float("nan") if entry.stance is None else float(entry.stance) + offset)
    if times and end is not None:
        times.append(max(_day_number(end), times[-1]))
        scores.append(scores[-1])
    (line,) = ax.step(times, scores, where="post", linewidth=1.6, label=history.party)
    line.set_gid(f"step:{history.party}")
    for entry in history:
        if entry.retracted and entry.stance is not None:
            corrected = entry.replaced_by is not None
            ax.plot(
                [_day_number(entry.valid_at)],
                [float(entry.stance) + offset],
                marker="D" if corrected else "x",
                fillstyle="none",
                linestyle="none",
                color=line.get_color(),
                markersize=7,
                gid=f"{'corrected' if corrected else 'retracted'}:{entry.event_id}",
            )


# -- movement chart ----------------------------------------------------------------


def movement_chart(diff: Diff, *, timezone: tzinfo | None = None) -> Figure:
    """Who moved between the diff's two dates: one row per move, an arrow from before to after.

    A new stance is a dot at its position, a dropped one a cross at its old
    position; dots and arrow heads take the colour of the stance reached.
    """
    moves = list(diff)
    figure = _figure(7.0, max(3.0, 1.6 + 0.22 * len(moves)))
    ax = figure.add_subplot()
    for y, move in enumerate(moves):
        # A conflict has no single stance to place: it is drawn like no stance.
        before = _score(None if move.before is None else move.before.stance)
        after = _score(None if move.after is None else move.after.stance)
        colour = colour_of(None if move.after is None else move.after.stance)
        gid = f"move:{move.party}:{move.clause}"
        if before is not None and after is not None:
            ax.annotate(
                "",
                xy=(after, y),
                xytext=(before, y),
                arrowprops={"arrowstyle": "-|>", "color": _OUTLINE, "lw": 1.2},
                gid=gid,
            )
            ax.plot([after], [y], "o", color=colour, markeredgecolor=_OUTLINE, markersize=6)
        elif after is not None:
            ax.plot(
                [after], [y], "o", color=colour, markeredgecolor=_OUTLINE, markersize=6, gid=gid
            )
        elif before is not None:
            ax.plot([before], [y], "x", color=_OUTLINE, markersize=7, gid=gid)
    if not moves:
        ax.text(0, 0, "nobody moved", ha="center", va="center", fontsize=_FONT + 2)
    ax.set_yticks(range(len(moves)), [f"{m.party} · {m.clause}" for m in moves], fontsize=_FONT)
    ax.set_ylim(len(moves) - 0.5 if moves else 0.5, -0.5)
    ax.set_xticks([float(o) for o in Ordinal], [o.label for o in Ordinal], fontsize=_FONT)
    ax.set_xlim(-2.5, 2.5)
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    ax.set_title(
        f"{diff.after.negotiation}: who moved\n"
        f"from {describe_instant(diff.before.as_of, timezone)}"
        f" to {describe_instant(diff.after.as_of, timezone)}, "
        f"{describe_known_at(diff.after.known_at, timezone)}",
        fontsize=_FONT + 2,
    )
    figure.legend(
        handles=[
            Line2D(
                [], [], marker=r"$\rightarrow$", linestyle="none", color=_OUTLINE, label="moved"
            ),
            Line2D([], [], marker="o", linestyle="none", color="#888888", label="new stance"),
            Line2D([], [], marker="x", linestyle="none", color=_OUTLINE, label="dropped"),
            *_stance_handles()[:-1],
        ],
        loc="outside lower center",
        ncols=4,
        fontsize=_FONT,
        frameon=False,
    )
    return figure


# -- files -------------------------------------------------------------------------


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` as PNG or SVG, chosen by the suffix of ``path``.

    The files are reproducible: no creation date, fixed SVG ids.

    Raises:
        ValidationError: the suffix is neither ``.png`` nor ``.svg``.
    """
    target = Path(path)
    kind = _FORMATS.get(target.suffix.lower())
    if kind is None:
        raise ValidationError(f"{target}: a figure is saved as .png or .svg")
    import matplotlib  # noqa: PLC0415 - already loaded with the figure classes above

    metadata: dict[str, str | None] = {"Date": None} if kind == "svg" else {"Software": None}
    with matplotlib.rc_context({"svg.hashsalt": "negotrack"}):
        figure.savefig(target, format=kind, dpi=150, metadata=metadata)
    return target


def save_heatmap(
    negotiation: Negotiation,
    as_of: date | datetime,
    path: str | Path,
    *,
    known_at: date | datetime | None = None,
    group: bool = False,
) -> Path:
    """Draw the heatmap of ``negotiation`` as of ``as_of`` and save it to ``path``."""
    matrix = negotiation.matrix(as_of, known_at=known_at)
    figure = heatmap(
        matrix,
        parties=negotiation.parties(),
        clauses=negotiation.clauses(),
        group=group,
        timezone=negotiation.timezone,
    )
    return save_figure(figure, path)


def save_timeline(
    negotiation: Negotiation,
    clause: str,
    path: str | Path,
    *,
    parties: Sequence[str] | None = None,
    known_at: date | datetime | None = None,
) -> Path:
    """Draw the timeline of ``clause`` (every party that took a stance on it, or ``parties``)."""
    if parties is None:
        parties = sorted(
            p
            for p in negotiation.parties()
            if len(negotiation.history(p, clause, known_at=known_at))
        )
    histories = [negotiation.history(p, clause, known_at=known_at) for p in parties]
    return save_figure(clause_timeline(histories, timezone=negotiation.timezone), path)


def save_movement_chart(
    negotiation: Negotiation,
    since: date | datetime,
    as_of: date | datetime,
    path: str | Path,
    *,
    known_at: date | datetime | None = None,
) -> Path:
    """Draw who moved between ``since`` and ``as_of`` and save it to ``path``."""
    moves = negotiation.diff(since, as_of, known_at=known_at)
    return save_figure(movement_chart(moves, timezone=negotiation.timezone), path)


def _score(stance: StanceValue | None) -> float | None:
    return None if stance is None else float(stance)
