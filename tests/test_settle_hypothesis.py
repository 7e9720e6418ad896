"""Random policies and claims: the vectorised engine equals the plain-Python reference to the fen, and
the invariants hold (parts sum to the total, nothing negative, no cap exceeded, monotone in the amount)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mifund.policy import load_policies
from mifund.policy.schema import VISIT_GROUPS
from mifund.settlement import settle_fen
from mifund.settlement.prepare import VISIT_GROUP
from mifund.settlement.reference import reference_inputs, settle_reference
from settle_helpers import PROVIDERS, claim, person, run_engine_and_reference, source

D0, D1 = "2024-01-01", "2024-06-15"
money = st.integers(0, 3000).map(lambda x: x * 10)
ratio = st.integers(0, 100).map(lambda x: round(x / 100, 2))


def _vd(a, b=None, d1=D1):
    later = "" if b is None else f", {d1}: {b}"
    return "{values: {" + f"{D0}: {a}{later}" + "}}"


def _cap(x):
    return "null" if x is None else x


@st.composite
def policies(draw, tight=None):
    scheme = draw(st.sampled_from(["employee", "resident"]))
    # the second version starts mid-year (counters carry across it; the engine's running maxima and sums
    # are needed) or on 1 January after the claims (every parameter constant in the person-year: the
    # engine's closed forms without window passes are used); both must equal the reference
    d1 = draw(st.sampled_from([D1, "2025-01-01"]))
    _v = lambda a, b=None: _vd(a, b, d1)  # noqa: E731
    lv = lambda: "\n".join(f"    level_{k}: {_v(draw(money), draw(money))}" for k in (1, 2, 3))  # noqa: E731
    r1, r2 = draw(ratio), draw(ratio)
    inc = draw(st.integers(0, int(min(1 - r1, 1 - r2) * 100))) / 100
    bt = draw(st.integers(1, 500)) * 100
    # the repeat-admission rule for everyone, or only under / from some age (or both)
    bounds = draw(st.sampled_from([(), ("under",), ("from",), ("under", "from")]))
    ages = "".join(["    ages:\n"] * bool(bounds) + [
        f"      {b}: {_v(draw(st.integers(0, 30) if b == 'under' else st.integers(20, 90)))}\n" for b in bounds])
    # tight caps (half the examples): every cap present and small against the claims, so caps bind often,
    # one after another, across visit groups (the pooled cap counting what an outpatient cap already cut)
    tight = draw(st.booleans()) if tight is None else tight
    cap = st.integers(0, 200).map(lambda x: x * 10) if tight else money
    pcap = st.integers(0, 2000).map(lambda x: x * 10) if tight else money.map(lambda x: x * 5)
    opt = (lambda s: s) if tight else (lambda s: st.one_of(st.none(), s))  # noqa: E731 - a cap, or none
    ccap = draw(opt(cap.map(lambda x: x * 10)))
    if draw(st.booleans()):
        cross = f"cross_region_reduction: {_v(draw(ratio))}"
    else:  # a flat cross-region ratio (bands still add on top: keep the sum within 1) and deductible
        xr = draw(st.integers(0, int(round((1 - inc) * 100)))) / 100
        cross = f"cross_region_ratio: {_v(xr)}\n  cross_region_deductible: {_v(draw(money))}"
    text = f"""schema: mifund.policy/1
region_code: "990100"
scheme: {scheme}
name: random
metadata: {{reference: [{{title: random test policy}}]}}
inpatient:
  deductible:
{lv()}
  repeat_admission:
    from_admission: {_v(draw(st.integers(1, 4)))}
    deductible_factor: {_v(draw(ratio))}
{ages}  ratio:
    default: {_v(r1, r2)}
  bands:
    brackets:
      - {{threshold: {_v(0)}, rate: {_v(0)}}}
      - {{threshold: {_v(bt)}, rate: {_v(inc)}}}
  {cross}
outpatient:
  deductible: {_v(draw(money))}
  ratio: {{default: {_v(draw(ratio))}}}
  annual_cap: {_v(_cap(draw(opt(cap))), _cap(draw(opt(cap))))}
chronic_outpatient:
  deductible: {_v(draw(money))}
  ratio: {{default: {_v(draw(ratio))}}}
  annual_cap: {_v(_cap(draw(opt(cap))))}
pooled_annual_cap: {_v(_cap(draw(opt(pcap))), _cap(draw(opt(pcap))))}
catastrophic:
  threshold: {_v(draw(money), draw(money))}
  scale:
    brackets:
      - {{threshold: {_v(0)}, rate: {_v(draw(st.integers(0, 80)) / 100)}}}
      - {{threshold: {_v(draw(st.integers(1, 300)) * 100)}, rate: {_v(draw(st.integers(0, 90)) / 100)}}}
  annual_cap: {_v(_cap(ccap))}
  special_groups:
    low_income:
      threshold: {_v(draw(money))}
      rate_increase: {_v(draw(st.integers(0, 10)) / 100)}
      annual_cap: {_v(_cap(draw(opt(cap))))}
