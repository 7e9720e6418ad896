"""The starting point of a projection (:class:`~mifund.projection.engine.Base`) from the warehouse.

One unit per region x scheme with its own annual ledger row in the base year: the employee
``pooled`` fund (``combined`` where the fund is only reported pooled + account together), the resident
``pooled`` fund. For each unit:

- **insured by state, band and sex**: from the enrolment table where it covers the unit (persons
  counted by age at the middle of the enrolment year, retired = category ``retired``), else from the
  region's population by band and sex (employees: in service below the statutory age of the base
  year, retired above it), else from the reference age structure (2020 census); always scaled to the
  ledger's insured (in-service and retired separately where the ledger has them).
- **cost curve**: the reference age curve, or (``expenditure_curve: claims``) fund payments per
  enrolled person by scheme, band and sex measured from stored settlement results (Ibis expression;
  bands with fewer than ``MIN_PERSONS`` persons keep the reference shape).
- **expenditure, contributions (income less interest), balance** of the base year, from the ledger.
"""

from __future__ import annotations

from importlib import resources

import ibis
import numpy as np
import pandas as pd

from mifund.projection.engine import ACTIVE, RETIRED, Base
from mifund.projection.tables import AGES, BANDS, N_BANDS, SEXES, load_age_curve, load_age_structure

MIN_PERSONS = 30
_BAND_INDEX = {b: i for i, b in enumerate(BANDS)}


