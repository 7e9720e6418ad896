"""Generate the synthetic demo municipality (Nanchang's real region codes, synthetic everything else).

    from mifund.demo import generate
    result = generate("small", seed=1, out_dir="demo_data")   # about 20 thousand insured, seconds

Writes, in the formats of the data contract: regions, population, providers, catalog, fund_ledger (CSV,
each row carrying a `synthetic` note or a `source` naming the generator), enrollment, claims, claim_lines
(Parquet, key-value metadata `mifund.synthetic=true`), README_SYNTHETIC.md, and the planted abuse and
near-misses in truth/labels.csv (a sub-directory, so `mifund import DIR` never picks it up).

Persons are generated county by county in chunks of CHUNK_PERSONS with NumPy; a chunk's claims and
lines are written as Parquet row groups and only aggregates are kept, so memory stays bounded at any
size. Every chunk has its own random stream (seed, county, chunk), so the output is a function of the
seed and size only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mifund.demo import abuse
from mifund.demo import calibration as K
from mifund.demo import items as I
from mifund.demo.codes import (
    CHRONIC,
    EMPLOYEE,
    INPATIENT,
    OUTPATIENT,
    PHARMACY,
    RESIDENT,
    VISIT_CODES,
)

DEMO_POLICIES = Path(__file__).parent / "policies"
SIZES = {"small": 20_000, "medium": 500_000, "large": 5_000_000}
CHUNK_PERSONS = 200_000
SYNTHETIC_NOTE = "SYNTHETIC demo data (mifund demo generate) - not real persons or accounts"
Progress = Callable[[str, int, int], None]

# Scheme utilisation multipliers: employees (and above all retirees) use more and dearer care than
# residents; chosen so that the latest year's expenditure/income ratios come near the national 2024
# ledger (reference national_fund_ledger.csv: employee pooled 0.76, resident 0.95).
EMPLOYEE_USE = {"rate": 1.30, "cost": 1.30, "outpatient": 1.5}
RESIDENT_USE = {"rate": 1.20}  # resident admissions: NHSA bulletins put the resident inpatient rate near 0.18

# The age and employee factors raise the all-patient mean cost by about 11%; this brings the means by
# provider level back to the bulletin figures (calibration.ADMISSION_COST, OUTPATIENT_COST).
COST_NORM = 0.90

CATS = ("in_service", "retired", "flexible", "resident_adult", "resident_minor", "student")
GROUPS = ("none", "low_income", "extreme_poverty", "relapse_risk", "disabled")
IN_SERVICE, RETIRED, FLEXIBLE, RES_ADULT, RES_MINOR, STUDENT = range(6)


@dataclass
class Result:
    out_dir: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _size(size) -> int:
    if isinstance(size, str):
        if size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(SIZES)} or a number of insured persons")
        return SIZES[size]
    n = int(size)
    if n < 500:
        raise ValueError("at least 500 insured persons")
    return n


def _largest_remainder(total: int, shares) -> np.ndarray:
    raw = np.asarray(shares, float) / np.sum(shares) * total
    out = np.floor(raw).astype(np.int64)
    rest = total - out.sum()
    out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return out


# -- age structure -----------------------------------------------------------------------------------
def band_probs(share_60: float) -> np.ndarray:
    w = np.asarray(K.CENSUS_2020_BANDS, float)
    old = np.asarray(K.BAND_LOW) >= 60
    w[~old] *= (1 - share_60) / w[~old].sum()
    w[old] *= share_60 / w[old].sum()
    return w


def age_sex_probs(share_60: float) -> np.ndarray:
    """P(sex, single age 0..99) as a (2, 100) array: row 0 male, row 1 female."""
    bands = band_probs(share_60)
    out = np.zeros((2, 100))
    for b, low in enumerate(K.BAND_LOW):
        ages = np.arange(low, 100) if low == 85 else np.arange(low, low + 5)
        within = np.exp(-0.18 * (ages - low)) if low == 85 else np.ones(len(ages))
        within = within / within.sum()
        out[0, ages] += bands[b] * K.MALE_SHARE[b] * within
        out[1, ages] += bands[b] * (1 - K.MALE_SHARE[b]) * within
    return out


def _band_of(age: np.ndarray) -> np.ndarray:
    return np.minimum(age // 5, len(K.AGE_BANDS) - 1)


def retirement_probability(c: K.County) -> float:
    """P(an old person is an employee retiree) so that in-service : retired = c.support on average."""
    p = age_sex_probs(c.share_60)
    work = sum(p[s, 18:K.RETIREMENT_AGE[x]].sum() for s, x in enumerate("MF")) * c.employee_share
    old = sum(p[s, K.RETIREMENT_AGE[x]:].sum() for s, x in enumerate("MF"))
    return min(0.97, work / c.support / old)


# -- static tables -----------------------------------------------------------------------------------
def regions_table() -> pd.DataFrame:
    rows = [{"region_code": K.CITY[0], "name": K.CITY[1], "name_en": K.CITY[2], "level": "city", "parent_code": ""}]
    rows += [{"region_code": c.code, "name": c.name, "name_en": c.name_en, "level": "county", "parent_code": K.CITY[0]}
             for c in K.COUNTIES]
    df = pd.DataFrame(rows)
    df["synthetic"] = "real GB/T 2260 codes; all other demo data synthetic"
    return df


def population_table(county_n: np.ndarray) -> pd.DataFrame:
    rows = []
    for c, n in zip(K.COUNTIES, county_n, strict=True):
        for y in K.LEDGER_YEARS:
            back = K.LATEST_YEAR - y
            total = n / K.COVERAGE / (1 + c.pop_growth) ** back
            bands = band_probs(c.share_60 - K.SHARE_60_DRIFT * back)
            for b, band in enumerate(K.AGE_BANDS):
                for sex, share in (("M", K.MALE_SHARE[b]), ("F", 1 - K.MALE_SHARE[b])):
                    rows.append((c.code, y, sex, band, int(round(total * bands[b] * share))))
    df = pd.DataFrame(rows, columns=["region_code", "year", "sex", "age_band", "persons"])
    df["source"] = SYNTHETIC_NOTE
    return df


def catalog_table() -> pd.DataFrame:
    df = pd.DataFrame(
        [(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], i[8]) for i in I.ITEMS],
        columns=["item_code", "name", "item_category", "catalog_class", "sex_restriction", "min_age", "max_age",
                 "max_daily_quantity", "price_cap"],
    )
    for c in ("min_age", "max_age", "max_daily_quantity"):
        df[c] = df[c].astype("Int64")
    df["synthetic"] = "synthetic item codes"
    return df


def providers_table(n_total: int) -> pd.DataFrame:
    mult = 1 if n_total <= 50_000 else (2 if n_total <= 1_000_000 else 3)
    tertiary = {"360102": 3, "360103": 2, "360104": 1, "360111": 2, "360112": 1, "360113": 2}
    specialties = ("综合", "中医", "妇幼保健", "肿瘤", "综合", "综合")
    rows = []
    county_n = _largest_remainder(n_total, [c.pop_share for c in K.COUNTIES])
    for c, n in zip(K.COUNTIES, county_n, strict=True):
        seq = 0

        def add(level, typ, name, spec="", code=c.code):
            nonlocal seq
            seq += 1
            rows.append((f"SYN{code}{seq:04d}", name, code, level, typ, spec))

        for k in range(tertiary.get(c.code, 0) * mult):
            add(3, "hospital", f"{c.name}合成第{k + 1}三级医院（演示）", specialties[k % len(specialties)])
        for k in range((3 if c.urban else 4) * mult):
            add(2, "hospital", f"{c.name}合成第{k + 1}二级医院（演示）", specialties[(k + 1) % len(specialties)])
        for k in range((3 if c.urban else 5) * mult):
            add(1, "hospital", f"{c.name}合成第{k + 1}{'社区卫生服务中心' if c.urban else '乡镇卫生院'}（演示）", "综合")
        for k in range(int(min(400, max(4, n // 1500)))):
            add(1, "clinic", f"{c.name}合成第{k + 1}诊所（演示）", "全科")
        for k in range(int(min(600, max(5, n // 1200)))):
            add(1, "pharmacy", f"{c.name}合成第{k + 1}大药房（演示）", "")
    df = pd.DataFrame(rows, columns=["provider_id", "name", "region_code", "level", "type", "specialty"])
    df["synthetic"] = "synthetic provider"
    return df


class ProviderIndex:
    """Vectorised choice of a provider for a claim: by county and kind (0 clinic, 1-3 hospital level,
    4 pharmacy); tertiary hospitals are chosen across the whole city."""

    KINDS = 5

    def __init__(self, prov: pd.DataFrame):
        self.ids = prov.provider_id.to_numpy()
        self.level = prov.level.to_numpy()
        county = prov.region_code.map({c.code: i for i, c in enumerate(K.COUNTIES)}).to_numpy()
        kind = np.where(prov.type == "clinic", 0, np.where(prov.type == "pharmacy", 4, prov.level))
        self.lists = {}
        for ci in range(len(K.COUNTIES)):
            for k in range(self.KINDS):
                self.lists[ci, k] = np.flatnonzero((county == ci) & (kind == k))
        self.tertiary = np.flatnonzero(kind == 3)

    def choose(self, rng, county: np.ndarray, kind: np.ndarray) -> np.ndarray:
        out = np.empty(len(county), np.int64)
        u = rng.random(len(county))
        for (ci, k), idx in self.lists.items():
            m = (county == ci) & (kind == k)
            if not m.any():
                continue
            pool = idx if k != 3 else self.tertiary
            if k == 3 and len(idx):  # own-district tertiary hospitals first
                pool = np.r_[idx, idx, self.tertiary]
            if not len(pool):  # no such provider in the county: fall back to a level 2 hospital
                pool = self.lists[ci, 2]
            out[m] = pool[(u[m] * len(pool)).astype(np.int64)]
        return out


# -- persons -----------------------------------------------------------------------------------------
def _pseudonym(index: np.ndarray) -> np.ndarray:
    """A stable pseudonymous person id: SYN + 10 digits, a bijection of the global index."""
    v = (index.astype(np.int64) * 7_919_000_113 + 1_234_567_891) % 10_000_000_000
    return np.char.add("SYN", np.char.zfill(v.astype(str), 10))


def make_persons(rng, ci: int, start: int, n: int, p_retire: float) -> pd.DataFrame:
    c = K.COUNTIES[ci]
    probs = age_sex_probs(c.share_60).ravel()
    draw = rng.choice(len(probs), size=n, p=probs / probs.sum())
    female = draw >= 100
    age = draw % 100
    sex = np.where(female, "F", "M")
    ret_age = np.where(female, K.RETIREMENT_AGE["F"], K.RETIREMENT_AGE["M"])
    u = rng.random(n)
    cat = np.full(n, RES_ADULT, np.int8)
    working = (age >= 18) & (age < ret_age)
    emp = working & (u < c.employee_share)
    cat[emp] = np.where(rng.random(int(emp.sum())) < K.FLEXIBLE_SHARE, FLEXIBLE, IN_SERVICE)
    cat[(age >= ret_age) & (u < p_retire)] = RETIRED
    cat[age < K.STUDENT_AGES[0]] = RES_MINOR
    school = (age >= K.STUDENT_AGES[0]) & (age < 18)
    cat[school] = STUDENT
    college = (age >= 18) & (age <= K.STUDENT_AGES[1]) & (cat == RES_ADULT) & (rng.random(n) < K.COLLEGE_SHARE)
    cat[college] = STUDENT
    scheme = np.where(np.isin(cat, (IN_SERVICE, RETIRED, FLEXIBLE)), EMPLOYEE, RESIDENT).astype(np.int8)

    # families: shuffle and cut into households
    sizes, probs_h = np.array(list(K.HOUSEHOLD_SIZES)), np.array(list(K.HOUSEHOLD_SIZES.values()))
    hs = rng.choice(sizes, size=n // 2 + 2, p=probs_h)
    fam_of_slot = np.repeat(np.arange(len(hs)), hs)[:n]
    family = np.empty(n, np.int64)
    family[rng.permutation(n)] = fam_of_slot
    fam_ids = np.char.add(f"SYNF{c.code}{start:08d}", np.char.zfill(family.astype(str), 7))

    # special groups (resident scheme): per family for low_income / relapse_risk, per person otherwise
    group = np.zeros(n, np.int8)
    k = 1 if not c.urban else 0
    fam_u = rng.random(int(family.max()) + 1)
    li, rr = K.SPECIAL_GROUPS["low_income"][k], K.SPECIAL_GROUPS["relapse_risk"][k]
    res = scheme == RESIDENT
    group[res & (rng.random(n) < K.SPECIAL_GROUPS["disabled"][k])] = 4
    group[res & (fam_u[family] >= 1 - rr)] = 3
    group[res & (fam_u[family] < li)] = 1
    ep = K.SPECIAL_GROUPS["extreme_poverty"][k] * np.where(age >= 60, 2.5, 0.6)
    group[res & (rng.random(n) < ep)] = 2

    wage = np.full(n, np.nan)
    ins = cat == IN_SERVICE
    w = c.wage * np.exp(rng.normal(0, K.WAGE_SIGMA, int(ins.sum())))
    wage[ins] = np.round(np.clip(w, K.WAGE_FLOOR, K.WAGE_CAP), 0)
    wage[cat == FLEXIBLE] = K.WAGE_FLOOR

    birth_year = K.LATEST_YEAR - age
    doy = rng.integers(0, 365, n)
    birth = (pd.to_datetime(pd.Series(birth_year.astype(str)), format="%Y") + pd.to_timedelta(doy, unit="D")).to_numpy()
    return pd.DataFrame({
        "pidx": np.arange(start, start + n, dtype=np.int64), "county": np.full(n, ci, np.int8),
        "person_id": _pseudonym(np.arange(start, start + n)), "sex": sex, "age": age.astype(np.int16),
        "birth_date": birth.astype("datetime64[D]"), "cat": cat, "scheme": scheme, "group": group,
        "family_id": fam_ids, "wage_base": wage,
    })


def enrollment_frame(p: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "person_id": p.person_id.to_numpy(), "year": np.full(len(p), K.LATEST_YEAR, np.int64),
        "region_code": np.asarray([c.code for c in K.COUNTIES])[p.county.to_numpy()],
        "scheme": np.where(p.scheme == EMPLOYEE, "employee", "resident"),
        "category": np.asarray(CATS)[p.cat.to_numpy()], "special_group": np.asarray(GROUPS)[p.group.to_numpy()],
        "sex": p.sex.to_numpy(), "birth_date": p.birth_date.to_numpy(), "family_id": p.family_id.to_numpy(),
        "wage_base": p.wage_base.to_numpy(),
    })


# -- claims ------------------------------------------------------------------------------------------
_YEAR_START = np.datetime64(f"{K.CLAIM_YEAR}-01-01")
_DAYS = (np.datetime64(f"{K.CLAIM_YEAR + 1}-01-01") - _YEAR_START).astype(int)
_DAY_MONTH = (_YEAR_START + np.arange(_DAYS)).astype("datetime64[M]").astype(int) % 12
_DAY_P = np.asarray(K.MONTH_WEIGHT)[_DAY_MONTH]
_DAY_P = _DAY_P / _DAY_P.sum()
_DAY_CDF = np.cumsum(_DAY_P)


def _days(rng, n):
    return np.minimum(np.searchsorted(_DAY_CDF, rng.random(n), side="right"), _DAYS - 1)


class Diagnoses:
    def __init__(self):
        self.codes = np.asarray([d[0] for d in I.DIAGNOSES])
        self.cdf = {}
        for kind in "IOC":
            for g in range(3):
                for sex in "MF":
                    w = np.asarray([d[6][g] if kind in d[2] and d[3] in (None, sex) else 0.0 for d in I.DIAGNOSES])
                    if kind == "C":  # chronic: ignore the acute weights
                        w = np.where([d[0] in ("I10", "E11.9", "I25.1", "I63.9", "J44.9", "C34.9", "N18.9") for d in I.DIAGNOSES], w + 0.5, 0)
                    self.cdf[kind, g, sex] = np.cumsum(w) / w.sum()

    def draw(self, rng, kind: str, age: np.ndarray, sex: np.ndarray) -> np.ndarray:
        g = np.where(age < 15, 0, np.where(age < 60, 1, 2))
        out = np.empty(len(age), dtype=self.codes.dtype)
        u = rng.random(len(age))
        for gg in range(3):
            for s in "MF":
                m = (g == gg) & (sex == s)
                if m.any():
                    out[m] = self.codes[np.minimum(np.searchsorted(self.cdf[kind, gg, s], u[m], side="right"),
                                                   len(self.codes) - 1)]
        # age limits (delivery 18-45 etc.) : out-of-range draws fall back to the commonest code
        lo = {d[0]: d[4] for d in I.DIAGNOSES}
        hi = {d[0]: d[5] for d in I.DIAGNOSES}
        bad = (age < pd.Series(out).map(lo).to_numpy()) | (age > pd.Series(out).map(hi).to_numpy())
        out[bad] = "J18.9" if kind == "I" else ("J06.9" if kind == "O" else "I10")
        return out


class Catalog:
    def __init__(self):
        self.codes = np.asarray([i[0] for i in I.ITEMS])
        self.names = np.asarray([i[1] for i in I.ITEMS])
        self.category = np.asarray([i[2] for i in I.ITEMS])
        self.cls = np.asarray([i[3] for i in I.ITEMS])
        self.sex = np.asarray([i[4] or "" for i in I.ITEMS])
        self.min_age = np.asarray([i[5] if i[5] is not None else -1 for i in I.ITEMS])
        self.max_age = np.asarray([i[6] if i[6] is not None else 999 for i in I.ITEMS])
        self.maxq = np.asarray([i[7] or 0 for i in I.ITEMS])
        self.cap = np.asarray([i[8] or 0.0 for i in I.ITEMS])
        self.ref = np.asarray([i[9] for i in I.ITEMS])
        self.pools = {k: np.flatnonzero([k in i[10] and (i[5] is None or i[5] <= 18) for i in I.ITEMS]) for k in "IOCP"}
        self.restricted = np.flatnonzero(["R" in i[10] for i in I.ITEMS])
        self.index = {c: i for i, c in enumerate(self.codes)}

    def allowed(self, item: np.ndarray, sex: np.ndarray, age: np.ndarray) -> np.ndarray:
        return (((self.sex[item] == "") | (self.sex[item] == sex)) & (age >= self.min_age[item]) & (age <= self.max_age[item]))


@dataclass
class ClaimBatch:
    claims: pd.DataFrame
    lines: pd.DataFrame


def make_claims(rng, persons: pd.DataFrame, prov: ProviderIndex, diag: Diagnoses, cat: Catalog,
                upcoders: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """Claims of one chunk of persons (no lines yet): one row per claim with internal columns."""
    n = len(persons)
    age = persons.age.to_numpy()
    band = _band_of(age)
    emp = persons.scheme.to_numpy() == EMPLOYEE
    rate_mult = np.where(emp, EMPLOYEE_USE["rate"], RESIDENT_USE["rate"])
    n_inp = np.minimum(rng.poisson(np.asarray(K.ADMISSION_RATE)[band] * rate_mult), 6)
    n_out = rng.poisson(np.asarray(K.OUTPATIENT_RATE)[band] * np.where(emp, EMPLOYEE_USE["outpatient"], 1.0))
    chronic = rng.random(n) < np.asarray(K.CHRONIC_PREVALENCE)[band]
    n_chr = np.where(chronic, rng.poisson(K.CHRONIC_VISITS, n), 0)
    n_ph = rng.poisson(np.where(emp, K.PHARMACY_RATE["employee"], K.PHARMACY_RATE["resident"]))
    parts = []
    county = persons.county.to_numpy()
    urban = np.asarray([c.urban for c in K.COUNTIES])[county]
    for vt, counts in ((INPATIENT, n_inp), (OUTPATIENT, n_out), (CHRONIC, n_chr), (PHARMACY, n_ph)):
        who = np.repeat(np.arange(n), counts)
        m = len(who)
        a, s, cty, urb = age[who], persons.sex.to_numpy()[who], county[who], urban[who]
        u = rng.random(m)
        if vt == INPATIENT:
            mix = np.where(urb[:, None], np.asarray(K.ADMISSION_LEVEL_MIX[True]), np.asarray(K.ADMISSION_LEVEL_MIX[False]))
            kind = 1 + (u[:, None] > np.cumsum(mix, axis=1)[:, :2]).sum(axis=1)
        elif vt in (OUTPATIENT, CHRONIC):
            mix = np.where(urb[:, None], np.asarray(K.OUTPATIENT_PROVIDER_MIX[True]), np.asarray(K.OUTPATIENT_PROVIDER_MIX[False]))
            kind = (u[:, None] > np.cumsum(mix, axis=1)[:, :3]).sum(axis=1)  # 0 clinic, 1, 2, 3
            if vt == CHRONIC:
                kind = np.maximum(kind, 1)  # chronic care at hospitals
        else:
            kind = np.full(m, 4)
        pidx = prov.choose(rng, cty, kind)
        level = prov.level[pidx]
        cost_age = (np.asarray(K.AGE_COST_FACTOR)[_band_of(a)] * np.where(emp[who], EMPLOYEE_USE["cost"], 1.0)
                    * COST_NORM)
        if vt == INPATIENT:
            mean = np.asarray([0, K.ADMISSION_COST[1], K.ADMISSION_COST[2], K.ADMISSION_COST[3]])[level]
            sigma = K.ADMISSION_SIGMA
            los = np.maximum(1, np.round(rng.gamma(2.5, np.asarray([0, *[K.LOS_MEAN[k] for k in (1, 2, 3)]])[level] / 2.5))).astype(np.int64)
            code = diag.draw(rng, "I", a, s)
        else:
            if vt == OUTPATIENT:
                mean = np.where(kind == 0, K.OUTPATIENT_COST["clinic"],
                                np.asarray([0, K.OUTPATIENT_COST[1], K.OUTPATIENT_COST[2], K.OUTPATIENT_COST[3]])[level])
                code = diag.draw(rng, "O", a, s)
            elif vt == CHRONIC:
                mean = np.full(m, K.CHRONIC_COST)
                code = diag.draw(rng, "C", a, s)
            else:
                mean = np.full(m, K.PHARMACY_COST)
                code = diag.draw(rng, "C", a, s)  # pharmacy purchases: mostly chronic conditions
            sigma = K.VISIT_SIGMA
            los = np.zeros(m, np.int64)
        # a log-normal with the given mean (mean x age factor)
        total = mean * cost_age * np.exp(rng.normal(-sigma**2 / 2, sigma, m))
        up = np.isin(pidx, upcoders) & (vt in (INPATIENT, OUTPATIENT))
        total = np.where(up, total * 1.6, total)
        if up.any():
            code = code.astype(object)
            code[up] = pd.Series(code[up]).map(lambda x: I.UPCODE.get(x, x)).to_numpy()
        day = _days(rng, m)
        parts.append(pd.DataFrame({
            "p": who, "visit": np.full(m, vt, np.int8), "prov": pidx, "level": level, "kind": kind,
            "end_day": day, "los": los, "diagnosis_code": code.astype(str),
            "total_fen": np.maximum(np.round(total * 100), 1000).astype(np.int64),
        }))
    cl = pd.concat(parts, ignore_index=True)
    _after_birth(cl, persons)
    _out_of_own_stays(cl)
    cl = cl.sort_values(["p", "end_day", "visit"], kind="stable").reset_index(drop=True)
    return cl


def _after_birth(cl: pd.DataFrame, persons: pd.DataFrame) -> None:
    """A baby born in the claim year has no claim before its birth (nor an admission before it): a day
    drawn before the birth moves into the rest of the year, deterministically (no random draw)."""
    born = (persons.birth_date.to_numpy().astype("datetime64[D]") - _YEAR_START).astype(int)[cl.p.to_numpy()]
    los = cl.los.to_numpy()
    earliest = born + los  # the discharge day that puts the admission on the birth day
    end = cl.end_day.to_numpy()
    bad = (born > 0) & (end < earliest)
    if not bad.any():
        return
    span = np.maximum(_DAYS - earliest[bad], 1)
    new_end = np.minimum(earliest[bad] + end[bad] % span, _DAYS - 1)
    cl.loc[bad, "end_day"] = new_end
    cl.loc[bad, "los"] = np.minimum(los[bad], np.maximum(new_end - born[bad], 0))


def _out_of_own_stays(cl: pd.DataFrame) -> None:
    """Visits are drawn independently of stays, but a person in hospital does not also see a clinic or
    buy drugs elsewhere between admission and discharge day (that is a phantom stay, which abuse.py
    plants on purpose): a visit drawn strictly inside one of the person's own stays moves to the days
    after that discharge (the same number of days after it as it was after the admission). No random
    draw: the rest of the seed's streams are unchanged."""
    inp = cl.visit.to_numpy() == INPATIENT
    if not inp.any() or inp.all():
        return
    stays = pd.DataFrame({"p": cl.p.to_numpy()[inp], "s": (cl.end_day - cl.los).to_numpy()[inp],
                          "e": cl.end_day.to_numpy()[inp]})
    other = cl.loc[~inp, ["p", "end_day"]].reset_index()
    m = other.merge(stays, on="p")
    m = m[(m.end_day > m.s) & (m.end_day < m.e)]
    if m.empty:
        return
    m = m.sort_values(["index", "e"]).drop_duplicates("index", keep="last")  # inside two stays: the later one
    cl.loc[m["index"].to_numpy(), "end_day"] = np.minimum(m.e + (m.end_day - m.s), _DAYS - 1).to_numpy()


