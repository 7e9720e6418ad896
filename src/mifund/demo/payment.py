"""Provisional pooled-fund and account payments of the demo claims, vectorised.

PROVISIONAL: to be replaced by mifund.settlement once available. This applies only the demo policy in
mifund.demo.calibration (Nanchang's inpatient deductibles and ratios by level and scheme, an annual cap,
employee outpatient pooling with its deductible and caps, a resident primary-care outpatient pool,
chronic outpatient ratios), so that the latest year's fund ledger can be derived from the claims. It
ignores catastrophic insurance, medical assistance, the reduced deductible for repeated admissions and
every other refinement of the real policy engine. Amounts are integer fen.
"""

from __future__ import annotations

import numpy as np

from mifund.demo import calibration as K

INPATIENT, OUTPATIENT, CHRONIC, PHARMACY = 0, 1, 2, 3
VISIT_CODES = ("inpatient", "outpatient", "chronic_outpatient", "pharmacy")
EMPLOYEE, RESIDENT = 0, 1


def group_cumsum(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of values within runs of equal `group` (the arrays sorted by group)."""
    cs = np.cumsum(values, dtype=np.int64)
    if not len(cs):
        return cs
    start = np.r_[True, group[1:] != group[:-1]]
    first = np.flatnonzero(start)
    base = np.r_[0, cs[:-1]][first]
    run = np.cumsum(start) - 1
    return cs - base[run]


def _capped(group, raw, cap):
    """Payments after a per-group running cap: cap may be a scalar or an array per row."""
    cum = group_cumsum(group, raw)
    prev = cum - raw
    return np.minimum(cum, cap) - np.minimum(prev, cap)


def provisional_payments(person: np.ndarray, order_key: np.ndarray, visit: np.ndarray, scheme: np.ndarray,
                         retired: np.ndarray, level: np.ndarray, scope: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pooled_fund_paid, account_paid) in fen for each claim.

    person: person index; order_key: a date ordinal (annual deductibles and caps run in date order);
    visit: VISIT codes; scheme: EMPLOYEE/RESIDENT; retired: bool; level: provider level 1-3 (clinics 1,
    pharmacies 1); scope: policy-scope amount in fen (total - self_pay - copay_first).
    """
    n = len(person)
    pooled = np.zeros(n, np.int64)
    account = np.zeros(n, np.int64)
    order = np.lexsort((order_key, person))
    p, v, s, r, lv, sc = (a[order] for a in (person, visit, scheme, retired, level, scope))
    out_pool = np.zeros(n, np.int64)
    out_acc = np.zeros(n, np.int64)

    # inpatient: deductible per admission, ratio by level and scheme, annual cap per person
    m = v == INPATIENT
    if m.any():
        ded = np.zeros(n, np.int64)
        ratio = np.zeros(n)
        for (sch, lev), (d, rt) in K.INPATIENT_POLICY.items():
            sel = m & (s == (EMPLOYEE if sch == "employee" else RESIDENT)) & (lv == lev)
            ded[sel] = d * 100
            ratio[sel] = rt
        raw = np.where(m, np.round(np.maximum(sc - ded, 0) * ratio).astype(np.int64), 0)
        cap = np.where(s == EMPLOYEE, K.INPATIENT_CAP["employee"], K.INPATIENT_CAP["resident"]) * 100
        paid = _capped(p, raw, cap.astype(np.int64))
        out_pool[m] = paid[m]

    # employee general outpatient: annual deductible, ratio by level (+5 points retired), annual cap
    m = (v == OUTPATIENT) & (s == EMPLOYEE)
    if m.any():
        pol = K.EMPLOYEE_OUTPATIENT
        x = np.where(m, sc, 0)
        cum = group_cumsum(p, x)
        ded = int(pol["deductible"] * 100)
        eligible = np.maximum(cum - ded, 0) - np.maximum(cum - x - ded, 0)
        ratio = np.select([lv == 1, lv == 2], [pol["ratio"][1], pol["ratio"][2]], pol["ratio"][3]) + np.where(r, K.RETIRED_BONUS, 0)
        raw = np.where(m, np.round(eligible * np.minimum(ratio, 1.0)).astype(np.int64), 0)
        cap = np.where(r, pol["cap"]["retired"], pol["cap"]["in_service"]) * 100
        paid = _capped(p, raw, cap.astype(np.int64))
        out_pool[m] = paid[m]
        out_acc[m] = (sc - paid)[m]  # the in-scope personal share, from the account

    # resident general outpatient: ratio by level, small annual cap
    m = (v == OUTPATIENT) & (s == RESIDENT)
    if m.any():
        pol = K.RESIDENT_OUTPATIENT
        ratio = np.select([lv == 1, lv == 2], [pol["ratio"][1], pol["ratio"][2]], pol["ratio"][3])
        raw = np.where(m, np.round(sc * ratio).astype(np.int64), 0)
        paid = _capped(p, raw, int(pol["cap"] * 100))
        out_pool[m] = paid[m]

    # chronic outpatient: ratio by scheme, no deductible
    m = v == CHRONIC
    if m.any():
        ratio = np.where(s == EMPLOYEE, K.CHRONIC_RATIO["employee"], K.CHRONIC_RATIO["resident"])
        out_pool[m] = np.round(sc * ratio).astype(np.int64)[m]
        e = m & (s == EMPLOYEE)
        out_acc[e] = (sc - out_pool)[e]

    # pharmacy: employees pay the in-scope amount from the account; no pooled payment
    m = (v == PHARMACY) & (s == EMPLOYEE)
    out_acc[m] = sc[m]

    pooled[order] = out_pool
    account[order] = out_acc
    return pooled, account
