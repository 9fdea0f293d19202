"""Charts drawn on the server as SVG: no script, nothing to download, readable without
colour (every bar carries its value as text), both axes titled with their unit, and
described for screen readers (a title, a description, and the page shows the same numbers
in a table).

SVG does not wrap text, so the layout does: each label is measured (by its number of
characters, at a width per character generous enough for the widest usual sans-serif
fonts) and wrapped or given the room it needs, so that no label is ever cut. A chart is
drawn at the width it is shown at (`WIDE` on a screen, `NARROW` on a phone, where every
chart is drawn as horizontal bars), so that its text keeps its size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from math import ceil, floor, log10

from markupsafe import Markup

from app.i18n import gettext

INK = "#1b1b1b"
BAR = "#0a4c7a"
MUTED = "#4a4a4a"
GRID = "#c9d3dd"
GOAL = "#a4161a"
WIDE = 640
NARROW = 340
FONT = 14  # labels and values
SMALL = 13  # ticks and axis titles
LINE = 18  # the height of a line of text
# The width of a character, in ems: a little more than DejaVu Sans, the widest usual font,
# takes (0.64 for its digits).
EM = 0.66
PAD = 4
COLUMN_AREA = 180


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str  # the value as read: "12,5 min", "83 %"
    short: str = ""  # the value where room is short, on a column: "12,5"


def _plain(value: float) -> str:
    """ "12,5", "2 000": a tick of the value axis."""
    rounded = round(value, 2)
    if rounded == int(rounded):
        return f"{int(rounded):,}".replace(",", "\u202f")
    return f"{rounded:.2f}".rstrip("0").replace(".", ",")


@dataclass(frozen=True)
class Axes:
    """The titles of the axes, each saying its unit, and how a tick of the values reads."""

    category: str  # "Heure d'arrivée"
    value: str  # "Attente moyenne, en minutes"
    tick: Callable[[float], str] = _plain


def width_of(text: str, size: int = FONT, *, bold: bool = False) -> float:
    """The room `text` takes at most, in pixels, at `size`."""
    return len(text) * size * (EM + (0.06 if bold else 0))


def wrap(text: str, room: float, size: int = FONT, *, bold: bool = False) -> list[str]:
    """`text` in lines that each fit in `room`; a word too long alone is cut into pieces."""
    most = max(1, floor(room / (size * (EM + (0.06 if bold else 0)))))
    lines: list[str] = []
    for word in text.split():
        while len(word) > most:
            lines.append(word[:most])
            word = word[most:]
        if lines and len(lines[-1]) + 1 + len(word) <= most:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def ticks(largest: float, most: int) -> list[float]:
    """0, then round steps (1, 2 or 5 times a power of ten) up to at least `largest`, at
    most `most` steps."""
    if largest <= 0:
        return [0.0, 1.0]
    for power in range(floor(log10(largest / most)) - 1, 20):
        for base in (1, 2, 5):
            step = base * 10.0**power
            if ceil(largest / step - 1e-9) <= most:
                count = max(1, ceil(largest / step - 1e-9))
                return [round(step * index, 10) for index in range(count + 1)]
    return [0.0, largest]


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int = FONT,
    anchor: str = "start",
    fill: str = INK,
    bold: bool = False,
) -> str:
    weight = ' font-weight="700"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}"{weight}>{escape(text)}</text>'
    )


def _lines(
    x: float,
    y: float,
    lines: list[str],
    *,
    size: int = FONT,
    anchor: str = "start",
    fill: str = INK,
    bold: bool = False,
) -> list[str]:
    """Lines of text, the first with its baseline at `y`."""
    return [
        _text(x, y + index * LINE, line, size=size, anchor=anchor, fill=fill, bold=bold)
        for index, line in enumerate(lines)
    ]


def _title(x: float, y: float, text: str, room: float) -> tuple[list[str], float]:
    """An axis title at (x, y), wrapped to `room`; and the height it takes."""
    lines = wrap(text, room, SMALL, bold=True)
    return _lines(x, y, lines, size=SMALL, bold=True), len(lines) * LINE


def _svg(
    key: str, title: str, description: str, width: int, height: float, body: list[str]
) -> Markup:
    """The chart: `body` is SVG built here from numbers and escaped labels only."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {ceil(height)}" '
        f'role="img" aria-labelledby="{key}-t" aria-describedby="{key}-d" class="chart" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="{key}-t">{escape(title)}</title>'
        f'<desc id="{key}-d">{escape(description)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 (every text is escaped)