def make_lines(rng, cl: pd.DataFrame, persons: pd.DataFrame, cat: Catalog) -> pd.DataFrame:
    """Lines whose amounts split each claim's total exactly (fen)."""
    m = len(cl)
    visit = cl.visit.to_numpy()
    nl = np.select([visit == INPATIENT, visit == OUTPATIENT, visit == CHRONIC],
                   [rng.integers(8, 21, m), rng.integers(1, 5, m), rng.integers(1, 4, m)], rng.integers(1, 4, m))
    nl = np.minimum(nl, np.asarray([len(cat.pools[k]) for k in "IOCP"])[visit])
    ci = np.repeat(np.arange(m), nl)
    starts = np.r_[0, np.cumsum(nl)[:-1]]
    w = rng.gamma(2.0, 1.0, len(ci))
    wsum = np.bincount(ci, w, minlength=m)
    total = cl.total_fen.to_numpy()
    amt = 1 + np.floor((total[ci] - nl[ci]) * w / wsum[ci]).astype(np.int64)
    rest = total - np.bincount(ci, amt, minlength=m).astype(np.int64)
    amt[starts] += rest
    # items by pool
    pool_of = np.asarray(["I", "O", "C", "P"])[visit[ci]]
    # distinct items within a claim: a random start and a random step coprime with the pool size
    item = np.empty(len(ci), np.int64)
    offset = rng.integers(0, 1 << 30, m)
    step_pick = rng.integers(0, 1 << 30, m)
    j = np.arange(len(ci)) - starts[ci]
    for k in "IOCP":
        mm = pool_of == k
        pool = cat.pools[k]
        steps = np.asarray([s for s in range(1, len(pool)) if math.gcd(s, len(pool)) == 1])
        st = steps[step_pick[ci[mm]] % len(steps)]
        item[mm] = pool[(offset[ci[mm]] + j[mm] * st) % len(pool)]
    p_age = persons.age.to_numpy()[cl.p.to_numpy()][ci]
    p_sex = persons.sex.to_numpy()[cl.p.to_numpy()][ci]
    # adult-only items (min_age 18) are in the pools; give children an unrestricted substitute
    bad = ~cat.allowed(item, p_sex, p_age)
    item[bad] = cat.index["SV000305"]
    # now and then a legitimate sex- or age-specific item
    r = (rng.random(len(ci)) < 0.03) & (j == 0)  # at most one per claim
    cand = cat.restricted[rng.integers(0, len(cat.restricted), len(ci))]
    ok = r & cat.allowed(cand, p_sex, p_age)
    item[ok] = cand[ok]
    qty = np.ones(len(ci), np.int64)
    maxq = cat.maxq[item]
    hasq = maxq > 0
    qty[hasq] = 1 + (rng.random(int(hasq.sum())) * maxq[hasq]).astype(np.int64)
    cap = cat.cap[item]
    hascap = cap > 0
    qty[hascap] = np.maximum(1, np.ceil(amt[hascap] / (cap[hascap] * 100 * 0.97))).astype(np.int64)
    free = ~hasq & ~hascap
    qty[free] = np.clip(np.round(amt[free] / (cat.ref[item[free]] * 100)), 1, 60).astype(np.int64)
    los = cl.los.to_numpy()[ci]
    end = cl.end_day.to_numpy()[ci]
    sday = end - np.floor(rng.random(len(ci)) * (los + 1)).astype(np.int64)
    return pd.DataFrame({
        "c": ci, "line_no": (np.arange(len(ci)) - starts[ci] + 1).astype(np.int64), "item": item,
        "quantity": qty.astype(float), "amount_fen": amt, "sday": sday, "flag": np.zeros(len(ci), np.int8),
    })


