"""Usage over time for the console: calls per day, per action and result code, drawn as SVG on
the server (stacked bars, one chart per action; no JavaScript)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import use
from openkyc.privacy.vocabulary import DataElement, Purpose
from openkyc.store.models.diagnostics import CallRecord

__all__ = ["PALETTE", "usage_by_day", "usage_chart"]

PALETTE = ("#2f6f4f", "#c0392b", "#d68910", "#2e86c1", "#7d3c98", "#566573", "#a04000", "#117864")
MAX_ROWS = 500_000


def usage_by_day(
    session: Session, gate: PurposeGate, app_id: int, first: date, last: date
) -> dict[str, dict[str, dict[date, int]]]:
    """``{action: {result code: {day: calls}}}`` for the app's calls from ``first`` to ``last``."""
    use(gate, Purpose.BILLING, (DataElement.APP_ID, DataElement.CALL_RECORD), what="usage.by_day", app_id=app_id)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    until = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    rows = session.execute(
        select(CallRecord.action, CallRecord.result_code, CallRecord.error_code, CallRecord.created_at)
        .where(CallRecord.app_id == app_id, CallRecord.created_at >= since, CallRecord.created_at < until)
        .limit(MAX_ROWS)
    ).all()
    series: dict[str, dict[str, dict[date, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for action, result, error, created in rows:
        series[str(action)][str(result or error or "Success")][created.astimezone(UTC).date()] += 1
    return {a: {c: dict(d) for c, d in codes.items()} for a, codes in series.items()}


def usage_chart(action: str, by_code: dict[str, dict[date, int]], first: date, last: date) -> Markup:
    """One stacked bar per day, a colour per result code, with a legend; scales to its container."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    codes = sorted(by_code, key=lambda c: (c != "Success", c))
    totals = [sum(by_code[c].get(d, 0) for c in codes) for d in days]
    peak = max(totals or [0]) or 1
    width, height, left, bottom, top = 640, 220, 40, 30, 10
    plot_h = height - bottom - top
    bar_w = (width - left - 10) / max(1, len(days))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height + 18 * len(codes)}" role="img" '
        f'aria-label="{escape(action)} calls per day by result code" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 5}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="10">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>',
    ]
    for i, day in enumerate(days):
        y: float = top + plot_h
        for j, code in enumerate(codes):
            count = by_code[code].get(day, 0)
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            x = left + i * bar_w + 1
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{day.isoformat()} {escape(code)}: {count}</title></rect>'
            )
        if i % max(1, len(days) // 6) == 0:
            label_x = left + i * bar_w + bar_w / 2
            parts.append(
                f'<text x="{label_x:.1f}" y="{height - 14}" text-anchor="middle" font-size="10">{day.strftime("%m-%d")}</text>'
            )
    for j, code in enumerate(codes):
        y = height + 18 * j
        total = sum(by_code[code].values())
        parts.append(f'<rect x="{left}" y="{y - 9}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        parts.append(f'<text x="{left + 16}" y="{y}" font-size="11">{escape(code)} ({total})</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
