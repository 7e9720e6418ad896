"""Fan chart and tornado as PNG (matplotlib, Agg backend; CJK labels use an installed CJK font if any)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for cjk in ("WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC"):
        if cjk in names:
            plt.rcParams["font.sans-serif"] = [cjk, "DejaVu Sans"]
            break
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def fan_chart(proj, unit: int, path: Path, *, scale: float = 1e8, unit_label: str = "亿元") -> Path:
    """Balance percentiles 5-95 / 25-75 and the median of one unit, with the central path and zero."""
    plt = _plt()
    x = proj.balance[:, unit, :] / scale
    q = np.percentile(x, [5, 25, 50, 75, 95], axis=0)
    u = proj.base.units.iloc[unit]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.fill_between(proj.years, q[0], q[4], alpha=0.2, color="tab:blue", label="5-95%")
    ax.fill_between(proj.years, q[1], q[3], alpha=0.35, color="tab:blue", label="25-75%")
    ax.plot(proj.years, q[2], color="tab:blue", label="median")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_title(f"{u.region_code} {u.region_name} {u.scheme}: accumulated balance 累计结存 ({proj.scenario.name})")
    ax.set_ylabel(unit_label)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def tornado_chart(df: pd.DataFrame, path: Path, *, horizon: int = 10, scale: float = 1e8,
                  unit_label: str = "亿元") -> Path:
    """Bars from the low to the high end of each assumption, around the central year-``horizon`` balance."""
    plt = _plt()
    d = df.iloc[::-1]
    c = d[f"balance_y{horizon}_central"].iloc[0] / scale
    lo, hi = d[f"balance_y{horizon}_low"] / scale, d[f"balance_y{horizon}_high"] / scale
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(d) + 1.5), dpi=110)
    y = np.arange(len(d))
    ax.barh(y, lo - c, left=c, color="tab:red", label="low end")
    ax.barh(y, hi - c, left=c, color="tab:green", label="high end")
    ax.axvline(c, color="black", lw=0.8)
    ax.set_yticks(y, d["assumption"])
    ax.set_xlabel(f"balance in year {horizon} ({unit_label})")
    ax.set_title(f"Sensitivity 敏感性: {d['region_code'].iloc[0]} {d['scheme'].iloc[0]}")
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