def finish_claims(cl: pd.DataFrame, ln: pd.DataFrame, persons: pd.DataFrame, cat: Catalog) -> None:
    """Totals, self-pay and co-pay from the lines. In place."""
    m = len(cl)
    cls = cat.cls[ln.item.to_numpy()]
    amt = ln.amount_fen.to_numpy()
    c = ln.c.to_numpy()
    cl["total_fen"] = np.bincount(c, amt, minlength=m).astype(np.int64)
    cl["self_fen"] = np.bincount(c, np.where(cls == "C", amt, 0), minlength=m).astype(np.int64)
    bsum = np.bincount(c, np.where(cls == "B", amt, 0), minlength=m).astype(np.int64)
    cl["copay_fen"] = np.round(bsum * K.COPAY_FIRST_RATE).astype(np.int64)


def settle_chunk(claims: pd.DataFrame, enrollment: pd.DataFrame, providers: pd.DataFrame, policies) -> pd.DataFrame:
    """Settle one chunk's claims under the demo policies with mifund.settlement (the real engine).

    A chunk holds whole persons, and settlement runs per person-year, so chunks settle independently.
    `claims` carries amounts in integer fen (as written to Parquet); the engine takes yuan.
    Returns integer-fen payments in the order of `claims`.
    """
    from mifund.settlement import settle_fen

    c = claims.copy()
    for col in ("total_amount", "self_pay_amount", "copay_first_amount"):
        c[col] = c[col].to_numpy() / 100
    settled = settle_fen({"claims": c, "enrollment": enrollment, "providers": providers}, policies)
    return settled.set_index("claim_id").reindex(c.claim_id.to_numpy())


