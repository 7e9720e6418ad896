"""Account simulator: a member worked by hand before and after the reform, conservation, and the
vectorised engine against the slow reference on random data."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts_helpers import hand_city, write_rules
from mifund.accounts.engine import simulate
from mifund.accounts.reference import simulate_reference
from mifund.accounts.rules import AccountRulesError, load_account_rules


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return load_account_rules(write_rules(tmp_path_factory.mktemp("rules")))


@pytest.fixture(scope="module")
def hand_sim(rules):
    return simulate(hand_city(), rules, opening="zero")


def _row(sim, regime, pid):
    m = sim.members
    return m[(m.regime == regime) & (m.person_id == pid)].iloc[0]


def test_hand_worked_member_before_and_after_the_reform(hand_sim):
    """Member A, in-service, aged 50 in 2024, wage base 5,000 a month; level-3 claims, opening balance 0.

    Old rules: credited 2% + 1.2% (the 45+ band of the employer share) = 160 a month, 1,920 a year.
      a1 (Feb, outpatient 500, no mutual aid): available 2 x 160 = 320 -> account 320, cash 180.
      a2 (Mar, pharmacy 400): credited 480, spent 320 -> balance 160 -> account 160, cash 240.
      a3 (Jun, inpatient 10,000; pooled 7,000 -> burden 3,000 of which self-pay 1,000 the account may not
         pay): credited 960, spent 480 -> balance 480 -> account 480, cash 2,520.
      Spent 960, closing 1,920 - 960 = 960; cash 180 + 240 + 2,520 = 2,940.
    New rules: credited 2% only = 100 a month, 1,200 a year; mutual aid 60% above 300 a year:
      a1: (500 - 300) x 0.6 = 120 -> burden 380; available 200 -> account 200, cash 180.
      a2: 400 x 0.6 = 240 -> burden 160; balance 300 - 200 = 100 -> account 100, cash 60.
      a3: burden 3,000, eligible 2,000; balance 600 - 300 = 300 -> account 300, cash 2,700.
      Spent 600; before family sharing 600 is left; A's resident spouse B asks 200 (her outpatient
      claim 300 less the resident pool's 100) + her resident contribution 400 = 600: the family draw is
      min(600, 600) = 600, so A's closing balance is 0 and B pays nothing in cash.
    C, retiree aged 72: old 5% x 3,000 = 150 a month (1,800 a year); new fixed 60 a month (720).
    """
    sim = hand_sim
    a_old, a_new = _row(sim, "old", "A"), _row(sim, "new", "A")
    assert (a_old.credit, a_old.credit_employer, a_old.own_paid, a_old.closing) == (1920, 720, 960, 960)
    assert (a_old.out_of_pocket, a_old.mutual_aid, a_old.burden) == (2940, 0, 3900)
    assert (a_new.credit, a_new.credit_employer, a_new.mutual_aid) == (1200, 0, 360)
    assert (a_new.own_paid, a_new.family_given, a_new.closing, a_new.out_of_pocket) == (600, 600, 0, 2940)
    b_old, b_new = _row(sim, "old", "B"), _row(sim, "new", "B")
    assert (b_old.out_of_pocket, b_old.contribution_cash, b_old.family_received) == (200, 400, 0)
    assert (b_new.out_of_pocket, b_new.contribution_cash, b_new.family_received) == (0, 0, 600)
    assert b_new.contribution_received == 400
    c_old, c_new = _row(sim, "old", "C"), _row(sim, "new", "C")
    assert (c_old.credit, c_new.credit, c_old.closing, c_new.closing) == (1800, 720, 1800, 720)


def test_claim_by_claim_order_matches_the_hand_working(rules):
    """The per-claim spending order of the old regime, through the engine's claim table."""
    from mifund.accounts.engine import claim_burdens, credits_expr, inputs_of, members_expr, own_account_expr

    inp = inputs_of(hand_city())
    r = rules.resolve(2024, "old")
    members = members_expr(inp, 2024)
    import ibis

    empty = ibis.memtable(pd.DataFrame({"person_id": pd.Series([], dtype=str),
                                        "opening": pd.Series([], dtype="int64")}))
    k = own_account_expr(claim_burdens(inp, members, r), credits_expr(members, r), empty)
    df = inp.con.to_pandas(k.order_by("claim_id"))
    assert df.set_index("claim_id").own_paid.to_dict() == {"a1": 32000, "a2": 16000, "a3": 48000, "b1": 0}