assistance:
  groups:
    low_income: {{ratio: {_v(draw(ratio))}, annual_cap: {_v(_cap(draw(opt(cap))))}}}
    extreme_poverty: {{ratio: {_v(draw(ratio))}}}
account:
  share: {_v(draw(ratio), draw(ratio))}
  annual_cap: {_v(_cap(draw(opt(cap))))}
  covers_self_pay: {draw(st.booleans())}
"""
    return scheme, text


@st.composite
def claims_for(draw, scheme, busy=False):
    """1-3 people, 1-8 claims of any visit type and size; `busy`: one person, 4-10 claims of at least
    1,000 each, so that the caps of every layer are reached in the year."""
    n_people = 1 if busy else draw(st.integers(1, 3))
    cats = ["in_service", "retired"] if scheme == "employee" else ["resident_adult", "student"]
    people = [person(f"P{i}", scheme=scheme, category=draw(st.sampled_from(cats)),
                     special=draw(st.sampled_from([None, "low_income", "extreme_poverty"])),
                     born=draw(st.one_of(st.none(), st.dates(dt.date(1930, 1, 1), dt.date(2023, 12, 31)))))
              for i in range(n_people)]
    out = []
    for i in range(draw(st.integers(4, 10) if busy else st.integers(1, 8))):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.sampled_from([0, 30, 166, 167, 200, 365])))
        total = draw(st.integers(100_000 if busy else 0, 5_000_000)) / 100
        sp = draw(st.integers(0, int(total * 100))) / 100
        cf = draw(st.integers(0, int((total - sp) * 100))) / 100
        scope = draw(st.one_of(st.none(), st.integers(0, int(round((total - sp - cf) * 100))).map(lambda x: x / 100)))
        out.append(claim(f"C{i:02d}", f"P{draw(st.integers(0, n_people - 1))}", day, total,
                         provider=draw(st.sampled_from(list(PROVIDERS.provider_id))),
                         visit=draw(st.sampled_from(["inpatient", "outpatient", "chronic_outpatient", "pharmacy"])),
                         self_pay=sp, copay=cf, scope=scope, cross=draw(st.booleans())))
    return out, people


# layer -> (the column that pays it, the visit groups whose claims count towards it, the resolve() key of its
# cap, the visit group to resolve that cap for); the outpatient cap counts pharmacy claims too (VISIT_GROUP)
CAPS = {"outpatient": ("pooled_fund_paid", {"outpatient"}, "tcap", "outpatient"),
        "chronic_outpatient": ("pooled_fund_paid", {"chronic_outpatient"}, "tcap", "chronic_outpatient"),
        "pooled": ("pooled_fund_paid", set(VISIT_GROUPS), "pcap", "inpatient"),
        "catastrophic": ("catastrophic_paid", set(VISIT_GROUPS), "ccap", "inpatient"),
        "assistance": ("assistance_paid", set(VISIT_GROUPS), "a_cap", "inpatient"),
        "account": ("account_paid", set(VISIT_GROUPS), "acct_cap", "inpatient")}


def largest_caps(pol, year: int, *, category: str, special_group: str | None) -> dict[str, int]:
    """Per layer, the largest cap (fen) of any policy version in force during `year`, resolved by the
    policy package for the person's category and special group: a cap lowered mid-year is not clawed
    back, so a person-year's total may reach the larger one, never more. A layer not in force gets 0."""
    vs = pol.versions
    live = [v for i, v in enumerate(vs) if v.year <= year and (i + 1 == len(vs) or vs[i + 1] > dt.date(year, 1, 1))]
    return {layer: max(pol.resolve(v, category=category, special_group=special_group, level=1, visit_group=vg)[key]
                       for v in live)
            for layer, (_, _, key, vg) in CAPS.items()}


