"""Settlement inputs: a claims file against the warehouse's enrolment and providers; every bad claim
reported (never dropped, never settled on a guess); bad file cells named by row and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.cli import app
from mifund.storage import Warehouse
from settle_helpers import claim, person, write_policy

runner = CliRunner()


def _warehouse(path: Path) -> None:
    """Enrolment and providers (and one claim of its own) in a warehouse, under the golden test policy's
    region 990100 / county 990102."""
    with Warehouse(path) as w:
        w.append("regions", pd.DataFrame([
            dict(region_code="990100", name="测试市", name_en="Test city", level="city", parent_code="990000"),
            dict(region_code="990102", name="测试区", name_en="Test county", level="county", parent_code="990100")]))
        w.append("providers", pd.DataFrame([dict(provider_id=f"L{k}", name=f"h{k}", region_code="990102", level=k,
                                                 type="hospital") for k in (1, 2, 3)]))
        w.append("enrollment", pd.DataFrame([
            {**person("A"), "sex": "F", "birth_date": dt.date(1980, 1, 1)},
            {**person("C", special="extreme_poverty"), "sex": "M", "birth_date": dt.date(1950, 1, 1)}]))
        cl = pd.DataFrame([claim("w1", "A", "2024-02-01", 500)])
        w.append("claims", cl)


@pytest.fixture
def setup(tmp_path):
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    write_policy(tmp_path / "pol")
    pd.DataFrame([claim("a1", "A", "2024-03-10", 32000, provider="L3", self_pay=1000, copay=1000),
                  claim("a2", "A", "2024-05-10", 10000),
                  claim("c1", "C", "2024-04-01", 42000, provider="L2", self_pay=2000)]).to_csv(
        tmp_path / "claims.csv", index=False)
    return tmp_path, ["--db", str(db)], ["--policy", str(tmp_path / "pol")]


def test_claims_file_against_warehouse_enrolment_and_providers(setup):
    tmp, db, pol = setup
    out = tmp / "s.csv"
    r = runner.invoke(app, [*db, "settle", str(tmp / "claims.csv"), *pol, "--out", str(out)])
    assert r.exit_code == 0, r.output
    s = pd.read_csv(out).set_index("claim_id")
    # the file's claims only (not the warehouse's w1); figures as in test_settle_golden
    assert sorted(s.index) == ["a1", "a2", "c1"]
    assert s.loc["a1", "pooled_fund_paid"] == 20750 and s.loc["a2", "pooled_fund_paid"] == 8955
    assert s.loc["c1", "assistance_paid"] == 3991.40


def test_explain_claims_file_against_warehouse(setup):
    tmp, db, pol = setup
    r = runner.invoke(app, [*db, "settle", "explain", "a2", "--claims", str(tmp / "claims.csv"), *pol, "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "pooled_fund_paid = 8,955.00" in r.output and "settled first): a1" in r.output


def test_harmonise_claims_file_against_warehouse(setup):
    tmp, db, pol = setup
    r = runner.invoke(app, [*db, "policy", "harmonise", "--claims", str(tmp / "claims.csv"), "--from", pol[1],
                            "--to", pol[1], "--format", "csv"])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(pd.io.common.StringIO(r.output))
    assert df["claims"].sum() == 3 and (df["fund_change"] == 0).all()


# -- bad claims are reported, each with its row; none is dropped or settled on a guess ---------------------
def _problems(policies, claims, persons, providers=None, **kw):
    """The SettlementError's lines for these claims (the test fails if they settle)."""
    from mifund.settlement import SettlementError, settle_fen
    from settle_helpers import source

    src = source(claims, persons)
    if providers is not None:
        src["providers"] = providers
    src["claims"]["_row"] = range(2, len(claims) + 2)
    with pytest.raises(SettlementError) as e:
        settle_fen(src, policies, **kw)
    return e.value.problems


@pytest.fixture
def policies(tmp_path):
    from mifund.policy import load_policies

    write_policy(tmp_path / "pol")
    return load_policies(tmp_path / "pol")


