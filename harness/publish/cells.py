"""How a board value reads on a page or in an exported table: display unit, scale, rounding, marks.

Board values are already on their display scale for scores (x100); efficiency values are raw (bytes,
parameters, FLOPs) and are scaled here. A missing value reads "not measured", never 0.
"""

from __future__ import annotations

from harness.tracks.columns import JOULES_PER_KWH, Column, Value, absent_text

NOT_MEASURED = "not measured"
# board column unit -> (divide by, unit shown in headers)
SCALES = {
    "parameters": (1e6, "M"),
    "bytes": (float(2**20), "MiB"),
    "FLOPs": (1e9, "GFLOPs"),
    "ms": (1.0, "ms"),
    "examples/s": (1.0, "examples/s"),
    "kWh": (1 / JOULES_PER_KWH, "J"),  # energy reads in joules: 6.88e-06 kWh is 24.8 J
}
SCORE_UNITS = ("points (0-100)", "points above the reference curve", "score points")


def display_unit(column: Column) -> str:
    """The unit a column's cells are shown in: `M`, `MiB`, `GFLOPs`, `ms`, `0-100`, ..."""
    if column.unit in SCALES:
        return SCALES[column.unit][1]
    if column.unit == "points (0-100)":
        return "0-100"
    if column.unit in SCORE_UNITS:
        return "points"
    return column.unit


def scaled(column: Column, value: float | int | None) -> float | None:
    """The value in the column's display unit (None stays None)."""
    if value is None:
        return None
    return value / SCALES[column.unit][0] if column.unit in SCALES else float(value)


def number(x: float) -> str:
    """About three significant digits without exponents for ordinary magnitudes.

    >>> [number(v) for v in (22.71, 4.386, 110.2, 1234.5, 0.6, 0.000123)]
    ['22.7', '4.39', '110', '1,234', '0.600', '0.000123']
    """
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1 or a == 0:
        return f"{x:.2f}"
    if a >= 0.01:
        return f"{x:.3f}"
    return f"{x:.3g}"


def text(column: Column, value: float | int | None) -> str:
    """A value as its cell reads, without provenance mark: scores with two decimals, `not measured` if None."""
    if value is None:
        return NOT_MEASURED
    if column.unit == "points above the reference curve":
        return f"{value:+.2f}"
    if column.unit in SCORE_UNITS:
        return f"{value:.2f}"
    return number(scaled(column, value))  # type: ignore[arg-type]


def reading(column: Column, value: float | int | None) -> str:
    """A value with its unit as a sentence reads it, the number as its cell shows it: `86.10 (of 100)` for a
    0-100 score, `+1.20 points` above a reference curve, `30.0 M`, `24.8 J`; `not measured` if None."""
    if value is None:
        return NOT_MEASURED
    shown = text(column, value)
    if column.unit == "points (0-100)":
        return f"{shown} (of 100)"
    if column.unit in SCORE_UNITS:
        return f"{shown} points"
    return f"{shown} {display_unit(column)}"


def gap(column: Column, difference: float | int) -> str:
    """The size of a difference between two values of a column: `1.22 points` for scores (two decimals, as
    their cells), `2.00 MiB` for a cost in its display unit."""
    size = abs(float(difference))
    if column.unit in SCORE_UNITS:
        return f"{size:.2f} point{'' if f'{size:.2f}' == '1.00' else 's'}"
    return f"{number(scaled(column, size) or 0.0)} {display_unit(column)}"


def absent(value: Value | None) -> str:
    """What a page cell without a number reads (columns.absent_text): k of n tasks, failed, or not measured."""
    return absent_text(value, NOT_MEASURED)


def exact(column: Column, value: float | int | None) -> str:
    """The unscaled value with its stored unit, for tooltips: `22,713,216 parameters`."""
    if value is None:
        return NOT_MEASURED
    if column.integer or (isinstance(value, float) and value.is_integer() and abs(value) >= 1000):
        return f"{int(value):,} {column.unit}"
    return f"{value:.6g} {column.unit}"


GROUP_ORDER = ("score", "efficiency", "utility", "task", "diagnostic")


def ordered_columns(columns: tuple[Column, ...] | list[Column]) -> list[Column]:
    """Display order on pages and in exports: aggregate scores, efficiency, Dynascore, then per-task scores."""
    return sorted(columns, key=lambda c: GROUP_ORDER.index(c.group) if c.group in GROUP_ORDER else len(GROUP_ORDER))


def label(column: Column) -> str:
    """The column's label, marked when it is a diagnostic task outside the score: `ax (diagnostic)`."""
    return column.label + (" (diagnostic)" if column.group == "diagnostic" else "")


def header(column: Column) -> str:
    """Column header text with its display unit: `Parameters (M)`, `cola (0-100)`."""
    return f"{label(column)} ({display_unit(column)})"


def interval_text(column: Column, ci: tuple[float, float]) -> str:
    """`95% interval [low, high]`, both as the column's cells show them."""
    return f"95% interval [{text(column, ci[0])}, {text(column, ci[1])}]"
