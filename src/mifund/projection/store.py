"""Store projection runs in the warehouse (tables of migration 0005): one transaction, audited.

    run_id = store_projection(wh, central, mc, actor="alice")   # central: paths=0; mc: Monte Carlo or None
    runs = projection_runs(wh)                                    # Ibis table, newest first
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import numpy as np
import pandas as pd

from mifund.projection.engine import Projection
from mifund.projection.summary import bands, depletion, risk, safety_line, yearly

KEY = ["region_code", "scheme", "fund", "year"]


def results_frame(central: Projection, mc: Projection | None) -> pd.DataFrame:
    y = yearly(central)
    cols = ["region_code", "scheme", "fund", "year", "insured", "insured_in_service", "insured_retired",
            "income_total", "expenditure_total", "balance_end", "payable_months", "warning_level"]
    out = y[cols].copy()
    for c in ("insured", "insured_in_service", "insured_retired"):
        out[c] = out[c].astype("float64")
    if mc is not None:
        b = bands(mc, "balance").rename(columns={f"p{q}": f"balance_p{q}" for q in (5, 25, 50, 75, 95)})
        r = risk(mc, safety_line(mc.scenario.safety_line))
        out = out.merge(b[[*KEY, *[f"balance_p{q}" for q in (5, 25, 50, 75, 95)]]], on=KEY, how="left")
        out = out.merge(r[[*KEY, "p_below_safety_line", "p_exhausted"]], on=KEY, how="left")
    return out


def store_projection(wh, central: Projection, mc: Projection | None, *, actor: str,
                     seconds: float | None = None) -> str:
    """Write one run (the central path, and the Monte Carlo bands when ``mc``); returns its run id."""
    s = central.scenario
    run_id = f"P{dt.datetime.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    res = results_frame(central, mc).assign(run_id=run_id)
    dep = depletion(mc if mc is not None else central)
    dep = dep[["region_code", "scheme", "fund", "depletion_year", "paths", "share"]].assign(run_id=run_id)
    run = pd.DataFrame([{
        "run_id": run_id, "started": dt.datetime.now(), "actor": actor, "scenario_name": s.name,
        "scenario_file": s.file, "scenario_json": s.model_dump_json(), "base_year": central.base.base_year,
        "years": len(central.years), "paths": 0 if mc is None else mc.balance.shape[0],
        "seed": None if mc is None else mc.seed, "units": len(central.base.units), "seconds": seconds,
    }])
    run["seed"] = run["seed"].astype("Int64")
    with wh.transaction():
        wh.append("projection_runs", run)
        wh.append("projection_results", res.replace({np.nan: None}))
        wh.append("projection_depletion", dep)
        wh.audit("project", actor=actor, table_name="projection_runs", record_key={"run_id": run_id},
                 batch_id=run_id, detail=json.dumps({"scenario": s.name, "file": s.file, "rows": len(res),
                                                     "paths": int(run["paths"][0])}, ensure_ascii=False))
    return run_id


def projection_runs(wh):
    r = wh.table("projection_runs")
    return r.order_by(r.started.desc())


def projection_results(wh, run_id: str):
    t = wh.table("projection_results")
    return t.filter(t.run_id == run_id).order_by(["region_code", "scheme", "year"])
