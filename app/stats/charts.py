"""Charts drawn on the server as SVG: no script, nothing to download, readable without
colour (every bar carries its value as text) and described for screen readers (a title,
a description, and the page shows the same numbers in a table)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from app.i18n import gettext

BAR = "#0a4c7a"
MUTED = "#4a4a4a"
GOAL = "#a4161a"
WIDTH = 640
ROW = 28
LABEL_WIDTH = 190
COLUMN_AREA = 180


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str  # the value as read: "12,5 min", "83 %"


def _svg(key: str, title: str, description: str, height: int, body: list[str]) -> Markup:
    """The chart: `body` is SVG built here from numbers and escaped labels only."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{key}-t" aria-describedby="{key}-d" class="chart" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="{key}-t">{escape(title)}</title>'
        f'<desc id="{key}-d">{escape(description)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 (every text is escaped)


def _description(items: list[Bar]) -> str:
    """What a screen reader says of the chart: each label with its value."""
    said = [gettext("%(label)s : %(value)s", label=item.label, value=item.text) for item in items]
    return "; ".join(said) or gettext("aucune donnée")


def _goal_line(at: float, top: int, bottom: int, label: str, vertical: bool) -> str:
    if vertical:
        return (
            f'<line x1="{at:.1f}" y1="{top}" x2="{at:.1f}" y2="{bottom}" stroke="{GOAL}" '
            f'stroke-width="2" stroke-dasharray="6 4"/>'
            f'<text x="{at + 4:.1f}" y="{top + 12}" fill="{GOAL}" font-size="13">'
            f"{escape(label)}</text>"
        )
    return (
        f'<line x1="40" y1="{at:.1f}" x2="{WIDTH}" y2="{at:.1f}" stroke="{GOAL}" '
        f'stroke-width="2" stroke-dasharray="6 4"/>'
        f'<text x="{WIDTH - 4}" y="{at - 4:.1f}" fill="{GOAL}" font-size="13" '
        f'text-anchor="end">{escape(label)}</text>'
    )


def bars(
    key: str,
    title: str,
    items: list[Bar],
    *,
    scale: float | None = None,
    goal: float | None = None,
    goal_label: str = "",
) -> Markup:
    """Horizontal bars, one per item, each labelled with its value."""
    top = 8
    height = top + ROW * max(1, len(items)) + 8
    largest = scale or max([item.value or 0 for item in items] + [goal or 0, 1e-9])
    span = WIDTH - LABEL_WIDTH - 90
    parts = []
    for i, item in enumerate(items):
        y = top + i * ROW
        length = span * (item.value or 0) / largest
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 18}" text-anchor="end" font-size="14" '
            f'fill="#1b1b1b">{escape(item.label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{length:.1f}" height="{ROW - 8}" '
            f'fill="{BAR}"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 18}" font-size="14" '
            f'fill="#1b1b1b">{escape(item.text)}</text>'
        )
    if goal is not None:
        x = LABEL_WIDTH + span * goal / largest
        parts.append(_goal_line(x, top, height - 4, goal_label, vertical=True))
    description = _description(items)
    return _svg(key, title, description, height, parts)


def columns(
    key: str,
    title: str,
    items: list[Bar],
    *,
    goal: float | None = None,
    goal_label: str = "",
) -> Markup:
    """Vertical columns along a time axis (hours, days), each topped by its value."""
    top, bottom = 24, 24 + COLUMN_AREA
    height = bottom + 28
    largest = max([item.value or 0 for item in items] + [goal or 0, 1e-9])
    slot = (WIDTH - 48) / max(1, len(items))
    width = min(48.0, slot * 0.7)
    parts = [f'<line x1="40" y1="{bottom}" x2="{WIDTH}" y2="{bottom}" stroke="{MUTED}"/>']
    for i, item in enumerate(items):
        x = 44 + i * slot + (slot - width) / 2
        length = COLUMN_AREA * (item.value or 0) / largest
        middle = x + width / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{bottom - length:.1f}" width="{width:.1f}" '
            f'height="{length:.1f}" fill="{BAR}"/>'
            f'<text x="{middle:.1f}" y="{bottom - length - 6:.1f}" font-size="12" '
            f'text-anchor="middle" fill="#1b1b1b">{escape(item.text)}</text>'
            f'<text x="{middle:.1f}" y="{bottom + 18}" font-size="13" text-anchor="middle" '
            f'fill="#1b1b1b">{escape(item.label)}</text>'
        )
    if goal is not None:
        y = bottom - COLUMN_AREA * goal / largest
        parts.append(_goal_line(y, top, bottom, goal_label, vertical=False))
    description = _description(items)
    return _svg(key, title, description, height, parts)