def _claims_out(cl: pd.DataFrame, persons: pd.DataFrame, prov: ProviderIndex) -> pd.DataFrame:
    end = _YEAR_START + cl.end_day.to_numpy().astype("timedelta64[D]")
    return pd.DataFrame({
        "claim_id": cl.claim_id.to_numpy(),
        "person_id": persons.person_id.to_numpy()[cl.p.to_numpy()],
        "provider_id": prov.ids[cl.prov.to_numpy()],
        "visit_type": np.asarray(VISIT_CODES)[cl.visit.to_numpy()],
        "admit_date": end - cl.los.to_numpy().astype("timedelta64[D]"),
        "discharge_date": end,
        "diagnosis_code": cl.diagnosis_code.to_numpy(),
        "total_amount": cl.total_fen.to_numpy(),
        "self_pay_amount": cl.self_fen.to_numpy(),
        "copay_first_amount": cl.copay_fen.to_numpy(),
    })


def _lines_out(ln: pd.DataFrame, cl: pd.DataFrame, cat: Catalog) -> pd.DataFrame:
    item = ln.item.to_numpy()
    amt = ln.amount_fen.to_numpy()
    return pd.DataFrame({
        "claim_id": cl.claim_id.to_numpy()[ln.c.to_numpy()], "line_no": ln.line_no.to_numpy(),
        "item_code": cat.codes[item], "item_name": cat.names[item], "item_category": cat.category[item],
        "catalog_class": cat.cls[item], "quantity": ln.quantity.to_numpy(),
        "unit_price": np.round(amt / 100 / ln.quantity.to_numpy(), 4), "amount": amt,
        "service_date": _YEAR_START + ln.sday.to_numpy().astype("timedelta64[D]"),
    })