def _band_of_label(label: str) -> int | None:
    label = str(label).strip()
    if label in _BAND_INDEX:
        return _BAND_INDEX[label]
    try:
        lo = int(label.split("-")[0].rstrip("+"))
    except ValueError:
        return None
    return min(lo // 5, N_BANDS - 1)


def _employee_split(structure: np.ndarray, ages=(60.0, 52.5)) -> np.ndarray:
    """(2, A, S): a population structure split into working (20 to the statutory age) and retired."""
    lo = np.asarray(AGES, dtype=float)[:, None]
    r = np.asarray(ages, dtype=float)[None, :]
    working = np.clip((r - lo) / 5, 0, 1) * (lo >= 20)
    retired = (1 - np.clip((r - lo) / 5, 0, 1)) * (lo >= 45)
    return np.stack([structure * working, structure * retired])


def _scale(shape: np.ndarray, scheme: str, row: pd.Series) -> np.ndarray:
    """(2, A, S) persons: a state x band x sex shape scaled to the ledger's insured."""
    out = np.zeros((2, N_BANDS, 2))
    insured = float(row["insured"])
    if scheme == "resident":
        s = shape.sum(axis=0)
        out[ACTIVE] = s / s.sum() * insured
        return out
    n_in, n_ret = row.get("insured_in_service"), row.get("insured_retired")
    if pd.notna(n_in) and pd.notna(n_ret) and shape[ACTIVE].sum() > 0 and shape[RETIRED].sum() > 0:
        out[ACTIVE] = shape[ACTIVE] / shape[ACTIVE].sum() * float(n_in)
        out[RETIRED] = shape[RETIRED] / shape[RETIRED].sum() * float(n_ret)
    else:
        out[:] = shape / shape.sum() * insured
    return out


def pick_units(ledger: pd.DataFrame, base_year: int | None = None) -> tuple[pd.DataFrame, int]:
    """The base-year ledger row of every region x scheme (employee pooled, else combined)."""
    led = ledger[ledger["month"].isna()] if "month" in ledger.columns else ledger
    if led.empty:
        raise ValueError("no annual fund_ledger rows to project from")
    year = int(led["year"].max()) if base_year is None else int(base_year)
    led = led[led["year"] == year]
    if led.empty:
        raise ValueError(f"no annual fund_ledger rows in base year {year}")
    rank = {("resident", "pooled"): 0, ("employee", "pooled"): 0, ("employee", "combined"): 1}
    led = led.assign(_rank=[rank.get((s, f), 9) for s, f in zip(led["scheme"], led["fund"], strict=True)])
    led = led[led["_rank"] < 9].sort_values(["region_code", "scheme", "_rank"])
    units = led.groupby(["region_code", "scheme"], as_index=False).first().drop(columns="_rank")
    return units.reset_index(drop=True), year


def build_base(ledger: pd.DataFrame, *, population: pd.DataFrame | None = None,
               enrollment_counts: pd.DataFrame | None = None, curves: dict[str, np.ndarray] | None = None,
               regions: pd.DataFrame | None = None, base_year: int | None = None,
               region_codes: list[str] | None = None, schemes: list[str] | None = None,
               tables=None) -> Base:
    """A Base from data-contract frames.

    ``enrollment_counts``: region_code, scheme, state (0 in service / resident, 1 retired), band (0..17),
    sex, persons. ``curves``: scheme -> (A, S) relative cost (default: the reference curve).
    ``tables``: the scenario's ``tables`` (its own age_cost_curve / age_structure files; None = shipped).
    """
    units, year = pick_units(ledger, base_year)
    if schemes:
        if unknown := [s for s in schemes if s not in ("employee", "resident")]:
            raise ValueError(f"unknown scheme {', '.join(map(str, unknown))}: employee or resident")
        units = units[units["scheme"].isin(schemes)]
    if region_codes:
        codes = units["region_code"].astype(str)
        if unknown := [str(r) for r in region_codes if str(r) not in set(codes)]:
            have = sorted(set(codes))
            raise ValueError(f"unknown region {', '.join(unknown)}: the {year} fund ledger has no annual "
                             f"{'/'.join(schemes) + ' ' if schemes else ''}row for it (it has "
                             f"{', '.join(have[:8])}{', ...' if len(have) > 8 else ''})")
        units = units[codes.isin([str(r) for r in region_codes])]
    empty = units["insured"].fillna(0) <= 0
    notes: list[str] = [f"left out {r} {sc}: no insured persons in the {year} ledger (insured = "
                        f"{'missing' if pd.isna(n) else f'{n:g}'}), nothing to project"
                        for r, sc, n in zip(units["region_code"][empty], units["scheme"][empty],
                                            units["insured"][empty], strict=True)]
    units = units[~empty].reset_index(drop=True)
    if units.empty:
        raise ValueError(f"no region x scheme with insured persons in the base year {year}"
                         + (f" ({'; '.join(n.removeprefix('left out ') for n in notes)})" if notes else ""))
    ref_structure = load_age_structure(getattr(tables, "age_structure", None)).array()
    ref_curve = load_age_curve(getattr(tables, "age_cost_curve", None)).array()
    curve_name = f"from {tables.age_cost_curve}" if getattr(tables, "age_cost_curve", None) else "reference"
    structure_name = (f"reference age structure ({tables.age_structure})" if getattr(tables, "age_structure", None)
                      else "reference age structure (2020 census)")
    curves = curves or {}
    insured, curve = [], []
    for _, row in units.iterrows():
        region, scheme = row["region_code"], row["scheme"]
        shape, how = None, structure_name
        if enrollment_counts is not None and not enrollment_counts.empty:
            e = enrollment_counts[(enrollment_counts["region_code"] == region) & (enrollment_counts["scheme"] == scheme)]
            if e["persons"].sum() > 0:
                shape = np.zeros((2, N_BANDS, 2))
                np.add.at(shape, (e["state"].to_numpy(int), e["band"].to_numpy(int),
                                  e["sex"].map({"M": 0, "F": 1}).to_numpy(int)), e["persons"].to_numpy(float))
                how = "enrolment"
        if (shape is None and population is not None and not population.empty
                and {"age_band", "sex"} <= set(population.columns)):
            p = population[(population["region_code"] == region) & (population["year"] <= year)
                           & population["age_band"].notna() & population["sex"].isin(SEXES)]
            if not p.empty:
                p = p[p["year"] == p["year"].max()]
                s = np.zeros((N_BANDS, 2))
                for band, sex, persons in zip(p["age_band"], p["sex"], p["persons"], strict=True):
                    b = _band_of_label(band)
                    if b is not None:
                        s[b, SEXES.index(sex)] += float(persons)
                if s.sum() > 0:
                    shape = _employee_split(s) if scheme == "employee" else np.stack([s, np.zeros_like(s)])
                    how = f"population {int(p['year'].max())}"
        if shape is None:
            shape = (_employee_split(ref_structure) if scheme == "employee"
                     else np.stack([ref_structure, np.zeros_like(ref_structure)]))
        insured.append(_scale(shape, scheme, row))
        curve.append(curves.get(scheme, ref_curve))
        notes.append(f"{region} {scheme}: age structure from {how}; cost curve "
                     f"{'claims' if scheme in curves else curve_name}")
    income = units["income_total"].astype(float)
    interest = units["income_interest"].astype(float).fillna(0) if "income_interest" in units else 0.0
    names = pd.Series([""] * len(units))
    if regions is not None and not regions.empty:
        names = units["region_code"].map(dict(zip(regions["region_code"], regions["name"], strict=True))).fillna("")
    out_units = pd.DataFrame({"region_code": units["region_code"].astype(str), "region_name": names.to_numpy(),
                              "scheme": units["scheme"], "fund": units["fund"]})
    return Base(units=out_units, base_year=year, insured=np.array(insured),
                expenditure=units["expenditure_total"].astype(float).to_numpy(),
                contributions=(income - interest).to_numpy(),
                balance=units["balance_end"].astype(float).to_numpy(), curve=np.array(curve), notes=notes)


# -- warehouse ----------------------------------------------------------------------------------------
def enrollment_counts_expr(wh) -> ibis.Table:
    """Persons by region, scheme, state, band and sex in each region x scheme's latest enrolment year."""
    e = wh.table("enrollment")
    latest = e.group_by(["region_code", "scheme"]).aggregate(_y=e.year.max())
    e = e.join(latest, ["region_code", "scheme"]).filter(lambda t: t.year == t._y)
    age = e.year - e.birth_date.year()
    band = ibis.least(ibis.greatest(age, 0) // 5, N_BANDS - 1)
    state = ibis.ifelse(e.category == "retired", RETIRED, ACTIVE)
    e = e.mutate(band=band.cast("int64"), state=state)
    return e.group_by(["region_code", "scheme", "state", "band", "sex"]).aggregate(persons=e.person_id.nunique())


def claims_curve_expr(wh) -> ibis.Table:
    """Fund payments (pooled + catastrophic) per enrolled person by scheme, band, sex in claim years."""
    e = wh.table("enrollment")
    e = e.select("person_id", "year", "scheme", "sex", band=ibis.least(
        ibis.greatest(e.year - e.birth_date.year(), 0) // 5, N_BANDS - 1).cast("int64")).distinct(
        on=["person_id", "year"], keep="first")
    spy = wh.table("settlement_person_year")
    years = spy.select("year").distinct()
    e = e.semi_join(years, "year")
    paid = spy.select("person_id", "year", paid=(spy.pooled_fund_paid + spy.catastrophic_paid).cast("float64"))
    j = e.left_join(paid, ["person_id", "year"])
    return j.group_by(["scheme", "band", "sex"]).aggregate(persons=j.count(), paid=j.paid.fill_null(0).sum())


def claims_curves(wh, age_cost_curve: str | None = None) -> dict[str, np.ndarray]:
    """scheme -> (A, S) relative cost per insured measured from settled claims (reference shape where thin:
    the shipped curve, or ``age_cost_curve``, a scenario's own)."""
    df = wh.to_pandas(claims_curve_expr(wh))
    ref = load_age_curve(age_cost_curve).array()
    out = {}
    for scheme, g in df.groupby("scheme"):
        per = np.full((N_BANDS, 2), np.nan)
        n = np.zeros((N_BANDS, 2))
        for b, s, persons, paid in zip(g["band"], g["sex"], g["persons"], g["paid"], strict=True):
            if s in SEXES:
                n[int(b), SEXES.index(s)] = persons
                per[int(b), SEXES.index(s)] = paid / persons if persons else np.nan
        ok = (n >= MIN_PERSONS) & np.isfinite(per) & (per > 0)
        if not ok.any():
            continue
        level = np.sum(per[ok] * n[ok]) / np.sum(ref[ok] * n[ok])   # reference scaled to the measured level
        out[str(scheme)] = np.where(ok, per, ref * level)
    return out


def base_from_warehouse(wh, *, base_year: int | None = None, curve: str = "reference",
                        region_codes: list[str] | None = None, schemes: list[str] | None = None,
                        tables=None) -> Base:
    """Read ledger, population, regions and enrolment from the warehouse (Ibis), then build_base.

    ``tables``: the scenario's ``tables`` (None = the shipped ones)."""
    led = wh.table("fund_ledger")
    ledger = wh.to_pandas(led.filter(led.month.isnull()))
    population = wh.to_pandas(wh.table("population"))
    regions = wh.to_pandas(wh.table("regions"))
    counts = wh.to_pandas(enrollment_counts_expr(wh)) if wh.count("enrollment") else None
    curves = None
    if curve == "claims":
        if not wh.count("settlement_person_year"):
            raise ValueError("expenditure_curve: claims needs stored settlement results (mifund settle warehouse)")
        curves = claims_curves(wh, getattr(tables, "age_cost_curve", None))
    base = build_base(ledger, population=population, enrollment_counts=counts, curves=curves, regions=regions,
                      base_year=base_year, region_codes=region_codes, schemes=schemes, tables=tables)
    return base


def national_sample_frames() -> dict[str, pd.DataFrame]:
    """The packaged national sample (mifund/samples/national): fund_ledger, population, regions."""
    root = resources.files("mifund.samples").joinpath("national")
    out = {}
    for name in ("fund_ledger", "population", "regions"):
        with resources.as_file(root.joinpath(f"{name}.csv")) as f:
            out[name] = pd.read_csv(f, dtype={"region_code": str, "parent_code": str})
    led = out["fund_ledger"]
    if "month" not in led.columns:
        led["month"] = np.nan
    return out


def national_base(base_year: int | None = None) -> Base:
    """Base for the national sample: the reference age structure scaled to the national ledger."""
    f = national_sample_frames()
    return build_base(f["fund_ledger"], population=f["population"], regions=f["regions"], base_year=base_year)
