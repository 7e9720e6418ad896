"""Two simulated years: the year's gain is the year's flow (what each regime's accounts changed by during the
year), not the gap between the regimes' closing balances, which carries the earlier years' gains."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from accounts_helpers import hand_city, write_rules
from mifund.accounts.analysis import (
    COLUMN_NOTES,
    column_notes,
    family_effect,
    family_gains,
    gains_losses,
    member_changes,
    pooled_summary,
)
from mifund.accounts.cli import app
from mifund.accounts.engine import simulate
from mifund.accounts.rules import load_account_rules


def two_year_city() -> dict[str, pd.DataFrame]:
    """The hand city of accounts_helpers in 2024 and, the same members and claims a year later, in 2025."""
    t = hand_city()
    later = lambda s: s.map(lambda d: d.replace(year=d.year + 1))  # noqa: E731
    k = t["claims"]
    k25 = k.assign(claim_id=k.claim_id + "_25", admit_date=later(k.admit_date), discharge_date=later(k.discharge_date))
    s25 = t["settlement"].assign(claim_id=t["settlement"].claim_id + "_25")
    return {"enrollment": pd.concat([t["enrollment"], t["enrollment"].assign(year=2025)], ignore_index=True),
            "claims": pd.concat([k, k25], ignore_index=True),
            "settlement": pd.concat([t["settlement"], s25], ignore_index=True),
            "providers": t["providers"]}


@pytest.fixture(scope="module")
def two_years(tmp_path_factory):
    rules = load_account_rules(write_rules(tmp_path_factory.mktemp("rules")))
    return simulate(two_year_city(), rules, opening="zero")


def test_second_year_gain_is_the_years_flow(two_years):
    """2024 as in test_accounts_analysis: pooled fund +1,440, members −1,440. 2025 has the same credits and
    claims, so the pooled fund again gains 1,800 − 360 = 1,440 and the members lose 1,440 -- not the
    closing-balance gap, which now holds both years: old 2,760 + 1,800 = 4,560 (A 960, C 3,600), new
    720 + 720 = 1,440 (C). In 2025 A's old-rule account opens at 960 and pays 1,920 of his claims (cash −960),
    so under the old rules the accounts grow by 1,800 (C) and under the new by 720 (C): balance change
    −1,080, cash change +360 (A pays 960 more in cash, B 600 less), gain −1,440. Closing gap minus cash
    change, as before the fix, says −3,120 − 360 = −3,480, a residual of −2,040 = the 2024 closing gap."""
    ps = pooled_summary(two_years).set_index("year")
    assert ps.conservation_residual.tolist() == [0, 0]
    assert ps.pooled_net_gain.tolist() == [1440, 1440] and ps.members_net_gain.tolist() == [-1440, -1440]
    y = ps.loc[2025]
    assert (y.members_balance_change, y.members_cash_change) == (-1080, 360)
    assert (y.opening_balance_old, y.opening_balance_new) == (2760, 720)
    assert (y.closing_balance_old, y.closing_balance_new) == (4560, 1440)   # year-end, cumulative
    assert (y.account_spending_old, y.out_of_pocket_old) == (1920, 2180)


def test_member_gains_are_the_same_each_year(two_years):
    """Per member the gain before family transfers is the change in credits plus the mutual aid, whatever
    the balance: A −360, B 0, C −1,080 in both years. The closing gap (C: −1,080 then −2,160; A −960 in both
    years) is cumulative and is not the gain; in 2025 A's balance change is 0 and his cash change +960."""
    ch = member_changes(two_years).set_index(["year", "person_id"])
    for y in (2024, 2025):
        assert ch.loc[y].net_gain.to_dict() == {"A": -360.0, "B": 0.0, "C": -1080.0}
        assert ch.loc[y].net_gain_with_family.to_dict() == {"A": -960.0, "B": 600.0, "C": -1080.0}
    assert ch.loc[2025].closing_gap.to_dict() == {"A": -960.0, "B": 0.0, "C": -2160.0}
    assert ch.loc[(2025, "A"), ["balance_change", "cash_change"]].tolist() == [0, 960]
    assert ch.net_gain.sum() == -2 * 1440                                   # flows add up over years
    fg = family_gains(ch.reset_index()).set_index("family_type")
    assert fg.loc["adults_only", "net_gain_total"] == -720 and fg.loc["single", "net_gain_total"] == -2160
    gl = gains_losses(ch.reset_index(), ["category"]).set_index("group")
    assert gl.loc["retired", "net_gain_total"] == -2160 and gl.loc["retired", "closing_gap_mean"] == -1620


def test_every_column_says_flow_or_balance(two_years):
    ch = member_changes(two_years)
    tables = {"gains_losses": gains_losses(ch), "family_gains": family_gains(ch), "family_effect": family_effect(ch)}
    notes = column_notes(tables)
    assert (notes.basis != "").all(), notes[notes.basis == ""]
    n = notes.set_index(["of_table", "column"])
    assert n.loc[("gains_losses", "balance_change_mean"), "basis"] == "flow in the year"
    assert n.loc[("gains_losses", "closing_gap_mean"), "basis"] == "balance at year end (cumulative)"
    assert n.loc[("family_effect", "closing_balance_new_mean"), "basis"] == "balance at year end (cumulative)"
    assert "family" in n.loc[("family_gains", "net_gain_mean"), "meaning"]
    missing = [c for c in pooled_summary(two_years).columns if c != "year" and c not in COLUMN_NOTES]
    assert not missing


def _warehouse(tmp_path):
    from mifund.storage import Warehouse

    db = tmp_path / "two.duckdb"
    with Warehouse(db) as wh, wh.transaction():
        for name, df in two_year_city().items():
            wh.append(name, df)
    return db


def test_cli_two_years(tmp_path):
    db, rules = _warehouse(tmp_path), write_rules(tmp_path)
    args = ["--db", str(db), "--rules", str(rules), "--opening", "zero"]
    r = CliRunner().invoke(app, ["simulate", *args, "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = {x["measure"]: x for x in json.loads(r.stdout)["pooled_fund"]}
    assert (rows["members_net_gain"]["2024"], rows["members_net_gain"]["2025"]) == (-1440, -1440)
    assert rows["conservation_residual"]["2025"] == 0
    assert rows["members_net_gain"]["basis"] == "flow in the year"
    assert rows["closing_balance_old"]["basis"] == "balance at year end (cumulative)"
    r = CliRunner().invoke(app, ["simulate", *args])                 # people: the basis column is there too
    assert r.exit_code == 0 and "balance at year end" in r.output, r.output
    r = CliRunner().invoke(app, ["compare", *args, "--by", "category", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert sum(x["net_gain_total"] for x in doc["gains_losses"]) == -2880
    assert {x["of_table"] for x in doc["column_notes"]} == {"gains_losses", "family_gains", "family_effect"}
    out = tmp_path / "cmp.xlsx"
    r = CliRunner().invoke(app, ["compare", *args, "--format", "xlsx", "-o", str(out)])
    assert r.exit_code == 0, r.output
    notes = pd.read_excel(out, sheet_name="column_notes", engine="openpyxl").set_index(["of_table", "column"])
    assert notes.loc[("gains_losses", "net_gain_mean"), "basis"] == "flow in the year"
    r = CliRunner().invoke(app, ["compare", *args])
    assert r.exit_code == 0 and "flows within each year" in " ".join(r.output.split()), r.output