# -- Parquet -----------------------------------------------------------------------------------------
_AMOUNT = pa.decimal128(18, 2)


def _fen_to_decimal(fen: np.ndarray) -> pa.Array:
    """Integer fen as DECIMAL(18,2) yuan, exactly: the fen are the decimal's unscaled value."""
    fen = np.ascontiguousarray(fen, dtype=np.int64)
    words = np.empty((len(fen), 2), np.int64)
    words[:, 0] = fen
    words[:, 1] = np.where(fen < 0, -1, 0)
    return pa.Array.from_buffers(_AMOUNT, len(fen), [None, pa.py_buffer(words.tobytes())])


class ParquetSink:
    def __init__(self, path: Path, seed: int, size: str, amount_cols=(), ):
        self.path, self.writer, self.amount_cols = path, None, set(amount_cols)
        self.meta = {b"mifund.synthetic": b"true", b"mifund.generator": b"mifund demo generate",
                     b"mifund.seed": str(seed).encode(), b"mifund.size": str(size).encode(),
                     b"mifund.note": SYNTHETIC_NOTE.encode()}
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        arrays, names = [], []
        for col in df.columns:
            v = df[col].to_numpy()
            if col in self.amount_cols:
                if v.dtype.kind == "f":  # yuan with NaN for missing
                    arr = _fen_to_decimal(np.round(np.nan_to_num(v) * 100).astype(np.int64))
                    arr = pc.if_else(pa.array(np.isnan(v)), pa.scalar(None, _AMOUNT), arr)
                else:
                    arr = _fen_to_decimal(v)
            elif v.dtype.kind == "M":
                arr = pa.array(v.astype("datetime64[D]"), pa.date32())
            elif v.dtype.kind in "OUS":
                arr = pa.array(v.astype(str), pa.string())
            else:
                arr = pa.array(v)
            arrays.append(arr)
            names.append(col)
        t = pa.Table.from_arrays(arrays, names=names)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, t.schema.with_metadata(self.meta), compression="zstd")
        self.writer.write_table(t.replace_schema_metadata(self.meta))
        self.rows += len(t)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# -- ledger ------------------------------------------------------------------------------------------