def test_category_special_group_and_level_not_in_the_policy_are_errors(policies):
    providers = pd.DataFrame([dict(provider_id="L1", level=1), dict(provider_id="L4", level=4),
                              dict(provider_id="L0", level=None)])
    persons = [person("E", category="in_service"), person("W", category="Resident_Adult"),
               person("S", special="poor"), person("N", special=None), person("A")]
    claims = [claim("e1", "E", "2024-03-01", 1000), claim("w1", "W", "2024-03-01", 1000),
              claim("s1", "S", "2024-03-01", 1000), claim("n1", "N", "2024-03-01", 1000),
              claim("l4", "A", "2024-03-01", 1000, provider="L4"), claim("l0", "A", "2024-03-02", 1000, provider="L0")]
    got = _problems(policies, claims, persons, providers)
    # the golden policy is a resident one: an employee category is not among its categories, nor is a
    # category in the wrong case; `poor` is no special group; level 4 and a missing level are no level of it.
    # n1 (special group empty: none) is good, and reported nowhere
    assert got == [
        "claims row 2, claim e1: category in_service is not one of policy 990100/resident's categories "
        "(resident_adult, resident_minor, student)",
        "claims row 3, claim w1: category Resident_Adult is not one of policy 990100/resident's categories "
        "(resident_adult, resident_minor, student)",
        "claims row 4, claim s1: unknown special_group poor (one of none, low_income, extreme_poverty, "
        "relapse_risk, disabled, or empty)",
        "claims row 6, claim l4: provider L4 has level 4, not one of policy 990100/resident's provider levels "
        "(1, 2, 3)",
        "claims row 7, claim l0: provider L0 has no level"]


def test_empty_amount_and_dates_are_errors(policies):
    c = [claim("t", "A", "2024-03-01", 1000), claim("d", "A", "2024-03-02", 1000),
         claim("a", "A", "2024-03-03", 1000), claim("ok", "A", "2024-03-04", 1000)]
    c[0]["total_amount"] = None
    c[1]["discharge_date"] = None
    c[2]["admit_date"] = None
    got = _problems(policies, c, [person("A")])
    assert got == ["claims row 2, claim t: total_amount is empty", "claims row 3, claim d: discharge_date is empty",
                   "claims row 4, claim a: admit_date is empty"]
    # with --year, a claim whose discharge date is unknown is not quietly outside the year
    assert _problems(policies, c[1:2], [person("A")], year=2024) == ["claims row 2, claim d: discharge_date is empty"]


def test_negative_amount_names_the_column(policies):
    got = _problems(policies, [claim("x", "A", "2024-03-01", 1000, copay=-5)], [person("A")])
    assert got == ["claims row 2, claim x: negative amount in copay_first_amount"]


def test_no_parameter_row_is_reported_not_dropped(policies, monkeypatch):
    """The catch-all: a claim that passes every named check but finds no parameter row (here: the
    parameter table is made to lack level-2 rows) is an error, not a claim left out of the settlement."""
    import mifund.settlement as s

    real = s.parameter_table

    def without_level_2(pols):
        p = real(pols)
        return p.filter(p.provider_level != 2)

    monkeypatch.setattr(s, "parameter_table", without_level_2)
    got = _problems(policies, [claim("x", "A", "2024-03-01", 1000, provider="L2")], [person("A")])
    assert got == ["claims row 2, claim x: provider L2 has level 2, not one of policy 990100/resident's provider "
                   "levels (1, 3)"]
    # and where even the named checks pass: only the catch-all speaks
    monkeypatch.setattr(s, "parameter_table", lambda pols: (lambda p: p.filter(
        (p.provider_level != 2) | (p.visit_group != "inpatient")))(real(pols)))
    got = _problems(policies, [claim("x", "A", "2024-03-01", 1000, provider="L2")], [person("A")])
    assert got == ["claims row 2, claim x: no parameter row in policy 990100/resident for category resident_adult, "
                   "special group none, provider level 2, visit inpatient on 2024-03-01"]


def test_cli_reports_every_bad_claim(setup):
    tmp, db, pol = setup
    bad = pd.DataFrame([claim("a1", "A", "2024-03-10", 1000), claim("a2", "A", "2024-03-11", 1000)])
    bad.loc[1, "total_amount"] = None
    bad.to_csv(tmp / "bad.csv", index=False)
    out = tmp / "s.csv"
    r = runner.invoke(app, [*db, "settle", str(tmp / "bad.csv"), *pol, "--out", str(out)])
    assert r.exit_code == 1
    assert "bad.csv row 3, claim a2: total_amount is empty" in r.output.replace("\n", "")
    assert not out.exists()


def test_enrolment_without_special_group_column(policies):
    """special_group is optional in the data contract: no column means no special group."""
    from mifund.settlement import settle_fen
    from settle_helpers import source

    src = source([claim("a1", "A", "2024-03-01", 1000)], [person("A")])
    src["enrollment"] = src["enrollment"].drop(columns="special_group")
    assert settle_fen(src, policies).set_index("claim_id").loc["a1", "pooled_fund_paid"] == 81000  # 900 × 90 %
