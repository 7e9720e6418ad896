"""Gains and losses, idle balance, family effect, commercial cover and segments: by hand on the small
hand-made city, and on the demo municipality's employees."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pandas as pd
import pytest
from typer.testing import CliRunner

from accounts_helpers import hand_city, write_rules
from mifund.accounts.analysis import (
    family_effect,
    family_gains,
    gains_losses,
    idle_balance,
    member_changes,
    pooled_summary,
    segments,
)
from mifund.accounts.cli import app
from mifund.accounts.cover import CoverFile, Product, Scenario, buyers, covered_amounts, evaluate, load_cover
from mifund.accounts.engine import Simulation, simulate
from mifund.accounts.rules import load_account_rules


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    rules = load_account_rules(write_rules(tmp_path_factory.mktemp("rules")))
    return rules, simulate(hand_city(), rules, opening="zero")


def test_net_gains_by_hand(hand):
    """After family transfers: A: balance 960 -> 0, cash unchanged: -960. B: cash 200 + 400 -> 0: +600.
    C: balance 1,800 -> 720: -1,080. Together -1,440 = minus the pooled fund's net gain (1,800 extra income
    - 360 mutual aid). But 600 of A's 960 went to his wife B (family sharing): before family transfers A
    loses 360 (his employer's share of the credits, less the mutual aid he gets) and B neither gains nor
    loses; the 600 is in family_net_received (-600 for A, +600 for B). The family F1 loses 360 either way."""
    _, sim = hand
    ch = member_changes(sim).set_index("person_id")
    assert ch.net_gain.to_dict() == {"A": -360.0, "B": 0.0, "C": -1080.0}
    assert ch.family_net_received.to_dict() == {"A": -600.0, "B": 600.0, "C": 0.0}
    assert ch.net_gain_with_family.to_dict() == {"A": -960.0, "B": 600.0, "C": -1080.0}
    fg = family_gains(ch.reset_index()).set_index("family_type")
    # F1 (A and B, adults): -360, transfers 600 within; C alone: -1,080
    assert (fg.loc["adults_only", "net_gain_total"], fg.loc["adults_only", "transfers_within_mean"]) == (-360, 600)
    assert fg.loc["single", "net_gain_total"] == -1080 and fg.losers.sum() == 2
    ps = pooled_summary(sim).iloc[0]
    assert (ps.pooled_extra_income, ps.of_which_employer_share, ps.of_which_retirees) == (1800, 720, 1080)
    assert (ps.pooled_extra_outpatient_spending, ps.pooled_net_gain, ps.members_net_gain) == (360, 1440, -1440)
    assert ps.conservation_residual == 0
    gl = gains_losses(ch.reset_index(), ["category"]).set_index("group")
    assert gl.loc["in_service", "losers"] == 1 and gl.loc["resident_adult", "gainers"] == 0
    assert gl.loc["resident_adult", "family_received_mean"] == 600
    assert gl.loc["resident_adult", "net_gain_with_family_mean"] == 600
    assert gl.loc["retired", "net_gain_total"] == -1080


def test_idle_balance_by_hand(hand):
    """Old rules: C (1,800, never used) is dormant; A used 960 so nothing of his 960 lies beyond 3 years
    of use, C's whole 1,800 does. New rules: A ends at 0, C holds 720, dormant."""
    _, sim = hand
    idle = idle_balance(sim, 1).set_index("regime")
    assert idle.loc["old", "balance_total"] == 2760 and idle.loc["old", "dormant_balance"] == 1800
    assert idle.loc["old", "dormant_holders"] == 1
    assert idle.loc["new", "balance_total"] == 720 and idle.loc["new", "dormant_balance"] == 720
    idle3 = idle_balance(sim, 3).set_index("regime")
    assert idle3.loc["old", "balance_beyond_years_of_use"] == 1800


def test_family_effect_by_hand(hand):
    """Family F1 (A 50, B 48, no chronic claims): cash 2,940 + 600 = 3,540 before, 2,940 after."""
    _, sim = hand
    fe = family_effect(member_changes(sim)).set_index("family_kind")
    assert fe.loc["neither", "families"] == 1
    assert (fe.loc["neither", "cash_old_mean"], fe.loc["neither", "cash_new_mean"]) == (3540, 2940)
    assert fe.loc["neither", "family_sharing_mean"] == 600


def _cover_case():
    """X, Y, Z each pay a premium of 100. The product covers the policy-scope remainder and the category-B
    co-pay of inpatient claims, deductible 1,000, 50%, cap 600:
      X: 1,500 + 500 covered (his 10,000 of self-paid items and 800 outpatient are not) -> (2,000 - 1,000) x 0.5 = 500
      Y: 3,000 covered -> 1,000, capped at 600
      Z: 500 covered -> below the deductible, 0
    Premiums 300, claims 1,100: loss ratio 1,100 / 300 = 3.6667."""
    comp = pd.DataFrame([
        dict(person_id="X", visit_type="inpatient", claims=1, scope_part=1500.0, copay_part=500.0, self_part=10000.0),
        dict(person_id="X", visit_type="outpatient", claims=3, scope_part=800.0, copay_part=0.0, self_part=0.0),
        dict(person_id="Y", visit_type="inpatient", claims=1, scope_part=3000.0, copay_part=0.0, self_part=0.0),
        dict(person_id="Z", visit_type="inpatient", claims=1, scope_part=400.0, copay_part=100.0, self_part=0.0),
    ])
    members = pd.DataFrame([
        dict(person_id=p, year=2024, regime="new", scheme="employee", category="in_service", age=40,
             region_code="990101", family_id=None, chronic=False, claims=1, account_holder=True, opening=200.0,
             credit=800.0, closing=1000.0, out_of_pocket=oop, total=0.0)
        for p, oop in [("X", 12800.0), ("Y", 3000.0), ("Z", 500.0)]
    ])
    sim = Simulation(members, [2024], "990100", dt.date(2022, 1, 1))
    product = Product(name="p", premium=100, visit_types=["inpatient"], covers=["policy_scope", "copay_first"],
                      deductible=1000, ratio=0.5, cap=600)
    return comp, sim, product


def test_cover_loss_ratio_by_hand(tmp_path):
    comp, sim, product = _cover_case()
    rules = load_account_rules(write_rules(tmp_path))  # premiums may come from the account from 2022
    assert covered_amounts(comp, product).to_dict() == {"X": 2000.0, "Y": 3000.0, "Z": 500.0}
    cover = CoverFile.model_validate({"schema": "mifund.cover/1", "name": "t", "products": [product.model_dump()],
                                      "scenarios": [{"name": "all"}, {"name": "acct", "who": "account_holders",
                                                                      "paid_from": "account"}]})
    summary, groups = evaluate(sim, cover, None, rules, components=comp)
    row = summary.set_index("scenario").loc["all"]
    assert (row.buyers, row.premiums, row.claims_paid, row.beneficiaries) == (3, 300, 1100, 2)
    assert row.loss_ratio == pytest.approx(1100 / 300)
    assert row.buyers_out_of_pocket - row.buyers_out_of_pocket_after == 1100
    assert summary.set_index("scenario").loc["acct", "premiums_from_accounts"] == 300
    assert groups.claims_paid.sum() == 2 * 1100


def _cover_dr_n():
    """The three members D, R, N of the cover tests below (components, simulation, one product bought from
    the account by account holders)."""
    comp = pd.DataFrame([dict(person_id="D", visit_type="inpatient", claims=1, scope_part=3000.0, copay_part=0.0,
                              self_part=0.0)])
    members = pd.DataFrame([
        dict(person_id=p, year=2024, regime="new", scheme="employee", category="in_service", age=40,
             region_code="990101", family_id=None, chronic=False, claims=1, account_holder=True, opening=o,
             credit=c, closing=cl, out_of_pocket=oop, total=0.0)
        for p, o, c, cl, oop in [("D", 300.0, 1200.0, 0.0, 1500.0), ("R", 0.0, 1200.0, 1150.0, 0.0),
                                 ("N", 0.0, 50.0, 0.0, 0.0)]])
    sim = Simulation(members, [2024], "990100", dt.date(2022, 1, 1))
    product = Product(name="p", premium=100, visit_types=["inpatient"], covers=["policy_scope"], deductible=1000,
                      ratio=0.5, cap=600)
    cover = CoverFile.model_validate({"schema": "mifund.cover/1", "name": "t", "products": [product.model_dump()],
                                      "scenarios": [{"name": "acct", "who": "account_holders", "paid_from": "account"}]})
    return comp, sim, cover


def test_cover_buyers_decided_before_spending(tmp_path):
    """Premium 100 from the account, take-up 100% of the account holders who can pay it. Whether they can
    is decided on opening + credits, before the year's spending:
      D: 300 + 1,200, spent it all on a stay (closing 0): buys; the premium leaves 100 of the year's costs
         unpaid by the account (shortfall 100, paid in cash); the stay's 3,000 covered -> (3,000 - 1,000)
         x 0.5 = 1,000, capped at 600
      R: 0 + 1,200, closing 1,150: buys; closing after the premium 1,050
      N: 0 + 50: cannot pay 100, does not buy
    Premiums 200 (all from accounts), claims 600: loss ratio 3. Deciding on the closing balance left D
    out: one buyer, no claim, a loss ratio of 0."""
    comp, sim, cover = _cover_dr_n()
    rules = load_account_rules(write_rules(tmp_path))
    row = evaluate(sim, cover, None, rules, components=comp)[0].iloc[0]
    assert (row.buyers, row.premiums, row.premiums_from_accounts, row.claims_paid) == (2, 200, 200, 600)
    assert row.loss_ratio == 3
    assert (row.account_shortfall_in_cash, row.buyers_closing_balance_after_premium) == (100, 1050)
    # D's cash: 1,500 + the 100 shortfall - 600 paid by the cover
    assert (row.buyers_out_of_pocket, row.buyers_out_of_pocket_after) == (1500, 1000)


def test_cover_premium_in_cash_where_the_rules_forbid_the_account(tmp_path):
    """The same case as above with `uses.commercial_premiums` false in 2024 (the test rules with the
    flag's 2022 value turned to false): D and R still buy (the scenario's group is chosen on what the
    account holds), but both premiums are paid in cash: nothing from accounts, no shortfall, closing
    balances untouched (0 + 1,150). Out-of-pocket (medical costs; a premium in cash is not one, as in
    every cash scenario): D's 1,500 less the 600 the cover pays = 900. Without the check the accounts
    paid 200 and D had a 100 shortfall."""
    from accounts_helpers import RULES_YAML

    text = RULES_YAML.replace("commercial_premiums: {values: {2015-01-01: false, 2022-01-01: true}}",
                              "commercial_premiums: {values: {2015-01-01: false, 2022-01-01: false}}")
    assert text != RULES_YAML
    (tmp_path / "990100_accounts.yaml").write_text(text, encoding="utf-8")
    rules = load_account_rules(tmp_path / "990100_accounts.yaml")
    assert rules.resolve(2024, "new").uses["commercial_premiums"] is False
    comp, sim, cover = _cover_dr_n()
    row = evaluate(sim, cover, None, rules, components=comp)[0].iloc[0]
    assert (row.buyers, row.premiums, row.premiums_from_accounts, row.claims_paid) == (2, 200, 0, 600)
    assert not row.account_may_pay_premiums
    assert (row.account_shortfall_in_cash, row.buyers_closing_balance_after_premium) == (0, 1150)
    assert (row.buyers_out_of_pocket, row.buyers_out_of_pocket_after) == (1500, 900)
    with pytest.raises(ValueError, match="account rules are needed"):
        evaluate(sim, cover, None, None, components=comp)


def test_cover_take_up_is_reproducible_and_near_the_share():
    members = pd.DataFrame({"person_id": [f"p{i}" for i in range(2000)], "scheme": "employee", "age": 40,
                            "category": "in_service", "chronic": False, "account_holder": True, "opening": 0.0,
                            "credit": 0.0, "closing": 0.0})
    product = Product(name="p", premium=50, deductible=0, ratio=1)
    sc = Scenario(name="s", take_up=0.3, seed=7)
    a, b = buyers(members, product, sc, account_may_pay=True), buyers(members, product, sc, account_may_pay=True)
    assert a.person_id.tolist() == b.person_id.tolist()
    assert 0.26 < len(a) / 2000 < 0.34
    assert set(buyers(members, product, Scenario(name="s", take_up=0.3, seed=8),
                      account_may_pay=True).person_id) != set(a.person_id)


def test_cover_file_rejects_unknown_keys(tmp_path):
    from mifund.accounts.cover import CoverError

    p = tmp_path / "c.yaml"
    p.write_text("schema: mifund.cover/1\nname: x\nproducts:\n  - {name: a, premium: 1, deductible: 0, ratio: 0.5,"
                 " cap: 10, colour: red}\n", encoding="utf-8")
    with pytest.raises(CoverError, match=r"c.yaml:4: products.0.colour"):
        load_cover(p)
    assert len(load_cover().products) == 2  # the shipped example


def test_segments_on_hand_city(hand):
    _, sim = hand
    seg = segments(sim, min_members=1)
    assert seg.members.sum() == 3
    top = seg.iloc[0]  # the costliest segment first: A alone, 500 + 400 + 10,000
    assert (top.segment, top.expected_cost) == ("45-59 | in_service | False | adults_only | high", 10900)
    assert top.unmet_out_of_pocket_mean == 2940 and top.account_balance_mean == 0


# -- the demo municipality ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_sim(demo_small):
    from mifund.storage import Warehouse

    with Warehouse(demo_small.db, read_only=True) as wh:
        rules = load_account_rules(region_code="360100")
        return rules, simulate(wh, rules)


@pytest.mark.slow
def test_demo_gains_losses_and_idle_balance(demo_sim):
    rules, sim = demo_sim
    ps = pooled_summary(sim).iloc[0]
    assert ps.conservation_residual == pytest.approx(0, abs=0.01)
    assert ps.pooled_extra_income == pytest.approx(ps.of_which_employer_share + ps.of_which_retirees)
    assert ps.pooled_extra_income > ps.pooled_extra_outpatient_spending > 0
    ch = member_changes(sim)
    emp = gains_losses(ch, scheme="employee")
    assert set(emp.dimension) == {"age_band", "category", "chronic", "family_type"}
    cat = emp[emp.dimension == "category"].set_index("group")
    # in-service members lose the employer's share; retirees get mutual aid worth more to the sick
    assert cat.loc["in_service", "loser_share"] > 0.9
    assert cat.loc["retired", "net_gain_mean"] > cat.loc["in_service", "net_gain_mean"]
    chronic = emp[emp.dimension == "chronic"].set_index("group")
    assert chronic.loc["True", "net_gain_mean"] > chronic.loc["False", "net_gain_mean"]
    idle = idle_balance(sim).set_index("regime")
    for regime in ("old", "new"):
        assert 0 < idle.loc[regime, "balance_beyond_years_of_use"] < idle.loc[regime, "balance_total"]
    assert idle.loc["new", "balance_total"] < idle.loc["old", "balance_total"]
    opening = sim.regime("new").opening.sum()  # the ledger's 2023 account balances, shared out
    assert opening == pytest.approx(41_917_826.0, rel=0.05)


def _hand_warehouse(tmp_path):
    from mifund.storage import Warehouse

    db = tmp_path / "hand.duckdb"
    with Warehouse(db) as wh, wh.transaction():
        for name, df in hand_city().items():
            wh.append(name, df)
    return db


def test_cli_simulate_and_compare(tmp_path, hand):
    db = _hand_warehouse(tmp_path)
    rules = write_rules(tmp_path)
    r = CliRunner().invoke(app, ["simulate", "--db", str(db), "--rules", str(rules), "--opening", "zero",
                                 "--format", "json"])
    assert r.exit_code == 0, r.output
    import json

    doc = json.loads(r.stdout)                      # one object: the tables by name
    assert set(doc) == {"pooled_fund", "idle_balance", "reconciliation", "reconciliation_note"}
    got = {x["measure"]: x["2024"] for x in doc["pooled_fund"]}
    assert got["pooled_extra_income"] == 1800 and got["pooled_extra_outpatient_spending"] == 360
    out = tmp_path / "cmp.xlsx"
    r = CliRunner().invoke(app, ["compare", "--db", str(db), "--rules", str(rules), "--format", "xlsx",
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(out) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())
    sheets = pd.read_excel(out, sheet_name=None, engine="openpyxl")
    assert set(sheets) == {"gains_losses", "family_gains", "family_effect", "column_notes"}
    r = CliRunner().invoke(app, ["compare", "--db", str(db), "--rules", str(rules), "--format", "csv"])
    long = pd.read_csv(io.StringIO(r.stdout))       # one table; `table` names each row's table
    assert r.exit_code == 0 and set(long.table) == {"gains_losses", "family_gains", "family_effect", "column_notes"}
    assert set(long.of_table.dropna()) == {"gains_losses", "family_gains", "family_effect"}
    r = CliRunner().invoke(app, ["compare", "--db", str(db), "--by", "colour"])
    assert r.exit_code != 0


def test_cli_errors(tmp_path):
    r = CliRunner().invoke(app, ["simulate", "--db", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 2 and "No warehouse" in r.output
    db, rules = _hand_warehouse(tmp_path), str(write_rules(tmp_path))
    for args, says in ((["simulate", "--opening", "foo"], "--opening is ledger or zero"),
                       (["simulate", "--family-use", "2"], "--family-use"),
                       (["simulate", "--idle-years", "0"], "--idle-years"),
                       (["simulate", "--rules", str(tmp_path / "none.yaml")], "none.yaml: no such file"),
                       (["simulate", "--year", "2019"], "no enrolment in 2019; the enrolment has the years 2024"),
                       (["simulate", "--year", "2025"], "no enrolment in 2025"),
                       (["cover", "--products", str(tmp_path / "none.yaml")], "none.yaml: no such file"),
                       (["segments", "--method", "kmeans", "--k", "0"], "--k"),
                       (["segments", "--method", "kmeans", "--k", "9"], "k is between 1 and the number of members"),
                       (["compare", "--scheme", "foo"], "--scheme is employee or resident")):
        if "--rules" not in args:
            args = [*args, "--rules", rules]
        r = CliRunner().invoke(app, [*args, "--db", str(db)])
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, r.exception)  # no traceback
        assert r.exit_code == 2, (args, r.output)
        assert says in " ".join(r.output.split()), (args, r.output)
    assert CliRunner().invoke(app, ["--help"]).exit_code == 0
    for cmd in ("simulate", "compare", "cover", "segments"):
        assert CliRunner().invoke(app, [cmd, "--help"]).exit_code == 0


def test_cli_says_when_idle_years_reach_beyond_the_simulation(tmp_path):
    """The hand city has one simulated year: --idle-years 3 can only call an account dormant over that one
    year (dormant_years 1), and the command says so instead of letting '3 years' stand; --idle-years 1
    fits and says nothing."""
    db, rules = _hand_warehouse(tmp_path), str(write_rules(tmp_path))
    args = ["simulate", "--db", str(db), "--rules", rules, "--opening", "zero", "-f", "json"]
    r = CliRunner().invoke(app, [*args, "--idle-years", "3"])
    assert r.exit_code == 0, r.output
    assert "--idle-years 3 is more than the 1 simulated year(s) (2024)" in " ".join(r.stderr.split()), r.stderr
    import json

    assert {x["dormant_years"] for x in json.loads(r.stdout)["idle_balance"]} == {1}
    r = CliRunner().invoke(app, [*args, "--idle-years", "1"])
    assert r.exit_code == 0 and "--idle-years" not in r.stderr, r.stderr


def test_output_with_the_table_format_is_refused(tmp_path):
    """--output with the table format (the default) wrote nothing and said nothing; now every command's
    shared check refuses it (exit 2), before the warehouse is read, and no file appears."""
    import typer

    from mifund.cli_options import check_format

    check_format("table", None)
    check_format("csv", tmp_path / "x.csv")
    with pytest.raises(typer.BadParameter, match="needs --format csv"):
        check_format("table", tmp_path / "x.txt")
    db = _hand_warehouse(tmp_path)
    for cmd in ("simulate", "compare", "cover", "segments"):
        out = tmp_path / f"{cmd}.txt"
        r = CliRunner().invoke(app, [cmd, "--db", str(db), "-o", str(out)])
        assert r.exit_code == 2, (cmd, r.output)
        assert "needs --format csv|json|xlsx" in " ".join(r.output.split()), r.output
        assert not out.exists()


@pytest.mark.slow
def test_cli_cover_on_demo(demo_small, tmp_path):
    out = tmp_path / "cover.csv"
    r = CliRunner().invoke(app, ["cover", "--db", str(demo_small.db), "--format", "csv", "-o", str(out)])
    assert r.exit_code == 0, r.output
    s = pd.read_csv(out)
    assert len(s) == 6 and (s.premiums > 0).all()
    assert ((s.loss_ratio - s.claims_paid / s.premiums).abs() < 1e-3).all()
    assert (tmp_path / "cover_cover_by_group.csv").exists()


def test_cover_claims_paid_reach_cash_or_account():
    """A (40, in service): burden 2,000 inpatient, all paid by the account (out of pocket 0); B: burden
    1,000, account 400, cash 600. The product covers the policy-scope burden, deductible 0, ratio 0.5:
    A is paid 1,000, none of it cash (it had none) -> 1,000 stays in the account; B is paid 500, all of
    it cash (600 -> 100). Claims 1,500 = cash 500 + account 1,000; before the fix A's 1,000 reached no
    one (out of pocket clipped at 0)."""
    comp = pd.DataFrame([dict(person_id=p, visit_type="inpatient", claims=1, scope_part=a, copay_part=0.0,
                              self_part=0.0) for p, a in (("A", 2000.0), ("B", 1000.0))])
    members = pd.DataFrame([
        dict(person_id=p, year=2024, regime="new", scheme="employee", category="in_service", age=40,
             region_code="990101", family_id=None, chronic=False, claims=1, account_holder=True, opening=o,
             credit=0.0, closing=0.0, out_of_pocket=oop, total=0.0)
        for p, o, oop in (("A", 2000.0, 0.0), ("B", 400.0, 600.0))])
    sim = Simulation(members, [2024], "990100", dt.date(2022, 1, 1))
    product = Product(name="p", premium=0, visit_types=["inpatient"], covers=["policy_scope"], deductible=0,
                      ratio=0.5)
    cover = CoverFile.model_validate({"schema": "mifund.cover/1", "name": "t", "products": [product.model_dump()],
                                      "scenarios": [{"name": "all"}]})
    summary, groups = evaluate(sim, cover, None, None, components=comp)
    row = summary.iloc[0]
    cash = row.buyers_out_of_pocket - row.buyers_out_of_pocket_after
    assert (row.claims_paid, cash, row.buyers_account_relief) == (1500, 500, 1000)
    assert groups.claims_paid.sum() == 1500 and groups.account_relief.sum() == 1000
