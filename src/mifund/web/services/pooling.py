"""Pooling-mode comparison (mifund.pooling) on a city's ledgers: county pooling, the city adjustment
fund, unified revenue and expenditure — who covers the deficits, treasury top-ups, years below the
safety line. A whole city is compared, so only users who may see that city (and all below it) get it."""

from __future__ import annotations

import pandas as pd

from mifund.users import User
from mifund.web.errors import WebError
from mifund.web.services.core import Services


def cities(svc: Services, user: User) -> list[str]:
    regs = svc.filter_regions(user, svc.regions())
    return sorted(regs.loc[regs.level == "city", "region_code"])


def compare(svc: Services, user: User, city: str, scheme: str = "resident") -> pd.DataFrame:
    svc.check_region(user, city)
    if city not in cities(svc, user):
        raise WebError(f"{city} is not a city", code="validation_error", status=422, key="pooling_not_a_city",
                       params={"city": city})

    def load(wh):
        from mifund.pooling.data import ledger_input
        from mifund.pooling.params import load_modes, safety_line_months
        from mifund.pooling.report import compare as compare_modes
        from mifund.pooling.report import run_modes

        modes = load_modes()
        inp, _ = ledger_input(wh, city=city, scheme=scheme, fund="pooled", targets=modes.targets)
        return compare_modes(run_modes(inp, modes), safety_line_months(modes))

    try:
        return svc.cached(("pooling", city, scheme), load)
    except Exception as e:  # noqa: BLE001 - missing ledgers etc.: say so on the page, not a 500
        raise WebError(f"pooling comparison not possible: {e}", code="pooling_error", status=422) from None