def ledger_table(agg: dict) -> pd.DataFrame:
    """Ten years per county x scheme x fund; the latest year's expenditure is derived from the claims."""
    rows = []
    Y = K.LATEST_YEAR
    for ci, c in enumerate(K.COUNTIES):
        a = agg[ci]
        # resident pooled fund
        ins_r = a["res_insured"]
        e_latest = {"inp": a["res_inp"], "out": a["res_out"]}
        share = K.OUTSIDE_CLAIMS_SHARE[("resident", "pooled")]
        claims_latest = e_latest["inp"] + e_latest["out"]
        exp_latest = claims_latest / (1 - share)
        contrib_latest = ins_r * sum(K.RESIDENT_FINANCING[Y]) * 100
        ratio_latest = exp_latest / contrib_latest
        slope = K.RESIDENT_RATIO_SLOPE + K.RESIDENT_RATIO_SLOPE_AGEING * (c.share_60 - 0.18)
        res_years = []
        for y in K.LEDGER_YEARS:
            back = Y - y
            ins = int(round(ins_r * (1 + K.RESIDENT_INSURED_DECLINE) ** back))
            fiscal, indiv = K.RESIDENT_FINANCING[y]
            contrib = ins * (fiscal + indiv) * 100
            # expenditure/contribution ratio rising towards the claim-derived latest year
            exp_total = int(round(contrib * (ratio_latest - slope * back) * K.PANDEMIC_DIP.get(y, 1.0)))
            f = exp_total / exp_latest
            inp = int(round(e_latest["inp"] * f))
            out = int(round(e_latest["out"] * f))
            res_years.append(dict(y=y, insured=ins, contrib={"income_individual": ins * indiv * 100,
                                                              "income_fiscal_subsidy": ins * fiscal * 100},
                                  exp={"expenditure_inpatient": inp, "expenditure_outpatient": out,
                                       "expenditure_other": exp_total - inp - out}))
        rows += _roll("resident", "pooled", c, res_years, c.resident_months)

        # employee funds
        n_in, n_ret = a["emp_in"], a["emp_ret"]
        emp_pool, emp_acc = [], []
        pool_exp_latest = (a["emp_inp"] + a["emp_out"]) / (1 - K.OUTSIDE_CLAIMS_SHARE[("employee", "pooled")])
        latest_pension = K.AVERAGE_PENSION * 12 * n_ret * K.RETIREE_ACCOUNT_RATE["post"]
        pool_contrib_latest = (a["wage_flex"] * 12 * (K.FLEXIBLE_RATE - K.EMPLOYEE_RATE)
                               + a["wage_in"] * 12 * K.EMPLOYER_RATE - latest_pension)
        pool_ratio_latest = pool_exp_latest / 100 / pool_contrib_latest
        for y in K.LEDGER_YEARS:
            back = Y - y
            g_in = (1 + K.EMPLOYEE_INSURED_GROWTH) ** back
            g_ret = (1 + K.RETIRED_GROWTH) ** back
            g_w = (1 + K.WAGE_GROWTH) ** back
            ins_in, ins_ret = int(round(n_in / g_in)), int(round(n_ret / g_ret))
            wage_in = a["wage_in"] / g_in / g_w * 12  # yearly contribution bases
            wage_flex = a["wage_flex"] / g_in / g_w * 12
            employer = wage_in * K.EMPLOYER_RATE
            pension = K.AVERAGE_PENSION / 1.05 ** back * 12 * ins_ret
            if y >= K.ACCOUNT_REFORM_YEAR:
                to_acc_employer = pension * K.RETIREE_ACCOUNT_RATE["post"]
            else:
                to_acc_employer = employer * K.PRE_REFORM_EMPLOYER_TO_ACCOUNT + pension * K.RETIREE_ACCOUNT_RATE["pre"]
            flex_pool = wage_flex * (K.FLEXIBLE_RATE - K.EMPLOYEE_RATE)
            acc_indiv = wage_in * K.EMPLOYEE_RATE + wage_flex * K.EMPLOYEE_RATE
            pool_contrib = flex_pool + employer - to_acc_employer
            ratio = pool_ratio_latest - K.EMPLOYEE_RATIO_SLOPE * back
            tot = int(round(pool_contrib * 100 * ratio * K.PANDEMIC_DIP.get(y, 1.0)))
            f = tot / pool_exp_latest
            inp, out = int(round(a["emp_inp"] * f)), int(round(a["emp_out"] * f))
            common = dict(y=y, insured=ins_in + ins_ret, in_service=ins_in, retired=ins_ret)
            emp_pool.append(dict(common, contrib={"income_individual": int(round(flex_pool * 100)),
                                                  "income_employer": int(round((employer - to_acc_employer) * 100))},
                                 exp={"expenditure_inpatient": inp, "expenditure_outpatient": out,
                                      "expenditure_other": tot - inp - out}))
            acc_income = (acc_indiv + to_acc_employer) * 100
            sa = K.OUTSIDE_CLAIMS_SHARE[("employee", "account")]
            if y >= K.ACCOUNT_REFORM_YEAR:
                acc_out = a["emp_acc"] * tot / pool_exp_latest
            else:  # before the reform the accounts were richer than what their holders spent
                acc_out = acc_income * K.PRE_REFORM_ACCOUNT_SPENDING
            acc_tot = int(round(acc_out / (1 - sa)))
            emp_acc.append(dict(common, contrib={"income_individual": int(round(acc_indiv * 100)),
                                                 "income_employer": int(round(acc_income - acc_indiv * 100))},
                                exp={"expenditure_outpatient": int(round(acc_out)), "expenditure_other": acc_tot - int(round(acc_out))}))
        rows += _roll("employee", "pooled", c, emp_pool, c.employee_months)
        rows += _roll("employee", "account", c, emp_acc, K.ACCOUNT_MONTHS)
    df = pd.DataFrame(rows)
    df["source"] = SYNTHETIC_NOTE
    return df


