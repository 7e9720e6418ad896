"""Reconciliation of the simulator's account figures with the ledger and the stored settlement, on a
hand-made warehouse where all three are known."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from accounts_helpers import hand_city, write_rules
from mifund.accounts.cli import app
from mifund.accounts.engine import simulate
from mifund.accounts.reconcile import largest_gap, reconcile, rules_in_force
from mifund.accounts.rules import load_account_rules

SETTLED_ACCOUNT = {"a1": 250.0, "a2": 200.0, "a3": 1000.0, "b1": 50.0}  # b1: resident B, not an employee


def _ledger() -> pd.DataFrame:
    """990101 (the county of every member): expenditure 1,000, balance 3,000. The city row 990100 sums
    its counties and must not be counted twice; the pooled fund, the resident scheme and a monthly row
    are other figures."""
    base = dict(year=2024, month=None, scheme="employee", fund="account", source="hand-made")
    return pd.DataFrame([
        {**base, "region_code": "990101", "expenditure_total": 1000.0, "balance_end": 3000.0},
        {**base, "region_code": "990100", "expenditure_total": 1000.0, "balance_end": 3000.0},
        {**base, "region_code": "990101", "fund": "pooled", "expenditure_total": 9e6, "balance_end": 9e6},
        {**base, "region_code": "990101", "scheme": "resident", "expenditure_total": 9e6, "balance_end": 9e6},
        {**base, "region_code": "990101", "month": 6, "expenditure_total": 9e6, "balance_end": 9e6},
    ])


def _regions() -> pd.DataFrame:
    """The region tree the ledger rows belong to (the ledger's region codes are in it, as import insists):
    province 990000 > city 990100 > county 990101."""
    return pd.DataFrame([
        {"region_code": "990000", "name": "Test province", "level": "province", "parent_code": None},
        {"region_code": "990100", "name": "Test city", "level": "city", "parent_code": "990000"},
        {"region_code": "990101", "name": "Test county", "level": "county", "parent_code": "990100"},
    ])


def _warehouse(tmp_path):
    from mifund.storage import Warehouse

    db = tmp_path / "rec.duckdb"
    t = hand_city()
    t["settlement"] = t["settlement"].assign(account_paid=t["settlement"].claim_id.map(SETTLED_ACCOUNT))
    t["fund_ledger"] = _ledger()
    t["regions"] = _regions()
    with Warehouse(db) as wh, wh.transaction():
        for name in ("regions", "enrollment", "claims", "providers", "settlement", "fund_ledger"):
            wh.append(name, t[name])
    return db


def test_rules_in_force_by_transition_date():
    assert rules_in_force(2021, dt.date(2022, 1, 1)) == "old"
    assert rules_in_force(2022, dt.date(2022, 1, 1)) == "new"
    assert rules_in_force(2022, dt.date(2022, 7, 1)) == "mixed"


def test_reconciliation_by_hand(tmp_path):
    """The hand city of accounts_helpers in 2024 (transition 2022-01-01, so the new rules are in force),
    opening balances zero. Simulator (worked in test_accounts_engine): new rules, A's account pays 600 of
    his own claims and gives 600 to his spouse B; closing A 0 + retiree C 720 = 720. Old rules: A pays
    960, no sharing; closing A 960 + C 1,800 = 2,760.
    Ledger (county 990101 only; the city row is its sum): expenditure 1,000, balance 3,000.
    Settlement: account_paid on A's claims 250 + 200 + 1,000 = 1,450 (B's 50 is a resident's): A's own
    claims only, so it stands on the own-claims row alone.
      spending (own claims + family sharing): simulated 1,200 − ledger 1,000 = +200 (120%); no settlement
                figure: its 1,450 against the simulated 1,200 that counts A's 600 for his wife would compare
                own claims with own claims + sharing.
      own claims: settlement 1,450 − simulated 600 = +850 (241.67%).
      closing: simulated 720 − ledger 3,000 = −2,280 (24%): the largest gap."""
    from mifund.storage import Warehouse

    rules = load_account_rules(write_rules(tmp_path))
    with Warehouse(_warehouse(tmp_path), read_only=True) as wh:
        sim = simulate(wh, rules, opening="zero")
        t = reconcile(sim, wh).set_index("measure")
    assert (t.rules_in_force == "new").all()
    sp, own, fam, bal = (t.loc[m] for m in ("account_spending", "own_claims", "family_sharing", "closing_balance"))
    assert (sp.simulated_old, sp.simulated_new, sp.simulated_in_force) == (960, 1200, 1200)
    assert (own.simulated_new, fam.simulated_new, fam.simulated_old) == (600, 600, 0)
    assert (bal.simulated_old, bal.simulated_new) == (2760, 720)
    assert (sp.ledger, bal.ledger, own.settlement) == (1000, 3000, 1450)
    assert pd.isna(sp.settlement) and pd.isna(fam.settlement)   # account_paid is own claims only
    assert sp.simulated_minus_ledger == 200 and pd.isna(sp.settlement_minus_simulated)
    assert sp.simulated_share_of_ledger == pytest.approx(1.2)
    assert own.settlement_minus_simulated == 850
    assert own.settlement_share_of_simulated == pytest.approx(1450 / 600)
    assert not any(c.startswith("settlement_") and c.endswith("_ledger") for c in t.columns)  # no such pair
    assert bal.simulated_minus_ledger == -2280 and bal.simulated_share_of_ledger == pytest.approx(0.24)
    assert pd.isna(bal.settlement) and pd.isna(own.ledger)
    note = largest_gap(t.reset_index())
    assert note.startswith("Largest gap: 2024 closing balance") and "-2,280.00" in note, note


def test_note_names_family_sharing_and_its_upper_bound(tmp_path):
    """The simulator counts family sharing in the accounts' spending; at --family-use 1 (the default) it is
    the upper bound, and the note says how much of the gap with the ledger it makes. Hand city: spending
    1,200 (A's own 600 + 600 to B) − ledger 1,000 = +200; sharing 600 = 300 % of it (without any sharing
    the simulator would be 400 below the ledger). At --family-use 0.5 B gets 300: spending 900, gap −100,
    so the note names the sharing and its share of the bound but no part of a gap it does not make."""
    from mifund.accounts.reconcile import family_sharing_note
    from mifund.storage import Warehouse

    rules = load_account_rules(write_rules(tmp_path))
    with Warehouse(_warehouse(tmp_path), read_only=True) as wh:
        full = reconcile(simulate(wh, rules, opening="zero"), wh)
        half = reconcile(simulate(wh, rules, opening="zero", family_use=0.5), wh)
    note = " ".join(largest_gap(full, family_use=1.0).split())
    assert note.startswith("Largest gap: 2024 closing balance"), note
    assert ("Family sharing: the simulator's 2024 account spending includes 600.00 yuan of family sharing at "
            "its upper bound (--family-use 1") in note
    assert "300% of the +200.00 gap with the ledger" in note
    h = family_sharing_note(half, 0.5)
    assert "includes 300.00 yuan of family sharing at 0.5 of its upper bound (--family-use 0.5)" in h
    assert "gap" not in h.split(";")[0]
    assert "Family sharing" not in largest_gap(full)   # without family_use: the one line, as before


def test_ledger_rows_summed_over_the_region_tree():
    """The leaf-most ledger rows are found in the region tree, not read off the codes: county 998801
    belongs to city 990100 (its code says nothing of it), so the city row is their sum and is left out;
    996600, whose code looks like a city's, has no counties in the tree and counts. Without a tree every
    row counts."""
    from mifund.accounts.engine import inputs_of
    from mifund.accounts.reconcile import ledger_figures

    base = dict(year=2024, month=None, scheme="employee", fund="account")
    ledger = pd.DataFrame([
        {**base, "region_code": "998801", "expenditure_total": 100.0, "balance_end": 10.0},
        {**base, "region_code": "990100", "expenditure_total": 100.0, "balance_end": 10.0},
        {**base, "region_code": "996600", "expenditure_total": 7.0, "balance_end": 1.0},
        {**base, "region_code": "990100", "year": 2023, "expenditure_total": 50.0, "balance_end": 5.0},
    ])
    regions = pd.concat([_regions(), pd.DataFrame([
        {"region_code": "998801", "name": "Odd county", "level": "county", "parent_code": "990100"},
        {"region_code": "996600", "name": "City without counties", "level": "city", "parent_code": "990000"},
    ])], ignore_index=True)
    tables = {**hand_city(), "fund_ledger": ledger, "regions": regions}
    got = ledger_figures(inputs_of(tables), [2023, 2024]).set_index("year")
    assert got.expenditure.to_dict() == {2023: 50.0, 2024: 107.0}   # 2023: the city row alone is the leaf
    assert got.balance.to_dict() == {2023: 5.0, 2024: 11.0}
    del tables["regions"]
    assert ledger_figures(inputs_of(tables), [2024]).expenditure.tolist() == [207.0]


def test_reconciliation_without_ledger_or_settlement(tmp_path):
    """The test city as a mapping: no ledger, no account_paid: the other sources are empty and the note
    says there is nothing to compare (not a gap of zero)."""
    rules = load_account_rules(write_rules(tmp_path))
    sim = simulate(hand_city(), rules, opening="zero")
    t = reconcile(sim, hand_city())
    assert t.ledger.isna().all() and t.settlement.isna().all()
    assert largest_gap(t).startswith("Reconciliation: nothing to compare")


def test_cli_simulate_reconciliation_in_every_format(tmp_path):
    db, rules = _warehouse(tmp_path), write_rules(tmp_path)
    args = ["simulate", "--db", str(db), "--rules", str(rules), "--opening", "zero"]
    r = CliRunner().invoke(app, [*args, "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    rec = {x["measure"]: x for x in doc["reconciliation"]}
    assert rec["account_spending"]["settlement"] is None and rec["account_spending"]["simulated_minus_ledger"] == 200
    assert rec["own_claims"]["settlement_minus_simulated"] == 850
    assert doc["reconciliation_note"][0]["note"].startswith("Largest gap: 2024 closing balance")
    assert "family sharing at its upper bound" in doc["reconciliation_note"][0]["note"]   # the default, named
    r = CliRunner().invoke(app, args)                # people: two tables and the note as a line
    assert r.exit_code == 0, r.output
    assert "Largest gap: 2024 closing balance" in " ".join(r.output.split())
    assert "settlement_minus_simulated" in r.output
    out = tmp_path / "sim.xlsx"
    r = CliRunner().invoke(app, [*args, "--format", "xlsx", "-o", str(out)])
    assert r.exit_code == 0, r.output
    sheets = pd.read_excel(out, sheet_name=None, engine="openpyxl")
    assert {"reconciliation", "reconciliation_note"} <= set(sheets)
    assert sheets["reconciliation"].set_index("measure").loc["closing_balance", "ledger"] == 3000
