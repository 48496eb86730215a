"""Percentiles (never averages) and the printed table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def percentiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": float(ordered[-1]) if ordered else math.nan,
    }


@dataclass
class Figure:
    store: str
    name: str
    value: float | None  # what the target applies to (rate, p99, MB, %)
    unit: str
    shown: str = ""  # the value as printed, when more than one number (p50/p95/p99)
    ceiling: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ceiling is None or self.value is None or not self.ceiling:
            return None
        return self.value / self.ceiling

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "figure": self.name,
            "value": self.value,
            "unit": self.unit,
            "shown": self.cell_value(),
            "ceiling": self.ceiling,
            "ratio": self.ratio,
            "target": self.target,
            "met": self.met,
            "note": self.note,
        }

    def cell_value(self) -> str:
        if self.shown:
            return self.shown
        return f"{number(self.value)} {self.unit}".strip()


def number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def latency_cell(found: dict[str, float], unit: str = "ms") -> str:
    return (
        f"p50 {number(found.get('p50'))} / p95 {number(found.get('p95'))} / "
        f"p99 {number(found.get('p99'))} {unit}"
    )


def table(figures: list[Figure]) -> str:
    """One Markdown table: figure, value, ceiling, ratio, target, met."""
    rows = [("store", "figure", "value", "ceiling", "ratio", "target", "met")]
    for f in figures:
        ceiling = "" if f.ceiling is None else f"{number(f.ceiling)} {f.unit}".strip()
        ratio = "" if f.ratio is None else f"{f.ratio:.3f}"
        met = "" if f.met is None else ("yes" if f.met else "NO")
        rows.append((f.store, f.name, f.cell_value(), ceiling, ratio, f.target, met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
