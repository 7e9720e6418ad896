"""Policy comparison on standard inpatient profiles (mifund.policy.compare), for the user's regions."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from mifund.users import User
from mifund.web.services.core import Services


def visible_policy_regions(svc: Services, user: User) -> list[str] | None:
    """Regions whose policies the user may compare: the scope and the regions above it (a county
    under a city-wide policy sees the city's). None: all."""
    scope = svc.scope(user)
    if scope is None:
        return None
    out = set(scope)
    code = svc.parent_of(user.region_code)
    while code and code not in out:
        out.add(code)
        code = svc.parent_of(code)
    return sorted(out)


def compare(svc: Services, user: User, amounts: list[float], day: dt.date, *, level: int | None = None,
            category: str | None = None) -> pd.DataFrame:
    from mifund.policy.compare import compare_profiles

    svc.require(user, "compare_policies")
    with svc.locked():
        policies = svc.policies()
    df = compare_profiles(policies, amounts, day=day, regions=visible_policy_regions(svc, user))
    if len(df) and level is not None:
        df = df[df.provider_level == level]
    if len(df) and category:
        df = df[df.category == category]
    return df.reset_index(drop=True)


def compared_policies(svc: Services, user: User, day: dt.date) -> dict:
    """The policies a comparison on `day` covers ({region_code, scheme, name}: named, not by the server's
    directory), and whether they are the demo's policies (a demo assumption, shown as such)."""
    from mifund.demo.generate import DEMO_POLICIES

    with svc.locked():
        policies = svc.policies()
    regions = visible_policy_regions(svc, user)
    names = [{"region_code": p.region_code, "scheme": p.scheme, "name": p.name} for p in policies
             if (not regions or p.region_code in regions) and p.version_at(day) is not None]
    try:
        demo = svc.policy_dir().resolve() == DEMO_POLICIES.resolve()
    except OSError:
        demo = False
    return {"names": names, "demo": demo}


def chart(df: pd.DataFrame, label=None) -> dict:
    """Out-of-pocket curves: one series per region × scheme × category × level, x = bill. `label(region,
    scheme, category, level)` names a series (the pages: in the reader's language)."""
    label = label or (lambda reg, scheme, cat, lvl: f"{reg} {scheme} {cat} L{lvl}")
    series = []
    if len(df):
        for (reg, scheme, cat, lvl), g in df.groupby(["region_code", "scheme", "category", "provider_level"]):
            g = g.sort_values("bill")
            series.append({"name": label(reg, scheme, cat, lvl),
                           "data": [[float(b), float(o)] for b, o in zip(g.bill, g.out_of_pocket, strict=True)]})
    return {"series": series}