def _description(items: list[Bar]) -> str:
    """What a screen reader says of the chart: each label with its value, a sentence each
    ("10 h : 12,5 min. 11 h : 8 min.")."""
    said = [gettext("%(label)s : %(value)s.", label=item.label, value=item.text) for item in items]
    return " ".join(line[:1].upper() + line[1:] for line in said) or gettext("Aucune donnée.")


def _value_axis(
    x0: float, span: float, y: float, steps: list[float], axes: Axes, width: int
) -> list[str]:
    """The tick labels under a horizontal value axis, none past the chart's edges."""
    parts = []
    top = steps[-1]
    for step in steps:
        x = x0 + span * step / top
        label = axes.tick(step)
        half = width_of(label, SMALL) / 2
        anchor = "start" if x - half < PAD else "end" if x + half > width - PAD else "middle"
        parts.append(_text(x, y, label, size=SMALL, anchor=anchor, fill=MUTED))
    return parts


def _legend(y: float, goal_label: str, width: int) -> tuple[list[str], float]:
    """The key of the goal's dashed line, under the chart."""
    lines = wrap(goal_label, width - 40 - PAD, SMALL)
    parts = [
        f'<line x1="{PAD}" y1="{y - 4}" x2="{PAD + 28}" y2="{y - 4}" stroke="{GOAL}" '
        f'stroke-width="2" stroke-dasharray="6 4"/>',
        *_lines(PAD + 36, y, lines, size=SMALL, fill=GOAL),
    ]
    return parts, len(lines) * LINE


