"""Storing settlement results: upsert by claim with audit, person-year totals, runs, all or nothing, CLI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.cli import app
from mifund.policy import load_policies
from mifund.settlement import settle
from mifund.settlement.store import latest_settlement, store_settlement
from mifund.storage import Warehouse
from settle_helpers import GOLDEN_POLICY, claim, person, source, write_policy

AMOUNTS = ["total_amount", "deductible_applied", "pooled_fund_paid", "catastrophic_paid", "assistance_paid",
           "account_paid", "out_of_pocket"]
TABLES = ["settlement", "settlement_person_year", "settlement_runs", "audit_log"]
ROOT = Path(__file__).resolve().parents[1]


def _claims(a2_total=10000):
    return [claim("a1", "A", "2024-03-10", 32000, provider="L3", self_pay=1000, copay=1000),
            claim("a2", "A", "2024-05-10", a2_total),
            claim("c1", "C", "2024-04-01", 42000, provider="L2", self_pay=2000),
            claim("c2", "C", "2024-06-01", 800, visit="outpatient")]


PERSONS = [person("A"), person("C", special="extreme_poverty")]


@pytest.fixture
def policies(tmp_path):
    write_policy(tmp_path / "pol")
    return load_policies(tmp_path / "pol")


def _settled(policies, claims):
    return settle(source(claims, PERSONS), policies, detail=True)


def _snapshot(wh):
    return {t: wh.to_pandas(wh.table(t), decimals_as_float=False).sort_values(
        list(wh.columns(t))[:2]).reset_index(drop=True) for t in TABLES}


def test_store_twice_replaces_audits_and_totals(wh, policies, tmp_path):
    first = _settled(policies, _claims())
    run1 = store_settlement(wh, first, actor="alice", policy_source="pol")
    assert wh.count("settlement") == 4 and wh.count("settlement_person_year") == 2

    # second run: claim a2 changed, one claim added, and a changed policy (level-1 deductible 100 -> 300)
    write_policy(tmp_path / "pol2", GOLDEN_POLICY.replace("level_1: {values: {2024-01-01: 100}}",
                                                          "level_1: {values: {2024-01-01: 300}}"))
    second = settle(source([*_claims(a2_total=12000), claim("c3", "C", "2024-07-01", 500, visit="outpatient")],
                           PERSONS), load_policies(tmp_path / "pol2"), detail=True)
    run2 = store_settlement(wh, second, actor="bob", policy_source="pol2")
    assert run1 != run2

    stored = wh.to_pandas(latest_settlement(wh), decimals_as_float=False).set_index("claim_id")
    assert len(stored) == 5
    expect = second.to_pandas().set_index("claim_id")
    for c in ["person_id", "year", "policy_key", *AMOUNTS]:
        assert stored.loc[expect.index, c].tolist() == expect[c].tolist(), c
    assert stored.loc["a2", "total_amount"] == Decimal("12000.00")
    # claims whose result did not change keep the first run's id; changed or new ones carry the second
    firsts = first.to_pandas().set_index("claim_id")
    for cid in stored.index:
        same = cid in firsts.index and all(firsts.loc[cid, c] == expect.loc[cid, c] for c in AMOUNTS)
        assert stored.loc[cid, "run_id"] == (run1 if same else run2), cid

    # the audit log holds the old and new values of the replaced claims
    log = wh.to_pandas(wh.table("audit_log"))
    repl = log[(log.action == "replace") & (log.table_name == "settlement")]
    assert "a2" in {json.loads(k)["claim_id"] for k in repl.record_key}
    a2 = repl[repl.record_key.str.contains('"a2"')].iloc[0]
    assert json.loads(a2.old_values)["total_amount"] == 10000 and json.loads(a2.new_values)["total_amount"] == 12000
    assert set(a2[["actor", "batch_id"]]) == {"bob", run2}
    runs_logged = log[log.action == "settle"]
    assert sorted(runs_logged.batch_id) == sorted([run1, run2])
    assert json.loads(runs_logged[runs_logged.batch_id == run2].detail.iloc[0])["claims"] == 5

    # person-year totals = the sum of the stored claims, computed independently in pandas
    py = wh.to_pandas(wh.table("settlement_person_year"), decimals_as_float=False).set_index(["person_id", "year"])
    df = second.to_pandas()
    indep = df.groupby(["person_id", "year"]).agg(claims=("claim_id", "count"),
                                                   **{c: (c, lambda s: sum(s, Decimal(0))) for c in AMOUNTS})
    assert sorted(py.index) == sorted(indep.index)
    for k in indep.index:
        assert py.loc[k, "claims"] == indep.loc[k, "claims"]
        for c in AMOUNTS:
            assert py.loc[k, c] == indep.loc[k, c], (k, c)

    runs = wh.to_pandas(wh.table("settlement_runs"), decimals_as_float=False).set_index("run_id")
    assert list(runs.index) == [run1, run2]
    assert runs.loc[run2, "claims"] == 5 and runs.loc[run2, "actor"] == "bob"
    assert runs.loc[run2, "pooled_fund_paid"] == sum(df.pooled_fund_paid, Decimal(0))
    assert json.loads(runs.loc[run2, "policy_versions"]) == sorted(
        {f"{k}@{v}" for k, v in zip(df.policy_key, df.policy_version, strict=True)})
    assert json.loads(runs.loc[run2, "policy_versions"])[0].startswith("990100/resident@2024-")


def test_store_same_result_again_audits_nothing(wh, policies):
    settled = _settled(policies, _claims())
    run1 = store_settlement(wh, settled, actor="alice", policy_source="pol")
    store_settlement(wh, settled, actor="alice", policy_source="pol")
    log = wh.to_pandas(wh.table("audit_log"))
    assert (log.action == "replace").sum() == 0 and (log.action == "settle").sum() == 2
    assert set(wh.to_pandas(wh.table("settlement")).run_id) == {run1}
    assert wh.count("settlement_runs") == 2


def test_failure_mid_store_leaves_warehouse_unchanged(wh, policies, monkeypatch):
    store_settlement(wh, _settled(policies, _claims()), actor="alice", policy_source="pol")
    before = _snapshot(wh)
    real = Warehouse.upsert

    def failing(self, name, *a, **kw):
        if name == "settlement_person_year":
            raise RuntimeError("disk full")
        return real(self, name, *a, **kw)

    monkeypatch.setattr(Warehouse, "upsert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        store_settlement(wh, _settled(policies, _claims(a2_total=12000)), actor="bob", policy_source="pol")
    after = _snapshot(wh)
    for t in TABLES:
        pd.testing.assert_frame_equal(after[t], before[t], obj=t)
    assert not [t for t in wh.con.list_tables() if t.startswith("_stage_")]


def _tiny_warehouse(path: Path) -> None:
    with Warehouse(path) as w:
        w.append("regions", pd.DataFrame([
            dict(region_code="360100", name="南昌市", name_en="Nanchang", level="city", parent_code="360000"),
            dict(region_code="360102", name="东湖区", name_en="Donghu", level="county", parent_code="360100")]))
        w.append("providers", pd.DataFrame([
            dict(provider_id="P1", name="h1", region_code="360102", level=1, type="hospital"),
            dict(provider_id="P3", name="h3", region_code="360102", level=3, type="hospital")]))
        w.append("enrollment", pd.DataFrame([
            dict(person_id="E1", year=2025, region_code="360102", scheme="employee", category="in_service",
                 sex="F", birth_date=dt.date(1980, 1, 1)),
            dict(person_id="R1", year=2025, region_code="360102", scheme="resident", category="resident_adult",
                 sex="M", birth_date=dt.date(1970, 1, 1))]))
        cl = pd.DataFrame([claim("k1", "E1", "2025-03-10", 20000, provider="P3"),
                           claim("k2", "R1", "2025-04-10", 8000, provider="P1")])
        cl["cross_region"] = False
        w.append("claims", cl)


def test_cli_settle_warehouse_stores(tmp_path):
    db = tmp_path / "w.duckdb"
    _tiny_warehouse(db)
    pol = str(ROOT / "policies")
    runner = CliRunner()
    r = runner.invoke(app, ["--db", str(db), "settle", "warehouse", "--policy", pol])
    assert r.exit_code == 0, r.output
    with Warehouse(db, read_only=True) as w:
        runs = w.to_pandas(w.table("settlement_runs"))
        assert len(runs) == 1 and runs.run_id[0] in r.output.replace("\n", "")
        assert runs.claims[0] == 2 and runs.policy_source[0] == pol
        assert sorted(w.to_pandas(w.table("settlement")).claim_id) == ["k1", "k2"]
        assert w.count("settlement_person_year") == 2
        versions = json.loads(runs.policy_versions[0])
        assert versions == ["360100/employee@2025-01-01", "360100/resident@2024-01-01"], versions

    # --no-store settles without writing
    r = runner.invoke(app, ["--db", str(db), "settle", "warehouse", "--policy", pol, "--no-store"])
    assert r.exit_code == 0, r.output
    with Warehouse(db, read_only=True) as w:
        assert w.count("settlement_runs") == 1
