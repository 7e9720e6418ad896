"""Supervision: every shipped rule over generated claim lines, lines per second (issue #7).

mifund: `screen(wh, load_rules())` — the input check (lines against claims) and all rules as Ibis
expressions executed by DuckDB on the warehouse file. Naive: the same rules written directly in pandas
(merges, groupby, shift; no per-row Python), on the tables already loaded into memory (the load is
timed apart). Both sides' hit counts per rule are printed and must agree (exit 1 if not).

    .venv/bin/python bench/bench_supervision.py                 # 1M lines (< 3 min with the pandas side)
    .venv/bin/python bench/bench_supervision.py --lines 50000000 --no-naive   # the issue's 50M
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CATALOG = pd.DataFrame([
    # code, name, class, sex, min_age, max_age, max daily qty, cap, unit price
    ("XD1", "阿莫西林胶囊", "A", None, None, None, 4.0, None, 3.0),
    ("XD2", "头孢呋辛酯片", "B", None, None, None, 3.0, None, 8.0),
    ("XD3", "黄体酮注射液", "B", "F", 14, 55, 2.0, None, 20.0),
    ("XD4", "非那雄胺片", "B", "M", 18, None, 2.0, None, 6.0),
    ("XD5", "小儿布洛芬混悬液", "A", None, None, 12, 3.0, None, 15.0),
    ("XD6", "某进口营养补充剂", "C", None, None, None, 3.0, None, 50.0),
    ("SV1", "床位费（普通病房）", "A", None, None, None, None, 80.0, 80.0),
    ("SV2", "Ⅰ级护理", "A", None, None, None, None, 60.0, 60.0),
    ("SV3", "血细胞分析（血常规）", "A", None, None, None, None, 30.0, 30.0),
    ("SV4", "X线计算机体层（CT）平扫", "B", None, None, None, None, 350.0, 350.0),
], columns=["item_code", "name", "catalog_class", "sex_restriction", "min_age", "max_age", "max_daily_quantity",
            "price_cap", "price"])
CATALOG["max_daily_quantity"] *= 4  # room for several lines of one drug a day in a stay


def generate(n_lines: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Claims, lines, enrolment, providers, catalogue with a little of everything the rules look for."""
    rng = np.random.default_rng(seed)
    n_claims = max(10, int(n_lines / 2.6))
    n_persons = max(5, n_claims // 6)
    n_prov = 200
    sex = rng.choice(np.array(["M", "F"]), n_persons)
    birth = np.datetime64("1940-01-01") + rng.integers(0, 83 * 365, n_persons).astype("timedelta64[D]")
    pid = np.char.add("P", np.arange(n_persons).astype(str))
    regions = np.array([f"3601{k:02d}" for k in range(1, 10)])
    enrol = pd.DataFrame({"person_id": pid, "year": 2024, "region_code": rng.choice(regions, n_persons),
                          "scheme": "resident", "category": "resident_adult", "special_group": "none", "sex": sex,
                          "birth_date": birth})
    dup = enrol.sample(frac=0.001, random_state=seed).assign(scheme="employee", category="in_service")
    enrol = pd.concat([enrol, dup], ignore_index=True)
    prov = pd.DataFrame({"provider_id": np.char.add("H", np.arange(n_prov).astype(str)), "name": "synthetic",
                         "region_code": rng.choice(regions, n_prov), "level": rng.integers(1, 4, n_prov),
                         "type": rng.choice(np.array(["hospital", "clinic", "pharmacy"]), n_prov), "specialty": None})
    visit = rng.choice(np.array(["inpatient", "outpatient", "chronic_outpatient", "pharmacy"]), n_claims,
                       p=[0.05, 0.55, 0.1, 0.3])
    admit = np.datetime64("2024-01-01") + rng.integers(0, 350, n_claims).astype("timedelta64[D]")
    los = np.where(visit == "inpatient", rng.integers(1, 15, n_claims), 0)
    who = rng.integers(0, n_persons, n_claims)
    claims = pd.DataFrame({
        "claim_id": np.char.add("C", np.arange(n_claims).astype(str)), "person_id": pid[who],
        "provider_id": prov.provider_id.to_numpy()[rng.integers(0, n_prov, n_claims)], "visit_type": visit,
        "admit_date": admit, "discharge_date": admit + los.astype("timedelta64[D]"),
        "diagnosis_code": rng.choice(np.array([f"D{k:02d}" for k in range(40)]), n_claims)})
    # lines: inpatient claims get more; every claim at least one
    weight = np.where(visit == "inpatient", 12.0, 1.0)
    extra = rng.choice(n_claims, max(0, n_lines - n_claims), p=weight / weight.sum())
    c = np.sort(np.concatenate([np.arange(n_claims), extra]))[:n_lines]
    line_no = np.arange(len(c)) - np.searchsorted(c, c) + 1
    item = rng.integers(0, len(CATALOG), len(c))
    item = np.where(visit[c] == "inpatient", item, item % 6)  # services mostly in stays
    # restricted items only where they fit, but for a few planted misfits
    ps, age = sex[who[c]], 2024 - birth[who[c]].astype("datetime64[Y]").astype(int) - 1970
    cs, mn, mx = (CATALOG[k].to_numpy()[item] for k in ("sex_restriction", "min_age", "max_age"))
    fits = (pd.isna(cs) | (cs == ps)) & ~(pd.notna(mn) & (age < np.where(pd.isna(mn), 0, mn).astype(float)))
    fits &= ~(pd.notna(mx) & (age > np.where(pd.isna(mx), 999, mx).astype(float)))
    item = np.where(fits | (rng.random(len(c)) < 0.0005), item, 0)
    qty = rng.integers(1, 3, len(c)).astype(float)
    qty[rng.random(len(c)) < 0.0005] = 40.0                     # a few far over the daily limit
    price = CATALOG.price.to_numpy()[item] * np.where(rng.random(len(c)) < 0.0005, 1.3, 1.0)
    amount = np.round(price * qty, 2)
    day = admit[c] + (rng.random(len(c)) * (los[c] + 1)).astype(int).astype("timedelta64[D]")
    lines = pd.DataFrame({"claim_id": claims.claim_id.to_numpy()[c], "line_no": line_no,
                          "item_code": CATALOG.item_code.to_numpy()[item], "item_name": None,
                          "item_category": np.where(item < 6, "drug", "service"),
                          "catalog_class": CATALOG.catalog_class.to_numpy()[item], "quantity": qty, "unit_price": price,
                          "amount": amount, "service_date": day})
    total = np.bincount(c, weights=amount, minlength=n_claims).round(2)
    claims["total_amount"] = total
    claims["self_pay_amount"] = 0.0
    claims["copay_first_amount"] = 0.0
    claims["policy_scope_amount"] = total
    claims["cross_region"] = False
    # a few duplicated claims (with their lines)
    k = max(1, n_claims // 5000)
    src = rng.choice(n_claims, k, replace=False)
    dupc = claims.iloc[src].copy()
    dupc["claim_id"] = np.char.add("D", np.arange(k).astype(str))
    mapping = dict(zip(claims.claim_id.to_numpy()[src], dupc.claim_id, strict=True))
    dupl = lines[lines.claim_id.isin(mapping)].copy()
    dupl["claim_id"] = dupl.claim_id.map(mapping)
    claims = pd.concat([claims, dupc], ignore_index=True)
    lines = pd.concat([lines, dupl], ignore_index=True)
    cat = CATALOG.drop(columns="price").assign(item_category=lambda d: np.where(d.item_code.str.startswith("XD"),
                                                                                "drug", "service"))
    return {"claims": claims, "claim_lines": lines, "enrollment": enrol, "providers": prov, "catalog": cat}


# -- the naive pandas versions --------------------------------------------------------------------
def naive(t: dict[str, pd.DataFrame], rules) -> dict[str, int]:
    c, ln, e, cat = t["claims"], t["claim_lines"], t["enrollment"], t["catalog"]
    P = {r.id: r.parsed for r in rules}
    out: dict[str, int] = {}
    los = (c.discharge_date - c.admit_date).dt.days
    inp = c[c.visit_type == "inpatient"].assign(los=los)
    # duplicate billing
    p = P["duplicate_billing"]
    sig = ln.groupby("claim_id").agg(n_lines=("amount", "size"), line_sum=("amount", "sum"),
                                     line_sumsq=("amount", lambda a: round((a ** 2).sum(), 2)))
    d = c.merge(sig, left_on="claim_id", right_index=True, how="left")
    keys = list(p.match) + ["n_lines", "line_sum", "line_sumsq"]
    d = d.sort_values("claim_id")
    out["duplicate_billing"] = int(d.duplicated(keys).sum())
    # split admission
    p = P["split_admission"]
    s = inp.sort_values(["admit_date", "discharge_date", "claim_id"])
    g = s.groupby(["person_id", "provider_id", "diagnosis_code"])
    gap = (s.admit_date - g.discharge_date.shift()).dt.days
    second = s[(gap >= 0) & (gap <= p.max_gap_days)]
    out["split_admission"] = 2 * len(second)
    # overlapping stays
    p = P["overlapping_stay"]
    s = inp.sort_values(["admit_date", "discharge_date", "claim_id"])
    g = s.groupby("person_id")
    prev_d, prev_a, prev_p = g.discharge_date.shift(), g.admit_date.shift(), g.provider_id.shift()
    nights = (np.minimum(s.discharge_date, prev_d) - s.admit_date).dt.days
    ident = (prev_p == s.provider_id) & (prev_a == s.admit_date) & (prev_d == s.discharge_date)
    out["overlapping_stay"] = int(((nights >= p.min_overlap_days) & ~ident).sum())
    # use during stay
    p = P["phantom_stay_elsewhere"]
    v = c[c.visit_type.isin(p.visit_types)][["person_id", "provider_id", "admit_date"]]
    j = inp[["claim_id", "person_id", "provider_id", "admit_date", "discharge_date"]].merge(v, on="person_id",
                                                                                          suffixes=("", "_v"))
    j = j[(j.admit_date_v > j.admit_date) & (j.admit_date_v < j.discharge_date) & (j.provider_id_v != j.provider_id)]
    out["phantom_stay_elsewhere"] = j.claim_id.nunique()
    # hollow stay
    p = P["phantom_stay"]
    long_ids = inp.claim_id[inp.los >= p.min_days]
    lx = ln[ln.claim_id.isin(long_ids)].merge(cat[["item_code", "name"]], on="item_code", how="left")
    hol = lx.name.fillna("").str.contains("|".join(p.item_name_contains))
    gg = lx.assign(h=np.where(hol, lx.amount, 0.0)).groupby("claim_id").agg(h=("h", "sum"), a=("amount", "sum"))
    out["phantom_stay"] = int(((gg.a > 0) & (gg.h >= gg.a * p.min_share - 0.005)).sum())
    # restricted items
    persons = e.groupby("person_id").agg(sex=("sex", "first"), birth_date=("birth_date", "min"))
    lr = ln.merge(cat, on="item_code").merge(c[["claim_id", "person_id"]], on="claim_id").merge(
        persons, left_on="person_id", right_index=True)
    sr = lr[lr.sex_restriction.notna()]
    out["sex_restricted"] = int((sr.sex != sr.sex_restriction).sum())
    ar = lr[lr.min_age.notna() | lr.max_age.notna()]
    age = ar.service_date.dt.year - ar.birth_date.dt.year
    out["age_restricted"] = int(((age < ar.min_age) | (age > ar.max_age)).sum())
    # daily quantity
    q = ln.merge(cat[cat.max_daily_quantity.notna()][["item_code", "max_daily_quantity"]], on="item_code")
    dq = q.groupby(["claim_id", "item_code", "service_date"]).quantity.transform("sum")
    out["over_quantity"] = int((dq > q.max_daily_quantity * (1 + P["over_quantity"].tolerance)).sum())
    # price cap
    pc = ln.merge(cat[cat.price_cap.notna()][["item_code", "price_cap"]], on="item_code")
    out["price_above_cap"] = int((pc.unit_price > pc.price_cap * (1 + P["price_above_cap"].tolerance) + 0.005).sum())
    # long stay
    p = P["long_stay"]
    norm = inp.groupby("diagnosis_code").los.transform("median")
    peers = inp.groupby("diagnosis_code").los.transform("size")
    out["long_stay"] = int(((peers >= p.min_peer_stays) & (inp.los > norm * p.factor)
                            & (inp.los - norm >= p.min_excess_days) & (inp.los > 0)).sum())
    # frequency
    p = P["excessive_frequency"]
    f = c[c.visit_type.isin(p.visit_types)]
    n = f.groupby([f.person_id, f.admit_date.dt.to_period("M")]).claim_id.transform("size")
    out["excessive_frequency"] = int(np.maximum(n - p.max_claims, 0).groupby([f.person_id, f.admit_date.dt.to_period(
        "M")]).first().sum()) if len(f) else 0
    # outside enrolment
    yrs = set(zip(e.person_id, e.year, strict=True))
    key = pd.Series(list(zip(c.person_id, c.discharge_date.dt.year, strict=True)))
    out["outside_enrolment"] = int((~key.isin(yrs)).sum())
    # duplicate enrolment
    g = e.groupby(["person_id", "year"]).agg(n=("region_code", "size"), r=("region_code", "nunique"),
                                             s=("scheme", "nunique"))
    out["duplicate_enrolment"] = int(((g.n > 1) & ((g.r > 1) | (g.s > 1))).sum())
    return out


def naive_timed(data: dict[str, pd.DataFrame], rules) -> tuple[dict[str, int], float]:
    """The pandas rules' hits and seconds; dates parsed first, outside the timing (the engine's tables
    are typed in the warehouse too)."""
    for df in (data["claims"], data["claim_lines"], data["enrollment"]):
        for col in df.columns:
            if col.endswith("_date"):
                df[col] = pd.to_datetime(df[col])
    t0 = time.perf_counter()
    theirs = naive(data, rules)
    return theirs, time.perf_counter() - t0


def run(scale: float) -> list[dict]:
    """For bench/run.py: all rules over 1M lines (x scale) in the warehouse, next to the same rules in
    pandas; the hit counts must agree rule by rule."""
    from mifund.storage import Warehouse
    from mifund.supervision import load_rules, screen

    rules = load_rules()
    data = generate(max(20_000, int(1_000_000 * scale)))
    n_lines = len(data["claim_lines"])
    with tempfile.TemporaryDirectory() as d, Warehouse(Path(d) / "bench.duckdb") as wh:
        with wh.transaction():
            for name, df in data.items():
                wh.append(name, df)
        t0 = time.perf_counter()
        res = screen(wh, rules)
        secs = time.perf_counter() - t0
    theirs, nsecs = naive_timed(data, rules)
    ours = {r.rule_id: r.hits for r in res.runs}
    bad = {k: (ours.get(k), v) for k, v in theirs.items() if ours.get(k) != v}
    assert not bad and not res.failures, (bad, [r.error for r in res.failures])
    return [{"name": f"{len(rules)} supervision rules (Ibis/DuckDB) vs the same rules in pandas (hits agree)",
             "rows": n_lines, "seconds": secs, "rows_per_s": n_lines / secs,
             "naive_rows_per_s": n_lines / nsecs, "ratio": nsecs / secs}]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="claim lines (the issue's figure: 50000000)")
    ap.add_argument("--no-naive", action="store_true", help="skip the pandas side (it needs the tables in memory)")
    ap.add_argument("--dir", type=Path, default=None, help="where to put the warehouse (default: a temp dir)")
    ap.add_argument("--chunk-lines", type=int, default=5_000_000,
                    help="with --no-naive: generate and load this many lines at a time (bounded memory)")
    a = ap.parse_args(argv)
    from mifund.storage import Warehouse
    from mifund.supervision import load_rules, screen

    rules = load_rules()
    tmp = a.dir or Path(tempfile.mkdtemp(prefix="bench_supervision_"))
    db = tmp / "bench.duckdb"
    db.unlink(missing_ok=True)
    chunk = a.chunk_lines if a.no_naive else a.lines  # the pandas side needs every table in memory
    n_chunks = max(1, -(-a.lines // chunk))
    t0 = time.perf_counter()
    n_lines = n_claims = 0
    with Warehouse(db) as wh:
        for k in range(n_chunks):
            data = generate(min(chunk, a.lines - k * chunk), seed=7 + k)
            if n_chunks > 1:  # ids unique across chunks; providers and catalogue are the same in every chunk
                for name, cols in (("claims", ("claim_id", "person_id")), ("claim_lines", ("claim_id",)),
                                   ("enrollment", ("person_id",))):
                    for c in cols:
                        data[name][c] = f"K{k}." + data[name][c].astype(str)
                if k:
                    data = {n: d for n, d in data.items() if n not in ("providers", "catalog")}
            with wh.transaction():
                for name, df in data.items():
                    wh.append(name, df)
            n_lines += len(data["claim_lines"])
            n_claims += len(data["claims"])
            print(f"  chunk {k + 1}/{n_chunks}: {n_lines:,} lines so far", flush=True)
        print(f"generated {n_lines:,} lines, {n_claims:,} claims in {time.perf_counter() - t0:.1f} s", flush=True)
        t0 = time.perf_counter()
        res = screen(wh, rules)
        secs = time.perf_counter() - t0
    ours = {r.rule_id: r.hits for r in res.runs}
    for r in res.runs:
        print(f"  {r.rule_id:24s} {r.hits:>9,} hits {r.seconds:7.2f} s {r.error or ''}")
    print(f"mifund screen: {len(rules)} rules over {n_lines:,} lines in {secs:.1f} s = {n_lines / secs:,.0f} lines/s",
          flush=True)
    if a.no_naive:
        return 1 if res.failures else 0
    theirs, nsecs = naive_timed(data, rules)
    print(f"naive pandas:  {len(theirs)} rules over {n_lines:,} lines in {nsecs:.1f} s = {n_lines / nsecs:,.0f} lines/s"
          " (tables already in memory)")
    print(f"ratio: {nsecs / secs:.1f}x  (date {dt.date.today()})")
    bad = {k: (ours.get(k), v) for k, v in theirs.items() if ours.get(k) != v}
    if bad:
        print(f"hit counts differ (mifund, pandas): {bad}")
        return 1
    print("hit counts agree rule by rule")
    return 0


if __name__ == "__main__":
    sys.exit(main())
