"""Store projection runs in the warehouse (tables of migration 0005): one transaction, audited.

    run_id = store_projection(wh, central, mc, actor="alice")   # central: paths=0; mc: Monte Carlo or None
    runs = projection_runs(wh)                                    # Ibis table, newest first

A run is modelled per unit (region x scheme with a ledger row, in a municipality: the counties). The city
above them is stored too, as the sum of its counties *path by path* (:func:`with_region_totals`) before any
percentile or probability is taken: percentiles do not add (the sum of the counties' 5th percentiles is far
below the city's 5th percentile), and only the full paths are at hand here; the stored bands are not.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import numpy as np
import pandas as pd

from mifund.projection.engine import Projection
from mifund.projection.summary import bands, depletion, risk, unit_safety_line, yearly

KEY = ["region_code", "scheme", "fund", "year"]


def _ancestors(regions: pd.DataFrame) -> dict[str, list[str]]:
    """region_code -> its strict ancestors, nearest first (a cycle in the tree stops the walk)."""
    parent = {str(c): (str(p).strip() if isinstance(p, str) else "")
              for c, p in zip(regions["region_code"], regions["parent_code"], strict=True)}
    out = {}
    for c in parent:
        seen, chain, p = {c}, [], parent[c]
        while p and p in parent and p not in seen:
            chain.append(p)
            seen.add(p)
            p = parent[p]
        out[c] = chain
    return out


def region_groups(units: pd.DataFrame, regions: pd.DataFrame,
                  ledger_units: pd.DataFrame | None = None) -> list[tuple[str, str, str, list[int]]]:
    """(ancestor, scheme, fund, unit indices) for every region above the units that has no unit of its own
    and whose whole territory the units cover.

    The rule of the indicators (mifund.ledger.indicators): a region with its own figures keeps them,
    otherwise it is the sum of the leaf-most units below it (units with no unit of the same scheme and
    fund further down), so the projected city continues the city's ledger history. ``ledger_units``
    (region_code, scheme: every unit the ledger has in the base year) makes it strict: a region gets a
    total only where the run holds every leaf-most ledger unit of the scheme below it, so a run of two
    counties (``mifund project run --region A --region B``) never passes for their city.
    """
    anc = _ancestors(regions)
    units = units.reset_index(drop=True)                       # indices are positions on the unit axis

    def leaf_most(codes: set[str]) -> set[str]:
        inner = {a for c in codes for a in anc.get(c, [])}     # regions with a unit somewhere below
        return codes - inner                                   # the others' own figures cover them

    required: dict[str, set[str]] = {}
    if ledger_units is not None:
        for scheme, g in ledger_units.groupby("scheme"):
            required[str(scheme)] = leaf_most(set(g["region_code"].astype(str)))
    groups: dict[tuple[str, str, str], list[int]] = {}
    for (scheme, fund), u in units.groupby(["scheme", "fund"], sort=True):
        codes = set(u["region_code"].astype(str))
        leaves = leaf_most(codes)
        for i, c in zip(u.index, u["region_code"].astype(str), strict=True):
            if c in leaves:
                for a in anc.get(c, []):
                    if a not in codes:
                        groups.setdefault((a, str(scheme), str(fund)), []).append(int(i))
    out = []
    for (a, s, f), ix in sorted(groups.items()):
        if ledger_units is not None:
            below = {c for c in required.get(s, set()) if a in anc.get(c, [])}
            if not below or not below <= {str(units.region_code.iloc[i]) for i in ix}:
                continue                                       # part of the region only (or unknown): no total
        out.append((a, s, f, sorted(ix)))
    return out


def with_region_totals(p: Projection, regions: pd.DataFrame | None,
                       ledger_units: pd.DataFrame | None = None) -> Projection:
    """``p`` with one more unit per region above its units (see :func:`region_groups`): every array summed
    over the region's units path by path; payable months, risks and depletion then follow from the sums.

    The enrolment factor of a total is the insured-weighted mean of its units' factors (the engine draws
    one enrolment shock per scheme, so the units of a scheme share it and the in-service and retired
    counts add up exactly).
    """
    from dataclasses import replace

    from mifund.projection.engine import Base

    if regions is None or regions.empty:
        return p
    groups = region_groups(p.base.units, regions, ledger_units)
    if not groups:
        return p
    b = p.base
    names = dict(zip(regions["region_code"].astype(str), regions["name"].fillna("").astype(str), strict=True))
    units = pd.DataFrame([{"region_code": a, "region_name": names.get(a, ""), "scheme": s, "fund": f,
                           "basis": f"sum of {len(ix)} regions, path by path"}
                          for a, s, f, ix in groups]).reindex(columns=[*b.units.columns.drop("basis", errors="ignore"),
                                                                       "basis"])
    idx = [ix for *_, ix in groups]

    def add(x: np.ndarray, axis: int) -> np.ndarray:
        total = np.stack([x.take(ix, axis=axis).sum(axis=axis) for ix in idx], axis=axis)
        return np.concatenate([x, total], axis=axis)

    people = b.insured.sum(axis=1)                            # (U, A, S): the curve's weights
    curve = np.stack([(people[ix] * b.curve[ix]).sum(axis=0) / np.where(people[ix].sum(axis=0) > 0,
                                                                      people[ix].sum(axis=0), 1) for ix in idx])
    base = Base(units=pd.concat([b.units, units], ignore_index=True), base_year=b.base_year,
                insured=add(b.insured, 0), expenditure=add(b.expenditure, 0), contributions=add(b.contributions, 0),
                balance=add(b.balance, 0), curve=np.concatenate([b.curve, curve]), notes=list(b.notes))
    w = p.cohort_active + p.cohort_retired                    # (U, T) persons before the enrolment factor
    persons = add(w[None] * p.enrolment, 1)
    weights = add(w, 0)
    enrol = persons / np.where(weights > 0, weights, 1)[None]
    return replace(p, base=base, enrolment=enrol, cohort_active=add(p.cohort_active, 0),
                   cohort_retired=add(p.cohort_retired, 0), contributions=add(p.contributions, 1),
                   interest=add(p.interest, 1), expenditure=add(p.expenditure, 1), balance=add(p.balance, 1))


def results_frame(central: Projection, mc: Projection | None, rules_path=None) -> pd.DataFrame:
    """Rows of projection_results: warning levels and the safety line (the scenario's level, resolved per
    unit) by the warning rules, ``rules_path`` laid over the shipped ones."""
    y = yearly(central, rules_path=rules_path)
    cols = ["region_code", "scheme", "fund", "year", "insured", "insured_in_service", "insured_retired",
            "income_total", "expenditure_total", "balance_end", "payable_months", "warning_level"]
    out = y[cols].copy()
    for c in ("insured", "insured_in_service", "insured_retired"):
        out[c] = out[c].astype("float64")
    if mc is not None:
        b = bands(mc, "balance").rename(columns={f"p{q}": f"balance_p{q}" for q in (5, 25, 50, 75, 95)})
        r = risk(mc, unit_safety_line(mc, rules_path=rules_path))
        out = out.merge(b[[*KEY, *[f"balance_p{q}" for q in (5, 25, 50, 75, 95)]]], on=KEY, how="left")
        out = out.merge(r[[*KEY, "p_below_safety_line", "p_exhausted"]], on=KEY, how="left")
    return out


def _ledger_units(wh, base_year: int) -> pd.DataFrame:
    """(region_code, scheme) of every unit the warehouse's ledger gives a projection in ``base_year`` (the
    units' own rule: mifund.projection.base.pick_units, insured > 0); empty without ledger rows."""
    led = wh.table("fund_ledger")
    return ledger_units_of(wh.to_pandas(led.filter(led.month.isnull(), led.year == int(base_year))), base_year)