def test_conservation_between_regimes(hand_sim):
    """What accounts lose in crediting is what the pooled fund gains: in-service A loses the employer's
    1.2% (720 a year), retiree C 1,080; the pooled fund pays 360 more mutual aid; members' net gain
    (balance change minus cash change) and the pooled fund's net gain add up to zero."""
    sim = hand_sim
    old, new = sim.regime("old").set_index("person_id"), sim.regime("new").set_index("person_id")
    employer_no_longer = (old.credit_employer - new.credit_employer).sum()
    assert employer_no_longer == 720
    extra_income = (old.credit - new.credit).sum()
    assert extra_income == 720 + 1080
    extra_spending = (new.mutual_aid - old.mutual_aid).sum()
    assert extra_spending == 360
    member_gain = ((new.closing - old.closing) - ((new.out_of_pocket + new.contribution_cash)
                                                  - (old.out_of_pocket + old.contribution_cash))).sum()
    assert member_gain + (extra_income - extra_spending) == pytest.approx(0, abs=1e-9)
    for df in (old, new):  # every account closes: opening + credit - spent - given
        assert ((df.opening + df.credit - df.own_paid - df.family_given - df.closing).abs() < 1e-9).all()
        assert df.family_given.sum() == pytest.approx(df.family_received.sum())


def test_partial_family_use(rules):
    """With families using 35% of the possible sharing, B's 600 becomes 210: her contribution 400 is paid
    210 from A's account and 190 in cash, her claim 200 in cash."""
    sim = simulate(hand_city(), rules, opening="zero", family_use=0.35)
    b = _row(sim, "new", "B")
    assert (b.family_received, b.contribution_received, b.contribution_cash, b.out_of_pocket) == (210, 210, 190, 200)
    assert _row(sim, "new", "A").closing == 390


def test_balances_carry_to_the_next_year(rules):
    t = hand_city()
    e2 = t["enrollment"].assign(year=2025)
    t["enrollment"] = pd.concat([t["enrollment"], e2], ignore_index=True)
    sim = simulate(t, rules, opening="zero")
    assert sim.years == [2024, 2025]
    c24, c25 = _row_y(sim, "old", "C", 2024), _row_y(sim, "old", "C", 2025)
    assert c25.opening == c24.closing == 1800
    assert c25.closing == 3600


def _row_y(sim, regime, pid, year):
    m = sim.members
    return m[(m.regime == regime) & (m.person_id == pid) & (m.year == year)].iloc[0]


def test_unknown_key_and_missing_reference_are_rejected(tmp_path):
    from accounts_helpers import RULES_YAML

    p = tmp_path / "990100_accounts.yaml"
    p.write_text(RULES_YAML.replace("  resident_contribution:", "  resident_contributon:"), encoding="utf-8")
    with pytest.raises(AccountRulesError, match=r"990100_accounts.yaml:\d+: levels"):
        load_account_rules(p)
    p.write_text(RULES_YAML.replace("  reference: [{title", "  nothing: [{title"), encoding="utf-8")
    with pytest.raises(AccountRulesError):
        load_account_rules(p)


def test_shipped_nanchang_rules_load_and_cite_the_reform():
    r = load_account_rules(region_code="360111")  # a county finds its city's file
    assert r.region_code == "360100"
    assert any("国办发〔2021〕14号" in ref["title"] for ref in r.references())
    old, new = r.resolve(2024, "old"), r.resolve(2024, "new")
    assert not old.uses["family_members"] and new.uses["family_members"]
    assert all(c["employer_ppm"] == 0 for c in new.crediting)


# -- property test: engine == reference ------------------------------------------------------------

