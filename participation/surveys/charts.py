"""Bar charts as server-made SVG, with the same figures as a table beside them.

One markup for the page and the results PDF: no scripts, no external references, no style
attributes or <style> (the CSP allows style-src 'self' only), just SVG presentation attributes
(the stylesheet may override them, e.g. for forced colours). The SVG has no viewBox: bar widths
and positions are percentages, so the text keeps its size at 390 px as at 1280 px instead of
shrinking with the drawing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from flask_babel import format_percent
from flask_babel import gettext as _
from markupsafe import Markup, escape

ROW_HEIGHT = 46
LABEL_Y = 16
BAR_Y = 22
BAR_HEIGHT = 18
FONT_SIZE = 14
# The longest bar takes this share of the width; the rest is for its figure.
BAR_SPACE = 78
# Longer labels are cut in the drawing (a line of SVG text does not wrap); the table beside
# it always has the whole label.
LABEL_MAX = 60
BAR_FILL = "#1f5f99"  # 7:1 against white
TEXT_FILL = "#1a1a1a"
TRACK_FILL = "#e9eef3"


def _field(row: Any, name: str, index: int) -> Any:
    return row[index] if isinstance(row, tuple | list) else getattr(row, name)


def share_text(share: float | None) -> str:
    return "" if share is None else format_percent(share, format="#,##0 %")


def figure_text(count: int, share: float | None) -> str:
    """ "12 (40 %)", or "12" when the figure is not a share (e.g. rank points)."""
    return str(count) if share is None else f"{count} ({share_text(share)})"


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1].rstrip() + "…"


def bar_chart(
    rows: Sequence[Any],
    *,
    title: str,
    chart_id: str | None = None,
    label_header: str | None = None,
    value_header: str | None = None,
    with_table: bool = True,
) -> Markup:
    """A <figure> with an accessible SVG bar chart (role="img", <title> and <desc> holding
    every figure) and a table of the same figures. `rows` are (label, count, share) tuples or
    objects with those attributes; `share` is 0..1 or None (then only the count is shown).
    `with_table=False` leaves the table out for a caller that shows the figures in a fuller
    table of its own."""
    data = [
        (str(_field(r, "label", 0)), int(_field(r, "count", 1)), _field(r, "share", 2))
        for r in rows
    ]
    if chart_id is None:
        digest = hashlib.blake2s(repr((title, data)).encode(), digest_size=5).hexdigest()
        chart_id = f"chart-{digest}"
    label_header = label_header or _("Answer")
    value_header = value_header or _("Count")
    with_shares = any(share is not None for _l, _c, share in data)
    most = max((count for _l, count, _s in data), default=0)
    height = max(ROW_HEIGHT * len(data), ROW_HEIGHT)
    desc = "; ".join(f"{label}: {figure_text(count, share)}" for label, count, share in data)

    no_answers = _("No answers")  # outside the f-string, for pybabel
    svg: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" '
        f'width="100%" height="{height}" focusable="false" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc or no_answers)}</desc>',
    ]
    for index, (label, count, share) in enumerate(data):
        top = index * ROW_HEIGHT
        width = BAR_SPACE * count / most if most else 0
        svg.append(
            f'<g class="chart-row">'
            f'<text class="chart-label" x="0" y="{top + LABEL_Y}" font-size="{FONT_SIZE}" '
            f'fill="{TEXT_FILL}">{escape(_cut(label))}</text>'
            f'<rect class="chart-track" x="0" y="{top + BAR_Y}" width="{BAR_SPACE}%" '
            f'height="{BAR_HEIGHT}" fill="{TRACK_FILL}"/>'
            f'<rect class="chart-bar" x="0" y="{top + BAR_Y}" width="{width:.2f}%" '
            f'height="{BAR_HEIGHT}" fill="{BAR_FILL}"/>'
            f'<text class="chart-value" x="{BAR_SPACE + 1}%" y="{top + BAR_Y + BAR_HEIGHT - 4}" '
            f'font-size="{FONT_SIZE}" font-weight="bold" fill="{TEXT_FILL}">'
            f"{escape(figure_text(count, share))}</text>"
            f"</g>"
        )
    svg.append("</svg>")

    share = _("Share")  # outside the f-string: pybabel does not look inside f-strings
    share_head = f'<th scope="col">{escape(share)}</th>' if with_shares else ""
    table: list[str] = [
        f'<table class="chart-table" id="{chart_id}-table">',
        f"<caption>{escape(title)}</caption>",
        f'<thead><tr><th scope="col">{escape(label_header)}</th>'
        f'<th scope="col" class="num">{escape(value_header)}</th>{share_head}</tr></thead>',
        "<tbody>",
    ]
    for label, count, share in data:
        share_cell = f'<td class="num">{escape(share_text(share))}</td>' if with_shares else ""
        table.append(
            f'<tr><th scope="row">{escape(label)}</th><td class="num">{count}</td>{share_cell}</tr>'
        )
    table.append("</tbody></table>")
    # Every text above went through escape(); the rest is our own markup.
    return Markup(  # noqa: S704
        f'<figure class="chart" id="{chart_id}">'
        f'<div class="chart-drawing">{"".join(svg)}</div>'
        f"{''.join(table) if with_table else ''}</figure>"
    )
