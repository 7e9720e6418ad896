"""Planted abuse and natural near-misses in the demo claims, with labels kept apart.

The labels go to truth/labels.csv only, never into the claim tables. Kinds (is_abuse true):
duplicate_billing, split_admission, phantom_stay, sex_restricted_item, age_restricted_item,
over_quantity, upcoding_provider (a provider label: its claims are billed about 60% higher with more
severe diagnosis codes), duplicate_enrolment (a person enrolled in two regions/schemes in one year).
Near-misses (is_abuse false), legitimate look-alikes that a good detector leaves alone:
near_miss_readmission_other_diagnosis (readmitted within 15 days for another diagnosis),
near_miss_readmission_after_window (same diagnosis, readmitted 31-60 days later),
near_miss_same_day_other_provider (two visits on one day at different providers, different diagnoses).

Planting works on a chunk's internal frames (claims `cl` with person row `p`, lines `ln` with claim row
`c`) before totals are computed, so every planted claim's lines still add up to its total.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# per person in a chunk (at least one of each per chunk)
RATES = {
    "duplicate_billing": 1 / 2000, "split_admission": 1 / 4000, "phantom_stay": 1 / 5000,
    "restricted_item": 1 / 2000, "over_quantity": 1 / 2000, "duplicate_enrolment": 1 / 4000,
    "near_miss_readmission": 1 / 3000, "near_miss_same_day": 1 / 2000,
}
UPCODERS = 2
LABEL_COLUMNS = ("label_id", "kind", "is_abuse", "entity", "claim_id", "line_no", "provider_id", "person_id",
                 "related_claim_id", "detail")


def _count(n: int, kind: str) -> int:
    return max(1, int(round(n * RATES[kind])))


def choose_upcoders(rng, prov: pd.DataFrame) -> np.ndarray:
    """Row positions of the upcoding providers: level-2 hospitals in different counties."""
    cand = np.flatnonzero((prov.level.to_numpy() == 2) & (prov.type.to_numpy() == "hospital"))
    picked, seen = [], set()
    for i in rng.permutation(cand):
        code = prov.region_code.iloc[i]
        if code not in seen:
            picked.append(i)
            seen.add(code)
        if len(picked) == UPCODERS:
            break
    return np.asarray(sorted(picked), np.int64)


class Labels:
    def __init__(self):
        self.rows: list[dict] = []
        self.provider_rows: list[dict] = []

    def provider(self, provider_id: str, detail: str) -> None:
        self.provider_rows.append({"kind": "upcoding_provider", "is_abuse": True, "entity": "provider",
                                   "provider_id": provider_id, "detail": detail})

    def resolve(self, cl: pd.DataFrame, persons: pd.DataFrame, prov) -> None:
        """Turn the chunk's tags (claim rows, line numbers) into label rows with the final ids."""
        tagged = np.flatnonzero(cl.tag.to_numpy() != "")
        ids = cl.claim_id.to_numpy()
        for i in tagged:
            kind = cl.tag.iat[i]
            rel = int(cl.rel.iat[i])
            line = int(cl.tag_line.iat[i])
            self.rows.append({
                "kind": kind, "is_abuse": not kind.startswith("near_miss"), "entity": "claim" if line < 0 else "claim_line",
                "claim_id": ids[i], "line_no": line if line >= 0 else None,
                "provider_id": prov.ids[cl.prov.iat[i]], "person_id": persons.person_id.iat[cl.p.iat[i]],
                "related_claim_id": ids[rel] if rel >= 0 else None, "detail": cl.tag_detail.iat[i],
            })

    def person(self, person_id: str, detail: str) -> None:
        self.rows.append({"kind": "duplicate_enrolment", "is_abuse": True, "entity": "person",
                          "person_id": person_id, "detail": detail})

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.provider_rows + self.rows, columns=[c for c in LABEL_COLUMNS if c != "label_id"])
        df.insert(0, "label_id", [f"L{i + 1:07d}" for i in range(len(df))])
        df["line_no"] = df["line_no"].astype("Int64")
        df["synthetic"] = "planted in synthetic demo data"
        return df


def _index(ln: pd.DataFrame, m: int):
    c = ln.c.to_numpy()
    starts = np.searchsorted(c, np.arange(m))
    ends = np.searchsorted(c, np.arange(m), side="right")
    return starts, ends


