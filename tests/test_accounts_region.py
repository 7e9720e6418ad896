"""`--region` in the accounts commands: the members simulated (and the ledger and settlement figures they are
reconciled with) are those enrolled in the region or below it in the region tree, worked by hand on the
hand-made city with a second county and a second city."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from accounts_helpers import hand_city, write_rules
from mifund.accounts.analysis import pooled_summary
from mifund.accounts.cli import app
from mifund.accounts.engine import region_subtree, simulate
from mifund.accounts.reconcile import reconcile
from mifund.accounts.rules import load_account_rules


def _regions() -> pd.DataFrame:
    """Province 990000 > city 990100 > counties 990101 (A, B, C) and 990102 (D); city 990200 > county
    990201 (E)."""
    rows = [("990000", "Test province", "province", None), ("990100", "Test city", "city", "990000"),
            ("990101", "Test county", "county", "990100"), ("990102", "Second county", "county", "990100"),
            ("990200", "Other city", "city", "990000"), ("990201", "Other county", "county", "990200")]
    return pd.DataFrame(rows, columns=["region_code", "name", "level", "parent_code"])


def _ledger() -> pd.DataFrame:
    """Employee account fund, annual rows. 2024: 990101 spends 1,000 (balance 3,000), 990102 500 (4,000),
    their city 990100 the sum (1,500; 7,000), the other city's county 990201 7,000 (7,000). 2023: 990102
    ends with 1,000, D's opening balance under --opening ledger."""
    base = dict(month=None, scheme="employee", fund="account", source="hand-made")
    rows = [("990101", 2024, 1000.0, 3000.0), ("990102", 2024, 500.0, 4000.0), ("990100", 2024, 1500.0, 7000.0),
            ("990201", 2024, 7000.0, 7000.0), ("990102", 2023, 0.0, 1000.0)]
    return pd.DataFrame([{**base, "region_code": r, "year": y, "expenditure_total": x, "balance_end": b}
                         for r, y, x, b in rows])


def _tables() -> dict[str, pd.DataFrame]:
    """The hand city (A, B, C in county 990101), and: D, in service, aged 30, wage 10,000, no claims, in the
    second county 990102; E, the same, in the other city's county 990201; and A also on a resident roll in
    990102 (his employee row in 990101 is the one that counts, so he is never a member of 990102)."""
    t = hand_city()
    d = dt.date
    worker = dict(year=2024, scheme="employee", category="in_service", special_group="none", sex="F",
                  birth_date=d(1994, 1, 1), family_id=None, wage_base=10000.0)
    extra = pd.DataFrame([
        {**worker, "person_id": "D", "region_code": "990102"},
        {**worker, "person_id": "E", "region_code": "990201"},
        dict(person_id="A", year=2024, region_code="990102", scheme="resident", category="resident_adult",
             special_group="none", sex="M", birth_date=d(1974, 5, 1), family_id=None, wage_base=None),
    ])
    t["enrollment"] = pd.concat([t["enrollment"], extra], ignore_index=True)
    return {**t, "regions": _regions(), "fund_ledger": _ledger()}


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return load_account_rules(write_rules(tmp_path_factory.mktemp("rules")))


def test_region_subtree_follows_the_tree():
    t = _tables()
    assert region_subtree(t, "990100") == ["990100", "990101", "990102"]
    assert region_subtree(t, "990102") == ["990102"]
    assert region_subtree(t, "990300") == ["990300"]  # not in the tree: itself alone
    del t["regions"]
    assert region_subtree(t, "990100") == ["990100"]


