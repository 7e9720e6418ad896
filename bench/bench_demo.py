"""Demo generation throughput: `mifund demo generate` (claims + lines + enrolment rows written) against
the naive way.

mifund: NumPy-vectorised, county by county in chunks of persons, Parquet row groups (bounded memory).
Naive: a per-row Python generator for the same kinds of rows -- for each person, draw age, sex and
scheme with `random`, then each claim and each line one at a time, appended to lists of dicts and
written with csv.DictWriter -- on a small sample (it is slow); the ratio compares rows per second.
BENCH_SCALE scales the number of insured persons (1.0 = the medium size, 500 thousand).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from mifund.demo import calibration as K
from mifund.demo import generate


def naive(n_persons: int, out: Path, seed: int = 1) -> int:
    rnd = random.Random(seed)
    start = dt.date(K.CLAIM_YEAR, 1, 1)
    persons, claims, lines = [], [], []
    for i in range(n_persons):
        c = rnd.choices(K.COUNTIES, weights=[x.pop_share for x in K.COUNTIES])[0]
        age = rnd.randint(0, 90)
        sex = rnd.choice("MF")
        scheme = "employee" if 18 <= age < 60 and rnd.random() < c.employee_share else "resident"
        pid = f"SYN{i:010d}"
        persons.append({"person_id": pid, "year": K.LATEST_YEAR, "region_code": c.code, "scheme": scheme, "sex": sex,
                        "birth_date": dt.date(K.LATEST_YEAR - age, 1, 1).isoformat()})
        band = min(age // 5, 17)
        for vt, rate in (("inpatient", K.ADMISSION_RATE[band]), ("outpatient", K.OUTPATIENT_RATE[band])):
            k = sum(1 for _ in range(10) if rnd.random() < rate / 10)
            for _ in range(k):
                cid = f"SYNC{len(claims):011d}"
                day = start + dt.timedelta(days=rnd.randrange(365))
                total = 0
                for ln in range(rnd.randint(8, 20) if vt == "inpatient" else rnd.randint(1, 4)):
                    amt = round(rnd.lognormvariate(4, 1), 2)
                    total += amt
                    lines.append({"claim_id": cid, "line_no": ln + 1, "item_code": "XD000101", "amount": amt,
                                  "service_date": day.isoformat()})
                claims.append({"claim_id": cid, "person_id": pid, "visit_type": vt, "admit_date": day.isoformat(),
                               "total_amount": round(total, 2)})
    for name, rows in (("enrollment", persons), ("claims", claims), ("claim_lines", lines)):
        with open(out / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return len(persons) + len(claims) + len(lines)


def run(scale: float) -> list[dict]:
    n = max(2000, int(500_000 * scale))
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        r = generate(n, seed=1, out_dir=Path(d) / "demo")
        secs = time.perf_counter() - t
        rows = r.rows["enrollment"] + r.rows["claims"] + r.rows["claim_lines"]
        nn = max(2000, n // 50)
        t = time.perf_counter()
        naive_rows = naive(nn, Path(d))
        naive_secs = time.perf_counter() - t
    rate, naive_rate = rows / secs, naive_rows / naive_secs
    return [{"name": f"demo generate, {n:,} insured (enrolment + claims + claim lines)", "rows": rows, "seconds": secs,
             "rows_per_s": rate, "naive_rows_per_s": naive_rate, "ratio": rate / naive_rate}]
