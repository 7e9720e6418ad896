"""Stored fund projections (mifund.projection.store; tables of migration 0005) for the user's regions:
the fan chart of one unit (region × scheme × fund) and the scenario comparison across runs. Projections
run from the CLI (`mifund project run --store`), never inside a web request."""

from __future__ import annotations

import pandas as pd

from mifund.users import User
from mifund.web.errors import NotFound
from mifund.web.services.core import Services


def runs(svc: Services) -> pd.DataFrame:
    def load(wh):
        r = wh.table("projection_runs")
        return wh.to_pandas(r.order_by(r.started.desc()).drop("scenario_json"))

    return svc.cached("projection_runs", load)


def _results(svc: Services) -> pd.DataFrame:
    def load(wh):
        return wh.to_pandas(wh.table("projection_results"))

    return svc.cached("projection_results", load)


def check_run(svc: Services, run_id: str) -> None:
    if run_id not in set(runs(svc).run_id):
        raise NotFound(f"no projection run {run_id}", code="run_not_found", key="run_not_found",
                       params={"run_id": run_id})


def units(svc: Services, user: User) -> pd.DataFrame:
    """(region_code, scheme, fund) with stored results, in the user's regions."""
    df = svc.filter_regions(user, _results(svc))
    return df[["region_code", "scheme", "fund"]].drop_duplicates().sort_values(["region_code", "scheme"])


def results(svc: Services, user: User, *, region: str | None = None, scheme: str | None = None,
            run_id: str | None = None) -> pd.DataFrame:
    df = svc.filter_regions(user, _results(svc))
    if region:
        svc.check_region(user, region)
        df = df[df.region_code == region]
    if scheme:
        df = df[df.scheme == scheme]
    if run_id:
        check_run(svc, run_id)
        df = df[df.run_id == run_id]
    return df.sort_values(["run_id", "region_code", "scheme", "fund", "year"]).reset_index(drop=True)


def fan(svc: Services, user: User, region: str, scheme: str, run_id: str | None = None) -> dict:
    """History (the ledger's balance of the unit) + one run's central path and percentile bands +
    every run's central path (scenario comparison). An unknown `run_id`: NotFound run_not_found."""
    from mifund.web.services import fund as fund_service

    allruns = runs(svc)
    if run_id:  # an unknown run is a 404, as in the API (never an empty table)
        check_run(svc, run_id)
    if allruns.empty:
        return {"runs": [], "rows": [], "history": [], "scenarios": []}
    run_id = run_id or allruns.run_id.iloc[0]
    df = results(svc, user, region=region, scheme=scheme)
    if df.empty:
        below = svc.subtree(region) - {region}
        if below and _results(svc).region_code.isin(below).any():
            # runs stored before the regions above the modelled units were summed path by path hold the
            # counties only; their percentiles cannot be added up here
            raise NotFound(f"no stored projection for {region} {scheme}: the stored runs hold only the regions "
                           f"below it; run `mifund project run --store` again to store {region} as the sum of "
                           f"its regions", code="projection_not_found")
        raise NotFound(f"no stored projection for {region} {scheme}", code="projection_not_found")
    fund = df.fund.iloc[0]
    one = df[df.run_id == run_id]
    hist = fund_service.indicators(svc, user, region=region, scheme=scheme, fund=fund, subtree=False)
    names = allruns.set_index("run_id").scenario_name.to_dict()
    scen = [{"run_id": rid, "name": f"{names.get(rid, rid)} ({rid[-8:]})",
             "data": [[int(y), float(b)] for y, b in zip(g.year, g.balance_end, strict=True)]}
            for rid, g in df.groupby("run_id")]
    return {"run_id": run_id, "fund": fund, "rows": fund_service.records(one),
            "history": [[int(y), float(b)] for y, b in zip(hist.year, hist.balance_end, strict=True) if pd.notna(b)],
            "scenarios": scen, "runs": fund_service.records(allruns)}