def plant(rng, cl: pd.DataFrame, ln: pd.DataFrame, persons: pd.DataFrame, prov, cat, labels: Labels):
    """Plant abuse and near-misses in one chunk; returns the new (claims, lines), sorted by person and day."""
    from mifund.demo.codes import INPATIENT, OUTPATIENT

    n = len(persons)
    cl = cl.copy()
    for col, v in (("tag", ""), ("rel", -1), ("tag_line", -1), ("tag_detail", "")):
        cl[col] = v
    cl["tag"] = cl.tag.astype(object)
    cl["tag_detail"] = cl.tag_detail.astype(object)
    starts, ends = _index(ln, len(cl))
    new_claims: list[dict] = []
    new_lines: list[pd.DataFrame] = []
    next_c = len(cl)
    visit = cl.visit.to_numpy()
    end_day = cl.end_day.to_numpy()
    los = cl.los.to_numpy()

    def clone_lines(src: int, dst: int, shift: int = 0) -> None:
        part = ln.iloc[starts[src]:ends[src]].copy()
        part["c"] = dst
        part["sday"] = part.sday.to_numpy() + shift
        new_lines.append(part)

    def add_claim(row: dict) -> int:
        nonlocal next_c
        row.setdefault("tag", "")
        row.setdefault("rel", -1)
        row.setdefault("tag_line", -1)
        row.setdefault("tag_detail", "")
        new_claims.append(row)
        next_c += 1
        return next_c - 1

    def base(i: int) -> dict:
        return {k: cl[k].iat[i] for k in ("p", "visit", "prov", "level", "kind", "end_day", "los", "diagnosis_code", "total_fen")}

    # duplicate billing: the same visit or stay billed twice
    cand = np.flatnonzero(np.isin(visit, (INPATIENT, OUTPATIENT)))
    for i in rng.choice(cand, min(len(cand), _count(n, "duplicate_billing")), replace=False):
        j = add_claim({**base(i), "tag": "duplicate_billing", "rel": int(i), "tag_detail": "same person, provider, dates and lines as the related claim"})
        clone_lines(i, j)

    # split admission: one stay billed as two, discharged and readmitted the next day, same diagnosis
    cand = np.flatnonzero((visit == INPATIENT) & (los >= 6) & (end_day - los >= 0) & (cl.tag.to_numpy() == ""))
    for i in rng.choice(cand, min(len(cand), _count(n, "split_admission")), replace=False):
        L, e = int(los[i]), int(end_day[i])
        s = L // 2
        first_end = e - L + s
        j = add_claim({**base(i), "los": L - s - 1, "tag": "split_admission", "rel": int(i),
                       "tag_detail": "readmitted the day after discharge, same provider and diagnosis"})
        cl.loc[i, ["los", "end_day", "tag", "rel", "tag_detail"]] = [s, first_end, "split_admission", j,
                                                                    "first part of a split stay"]
        rows = np.arange(starts[i], ends[i])
        late = ln.sday.to_numpy()[rows] > first_end
        if late.all():
            late[0] = False
        if not late.any():
            late[-1] = True
        moved = ln.iloc[rows[late]].copy()
        moved["c"] = j
        moved["sday"] = np.clip(moved.sday.to_numpy(), first_end + 1, e)
        ln.loc[ln.index[rows], "sday"] = np.minimum(ln.sday.to_numpy()[rows], first_end)
        ln.loc[ln.index[rows[late]], "c"] = -1  # dropped below
        new_lines.append(moved)

    # phantom stay: a long stay with bed and nursing fees every day and nothing else
    bed, nurse = cat.index["SV000303"], cat.index["SV000304"]
    adults = np.flatnonzero(persons.age.to_numpy() >= 30)
    county_hosp = (1, 2)
    for pi in rng.choice(adults, min(len(adults), _count(n, "phantom_stay")), replace=False):
        L = int(rng.integers(10, 21))
        e = int(rng.integers(L + 5, 360))
        kind = county_hosp[int(rng.integers(0, 2))]
        prow = prov.choose(rng, np.asarray([persons.county.iat[pi]]), np.asarray([kind]))[0]
        j = add_claim({"p": int(pi), "visit": INPATIENT, "prov": int(prow), "level": int(prov.level[prow]),
                       "kind": kind, "end_day": e, "los": L, "diagnosis_code": "M17.9", "total_fen": 0,
                       "tag": "phantom_stay", "tag_detail": "bed and nursing fees only, every day of a long stay"})
        days = np.arange(e - L + 1, e + 1)
        k = len(days)
        new_lines.append(pd.DataFrame({
            "c": j, "line_no": np.arange(1, 2 * k + 1), "item": np.r_[np.full(k, bed), np.full(k, nurse)],
            "quantity": 1.0, "amount_fen": np.r_[np.full(k, 5000), np.full(k, 3500)], "sday": np.r_[days, days]}))

    # restricted items: a sex- or age-restricted item billed for someone it does not fit
    p_of_line = cl.p.to_numpy()[ln.c.to_numpy().clip(0)]
    sex = persons.sex.to_numpy()[p_of_line]
    age = persons.age.to_numpy()[p_of_line]
    k_r = _count(n, "restricted_item")
    cand = rng.permutation(np.flatnonzero((ln.line_no.to_numpy() == 1) & (ln.c.to_numpy() >= 0)))[: 20 * k_r]
    items = cat.restricted[rng.integers(0, len(cat.restricted), len(cand))]
    bad = ~cat.allowed(items, sex[cand], age[cand]) & ~np.isin(ln.item.to_numpy()[cand], cat.restricted)
    cand, items = cand[bad][:k_r], items[bad][:k_r]
    for r, it in zip(cand, items, strict=True):
        ci = int(ln.c.iat[r])
        if cl.tag.iat[ci]:
            continue
        ln.iat[r, ln.columns.get_loc("item")] = it
        ln.iat[r, ln.columns.get_loc("quantity")] = 1.0
        ln.iat[r, ln.columns.get_loc("amount_fen")] = int(round(cat.ref[it] * 100))
        ln.iat[r, ln.columns.get_loc("flag")] = 1
        sexbad = cat.sex[it] not in ("", sex[r])
        kind_ = "sex_restricted_item" if sexbad else "age_restricted_item"
        cl.loc[ci, ["tag", "tag_line", "tag_detail"]] = [kind_, int(ln.line_no.iat[r]),
                                                         f"{cat.codes[it]} for a {sex[r]} aged {age[r]}"]

    # over-quantity: a drug line far above its maximum daily quantity
    mq = cat.maxq[ln.item.to_numpy()]
    cand = np.flatnonzero((mq > 0) & (ln.c.to_numpy() >= 0))
    cand = cand[cl.tag.to_numpy()[ln.c.to_numpy()[cand]] == ""]
    for r in rng.choice(cand, min(len(cand), _count(n, "over_quantity")), replace=False):
        ci = int(ln.c.iat[r])
        if cl.tag.iat[ci]:
            continue
        it = int(ln.item.iat[r])
        q = int(cat.maxq[it] * rng.integers(2, 5))
        unit = ln.amount_fen.iat[r] / ln.quantity.iat[r]
        ln.iat[r, ln.columns.get_loc("quantity")] = float(q)
        ln.iat[r, ln.columns.get_loc("amount_fen")] = int(round(unit * q))
        ln.iat[r, ln.columns.get_loc("flag")] = 1
        cl.loc[ci, ["tag", "tag_line", "tag_detail"]] = ["over_quantity", int(ln.line_no.iat[r]),
                                                         f"{cat.codes[it]} quantity {q} > max daily {cat.maxq[it]}"]

    # near-miss: readmission for another diagnosis within 15 days, or the same diagnosis after 30 days
    cand = np.flatnonzero((visit == INPATIENT) & (end_day < 280) & (los <= 20) & (cl.tag.to_numpy() == ""))
    k_nm = max(2, _count(n, "near_miss_readmission"))  # both kinds in every chunk
    for t, i in enumerate(rng.choice(cand, min(len(cand), k_nm), replace=False)):
        after = t % 2 == 1
        gap = int(rng.integers(31, 61)) if after else int(rng.integers(3, 15))
        L = int(min(los[i], 10))
        e = int(end_day[i]) + gap + L
        diag = cl.diagnosis_code.iat[i] if after else ("S72.0" if cl.diagnosis_code.iat[i] != "S72.0" else "K35.8")
        if persons.age.iat[int(cl.p.iat[i])] < 40 and not after:
            diag = "K35.8" if cl.diagnosis_code.iat[i] != "K35.8" else "A09"
        kind_ = "near_miss_readmission_after_window" if after else "near_miss_readmission_other_diagnosis"
        j = add_claim({**base(i), "end_day": e, "los": L, "diagnosis_code": diag, "tag": kind_, "rel": int(i),
                       "tag_detail": f"readmitted {gap} days after discharge ({'same' if after else 'another'} diagnosis)"})
        clone_lines(i, j, shift=e - int(end_day[i]))
        last = new_lines[-1]
        last["sday"] = np.clip(last.sday.to_numpy(), e - L, e)

    # near-miss: two visits the same day at different providers for different conditions
    cand = np.flatnonzero((visit == OUTPATIENT) & (cl.tag.to_numpy() == ""))
    for i in rng.choice(cand, min(len(cand), _count(n, "near_miss_same_day")), replace=False):
        pi = int(cl.p.iat[i])
        kind = 0 if cl.kind.iat[i] != 0 else 2
        prow = prov.choose(rng, np.asarray([persons.county.iat[pi]]), np.asarray([kind]))[0]
        diag = "K02.9" if cl.diagnosis_code.iat[i] != "K02.9" else "J06.9"
        j = add_claim({**base(i), "prov": int(prow), "level": int(prov.level[prow]), "kind": kind,
                       "diagnosis_code": diag, "tag": "near_miss_same_day_other_provider", "rel": int(i),
                       "tag_detail": "second visit the same day, another provider and diagnosis"})
        clone_lines(i, j)

    # put it together and restore the (person, day) order, so claim ids give nothing away
    if new_claims:
        cl = pd.concat([cl, pd.DataFrame(new_claims)], ignore_index=True)
    ln = pd.concat([ln[ln.c.to_numpy() >= 0], *new_lines], ignore_index=True)
    order = np.lexsort((cl.visit.to_numpy(), cl.end_day.to_numpy(), cl.p.to_numpy()))
    inv = np.empty(len(order), np.int64)
    inv[order] = np.arange(len(order))
    cl = cl.iloc[order].reset_index(drop=True)
    cl["rel"] = np.where(cl.rel.to_numpy() >= 0, inv[cl.rel.to_numpy().clip(0)], -1)
    ln["c"] = inv[ln.c.to_numpy()]
    ln = ln.sort_values(["c", "sday", "line_no"], kind="stable").reset_index(drop=True)
    ln["line_no"] = (np.arange(len(ln)) - np.searchsorted(ln.c.to_numpy(), ln.c.to_numpy())) + 1
    flagged = ln.flag.to_numpy() == 1  # line tags follow the renumbering
    cl.loc[ln.c.to_numpy()[flagged], "tag_line"] = ln.line_no.to_numpy()[flagged]
    return cl, ln


def duplicate_enrolment(rng, persons: pd.DataFrame, labels: Labels) -> pd.DataFrame:
    """Employees also enrolled as residents in another county the same year."""
    from mifund.demo import calibration as K
    from mifund.demo.generate import CATS, IN_SERVICE, enrollment_frame

    cand = np.flatnonzero(persons.cat.to_numpy() == IN_SERVICE)
    pick = np.sort(rng.choice(cand, min(len(cand), _count(len(persons), "duplicate_enrolment")), replace=False))
    if not len(pick):
        return enrollment_frame(persons.iloc[:0])
    dup = enrollment_frame(persons.iloc[pick])
    codes = [c.code for c in K.COUNTIES]
    own = persons.county.to_numpy()[pick]
    other = (own + rng.integers(1, len(codes), len(pick))) % len(codes)
    dup["region_code"] = np.asarray(codes)[other]
    dup["scheme"] = "resident"
    dup["category"] = CATS[3]
    dup["wage_base"] = np.nan
    dup["family_id"] = np.char.add("SYNFD", dup.person_id.to_numpy().astype(str))
    for pid, code in zip(dup.person_id, dup.region_code, strict=True):
        labels.person(pid, f"employee enrolled again as a resident in {code}")
    return dup
