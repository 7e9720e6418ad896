"""Number formats of the pages (Jinja filters registered by web/app.py)."""

from __future__ import annotations

import math


def fixed(value, digits: int = 1, thousands: bool = False, scale: float = 1) -> str:
    """`value / scale` with `digits` decimals (and thousands separators): '—' for no value, and never a
    negative zero ('-0.0' reads as a deficit or a shortfall where there is none: it shows as 0.0)."""
    if value is None:
        return "—"
    try:
        v = float(value) / scale
    except (TypeError, ValueError):
        return "—"
    if math.isnan(v):
        return "—"
    text = f"{v:,.{digits}f}" if thousands else f"{v:.{digits}f}"
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        text = text[1:]
    return text


FILTERS = {"fixed": fixed}
