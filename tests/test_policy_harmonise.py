"""`harmonise`: the same claims under the current and the unified policy, by county × category × cost band,
per county and in all, with who gains and who loses; money to the fen; bands in increasing order."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.cli import app
from mifund.policy import load_policies
from mifund.policy.compare import harmonise, harmonise_report
from mifund.storage import Warehouse
from settle_helpers import GOLDEN_POLICY, PROVIDERS, claim, person, source, write_policy

runner = CliRunner()

# the unified policy: level-1 deductible 100 → 300 (worse), level-2 deductible 400 → 100 (better)
UNIFIED = GOLDEN_POLICY.replace("level_1: {values: {2024-01-01: 100}}", "level_1: {values: {2024-01-01: 300}}").replace(
    "level_2: {values: {2024-01-01: 400}}", "level_2: {values: {2024-01-01: 100}}")

CLAIMS = [
    claim("a1", "A", "2024-03-01", 1000.10),  # 990102, L1, band 0–5,000
    claim("b1", "B", "2024-03-01", 6000, provider="L2"),  # 990102, L2, band 5,000–20,000
    claim("d1", "D", "2024-03-01", 25000),  # 990102, L1, band 20,000–50,000
    claim("c1", "C", "2024-03-01", 25000),  # 990103, L1, band 20,000–50,000
]
PERSONS = [person("A"), person("B"), person("D"), person("C", region="990103")]


@pytest.fixture
def policies(tmp_path):
    write_policy(tmp_path / "cur")
    write_policy(tmp_path / "uni", UNIFIED)
    return load_policies(tmp_path / "cur"), load_policies(tmp_path / "uni")


def test_changes_by_band_county_and_in_all(policies):
    """Worked by hand (ratio 90 % at level 1, 80 % at level 2, +5 points on the part above 20,000 of the
    amount above the deductible; no claim reaches the catastrophic threshold of 10,000 of burden):

    a1 1,000.10 L1: fund (1,000.10 − 100) × 90 % = 810.09 → (1,000.10 − 300) × 90 % = 630.09: −180, oop +180
    b1 6,000 L2:    fund 5,600 × 80 % = 4,480 → 5,900 × 80 % = 4,720: +240, oop −240 (better off)
    d1, c1 25,000 L1: 20,000 × 90 % + 4,900 × 95 % = 22,655 → 18,000 + 4,700 × 95 % = 22,465: −190, oop +190
    990102: fund −180 + 240 − 190 = −130; 990103: −190; in all −320 (the fund saves 320, patients pay 320 more).
    """
    before, after = policies
    rep = harmonise_report(source(CLAIMS, PERSONS), before, after)
    band = rep.by_band
    # bands in increasing order, not as text ("20,000–50,000" would sort before "5,000–20,000")
    assert band[band.region_code == "990102"].cost_band.tolist() == ["0–5,000", "5,000–20,000", "20,000–50,000"]
    assert band.fund_change.tolist() == [-180.0, 240.0, -190.0, -190.0]
    assert band.fund_before.tolist()[0] == 810.09 and band.fund_after.tolist()[0] == 630.09
    assert band.oop_change.tolist() == [180.0, -240.0, 190.0, 190.0]
    assert band.persons_better_off.tolist() == [0, 1, 0, 0] and band.persons_worse_off.tolist() == [1, 0, 1, 1]

    county = rep.by_county.set_index("region_code")
    assert county.loc["990102", "fund_change"] == -130.0 and county.loc["990103", "fund_change"] == -190.0
    assert county.loc["990102", "claims"] == 3 and county.loc["990102", "persons"] == 3
    assert (county.loc["990102", "persons_better_off"], county.loc["990102", "persons_worse_off"]) == (1, 2)

    total = rep.total.iloc[0]
    assert total.region_code == "(all)" and total.claims == 4 and total.persons == 4
    assert (total.fund_change, total.oop_change) == (-320.0, 320.0)
    assert (total.persons_better_off, total.persons_worse_off) == (1, 3)
    assert (total.claims_better_off, total.claims_worse_off) == (1, 3)
    # the plain frame is the band table
    pd.testing.assert_frame_equal(harmonise(source(CLAIMS, PERSONS), before, after), band)


def test_a_person_counts_by_the_sum_of_their_claims(policies):
    """A gains 240 on a first, level-2 admission (as b1 above) and loses on a second, level-1 one: its
    deductible is halved as a repeat admission (50 → 150), so the fund pays 90 % of 100 less, 90. Better
    off in all (oop −150), though one claim is worse; in the band table each band counts on its own."""
    before, after = policies
    rep = harmonise_report(source([claim("a1", "A", "2024-04-01", 1000.10),
                                   claim("a2", "A", "2024-03-01", 6000, provider="L2")], [person("A")]), before, after)
    t = rep.total.iloc[0]
    assert (t.claims_better_off, t.claims_worse_off, t.persons_better_off, t.persons_worse_off) == (1, 1, 1, 0)
    assert t.oop_change == -150.0
    assert rep.by_band.persons_worse_off.tolist() == [1, 0]


def test_money_is_rounded_to_the_fen(policies):
    """Sums of many fen amounts: every money figure has at most 2 decimals (no 15372.969999999972)."""
    before, after = policies
    claims = [claim(f"x{i}", f"P{i % 7}", dt.date(2024, 1, 1) + dt.timedelta(days=i), 1000 + i * 37.37,
                    provider=f"L{1 + i % 3}") for i in range(60)]
    rep = harmonise_report(source(claims, [person(f"P{k}") for k in range(7)]), before, after)
    for df in (rep.by_band, rep.by_county, rep.total):
        text = df.to_csv(index=False)
        for col in ("fund_before", "fund_after", "fund_change", "oop_before", "oop_after", "oop_change"):
            for v in df[col]:
                assert round(v, 2) == v and len(repr(float(v)).split(".")[1]) <= 2, (col, v)
        assert "99999" not in text and "00000" not in text, text


@pytest.fixture
def warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as w:
        w.append("regions", pd.DataFrame([
            dict(region_code="990100", name="测试市", name_en="Test city", level="city", parent_code="990000"),
            *[dict(region_code=c, name=f"区{c}", name_en=f"County {c}", level="county", parent_code="990100")
              for c in ("990102", "990103")]]))
        w.append("providers", PROVIDERS.assign(name="h", region_code="990102", type="hospital"))
        w.append("enrollment", pd.DataFrame([{**p, "sex": "F", "birth_date": dt.date(1980, 1, 1)} for p in PERSONS]))
        w.append("claims", pd.DataFrame(CLAIMS))
    write_policy(tmp_path / "cur")
    write_policy(tmp_path / "uni", UNIFIED)
    return ["--db", str(db), "policy", "harmonise", "--from", str(tmp_path / "cur"), "--to", str(tmp_path / "uni")]


def test_cli_tables_for_people_and_one_level_for_machines(warehouse):
    r = runner.invoke(app, warehouse)
    assert r.exit_code == 0, r.output
    for what in ("by county × insured category × cost band", "by county", "in all: what it costs the fund"):
        assert what in r.output
    assert "-320.00" in r.output and "persons_better_off" in r.output

    r = runner.invoke(app, [*warehouse, "--format", "csv"])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(io.StringIO(r.output), dtype={"region_code": str})
    assert df.cost_band.tolist()[:3] == ["0–5,000", "5,000–20,000", "20,000–50,000"]
    assert df.claims.sum() == 4  # the band rows only: nothing counted twice

    r = runner.invoke(app, [*warehouse, "--format", "json", "--by", "county"])
    assert r.exit_code == 0, r.output
    assert [(x["region_code"], x["fund_change"]) for x in json.loads(r.output)] == [("990102", -130.0),
                                                                                   ("990103", -190.0)]
    r = runner.invoke(app, [*warehouse, "--format", "json", "--by", "total"])
    assert json.loads(r.output)[0]["oop_change"] == 320.0

    r = runner.invoke(app, [*warehouse, "--by", "province"])
    assert r.exit_code != 0 and "--by" in r.output


def test_employee_change_includes_the_individual_accounts(tmp_path):
    """Nanchang employee, level 2, a bill of 10,000 (2025), level-2 ratio 90 % → 95 %:
    before: deductible 500, pooled (10000 − 500) × 90 % = 8,550; burden 1,450, the account half: 725, out of pocket 725;
    after: pooled 9,500 × 95 % = 9,025; burden 975: account 487.50, out of pocket 487.50.
    fund +475, account −237.50, out of pocket −237.50: the three changes sum to 0 and each side sums to the bill
    (the account's change used to appear nowhere)."""
    from pathlib import Path

    real = (Path(__file__).resolve().parents[1] / "policies" / "360100_employee.yaml").read_text(encoding="utf-8")
    write_policy(tmp_path / "cur", real, name="360100_employee.yaml")
    write_policy(tmp_path / "uni", real.replace("level_2: {values: {2025-01-01: 0.90}}",
                                                "level_2: {values: {2025-01-01: 0.95}}"), name="360100_employee.yaml")
    src = source([claim("e1", "E", "2025-03-01", 10000, provider="L2")],
                 [person("E", 2025, region="360102", scheme="employee", category="in_service")])
    t = harmonise_report(src, load_policies(tmp_path / "cur"), load_policies(tmp_path / "uni")).total.iloc[0]
    assert (t.fund_change, t.account_change, t.oop_change) == (475.0, -237.5, -237.5)
    assert t.fund_change + t.account_change + t.oop_change == 0
    assert t.fund_before + t.account_before + t.oop_before == 10000 == t.fund_after + t.account_after + t.oop_after