def test_members_are_those_of_the_region_and_below(rules):
    """The pooled fund's extra income is the employer's share of the credits the new rules stop (and the
    retiree's pension share less the new fixed amount).
    D (and E), aged 30, wage 10,000: old 2 % + 0.8 % = 280 a month, 3,360 a year; new 2 % = 2,400: the
    fund gains 960 each. The hand city (A, C): A 0.012 × 5,000 × 12 = 720; C 3,000 × 5 % × 12 = 1,800
    old against 60 × 12 = 720 new: 1,080; 1,800 together.
      --region 990102: D alone (A's employee row is in 990101): 960.
      --region 990100: A, B, C, D: 1,800 + 960 = 2,760 (E is the other city's).
      no region: everyone: 2,760 + 960 = 3,720 (what every region got before: the whole warehouse)."""
    t = _tables()
    got = {}
    for region in ("990102", "990100", None):
        sim = simulate(t, rules, opening="zero", region=region)
        got[region] = (sorted(sim.members.person_id.unique()), pooled_summary(sim).pooled_extra_income.iloc[0])
        assert sim.region == region
    assert got["990102"] == (["D"], 960)
    assert got["990100"] == (["A", "B", "C", "D"], 2760)
    assert got[None] == (["A", "B", "C", "D", "E"], 3720)
    with pytest.raises(ValueError, match="no member enrolled in region 990300"):
        simulate(t, rules, opening="zero", region="990300")


def test_reconciled_with_the_region_s_ledger_only(rules):
    """--region 990102 with ledger openings: D opens with 990102's 2023 balance, 1,000 (the county's only
    account holder), and ends 2024 with 1,000 + 2,400 = 3,400 under the new rules (in force), spending
    nothing. Ledger: 990102's row alone: spending 500, balance 4,000 -> gaps −500 and −600. The city
    (990100): its counties' rows 1,000 + 500 and 3,000 + 4,000 (its own row is their sum and is left out);
    the other city's 7,000 is never counted. No settlement: D has no claims."""
    t = _tables()
    sim = simulate(t, rules, opening="ledger", region="990102")
    d = sim.regime("new").set_index("person_id")
    assert (d.loc["D", "opening"], d.loc["D", "closing"]) == (1000, 3400)
    rec = reconcile(sim, t).set_index("measure")
    assert (rec.loc["account_spending", "ledger"], rec.loc["closing_balance", "ledger"]) == (500, 4000)
    assert rec.loc["account_spending", "simulated_minus_ledger"] == -500
    assert rec.loc["closing_balance", "simulated_minus_ledger"] == -600
    assert pd.isna(rec.loc["own_claims", "settlement"])
    city = reconcile(simulate(t, rules, opening="zero", region="990100"), t).set_index("measure")
    assert (city.loc["account_spending", "ledger"], city.loc["closing_balance", "ledger"]) == (1500, 7000)


def _warehouse(tmp_path):
    from mifund.storage import Warehouse

    db = tmp_path / "two_cities.duckdb"
    t = _tables()
    with Warehouse(db) as wh, wh.transaction():
        for name in ("regions", "enrollment", "claims", "providers", "settlement", "fund_ledger"):
            wh.append(name, t[name])
    return db


def test_cli_region_filters_members_and_says_whose(tmp_path):
    """The figures of the test above through the command. Without --region the members are those of the
    city whose rules apply (990100, the city of the most common region 990101): 2,760, not E's city too."""
    db, rules = _warehouse(tmp_path), write_rules(tmp_path)
    args = ["simulate", "--db", str(db), "--rules", str(rules), "--opening", "zero", "-f", "json"]
    for extra, income, said in ((["--region", "990102"], 960, "Simulated the 1 members enrolled in 990102 "
                                 "Second county or below it, under the account rules of 990100"),
                                ([], 2760, "Simulated the 4 members enrolled in 990100 Test city")):
        r = CliRunner().invoke(app, [*args, *extra])
        assert r.exit_code == 0, r.output
        rows = {x["measure"]: x for x in json.loads(r.stdout)["pooled_fund"]}
        assert rows["pooled_extra_income"]["2024"] == income
        assert said in " ".join(r.stderr.split()), r.stderr
    r = CliRunner().invoke(app, ["compare", *args[1:], "--region", "990102"])
    assert r.exit_code == 0, r.output
    assert sum(x["members"] for x in json.loads(r.stdout)["gains_losses"] if x["dimension"] == "category") == 1
    r = CliRunner().invoke(app, [*args, "--region", "990300"])
    assert r.exit_code == 2 and "no member enrolled in region 990300" in " ".join(r.output.split()), r.output