def bars(
    key: str,
    title: str,
    items: list[Bar],
    axes: Axes,
    *,
    width: int = WIDE,
    scale: float | None = None,
    goal: float | None = None,
    goal_label: str = "",
) -> Markup:
    """Horizontal bars, one per item, each with its value in a column at the right (clear
    of the goal's line): the labels at the left when they fit in about two fifths of the
    width, above their bar otherwise (a phone)."""
    parts, height = _title(PAD, LINE - 4, axes.category, width - 2 * PAD)
    height += 6
    value_room = max([width_of(item.text) for item in items] + [0]) + 12
    label_room = max([width_of(item.label) for item in items] + [0]) + 12
    beside = label_room <= width * 0.42
    x0 = label_room if beside else PAD
    span = width - x0 - value_room - PAD
    largest = scale or max([item.value or 0 for item in items] + [goal or 0])
    steps = ticks(largest, max(2, int(span // 55)))
    top = steps[-1]
    plot_top = height
    rows = []
    for item in items:
        lines = [item.label] if beside else wrap(item.label, width - 2 * PAD)
        if beside:
            bar_y = height + 4
            rows.append(_text(x0 - 8, bar_y + 14, item.label, anchor="end"))
            height += 28
        else:
            rows += _lines(PAD, height + 14, lines)
            bar_y = height + len(lines) * LINE + 2
            height = bar_y + 30
        length = span * (item.value or 0) / top
        rows.append(
            f'<rect x="{x0:.1f}" y="{bar_y:.1f}" width="{length:.1f}" height="18" fill="{BAR}"/>'
        )
        rows.append(_text(width - PAD, bar_y + 14, item.text, anchor="end"))
    if not items:
        rows.append(_text(PAD, height + 14, gettext("Aucune donnée sur cette période.")))
        height += 28
    plot_bottom = height + 2
    # Grid lines across the rows when the labels stand beside the bars; under labels
    # that stand above them, only ticks on the axis.
    grid_top, stroke = (plot_top, GRID) if beside else (plot_bottom, MUTED)
    grid = [
        f'<line x1="{x0 + span * step / top:.1f}" y1="{grid_top}" '
        f'x2="{x0 + span * step / top:.1f}" y2="{plot_bottom + 5}" stroke="{stroke}"/>'
        for step in steps
    ]
    parts += grid + rows
    parts.append(
        f'<line x1="{x0}" y1="{plot_bottom}" x2="{x0 + span:.1f}" y2="{plot_bottom}" '
        f'stroke="{MUTED}"/>'
    )
    if goal is not None:
        x = x0 + span * goal / top
        parts.append(
            f'<line x1="{x:.1f}" y1="{plot_top}" x2="{x:.1f}" y2="{plot_bottom}" '
            f'stroke="{GOAL}" stroke-width="2" stroke-dasharray="6 4"/>'
        )
    parts += _value_axis(x0, span, plot_bottom + 16, steps, axes, width)
    height = plot_bottom + 24
    said, taken = _title(PAD, height + 14, axes.value, width - 2 * PAD)
    parts += said
    height += taken + 4
    if goal is not None and goal_label:
        legend, taken = _legend(height + 14, goal_label, width)
        parts += legend
        height += taken + 4
    return _svg(key, title, _description(items), width, height + 4, parts)


def columns(key: str, title: str, items: list[Bar], axes: Axes, *, width: int = WIDE) -> Markup:
    """Vertical columns along a time axis (hours, days), each topped by its value when
    there is room for it; the value axis, titled above, and the time axis, titled under."""
    parts, height = _title(PAD, LINE - 4, axes.value, width - 2 * PAD)
    largest = max([item.value or 0 for item in items] + [0])
    steps = ticks(largest, 5)
    top = steps[-1]
    tick_room = max(width_of(axes.tick(step), SMALL) for step in steps) + 10
    x0 = PAD + tick_room
    slot = (width - x0 - PAD) / max(1, len(items))
    column = min(44.0, slot * 0.7)
    on_top = [item.short or item.text for item in items]
    show_values = all(width_of(text, SMALL) <= slot - 4 for text in on_top)
    plot_top = height + (LINE + 6 if show_values else 8)
    plot_bottom = plot_top + COLUMN_AREA
    for step in steps:
        y = plot_bottom - COLUMN_AREA * step / top
        parts.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{width - PAD}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(_text(x0 - 6, y + 4, axes.tick(step), size=SMALL, anchor="end", fill=MUTED))
    deepest = 1
    for index, (item, text) in enumerate(zip(items, on_top, strict=True)):
        middle = x0 + index * slot + slot / 2
        length = COLUMN_AREA * (item.value or 0) / top
        parts.append(
            f'<rect x="{middle - column / 2:.1f}" y="{plot_bottom - length:.1f}" '
            f'width="{column:.1f}" height="{length:.1f}" fill="{BAR}"/>'
        )
        if show_values:
            parts.append(_text(middle, plot_bottom - length - 6, text, size=SMALL, anchor="middle"))
        lines = wrap(item.label, slot - 4, SMALL)
        deepest = max(deepest, len(lines))
        parts += _lines(middle, plot_bottom + 18, lines, size=SMALL, anchor="middle")
    if not items:
        parts.append(_text(x0 + 8, plot_bottom - 8, gettext("Aucune donnée sur cette période.")))
    parts.append(
        f'<line x1="{x0}" y1="{plot_bottom}" x2="{width - PAD}" y2="{plot_bottom}" '
        f'stroke="{MUTED}"/>'
    )
    height = plot_bottom + deepest * LINE + 8
    said, taken = _title(PAD, height + 14, axes.category, width - 2 * PAD)
    parts += said
    return _svg(key, title, _description(items), width, height + taken + 8, parts)