def ledger_units_of(rows: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """:func:`_ledger_units` of ledger rows at hand (a sample's frames)."""
    from mifund.projection.base import pick_units

    rows = rows[(rows["year"] == int(base_year)) & rows["month"].isna()] if "month" in rows else rows
    if rows.empty:
        return pd.DataFrame(columns=["region_code", "scheme"])
    units, _ = pick_units(rows, base_year)
    units = units[units["insured"].fillna(0) > 0]
    return units.assign(region_code=units["region_code"].astype(str))[["region_code", "scheme"]]


def store_projection(wh, central: Projection, mc: Projection | None, *, actor: str,
                     seconds: float | None = None, rules_path=None) -> str:
    """Write one run (the central path, and the Monte Carlo bands when ``mc``); returns its run id.

    The regions above the modelled units (a city above its counties) are stored with them, summed path
    by path (:func:`with_region_totals`); ``units`` of the run counts the modelled units only."""
    s = central.scenario
    regions = wh.to_pandas(wh.table("regions")) if "regions" in wh.con.list_tables() else None
    modelled = len(central.base.units)
    have = _ledger_units(wh, central.base.base_year)
    central = with_region_totals(central, regions, have)
    mc = with_region_totals(mc, regions, have) if mc is not None else None
    run_id = f"P{dt.datetime.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    res = results_frame(central, mc, rules_path).assign(run_id=run_id)
    dep = depletion(mc if mc is not None else central)
    dep = dep[["region_code", "scheme", "fund", "depletion_year", "paths", "share"]].assign(run_id=run_id)
    run = pd.DataFrame([{
        "run_id": run_id, "started": dt.datetime.now(), "actor": actor, "scenario_name": s.name,
        "scenario_file": s.file, "scenario_json": s.model_dump_json(), "base_year": central.base.base_year,
        "years": len(central.years), "paths": 0 if mc is None else mc.balance.shape[0],
        "seed": None if mc is None else mc.seed, "units": modelled, "seconds": seconds,
    }])
    run["seed"] = run["seed"].astype("Int64")
    with wh.transaction():
        wh.append("projection_runs", run)
        wh.append("projection_results", res.replace({np.nan: None}))
        wh.append("projection_depletion", dep)
        wh.audit("project", actor=actor, table_name="projection_runs", record_key={"run_id": run_id},
                 batch_id=run_id, detail=json.dumps({"scenario": s.name, "file": s.file, "rows": len(res),
                                                     "paths": int(run["paths"][0]), "safety_line": s.safety_line,
                                                     "rules": str(rules_path) if rules_path else None},
                                                    ensure_ascii=False))
    return run_id


def projection_runs(wh):
    r = wh.table("projection_runs")
    return r.order_by(r.started.desc())


def projection_results(wh, run_id: str):
    t = wh.table("projection_results")
    return t.filter(t.run_id == run_id).order_by(["region_code", "scheme", "year"])
