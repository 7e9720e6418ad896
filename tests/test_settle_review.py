"""Defects a user review found in policies and settlement (2026-11-25), each worked by hand.

Golden policy (tests/settle_helpers.GOLDEN_POLICY): inpatient deductible 100 / 400 / 1000 by level, ratio
90 / 80 / 70 %; outpatient 200 a year, 50 %, cap 1,000; pooled cap 50,000 (60,000 from 2024-07-01)."""

from __future__ import annotations

import datetime as dt

import pytest

from mifund.policy import load_policies
from settle_helpers import claim, person, run_engine_and_reference, write_policy

COUNTY = """\
schema: mifund.policy/1
region_code: "990102"
scheme: resident
name: county
inherits: "990100"
metadata: {reference: [{title: county document}]}
"""
KW = dict(category="resident_adult", special_group=None, visit_group="inpatient")


def test_a_county_value_from_mid_year_keeps_the_citys_before(tmp_path):
    """A county that lowers the level-2 deductible from 2024-07-01 only: before that day the city's 400
    applies (the whole dated value used to be replaced, and the county had no inpatient layer at all
    before July: deductible 0, pooled fund 0)."""
    write_policy(tmp_path)
    (tmp_path / "990102_resident.yaml").write_text(
        COUNTY + "inpatient:\n  deductible:\n    level_2: {values: {2024-07-01: 300}}\n", encoding="utf-8")
    ps = load_policies(tmp_path)
    county = ps.policy_for("990102", "resident")
    assert county.resolve(dt.date(2024, 3, 1), level=2, **KW)["ded"] == 40000  # the city's, before July
    assert county.resolve(dt.date(2024, 8, 1), level=2, **KW)["ded"] == 30000  # the county's, from July
    r = run_engine_and_reference(ps, [claim("m", "A", "2024-03-01", 20000, provider="L2"),
                                      claim("a", "A", "2024-08-01", 20000, provider="L2")], [person("A")])
    # March: deductible 400; 19600 × 80 % = 15680. August: 2nd admission (half: 150); 19850 × 80 % = 15880
    assert r["m"]["deductible_applied"] == 400 and r["m"]["pooled_fund_paid"] == 15680
    assert r["a"]["deductible_applied"] == 150 and r["a"]["pooled_fund_paid"] == 15880
    # the value cites both documents, the county's first
    titles = [x.title for x in county.model.inpatient.deductible.level_2.metadata.reference]
    assert titles == ["county document", "test fixture"]


def test_a_city_change_after_the_countys_date_does_not_replace_the_countys_value(tmp_path):
    write_policy(tmp_path, text=open_policy_with_city_change())
    (tmp_path / "990102_resident.yaml").write_text(
        COUNTY + "inpatient:\n  deductible:\n    level_1: {values: {2024-03-01: 50}}\n", encoding="utf-8")
    county = load_policies(tmp_path).policy_for("990102", "resident")
    assert county.resolve(dt.date(2024, 2, 1), level=1, **KW)["ded"] == 10000  # city's 100 before March
    assert county.resolve(dt.date(2024, 9, 1), level=1, **KW)["ded"] == 5000  # the county's 50, not the city's 120


def open_policy_with_city_change() -> str:
    from settle_helpers import GOLDEN_POLICY

    return GOLDEN_POLICY.replace("level_1: {values: {2024-01-01: 100}}",
                                 "level_1: {values: {2024-01-01: 100, 2024-08-01: 120}}", 1)


def test_an_outpatient_layer_starting_mid_year_is_capped_and_its_deductible_counts_from_its_start(tmp_path):
    """A county adds outpatient pooling from 2024-07-01 (deductible 100, 50 %, cap 600). A visit in March,
    before the layer, pays nothing and neither counts towards the deductible nor lifts the cap: before,
    the layer's "not in force" cap was "none", which the running maximum kept all year (1,050 paid
    against a 600 cap), and the March visit used up the deductible."""
    write_policy(tmp_path, text=open_policy_without_outpatient())
    (tmp_path / "990102_resident.yaml").write_text(
        COUNTY + "outpatient:\n  deductible: {values: {2024-07-01: 100}}\n"
        "  ratio: {default: {values: {2024-07-01: 0.5}}}\n  annual_cap: {values: {2024-07-01: 600}}\n",
        encoding="utf-8")
    ps = load_policies(tmp_path)
    r = run_engine_and_reference(ps, [
        claim("o0", "A", "2024-03-01", 200, visit="outpatient"),
        claim("o1", "A", "2024-08-01", 1100, visit="outpatient"),
        claim("o2", "A", "2024-09-01", 1000, visit="pharmacy"),
    ], [person("A")])
    assert r["o0"]["pooled_fund_paid"] == 0 and r["o0"]["deductible_applied"] == 0
    # o1: deductible 100 (nothing counted before July); 1000 × 50 % = 500
    assert r["o1"]["deductible_applied"] == 100 and r["o1"]["pooled_fund_paid"] == 500
    # o2: 1000 × 50 % = 500, but only 600 − 500 = 100 left of the cap
    assert r["o2"]["pooled_fund_paid"] == 100


def open_policy_without_outpatient() -> str:
    from settle_helpers import GOLDEN_POLICY

    start = GOLDEN_POLICY.index("outpatient:\n")
    end = GOLDEN_POLICY.index("pooled_annual_cap:")
    return GOLDEN_POLICY[:start] + GOLDEN_POLICY[end:]


