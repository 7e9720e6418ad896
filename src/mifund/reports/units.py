"""Units and number formatting of the report: amounts in 万元 (10 thousand yuan), rounded half up.

Chinese statistical reports round half up (四舍五入), not half to even, and a float division is not
exact (10,050 yuan is 1.0049999… 万元 as a float, which ``round`` takes to 1.00). So the conversion
goes through ``Decimal``: the yuan figure (stored exactly to the fen, DECIMAL(18,2) in the warehouse)
is divided by 10,000 and quantised to 0.01 with ROUND_HALF_UP (-0.005 goes to -0.01: half away from
zero, as the statistical rule has it for negative figures too).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

WAN = Decimal(10_000)
CENT = Decimal("0.01")


def _is_missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float | np.floating) and math.isnan(v))


def round_half_up(v, places: int = 2) -> float | None:
    """A number rounded half up (away from zero) to `places` decimals; None for a missing value."""
    if _is_missing(v):
        return None
    d = v if isinstance(v, Decimal) else Decimal(repr(float(v)))
    return float(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def yuan_to_wan(v) -> float | None:
    """Yuan -> 万元 rounded half up to 0.01; None for a missing value.

    A float is taken at its shortest repr (30114890.22 is read as exactly 30114890.22 yuan), which is
    exact for every amount stored to the fen.
    """
    if _is_missing(v):
        return None
    d = v if isinstance(v, Decimal) else Decimal(repr(float(v)))
    return float((d / WAN).quantize(CENT, rounding=ROUND_HALF_UP))


def wan_series(s: pd.Series) -> pd.Series:
    """yuan_to_wan over a Series (report tables have at most a few thousand rows)."""
    return pd.Series([yuan_to_wan(v) for v in s], index=s.index, dtype="float64")


# -- text formatting (the sentences and the HTML tables; Excel keeps numbers with a number format) -----
def fmt_number(v, decimals: int = 2) -> str | None:
    if _is_missing(v):
        return None
    return f"{v:,.{decimals}f}"


def fmt_int(v) -> str | None:
    if _is_missing(v):
        return None
    return f"{int(round(float(v))):,}"


def fmt_pct(v, decimals: int = 2) -> str | None:
    """A ratio as a percentage: 0.0899 -> '8.99%'."""
    if _is_missing(v) or not math.isfinite(float(v)):
        return None
    return f"{float(v) * 100:.{decimals}f}%"


KINDS = ("text", "int", "wan", "yuan", "pct", "months", "ratio", "ratio4")


def fmt_cell(v, kind: str) -> str:
    """A table cell as text; missing values as an em dash."""
    if kind == "text":
        return "—" if _is_missing(v) else str(v)
    s = {
        "int": fmt_int,
        "wan": lambda x: fmt_number(x, 2),
        "yuan": lambda x: fmt_number(x, 2),
        "pct": fmt_pct,
        "months": lambda x: fmt_number(x, 1),
        "ratio": lambda x: fmt_number(x, 2),
        "ratio4": lambda x: fmt_number(x, 4),
    }[kind](v)
    return "—" if s is None else s
