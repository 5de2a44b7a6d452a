"""Server-rendered SVG bar charts of a table's numbers: no script, a text alternative
(``<title>`` and ``<desc>``, named by ``aria-labelledby``) that lists every value, and the
same numbers as the table printed next to it. A suppressed value ("< 5") has no bar."""

from __future__ import annotations

from markupsafe import Markup, escape

from eva_engine.reports.tables import Table

WIDTH = 680
LABEL = 230  # room for the row labels
VALUE = 60  # room for the value after a bar
BAR = 16
GAP = 10
COLOURS = ("#1f5f8b", "#a23b2a")  # both at least 4.5:1 on white, told apart by the legend


def _label(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def svg(table: Table) -> Markup | None:
    """The chart of ``table``, or None when it has no chart or no rows."""
    chart = table.chart
    if chart is None or not table.rows:
        return None
    values = [[row[i].number for i in chart.series] for row in table.rows]
    numbers = [float(v) for vs in values for v in vs if v is not None]
    top = 100.0 if chart.percent else max(numbers, default=0.0) or 1.0
    span = WIDTH - LABEL - VALUE
    group = BAR * len(chart.series) + GAP
    legend = 22 if len(chart.series) > 1 else 0
    height = legend + group * len(table.rows) + GAP
    title_id, desc_id = f"chart-{table.id}-title", f"chart-{table.id}-desc"
    description = "; ".join(
        f"{row[0].text}: "
        + ", ".join(
            f"{table.columns[i]} {row[i].text}" if len(chart.series) > 1 else row[i].text
            for i in chart.series
        )
        for row in table.rows
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-labelledby="{title_id} {desc_id}">',
        f'<title id="{title_id}">{escape(table.title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
    ]
    if legend:
        x = LABEL
        for n, i in enumerate(chart.series):
            parts.append(
                f'<rect x="{x}" y="4" width="12" height="12" fill="{COLOURS[n % 2]}"/>'
                f'<text x="{x + 16}" y="15" font-size="12" fill="#1a1a1a">'
                f"{escape(table.columns[i])}</text>"
            )
            x += 20 + 7 * len(table.columns[i])
    for r, (row, row_values) in enumerate(zip(table.rows, values, strict=True)):
        y0 = legend + GAP + r * group
        parts.append(
            f'<text x="{LABEL - 8}" y="{y0 + BAR * len(chart.series) / 2 + 4}" '
            f'font-size="12" text-anchor="end" fill="#1a1a1a">{escape(_label(row[0].text))}</text>'
        )
        for n, (i, value) in enumerate(zip(chart.series, row_values, strict=True)):
            y = y0 + n * BAR
            length = 0.0 if value is None else span * min(float(value), top) / top
            if length > 0:
                parts.append(
                    f'<rect x="{LABEL}" y="{y + 1}" width="{length:.1f}" height="{BAR - 2}" '
                    f'fill="{COLOURS[n % 2]}"/>'
                )
            parts.append(
                f'<text x="{LABEL + length + 4:.1f}" y="{y + BAR - 4}" font-size="12" '
                f'fill="#1a1a1a">{escape(row[i].text)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
