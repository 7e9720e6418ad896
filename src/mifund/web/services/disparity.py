"""Regional disparity (mifund.disparity) among the counties of the user's regions: the weighted Lorenz
curve of a year, Gini / Theil by year and the Theil decomposition (between and within groups). A
user who sees fewer than two counties gets nothing to compare (never other regions' figures)."""

from __future__ import annotations

import pandas as pd

from mifund.users import User
from mifund.web.errors import WebError
from mifund.web.services.core import Services
from mifund.web.services.fund import check_year, records


def _frame(svc: Services, indicator: str, weight: str, scheme: str) -> pd.DataFrame:
    def load(wh):
        from mifund.disparity.data import indicator_frame

        fund = "pooled" if scheme == "resident" else "combined"
        return indicator_frame(wh, indicator, scheme=scheme, fund=fund, weight=weight)

    return svc.cached(("disparity", indicator, weight, scheme), load)


def disparity(svc: Services, user: User, *, indicator: str, weight: str = "population", scheme: str = "resident",
              year: int | None = None) -> dict:
    """The Lorenz curve of `year` (default: the latest), the measures by year. A year without figures:
    NotFound year_not_found."""
    from mifund.disparity.data import INDICATORS, WEIGHTS, disparity_by_year
    from mifund.disparity.measures import lorenz

    if indicator not in INDICATORS or weight not in WEIGHTS:
        raise WebError("unknown indicator or weight", code="validation_error", status=422)
    frame = svc.filter_regions(user, _frame(svc, indicator, weight, scheme))
    frame = frame.dropna(subset=["value", "weight"])
    if frame.region_code.nunique() < 2:
        return {"enough": False}
    years = sorted(int(y) for y in frame.year.unique())
    # a year asked for that has no figures is refused (never silently another year's curve)
    check_year(year, years, "disparity figures")
    year = year if year is not None else years[-1]
    by_year = disparity_by_year(frame)
    one = frame[frame.year == year].sort_values("value")
    curve = lorenz(one.value, one.weight)
    return {"enough": True, "year": year, "years": years, "by_year": records(by_year), "regions": records(one),
            "lorenz": [[float(a), float(b)] for a, b in zip(curve.weight_share, curve.value_share, strict=True)],
            "indicators": {k: v for k, v in INDICATORS.items()}}