def _roll(scheme: str, fund: str, c: K.County, years: list[dict], months: float) -> list[dict]:
    """Balances in fen: solve the opening balance backwards from the target months at the end, then
    roll forward exactly (balance_end = previous + income_total - expenditure_total, to the fen)."""
    last = years[-1]
    exp_last = sum(last["exp"].values())
    bal = months * exp_last / 12
    for yr in reversed(years):
        bal = (bal - sum(yr["contrib"].values()) + sum(yr["exp"].values())) / (1 + K.INTEREST_RATE)
    bal = max(int(round(bal)), int(sum(years[0]["exp"].values()) * K.MIN_OPENING_MONTHS / 12))
    out = []
    for yr in years:
        interest = int(round(max(bal, 0) * K.INTEREST_RATE))
        income = sum(yr["contrib"].values()) + interest
        exp = sum(yr["exp"].values())
        bal = bal + income - exp
        row = {"region_code": c.code, "year": yr["y"], "scheme": scheme, "fund": fund, "insured": yr["insured"],
               "insured_in_service": yr.get("in_service"), "insured_retired": yr.get("retired"),
               "income_total": income, **yr["contrib"], "income_interest": interest, "expenditure_total": exp,
               **yr["exp"], "balance_end": bal}
        out.append(row)
    return out


def _fen_cols_to_yuan(df: pd.DataFrame, cols) -> pd.DataFrame:
    for col in cols:
        if col in df:
            v = df[col]
            df[col] = v.map(lambda x: "" if pd.isna(x) else f"{int(x) // 100 if x >= 0 else -((-int(x)) // 100)}.{abs(int(x)) % 100:02d}")
    return df