def assert_no_cap_exceeded(pols, claims: list[dict], people: list[dict], settled: dict[str, dict[str, int]]) -> None:
    """Per person-year, what each layer paid (fen, `settled` by claim id) is within its largest cap."""
    for p in people:
        pol = pols.policy_for(p["region_code"], p["scheme"])
        caps = largest_caps(pol, p["year"], category=p["category"], special_group=p["special_group"])
        mine = [c for c in claims if c["person_id"] == p["person_id"] and c["discharge_date"].year == p["year"]]
        for layer, (col, groups, _, _) in CAPS.items():
            paid = sum(settled[c["claim_id"]][col] for c in mine if VISIT_GROUP[c["visit_type"]] in groups)
            assert paid <= caps[layer], (p["person_id"], layer, paid, caps[layer])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_engine_equals_reference_and_invariants(tmp_path_factory, data):
    scheme, text = data.draw(policies())
    d = tmp_path_factory.mktemp("pol")
    (d / "p.yaml").write_text(text, encoding="utf-8")
    pols = load_policies(d)
    claims, people = data.draw(claims_for(scheme))
    src = source(claims, people)
    eng = settle_fen(src, pols, detail=True).set_index("claim_id")
    ref = {r["claim_id"]: r for r in settle_reference(reference_inputs(src, pols), pols)}
    cols = ["deductible_applied", "pooled_fund_paid", "catastrophic_paid", "assistance_paid", "account_paid",
            "out_of_pocket"]
    for cid, row in eng.iterrows():
        for c in cols:
            assert int(row[c]) == ref[cid][c], (cid, c, int(row[c]), ref[cid][c])
        assert all(int(row[c]) >= 0 for c in cols), cid
        assert sum(int(row[c]) for c in cols[1:]) == int(row["total_amount"])
    # caps, from the policy itself (not from the reference settler, which shares the engine's cap rule)
    assert_no_cap_exceeded(pols, claims, people, {cid: {c: int(row[c]) for c in cols} for cid, row in eng.iterrows()})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_engine_equals_reference_when_caps_bind_one_after_another(tmp_path_factory, data):
    """Tight caps and a busy year: the outpatient, chronic, pooled, catastrophic, assistance and account
    caps are reached by one person's claims in turn, in any order of visit types. The general test above
    draws small claims and loose caps too often to reach several caps in one year."""
    scheme, text = data.draw(policies(tight=True))
    d = tmp_path_factory.mktemp("pol")
    (d / "p.yaml").write_text(text, encoding="utf-8")
    pols = load_policies(d)
    claims, people = data.draw(claims_for(scheme, busy=True))
    yuan = run_engine_and_reference(pols, claims, people)  # asserts the two agree to the fen
    # here the caps bind often: each layer's year total reaches its cap, and must stop there
    assert_no_cap_exceeded(pols, claims, people, {cid: {c: round(v * 100) for c, v in row.items()}
                                                  for cid, row in yuan.items()})


@pytest.mark.slow
@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_engine_never_exceeds_a_cap(tmp_path_factory, data):
    """The engine alone (no reference settler: a cap-rule mistake the two shared would pass the tests
    above), tight caps and a busy year: per person-year no layer pays more than the largest cap of that
    layer in force during the year, resolved from the policy by the policy package. More examples than
    the agreement test, at the cost of one settlement each: a layer's cap is reached in only some."""
    scheme, text = data.draw(policies(tight=True))
    d = tmp_path_factory.mktemp("pol")
    (d / "p.yaml").write_text(text, encoding="utf-8")
    pols = load_policies(d)
    claims, people = data.draw(claims_for(scheme, busy=True))
    eng = settle_fen(source(claims, people), pols).set_index("claim_id")
    assert_no_cap_exceeded(pols, claims, people, {cid: {c: int(v) for c, v in row.items()} for cid, row in eng.iterrows()})


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_monotone_in_claim_amount(tmp_path_factory, data):
    """A larger bill (same person, same history) never lowers any part of the engine's settlement: not
    what a fund or the account pays, nor what is left out of pocket, to the fen.

    Why no fen of slack is needed for the per-layer half-up rounding: the earlier claims are the same, so
    every counter and cap headroom is too. A layer pays min(hu(x), headroom), hu(x) = (x + 5000) // 10000,
    where x (basis-point fen) is its rates × its base; every rate (bands and increases included, less any
    cross-region reduction) is at most 1 (the policy check refuses more) and the bands do not overlap, so a
    base k fen larger adds at most 10000·k to x, and hu(x + 10000·k) = hu(x) + k exactly: a layer grows by
    at most its base's growth. The deductible, the bands, hu and min are non-decreasing, so each layer
    grows by 0 to its base's growth, and the next base (P − pooled for the catastrophic layer, which pays
    hu(F(base after)) − hu(F(base before)) with "before" unchanged; minus that for assistance; minus
    assistance, plus the unchanged copay and self-paid parts, for the account; minus the account for out
    of pocket) never shrinks. Every part is non-decreasing."""
    scheme, text = data.draw(policies())
    d = tmp_path_factory.mktemp("pol")
    (d / "p.yaml").write_text(text, encoding="utf-8")
    pols = load_policies(d)
    claims, people = data.draw(claims_for(scheme))
    extra = data.draw(st.integers(1, 2_000_000)) / 100
    target = claims[-1]["claim_id"]
    bigger = [dict(c, total_amount=c["total_amount"] + extra,
                   policy_scope_amount=None if c["policy_scope_amount"] is None else c["policy_scope_amount"] + extra)
              if c["claim_id"] == target else c for c in claims]

    def run(cl):
        return settle_fen(source(cl, people), pols).set_index("claim_id").loc[target]

    a, b = run(claims), run(bigger)
    for c in ["pooled_fund_paid", "catastrophic_paid", "assistance_paid", "account_paid", "out_of_pocket"]:
        assert int(b[c]) >= int(a[c]), (c, int(a[c]), int(b[c]))