VISITS = ["outpatient", "pharmacy", "inpatient", "chronic_outpatient"]


@st.composite
def cities(draw):
    n = draw(st.integers(1, 6))
    cats = [("employee", "in_service"), ("employee", "retired"), ("employee", "flexible"),
            ("resident", "resident_adult")]
    enr, claims, sett = [], [], []
    for i in range(n):
        scheme, cat = draw(st.sampled_from(cats))
        enr.append(dict(person_id=f"p{i}", year=2024, region_code="990101", scheme=scheme, category=cat,
                        special_group="none", sex="M",
                        birth_date=dt.date(draw(st.integers(1940, 2000)), 1, 1),
                        family_id=draw(st.sampled_from([None, "f1", "f2"])),
                        wage_base=float(draw(st.integers(3000, 20000))) if cat != "retired" else None))
        for j in range(draw(st.integers(0, 5))):
            total = draw(st.integers(1, 300000)) / 100
            selfp = round(total * draw(st.sampled_from([0, 0.1, 0.5])), 2)
            copay = round((total - selfp) * draw(st.sampled_from([0, 0.1])), 2)
            day = dt.date(2024, draw(st.integers(1, 12)), draw(st.integers(1, 28)))
            cid = f"c{i}_{j}"
            claims.append(dict(claim_id=cid, person_id=f"p{i}", provider_id=draw(st.sampled_from(["L1", "L3"])),
                               visit_type=draw(st.sampled_from(VISITS)), admit_date=day, discharge_date=day,
                               total_amount=total, self_pay_amount=selfp, copay_first_amount=copay,
                               policy_scope_amount=None))
            pooled = round((total - selfp - copay) * draw(st.sampled_from([0, 0.5, 0.9])), 2)
            sett.append(dict(claim_id=cid, pooled_fund_paid=pooled, catastrophic_paid=0.0,
                             assistance_paid=0.0))
    opening = {f"p{i}": draw(st.integers(0, 100000)) for i in range(n) if draw(st.booleans())}
    cols = ["claim_id", "person_id", "provider_id", "visit_type", "admit_date", "discharge_date", "total_amount",
            "self_pay_amount", "copay_first_amount", "policy_scope_amount"]
    return {"enrollment": pd.DataFrame(enr),
            "claims": pd.DataFrame(claims, columns=cols).astype({"policy_scope_amount": "float64"}),
            "settlement": pd.DataFrame(sett, columns=["claim_id", "pooled_fund_paid", "catastrophic_paid",
                                                      "assistance_paid"]),
            "providers": pd.DataFrame({"provider_id": ["L1", "L3"], "level": [1, 3]})}, opening


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=cities(), regime=st.sampled_from(["old", "new"]), use=st.sampled_from([1.0, 0.35]))
def test_engine_matches_reference(rules, data, regime, use):
    tables, opening = data
    from mifund.accounts.engine import inputs_of, year_expr

    inp = inputs_of(tables)
    op = pd.DataFrame({"person_id": list(opening), "opening": list(opening.values())}, dtype=object).astype(
        {"person_id": str, "opening": "int64"})
    import ibis

    got = inp.con.to_pandas(year_expr(inp, rules, 2024, regime, ibis.memtable(op), family_use=use))
    want = simulate_reference(tables, rules, 2024, regime, opening, family_use=use)
    got = got.sort_values("person_id").reset_index(drop=True)
    want = want.sort_values("person_id").reset_index(drop=True)
    cols = ["person_id", "claims", "account_holder", "total", "pooled_paid", "mutual_aid", "burden", "eligible",
            "opening", "credit", "credit_employer", "own_paid", "family_given", "family_received",
            "contribution_received", "out_of_pocket", "contribution_cash", "closing"]
    pd.testing.assert_frame_equal(got[cols].astype({c: "int64" for c in cols[3:]}).astype({"claims": "int64"}),
                                  want[cols].astype({c: "int64" for c in cols[3:]}).astype({"claims": "int64"}),
                                  check_dtype=False)