# -- the whole municipality ----------------------------------------------------------------------------
def generate(size="small", seed: int = 1, out_dir: str | Path = "demo_data", progress: Progress | None = None,
             policy_dir: str | Path | None = None) -> Result:
    """Write the demo municipality to out_dir; returns the row counts. See the module docstring.

    The latest year's fund ledger is derived from the claims settled under the policies in
    `policy_dir` (default: DEMO_POLICIES, the shipped Nanchang policies dated back to 2015) by
    mifund.settlement.
    """
    import time

    from mifund.policy import load_policies

    policies = load_policies(policy_dir or DEMO_POLICIES)

    t0 = time.perf_counter()
    n_total = _size(size)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    res = Result(out)
    county_n = _largest_remainder(n_total, [c.pop_share for c in K.COUNTIES])

    def step(name, done, total):
        if progress:
            progress(name, done, total)

    def csv(name, df):
        df.to_csv(out / f"{name}.csv", index=False, encoding="utf-8", lineterminator="\n")
        res.rows[name] = len(df)

    csv("regions", regions_table())
    csv("population", population_table(county_n))
    csv("catalog", catalog_table())
    prov_df = providers_table(n_total)
    csv("providers", prov_df)
    prov, diag, cat = ProviderIndex(prov_df), Diagnoses(), Catalog()
    rng0 = np.random.default_rng([seed, 999])
    upcoders = abuse.choose_upcoders(rng0, prov_df)
    labels = abuse.Labels()
    for u in upcoders:
        labels.provider(prov_df.provider_id.iat[u], "bills about 60% more per visit/stay, with more severe diagnosis codes")

    sinks = {
        "enrollment": ParquetSink(out / "enrollment.parquet", seed, size, ("wage_base",)),
        "claims": ParquetSink(out / "claims.parquet", seed, size, ("total_amount", "self_pay_amount", "copay_first_amount")),
        "claim_lines": ParquetSink(out / "claim_lines.parquet", seed, size, ("amount",)),
    }
    agg = {ci: dict(res_insured=0, res_inp=0, res_out=0, emp_in=0, emp_ret=0, wage_in=0.0, wage_flex=0.0,
                    emp_inp=0, emp_out=0, emp_acc=0) for ci in range(len(K.COUNTIES))}
    start = 0
    claim_seq = 0
    done = 0
    dup_enrol = []
    for ci, c in enumerate(K.COUNTIES):
        p_ret = retirement_probability(c)
        for k in range(math.ceil(county_n[ci] / CHUNK_PERSONS)):
            n = int(min(CHUNK_PERSONS, county_n[ci] - k * CHUNK_PERSONS))
            rng = np.random.default_rng([seed, ci, k])
            persons = make_persons(rng, ci, start, n, p_ret)
            cl = make_claims(rng, persons, prov, diag, cat, upcoders)
            ln = make_lines(rng, cl, persons, cat)
            cl, ln = abuse.plant(rng, cl, ln, persons, prov, cat, labels)
            finish_claims(cl, ln, persons, cat)
            cl["claim_id"] = np.char.add("SYNC", np.char.zfill(np.arange(claim_seq, claim_seq + len(cl)).astype(str), 11))
            claim_seq += len(cl)
            labels.resolve(cl, persons, prov)
            enr = enrollment_frame(persons)
            claims_out = _claims_out(cl, persons, prov)
            paid = settle_chunk(claims_out, enr, prov_df[["provider_id", "level"]], policies)
            # the resident pooled fund buys the catastrophic cover (大病保险 is financed from it)
            resident_claim = persons.scheme.to_numpy()[cl.p.to_numpy()] == RESIDENT
            cl["pooled_fen"] = paid.pooled_fund_paid.to_numpy() + np.where(resident_claim, paid.catastrophic_paid.to_numpy(), 0)
            cl["account_fen"] = paid.account_paid.to_numpy()
            dup = abuse.duplicate_enrolment(rng, persons, labels)
            dup_enrol.append(dup)
            sinks["enrollment"].write(enr)
            sinks["claims"].write(claims_out)
            sinks["claim_lines"].write(_lines_out(ln, cl, cat))
            # aggregates for the ledger
            sch = persons.scheme.to_numpy()
            pc = persons.cat.to_numpy()
            a = agg[ci]
            a["res_insured"] += int((sch == RESIDENT).sum())
            a["emp_in"] += int(np.isin(pc, (IN_SERVICE, FLEXIBLE)).sum())
            a["emp_ret"] += int((pc == RETIRED).sum())
            a["wage_in"] += float(np.nansum(persons.wage_base.to_numpy()[pc == IN_SERVICE]))
            a["wage_flex"] += float(np.nansum(persons.wage_base.to_numpy()[pc == FLEXIBLE]))
            cs = sch[cl.p.to_numpy()]
            inp = cl.visit.to_numpy() == INPATIENT
            pooled = cl.pooled_fen.to_numpy()
            a["res_inp"] += int(pooled[(cs == RESIDENT) & inp].sum())
            a["res_out"] += int(pooled[(cs == RESIDENT) & ~inp].sum())
            a["emp_inp"] += int(pooled[(cs == EMPLOYEE) & inp].sum())
            a["emp_out"] += int(pooled[(cs == EMPLOYEE) & ~inp].sum())
            a["emp_acc"] += int(cl.account_fen.to_numpy()[cs == EMPLOYEE].sum())
            start += n
            done += n
            step("persons and claims", done, n_total)
    dups = pd.concat(dup_enrol, ignore_index=True)
    if len(dups):
        sinks["enrollment"].write(dups)
        for code, cnt in dups.groupby("region_code").size().items():  # counted where they are enrolled
            agg[[c.code for c in K.COUNTIES].index(code)]["res_insured"] += int(cnt)
    for name, s in sinks.items():
        s.close()
        res.rows[name] = s.rows
    ledger = ledger_table(agg)
    amount_cols = [c for c in ledger.columns if c.startswith(("income_", "expenditure_")) or c == "balance_end"]
    ledger = _fen_cols_to_yuan(ledger, amount_cols)
    for col in ("insured_in_service", "insured_retired"):
        ledger[col] = ledger[col].astype("Int64")
    csv("fund_ledger", ledger)
    lab = labels.frame()
    lab.to_csv(out / "truth" / "labels.csv", index=False, encoding="utf-8", lineterminator="\n")
    res.rows["labels"] = len(lab)
    (out / "README_SYNTHETIC.md").write_text(_readme(size, n_total, seed, res.rows), encoding="utf-8")
    step("done", n_total, n_total)
    res.seconds = time.perf_counter() - t0
    return res


def _readme(size, n_total: int, seed: int, rows: dict[str, int]) -> str:
    counts = "\n".join(f"- `{k}`: {v:,} rows" for k, v in rows.items())
    return f"""# SYNTHETIC DATA — 合成演示数据，非真实人员与账户

Generated by `mifund demo generate --size {size} --seed {seed}` ({n_total:,} insured persons) on the
real GB/T 2260 region codes of 南昌市 (360100) and its nine districts and counties. Every person,
family, provider, catalogue item code, claim, claim line and fund ledger figure is synthetic: drawn at
random from the calibration in `mifund/demo/calibration.py` (targets and sources: `mifund/demo/CALIBRATION.md`).
No row describes a real person, hospital or account; do not quote these figures as Nanchang's.

Markers: CSV files carry a `synthetic` or `source` column; Parquet files carry the key-value metadata
`mifund.synthetic=true`; person ids start with `SYN`, provider ids with `SYN`, claim ids with `SYNC`.

Planted abuse and natural near-misses are listed in `truth/labels.csv` (never in the claim tables);
`mifund import {'{'}this directory{'}'}` does not read the `truth/` sub-directory.

The files are a function of size and seed only (no dates or clocks inside), so a run can be repeated.

{counts}
"""
