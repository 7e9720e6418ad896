"""Supervision rules: each with a hand-made positive and a near-miss negative; bad input; rule files;
cases and their history across a restart; profiling and duplicate enrolment golden cases."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from mifund.supervision import RuleFileError, SupervisionInputError, Tables, load_rules, screen
from mifund.supervision.spec import load_rule_file

D = dt.date
DAY = dt.date(2024, 3, 1)


def claim(cid, pid="P1", prov="H1", vt="inpatient", admit=DAY, discharge=None, dx="K35.8", total=1000.0):
    return {"claim_id": cid, "person_id": pid, "provider_id": prov, "visit_type": vt, "admit_date": admit,
            "discharge_date": discharge or admit, "diagnosis_code": dx, "total_amount": total,
            "self_pay_amount": 0.0, "copay_first_amount": 0.0, "policy_scope_amount": total, "cross_region": False}


def line(cid, no, item="XD1", qty=1.0, amount=100.0, day=DAY, cls="A", name=None, price=None):
    return {"claim_id": cid, "line_no": no, "item_code": item, "item_name": name, "item_category": "drug",
            "catalog_class": cls, "quantity": qty, "unit_price": price if price is not None else amount / qty,
            "amount": amount, "service_date": day}


CATALOG = [
    {"item_code": "XD1", "name": "普通药", "item_category": "drug", "catalog_class": "A", "sex_restriction": None,
     "min_age": None, "max_age": None, "max_daily_quantity": 3.0, "price_cap": None},
    {"item_code": "XDF", "name": "黄体酮注射液", "item_category": "drug", "catalog_class": "B", "sex_restriction": "F",
     "min_age": 14, "max_age": 55, "max_daily_quantity": 2.0, "price_cap": None},
    {"item_code": "XDK", "name": "小儿布洛芬混悬液", "item_category": "drug", "catalog_class": "A",
     "sex_restriction": None, "min_age": None, "max_age": 12, "max_daily_quantity": None, "price_cap": None},
    {"item_code": "SVB", "name": "床位费（普通病房）", "item_category": "service", "catalog_class": "A",
     "sex_restriction": None, "min_age": None, "max_age": None, "max_daily_quantity": None, "price_cap": 80.0},
    {"item_code": "SVN", "name": "Ⅰ级护理", "item_category": "service", "catalog_class": "A", "sex_restriction": None,
     "min_age": None, "max_age": None, "max_daily_quantity": None, "price_cap": 60.0},
]
PERSONS = [  # person, sex, birth date (ages in 2024: P1 44 M, P2 30 F, P3 10 F, P4 12 M born in December)
    ("P1", "M", D(1980, 5, 1)), ("P2", "F", D(1994, 1, 1)), ("P3", "F", D(2014, 6, 1)), ("P4", "M", D(2012, 12, 20)),
]
PROVIDERS = [{"provider_id": p, "name": p, "region_code": r, "level": 2, "type": "hospital", "specialty": None}
             for p, r in (("H1", "360102"), ("H2", "360103"), ("C1", "360102"))]

SCHEMAS = {
    "claims": {"claim_id": "string", "person_id": "string", "provider_id": "string", "visit_type": "string",
               "admit_date": "date", "discharge_date": "date", "diagnosis_code": "string",
               "total_amount": "float64", "self_pay_amount": "float64",
               "copay_first_amount": "float64", "policy_scope_amount": "float64", "cross_region": "boolean"},
    "lines": {"claim_id": "string", "line_no": "int64", "item_code": "string", "item_name": "string",
              "item_category": "string", "catalog_class": "string", "quantity": "float64", "unit_price": "float64",
              "amount": "float64", "service_date": "date"},
    "enrollment": {"person_id": "string", "year": "int64", "region_code": "string", "scheme": "string",
                   "category": "string", "special_group": "string", "sex": "string", "birth_date": "date",
                   "family_id": "string", "wage_base": "float64"},
    "providers": {"provider_id": "string", "name": "string", "region_code": "string", "level": "int64",
                  "type": "string", "specialty": "string"},
    "catalog": {"item_code": "string", "name": "string", "item_category": "string", "catalog_class": "string",
                "sex_restriction": "string", "min_age": "int64", "max_age": "int64",
                "max_daily_quantity": "float64", "price_cap": "float64"},
}


def enrol(pid, sex, birth, year=2024, region="360102", scheme="resident", cat="resident_adult"):
    return {"person_id": pid, "year": year, "region_code": region, "scheme": scheme, "category": cat,
            "special_group": "none", "sex": sex, "birth_date": birth, "family_id": None, "wage_base": None}


def frame(rows, name):
    sch = SCHEMAS[name]
    df = pd.DataFrame(rows, columns=list(sch))
    return df


def tables(claims, lines=(), enrollment=None, catalog=CATALOG, providers=PROVIDERS) -> Tables:
    enrollment = enrollment if enrollment is not None else [enrol(p, s, b) for p, s, b in PERSONS]

    def mt(rows, name):
        df = frame(rows, name)
        return ibis.memtable(df, schema=ibis.schema(SCHEMAS[name]))

    return Tables(mt(claims, "claims"), mt(list(lines), "lines"), mt(enrollment, "enrollment"),
                  mt(providers, "providers"), mt(catalog, "catalog"))


def hits_of(rule_id, t: Tables) -> pd.DataFrame:
    res = screen(t, load_rules(only=[rule_id]))
    assert not res.failures, res.failures
    return res.hits.to_pandas()


def stay(cid, admit, days, **kw):
    return claim(cid, admit=admit, discharge=admit + dt.timedelta(days=days), **kw)


# -- one positive and one near miss per rule ---------------------------------------------------------
def test_duplicate_billing():
    a = claim("C1", vt="outpatient", total=200)
    b = claim("C2", vt="outpatient", total=200)          # the same visit billed again: hit
    c = claim("C3", vt="outpatient", total=200, prov="H2")   # near miss: same day, another provider
    lines = [line("C1", 1, amount=200), line("C2", 1, amount=200), line("C3", 1, amount=200)]
    h = hits_of("duplicate_billing", tables([a, b, c], lines))
    assert h[["claim_id", "related_claim_id"]].values.tolist() == [["C2", "C1"]]
    assert h.amount_at_stake.tolist() == [200.0]


def test_duplicate_billing_needs_the_same_lines():
    a, b = claim("C1", vt="outpatient", total=200), claim("C2", vt="outpatient", total=200)
    lines = [line("C1", 1, amount=200), line("C2", 1, amount=150), line("C2", 2, amount=50)]  # same total, other lines
    assert hits_of("duplicate_billing", tables([a, b], lines)).empty


def test_split_admission_and_near_misses():
    first = stay("C1", D(2024, 3, 1), 5, dx="I63.9")                 # discharged 3-06
    second = stay("C2", D(2024, 3, 7), 4, dx="I63.9")                # next day, same provider and diagnosis
    other_dx = stay("C3", D(2024, 3, 14), 2, dx="S72.0")             # near miss: another diagnosis
    late = stay("C4", D(2024, 4, 27), 3, dx="I63.9")                 # near miss: 16 days after C2 (window 15)
    h = hits_of("split_admission", tables([first, second, other_dx, late]))
    assert sorted(h[["claim_id", "related_claim_id"]].values.tolist()) == [["C1", "C2"], ["C2", "C1"]]
    # the pair's amount is counted once: on the readmission
    assert h.set_index("claim_id").amount_at_stake.to_dict() == {"C1": 0.0, "C2": 1000.0}


def test_split_admission_window_edge():
    # 15 days after discharge is inside a 15-day window, 16 is not (C2 hit, C3 not)
    c = [stay("C1", D(2024, 3, 1), 2), stay("C2", D(2024, 3, 18), 2), stay("C3", D(2024, 4, 5), 2)]
    h = hits_of("split_admission", tables(c))
    assert set(h.claim_id) == {"C1", "C2"}


def test_overlapping_stays():
    a = stay("C1", D(2024, 3, 1), 10)
    b = stay("C2", D(2024, 3, 5), 4, prov="H2")                       # inside a: 4 nights overlap
    c = stay("C3", D(2024, 3, 11), 3, prov="H2")                      # near miss: transfer on discharge day
    h = hits_of("overlapping_stay", tables([a, b, c]))
    assert h.claim_id.tolist() == ["C2"] and h.related_claim_id.tolist() == ["C1"]
    assert h.amount_at_stake.tolist() == [1000.0]                     # 4 of its 4 nights overlap


def test_overlapping_stays_inside_a_long_stay_past_a_short_one():
    # A 1-30 Jan at H1; B 5-8 at H2 and C 10-15 at H3 both inside A. C's stay just before is B (ended on
    # the 8th), yet C overlaps A: compared with the latest discharge of all earlier stays (A's, the 30th).
    a = claim("A", admit=D(2024, 1, 1), discharge=D(2024, 1, 30))
    b = claim("B", prov="H2", admit=D(2024, 1, 5), discharge=D(2024, 1, 8))
    c = claim("C", prov="C1", admit=D(2024, 1, 10), discharge=D(2024, 1, 15))
    h = hits_of("overlapping_stay", tables([a, b, c])).sort_values("claim_id")
    assert h[["claim_id", "related_claim_id"]].values.tolist() == [["B", "A"], ["C", "A"]]
    assert h.evidence.tolist() == ["overlaps stay A at H1 by 3 night(s)", "overlaps stay A at H1 by 5 night(s)"]


def test_readmission_chain_hit_ids_unique():
    # X1 -> X2 -> X3, 5 days apart: X2 is the second part of X1's readmission and the first part of its own;
    # the two hits of X2 keep apart ids (the first part's id ends in ':first')
    x = [stay(f"X{i}", D(2024, 3, 1) + dt.timedelta(days=10 * (i - 1)), 4) for i in (1, 2, 3)]
    h = hits_of("split_admission", tables(x))
    assert sorted(h.hit_id) == ["split_admission:X1:-:first", "split_admission:X2:-", "split_admission:X2:-:first",
                                "split_admission:X3:-"]


def test_phantom_stay_bed_and_nursing_only():
    days = [D(2024, 5, 1) + dt.timedelta(days=i) for i in range(8)]
    hollow = stay("C1", D(2024, 5, 1), 7, total=8 * 140.0)
    ln = [line("C1", 2 * i + 1, item="SVB", amount=80, day=d) for i, d in enumerate(days)]
    ln += [line("C1", 2 * i + 2, item="SVN", amount=60, day=d) for i, d in enumerate(days)]
    treated = stay("C2", D(2024, 6, 1), 7, pid="P2", total=8 * 80.0 + 100)   # near miss: one drug line too
    ln += [line("C2", i + 1, item="SVB", amount=80, day=D(2024, 6, 1) + dt.timedelta(days=i)) for i in range(8)]
    ln += [line("C2", 9, item="XD1", amount=100, day=D(2024, 6, 2))]
    h = hits_of("phantom_stay", tables([hollow, treated], ln))
    assert h.claim_id.tolist() == ["C1"]


def test_use_during_stay_elsewhere():
    s = stay("C1", D(2024, 3, 1), 10)
    out = claim("C2", vt="outpatient", prov="H2", admit=D(2024, 3, 5))        # hit: mid-stay, elsewhere
    day1 = claim("C3", vt="pharmacy", prov="H2", admit=D(2024, 3, 1), pid="P1")  # near miss: admission day
    same = claim("C4", vt="outpatient", prov="H1", admit=D(2024, 3, 6))       # near miss: same provider
    h = hits_of("phantom_stay_elsewhere", tables([s, out, day1, same]))
    assert h[["claim_id", "related_claim_id"]].values.tolist() == [["C1", "C2"]]


def test_sex_restricted_item():
    c = [claim("C1", pid="P1", vt="outpatient"), claim("C2", pid="P2", vt="outpatient")]
    ln = [line("C1", 1, item="XDF", amount=40), line("C2", 1, item="XDF", amount=40)]  # M: hit; F aged 30: fine
    h = hits_of("sex_restricted", tables(c, ln))
    assert h[["claim_id", "line_no"]].values.tolist() == [["C1", 1]]
    assert "sex F" in h.evidence[0] and "sex M" in h.evidence[0]


def test_age_restricted_item_calendar_year_basis():
    # XDK is for ages up to 12. P3 is 10 (fine), P1 is 44 (hit). P4 turns 12 in 2024 (born 2012-12-20): on
    # 2024-03-01 they are 11 in completed years and 12 by calendar year: within the range either way.
    c = [claim(f"C{i}", pid=p, vt="outpatient") for i, p in enumerate(("P1", "P3", "P4"))]
    ln = [line(f"C{i}", 1, item="XDK", amount=20) for i in range(3)]
    h = hits_of("age_restricted", tables(c, ln))
    assert h.claim_id.tolist() == ["C0"] and "aged 44" in h.evidence[0]


def test_age_basis_matters_at_the_boundary(tmp_path):
    # min_age 14 on XDF. A girl born 2010-12-01 is 14 by calendar year in 2024, 13 in completed years on 2024-03-01.
    rule = tmp_path / "age_exact.yaml"
    text = load_rule_file.__module__ and (open(__import__("mifund.supervision.rules", fromlist=["x"]).__path__[0]
                                               + "/age_restricted.yaml", encoding="utf-8").read())
    rule.write_text(text.replace("id: age_restricted", "id: age_exact").replace("calendar_year", "completed_years"),
                    encoding="utf-8")
    en = [enrol("G", "F", D(2010, 12, 1))]
    t = tables([claim("C1", pid="G", vt="outpatient")], [line("C1", 1, item="XDF", amount=40)], enrollment=en)
    assert screen(t, load_rules(only=["age_restricted"])).hits.num_rows == 0
    assert screen(t, load_rules([rule], only=["age_exact"])).hits.num_rows == 1


def test_over_quantity_sums_lines_of_a_day():
    c = [claim("C1", vt="outpatient"), claim("C2", vt="outpatient", pid="P2")]
    # C1: 2 + 2 = 4 > 3 on one day (both lines hit); C2: 3 a day on two days (near miss: at the limit)
    ln = [line("C1", 1, qty=2, amount=20), line("C1", 2, qty=2, amount=20),
          line("C2", 1, qty=3, amount=30), line("C2", 2, qty=3, amount=30, day=D(2024, 3, 2))]
    c[1]["discharge_date"] = D(2024, 3, 2)
    h = hits_of("over_quantity", tables(c, ln))
    assert sorted(h[["claim_id", "line_no"]].values.tolist()) == [["C1", 1], ["C1", 2]]
    assert h.amount_at_stake.round(2).tolist() == [5.0, 5.0]     # 20 x (4 - 3) / 4 each


def test_price_above_cap():
    c = [claim("C1", admit=D(2024, 3, 1), discharge=D(2024, 3, 2))]
    ln = [line("C1", 1, item="SVB", qty=2, amount=180, price=90),  # 90 > cap 80: at stake (90-80) x 2 = 20
          line("C1", 2, item="SVN", qty=1, amount=60, price=60)]   # near miss: exactly the cap
    h = hits_of("price_above_cap", tables(c, ln))
    assert h.line_no.tolist() == [1] and h.amount_at_stake.tolist() == [20.0]


def test_long_stay_beyond_peer_norm():
    peers = [stay(f"N{i}", D(2024, 1, 1) + dt.timedelta(days=20 * i), 5, pid=f"Q{i}") for i in range(20)]
    long = stay("L1", D(2024, 9, 1), 40, pid="P1")   # 40 > 3 x 5 and 35 days more
    near = stay("L2", D(2024, 9, 1), 15, pid="P2")   # 15 = 3 x 5: not beyond
    h = hits_of("long_stay", tables([*peers, long, near]))
    assert h.claim_id.tolist() == ["L1"]
    assert h.amount_at_stake.tolist() == [pytest.approx(1000 * 35 / 40)]


def test_excessive_frequency():
    c = [claim(f"V{i:02d}", vt="outpatient", admit=D(2024, 3, 1 + i)) for i in range(14)]          # 14 in March
    c += [claim(f"W{i:02d}", vt="pharmacy", pid="P2", admit=D(2024, 3, 1 + i)) for i in range(12)]  # 12: limit
    h = hits_of("excessive_frequency", tables(c))
    assert h.claim_id.tolist() == ["V12", "V13"] or sorted(h.claim_id) == ["V12", "V13"]


def test_outside_enrolment():
    c = [claim("C1", admit=D(2025, 2, 1)), claim("C2")]         # 2025: no enrolment row; 2024: enrolled
    h = hits_of("outside_enrolment", tables(c))
    assert h.claim_id.tolist() == ["C1"]


def test_duplicate_enrolment():
    en = [enrol("P1", "M", D(1980, 5, 1), scheme="employee", cat="in_service"),
          enrol("P1", "M", D(1980, 5, 1), region="360103"),                          # hit: two regions
          enrol("P2", "F", D(1994, 1, 1)), enrol("P2", "F", D(1994, 1, 1), year=2023)]  # near miss: two years
    h = hits_of("duplicate_enrolment", tables([claim("C1")], enrollment=en))
    assert h.person_id.tolist() == ["P1"] and h.claim_id.isna().all()
    assert "360102/employee" in h.evidence[0] and "360103/resident" in h.evidence[0]


# -- bad input, rule files, failures -----------------------------------------------------------------
def test_lines_with_unknown_claims_or_dates_outside_are_clear_errors():
    c = [claim("C1")]
    ln = [line("C1", 1), line("CX", 1), line("C1", 2, day=D(2024, 4, 1))]
    with pytest.raises(SupervisionInputError) as e:
        screen(tables(c, ln), load_rules(only=["over_quantity"]))
    msg = str(e.value)
    assert "1 claim line(s) refer to unknown claims, e.g. CX line 1" in msg
    assert "outside their claim" in msg and "C1 line 2 (2024-04-01)" in msg
    res = screen(tables(c, ln), load_rules(only=["over_quantity"]), allow_bad_input=True)
    assert len(res.input_problems) == 2 and not res.failures


def test_rule_file_with_unknown_parameter(tmp_path):
    f = tmp_path / "bad.yaml"
    src = open(__import__("mifund.supervision.rules", fromlist=["x"]).__path__[0] + "/split_admission.yaml",
               encoding="utf-8").read()
    f.write_text(src.replace("max_gap_days: 15", "max_gap_dayz: 15"), encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"bad\.yaml:11: params\.max_gap_dayz: unknown key"):
        load_rule_file(f)
    f.write_text(src.replace("weight: 0.9", "weight: 0.9\ncolour: red"), encoding="utf-8")
    with pytest.raises(RuleFileError, match="colour: unknown key"):
        load_rule_file(f)
    f.write_text(src.replace("check: readmission", "check: nope"), encoding="utf-8")
    with pytest.raises(RuleFileError, match="unknown check 'nope'"):
        load_rule_file(f)


def test_a_failing_rule_does_not_stop_the_others(tmp_path):
    f = tmp_path / "broken.yaml"
    src = open(__import__("mifund.supervision.rules", fromlist=["x"]).__path__[0] + "/phantom_stay.yaml",
               encoding="utf-8").read()
    f.write_text(src.replace("id: phantom_stay", "id: broken").replace("item_name_contains: [床位费, 护理]",
                                                                      "item_name_contains: []"), encoding="utf-8")
    rules = load_rules([f], only=["broken", "duplicate_billing"])
    a, b = claim("C1", vt="outpatient"), claim("C2", vt="outpatient")
    res = screen(tables([a, b], [line("C1", 1, amount=1000), line("C2", 1, amount=1000)]), rules)
    assert [r.rule_id for r in res.failures] == ["broken"]
    assert "needs item_codes or item_name_contains" in res.failures[0].error
    assert res.hits.to_pandas().claim_id.tolist() == ["C2"]


def test_a_new_rule_is_a_yaml_file(tmp_path):
    """Another window and visit type for an existing check, without touching the engine."""
    f = tmp_path / "chronic_daily.yaml"
    src = open(__import__("mifund.supervision.rules", fromlist=["x"]).__path__[0] + "/excessive_frequency.yaml",
               encoding="utf-8").read()
    f.write_text(src.replace("id: excessive_frequency", "id: chronic_twice_a_day").replace("period: month", "period: day")
                 .replace("max_claims: 12", "max_claims: 1").replace("[outpatient, pharmacy]", "[chronic_outpatient]"),
                 encoding="utf-8")
    c = [claim("C1", vt="chronic_outpatient"), claim("C2", vt="chronic_outpatient", prov="H2"),
         claim("C3", vt="chronic_outpatient", admit=D(2024, 3, 2))]
    h = screen(tables(c), load_rules([f], only=["chronic_twice_a_day"])).hits.to_pandas()
    assert h.claim_id.tolist() == ["C2"]


def test_shipped_rules_are_complete():
    rules = load_rules()
    ids = {r.id for r in rules}
    assert {"duplicate_billing", "split_admission", "overlapping_stay", "phantom_stay", "phantom_stay_elsewhere",
            "sex_restricted", "age_restricted", "over_quantity", "price_above_cap", "long_stay",
            "excessive_frequency", "outside_enrolment", "duplicate_enrolment"} <= ids
    for r in rules:
        assert r.reference and r.name_zh and r.name_en and r.evidence and r.amount


def test_effective_dates_limit_a_rule(tmp_path):
    src = open(__import__("mifund.supervision.rules", fromlist=["x"]).__path__[0] + "/outside_enrolment.yaml",
               encoding="utf-8").read()
    f = tmp_path / "old.yaml"
    f.write_text(src.replace("id: outside_enrolment", "id: old_rule") + "effective_to: 2024-12-31\n", encoding="utf-8")
    t = tables([claim("C1", admit=D(2025, 2, 1))])
    assert screen(t, load_rules([f], only=["old_rule"])).hits.num_rows == 0      # service after the rule ended
    assert screen(t, load_rules(only=["outside_enrolment"])).hits.num_rows == 1
