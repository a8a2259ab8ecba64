"""Geometry for the inline SVG charts; the templates draw them (so every label goes through autoescape)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

ROW_H = 26
LABEL_W = 250
PLOT_W = 300
VALUE_W = 70


@dataclass
class BarRow:
    label: str
    sublabel: str
    value: float | None
    ci: tuple[float, float] | None
    note: str = ""  # why there is no bar
    y: float = 0.0
    x0: float = 0.0
    x1: float = 0.0
    ci_x: tuple[float, float] | None = None


@dataclass
class BarChart:
    """Horizontal bars from zero with 95% CI whiskers; rows without a value keep their place with a note."""

    rows: list[BarRow]
    lo: float = 0.0
    hi: float = 1.0
    ticks: list[tuple[float, float]] = field(default_factory=list)  # (x, value)
    width: int = LABEL_W + PLOT_W + VALUE_W
    height: float = 0.0
    left: int = LABEL_W
    plot_w: int = PLOT_W


def _x(v: float, lo: float, hi: float) -> float:
    return LABEL_W + (v - lo) / (hi - lo) * PLOT_W


def bar_chart(rows: Sequence[BarRow]) -> BarChart:
    nums = [0.0, 1.0]
    for r in rows:
        if r.value is not None:
            nums.append(r.value)
        if r.ci:
            nums.extend(r.ci)
    lo, hi = min(nums), max(nums)
    chart = BarChart(list(rows), lo, hi)
    for i, r in enumerate(chart.rows):
        r.y = 20 + i * ROW_H
        if r.value is not None:
            a, b = _x(0.0, lo, hi), _x(r.value, lo, hi)
            r.x0, r.x1 = min(a, b), max(a, b)
        if r.ci:
            r.ci_x = (_x(r.ci[0], lo, hi), _x(r.ci[1], lo, hi))
    steps = 4
    chart.ticks = [(_x(lo + (hi - lo) * i / steps, lo, hi), round(lo + (hi - lo) * i / steps, 2)) for i in range(steps + 1)]
    chart.height = 20 + len(chart.rows) * ROW_H + 8
    return chart


@dataclass
class Point:
    label: str
    x: float
    y: float
    own: bool  # a run of this report/comparison (drawn large) vs a reference model
    x_ci: tuple[float, float] | None = None
    y_ci: tuple[float, float] | None = None


@dataclass
class Scatter:
    """A unit square (0–1 on both axes) of points, e.g. refusal of safe vs harmful prompts."""

    points: list[dict[str, Any]]
    size: int = 320
    pad: int = 48


def scatter(points: Sequence[Point], size: int = 320, pad: int = 48) -> Scatter:
    def sx(v: float) -> float:
        return pad + v * size

    def sy(v: float) -> float:
        return pad + (1 - v) * size

    out = []
    for p in points:
        out.append({
            "label": p.label, "own": p.own, "cx": sx(p.x), "cy": sy(p.y), "x": p.x, "y": p.y,
            "x_ci": (sx(p.x_ci[0]), sx(p.x_ci[1])) if p.x_ci else None,
            "y_ci": (sy(p.y_ci[0]), sy(p.y_ci[1])) if p.y_ci else None,
        })
    return Scatter(out, size, pad)