# -- the command line ---------------------------------------------------------------------------------
def _cli(tmp_path, claims, *args, providers=None):
    import pandas as pd
    from typer.testing import CliRunner

    from mifund.cli import app
    from settle_helpers import PROVIDERS

    pol = tmp_path / "pol"
    write_policy(pol)
    pd.DataFrame(claims).to_csv(tmp_path / "claims.csv", index=False)
    pd.DataFrame([person("A"), person("A", year=2023)]).to_csv(tmp_path / "enrollment.csv", index=False)
    (providers if providers is not None else PROVIDERS).to_csv(tmp_path / "providers.csv", index=False)
    opts = ["--policy", str(pol), "--enrollment", str(tmp_path / "enrollment.csv"),
            "--providers", str(tmp_path / "providers.csv")]
    r = CliRunner().invoke(app, ["--db", str(tmp_path / "w.duckdb"), "settle", *args, *opts])
    return r, " ".join(r.output.split())


@pytest.mark.parametrize("values", [["1", "0"], ["yes", "no"], ["是", "否"], ["TRUE", "false"]])
def test_cross_region_as_1_0_yes_no(tmp_path, values):
    """A cross_region column of 1/0 or yes/no (a spreadsheet's) used to end in an engine traceback."""
    rows = [claim("x", "A", "2024-03-10", 10000), claim("h", "A", "2024-04-10", 10000)]
    rows[0]["cross_region"], rows[1]["cross_region"] = values
    out = tmp_path / "s.csv"
    r, text = _cli(tmp_path, rows, str(tmp_path / "claims.csv"), "--out", str(out))
    assert r.exit_code == 0, text
    import pandas as pd

    got = pd.read_csv(out).set_index("claim_id")
    # x: cross-region, level 1: deductible 100, 9900 × (90 − 10) % = 7920; h: 2nd admission 50, 9950 × 90 % = 8955
    assert got.loc["x", "pooled_fund_paid"] == 7920 and got.loc["h", "pooled_fund_paid"] == 8955


def test_bad_cross_region_and_amount_below_the_fen_are_named(tmp_path):
    rows = [claim("x", "A", "2024-03-10", 10000), claim("h", "A", "2024-04-10", 100.005)]
    rows[0]["cross_region"], rows[1]["cross_region"] = "maybe", "0"
    r, text = _cli(tmp_path, rows, str(tmp_path / "claims.csv"))
    assert r.exit_code == 1
    assert "claims.csv row 2, column cross_region: 'maybe' is not true or false" in text
    assert "claims.csv row 3, column total_amount: 100.005 is not an amount to the fen" in text


def test_a_provider_listed_twice_is_named_not_the_claims(tmp_path):
    import pandas as pd

    from settle_helpers import PROVIDERS

    twice = pd.concat([PROVIDERS, PROVIDERS.iloc[:1]])
    r, text = _cli(tmp_path, [claim("a1", "A", "2024-03-10", 1000)], str(tmp_path / "claims.csv"), providers=twice)
    assert r.exit_code == 1
    assert "providers: provider_id L1 given 2 times" in text and "claim_id given" not in text


def test_a_year_without_claims_is_an_error_naming_the_years_there_are(tmp_path):
    r, text = _cli(tmp_path, [claim("a1", "A", "2024-03-10", 1000)], str(tmp_path / "claims.csv"), "--year", "2025")
    assert r.exit_code == 1
    assert "no claims discharged in 2025" in text and "(the years with claims: 2024)" in text


def test_explain_an_unknown_claim(tmp_path):
    r, text = _cli(tmp_path, [claim("a1", "A", "2024-03-10", 1000)], "explain", "ZZZ",
                   "--claims", str(tmp_path / "claims.csv"))
    assert r.exit_code == 1
    assert "claim ZZZ not found" in text and "'claim ZZZ" not in text


def test_explain_says_a_layer_is_not_yet_in_force(tmp_path):
    """The March visit of the mid-year outpatient layer: explained as "not in force", not as a 0 % band
    under a 0.00 cap."""
    import pandas as pd
    from typer.testing import CliRunner

    from mifund.cli import app
    from settle_helpers import PROVIDERS

    pol = tmp_path / "pol"
    write_policy(pol, text=open_policy_without_outpatient())
    (pol / "990102_resident.yaml").write_text(
        COUNTY + "outpatient:\n  deductible: {values: {2024-07-01: 100}}\n"
        "  ratio: {default: {values: {2024-07-01: 0.5}}}\n  annual_cap: {values: {2024-07-01: 600}}\n",
        encoding="utf-8")
    pd.DataFrame([claim("o0", "A", "2024-03-01", 200, visit="outpatient")]).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame([person("A")]).to_csv(tmp_path / "e.csv", index=False)
    PROVIDERS.to_csv(tmp_path / "p.csv", index=False)
    r = CliRunner().invoke(app, ["--db", str(tmp_path / "w.duckdb"), "settle", "explain", "o0", "--claims",
                                 str(tmp_path / "c.csv"), "--enrollment", str(tmp_path / "e.csv"), "--providers",
                                 str(tmp_path / "p.csv"), "--policy", str(pol), "--lang", "en"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "outpatient pooling not in force on this date: the pooled fund pays nothing" in text
    assert "annual cap 0.00" not in text and "pooled_fund_paid = 0.00" in text


def test_a_claim_before_every_version_names_the_first_version(tmp_path):
    """Settling 2023 claims under policies that start in 2024 (the shipped real policies start in 2025,
    the demo's claims are 2024): the error says where the policy begins."""
    r, text = _cli(tmp_path, [claim("a1", "A", "2023-12-30", 1000)], str(tmp_path / "claims.csv"))
    assert r.exit_code == 1
    assert "no version of policy 990100/resident in force on 2023-12-30 (its first version starts 2024-01-01)" in text
