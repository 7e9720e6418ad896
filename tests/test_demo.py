"""The synthetic demo municipality: imports cleanly, is deterministic, consistent, and marked synthetic."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mifund.demo import calibration as K
from mifund.demo import generate
from mifund.demo.generate import DEMO_POLICIES
from mifund.ingest import import_paths
from mifund.ingest.report import WARNING
from mifund.policy import default_policy_dir, load_policies
from mifund.settlement import settle_fen
from mifund.storage import Warehouse

SEED = 7


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo") / "small"
    generate("small", seed=SEED, out_dir=d)
    return d


@pytest.fixture(scope="session")
def frames(demo_dir):
    return {
        "claims": pd.read_parquet(demo_dir / "claims.parquet"),
        "lines": pd.read_parquet(demo_dir / "claim_lines.parquet"),
        "enrollment": pd.read_parquet(demo_dir / "enrollment.parquet"),
        "providers": pd.read_csv(demo_dir / "providers.csv", dtype={"region_code": str}),
        "catalog": pd.read_csv(demo_dir / "catalog.csv"),
        "ledger": pd.read_csv(demo_dir / "fund_ledger.csv", dtype={"region_code": str}),
        "labels": pd.read_csv(demo_dir / "truth" / "labels.csv"),
    }


def _hashes(d):
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()}


def test_imports_cleanly_without_warnings(demo_dir, tmp_path):
    """The only warnings are the planted duplicate enrolments (重复参保), which the importer names and
    supervision works: each one's person a planted duplicate, and every planted duplicate named."""
    with Warehouse(tmp_path / "w.duckdb") as wh:
        rep = import_paths(wh, [demo_dir], actor="test", id_key=b"k" * 32)
        warned = [w for w in rep.warnings if w.severity == WARNING]
        assert warned and all("duplicate enrolment" in w.reason for w in warned)
        e = pd.read_parquet(demo_dir / "enrollment.parquet")
        persons = {e.person_id.iloc[w.row - 1] for w in warned}  # a Parquet row is its 1-based record index
        lab = pd.read_csv(demo_dir / "truth" / "labels.csv")
        assert persons == set(lab.loc[lab.kind == "duplicate_enrolment", "person_id"])
        assert {f.table for f in rep.files} == {"regions", "population", "catalog", "providers", "fund_ledger",
                                                "enrollment", "claims", "claim_lines"}
        assert wh.count("claims") > 50_000


def test_deterministic_for_a_seed(demo_dir, tmp_path):
    generate("small", seed=SEED, out_dir=tmp_path / "again")
    assert _hashes(demo_dir) == _hashes(tmp_path / "again")


def test_another_seed_differs(tmp_path):
    generate(2000, seed=1, out_dir=tmp_path / "a")
    generate(2000, seed=2, out_dir=tmp_path / "b")
    assert _hashes(tmp_path / "a")["claims.parquet"] != _hashes(tmp_path / "b")["claims.parquet"]


def test_marked_synthetic(demo_dir):
    assert "SYNTHETIC" in (demo_dir / "README_SYNTHETIC.md").read_text(encoding="utf-8")
    for name in ("enrollment", "claims", "claim_lines"):
        meta = pq.read_schema(demo_dir / f"{name}.parquet").metadata
        assert meta[b"mifund.synthetic"] == b"true"
    for name in ("regions", "catalog", "providers"):
        assert "synthetic" in pd.read_csv(demo_dir / f"{name}.csv").columns
    for name in ("population", "fund_ledger"):
        assert pd.read_csv(demo_dir / f"{name}.csv").source.str.startswith("SYNTHETIC").all()


def test_claims_consistent(frames):
    c, ln = frames["claims"], frames["lines"]
    tot = c.set_index("claim_id").total_amount.astype(float)
    sums = ln.groupby("claim_id").amount.sum().astype(float)
    assert np.allclose(sums.reindex(tot.index).to_numpy(), tot.to_numpy(), atol=0.001)
    assert (c.self_pay_amount + c.copay_first_amount <= c.total_amount).all()
    assert (c.discharge_date >= c.admit_date).all()
    assert set(c.visit_type) == {"inpatient", "outpatient", "chronic_outpatient", "pharmacy"}
    assert c.person_id.isin(frames["enrollment"].person_id).all()
    assert c.provider_id.isin(frames["providers"].provider_id).all()
    assert set(frames["catalog"].catalog_class) == {"A", "B", "C"}


def test_structure(frames):
    e, p = frames["enrollment"], frames["providers"]
    assert e.person_id.str.startswith("SYN").all()
    assert set(e.special_group) == {"none", "low_income", "extreme_poverty", "relapse_risk", "disabled"}
    assert set(e.category) == {"in_service", "retired", "flexible", "resident_adult", "resident_minor", "student"}
    assert e.family_id.notna().all() and e.groupby("family_id").size().mean() > 1.5
    assert (e[e.category == "in_service"].wage_base.astype(float) > 0).all()
    assert set(p.level) == {1, 2, 3} and set(p.type) == {"hospital", "clinic", "pharmacy"}
    urban = {c.code for c in K.COUNTIES if c.urban}
    t3 = p[(p.level == 3) & (p.type == "hospital")]
    assert t3.region_code.isin(urban).mean() > 0.8  # tertiary concentrated in the city districts
    assert len(frames["ledger"]) == len(K.COUNTIES) * 3 * len(K.LEDGER_YEARS)


def test_ledger_identities(frames):
    led = frames["ledger"].copy()
    fen = lambda s: (s.fillna(0) * 100).round().astype("int64")  # noqa: E731
    inc = sum(fen(led[c]) for c in ("income_individual", "income_employer", "income_fiscal_subsidy", "income_interest"))
    assert (inc == fen(led.income_total)).all()
    exp = sum(fen(led[c]) for c in ("expenditure_inpatient", "expenditure_outpatient", "expenditure_other"))
    assert (exp == fen(led.expenditure_total)).all()
    led = led.sort_values(["region_code", "scheme", "fund", "year"])
    for _, g in led.groupby(["region_code", "scheme", "fund"]):
        b = fen(g.balance_end).to_numpy()
        assert (b[1:] == b[:-1] + fen(g.income_total).to_numpy()[1:] - fen(g.expenditure_total).to_numpy()[1:]).all()
    res = led[led.scheme == "resident"]
    per = (res.income_individual + res.income_fiscal_subsidy) / res.insured
    expect = res.year.map(lambda y: sum(K.RESIDENT_FINANCING[y]))
    assert np.allclose(per, expect)


def test_ledger_story(frames):
    led = frames["ledger"]
    city = led.groupby(["scheme", "fund", "year"])[["income_total", "expenditure_total", "balance_end"]].sum()
    emp = city.loc[("employee", "pooled")]
    assert (emp.income_total > emp.expenditure_total).all()  # the employee pooled fund is in surplus
    res = city.loc[("resident", "pooled")]
    cagr = lambda s: (s.loc[2024] / s.loc[2020]) ** 0.25 - 1  # noqa: E731
    assert cagr(res.expenditure_total) > cagr(res.income_total)  # expenditure outgrows income
    r24 = led[(led.scheme == "resident") & (led.year == 2024)]
    months = r24.balance_end / r24.expenditure_total * 12
    assert (months < 6).sum() >= 1 and (months > 8).sum() >= 3  # a county near the safety line, most not


def test_latest_expenditure_agrees_with_claims(frames):
    """The latest year's ledger is derived from the claims settled by mifund.settlement under the
    shipped policies: pooled expenditure on claims = pooled_fund_paid (+ catastrophic_paid for
    residents, whose fund buys the catastrophic cover), and the total adds the share outside claims."""
    c, e, p = frames["claims"], frames["enrollment"], frames["providers"]
    amounts = ["total_amount", "self_pay_amount", "copay_first_amount"]
    c = c.assign(**{a: c[a].astype(float) for a in amounts})
    e = e.drop(columns=["wage_base"])
    settled = settle_fen({"claims": c, "enrollment": e, "providers": p[["provider_id", "level"]]},
                         load_policies(DEMO_POLICIES))
    first = e.drop_duplicates("person_id")  # the planted duplicate enrolment comes second
    c = c.merge(first[["person_id", "region_code", "scheme"]], on="person_id").merge(settled, on="claim_id")
    c["pooled"] = c.pooled_fund_paid + np.where(c.scheme == "resident", c.catastrophic_paid, 0)
    paid = c.groupby(["region_code", "scheme"]).pooled.sum()
    led = frames["ledger"]
    led = led[(led.year == K.LATEST_YEAR) & (led.fund == "pooled")].set_index(["region_code", "scheme"])
    for key, fen_paid in paid.items():
        share = K.OUTSIDE_CLAIMS_SHARE[(key[1], "pooled")]
        row = led.loc[key]
        assert (row.expenditure_inpatient + row.expenditure_outpatient) == pytest.approx(fen_paid / 100, abs=0.02)
        assert row.expenditure_total == pytest.approx(fen_paid / 100 / (1 - share), rel=1e-6, abs=0.02)


def test_labels(frames):
    lab, c, ln, cat, e = frames["labels"], frames["claims"], frames["lines"], frames["catalog"], frames["enrollment"]
    kinds = set(lab.kind)
    assert {"duplicate_billing", "split_admission", "phantom_stay", "over_quantity", "upcoding_provider",
            "duplicate_enrolment", "near_miss_readmission_other_diagnosis", "near_miss_readmission_after_window",
            "near_miss_same_day_other_provider"} <= kinds
    assert {"sex_restricted_item", "age_restricted_item"} & kinds
    assert lab[lab.entity.isin(["claim", "claim_line"])].claim_id.isin(c.claim_id).all()
    assert not set(c.columns) & {"kind", "is_abuse", "label"}  # labels never in the claim tables
    # over-quantity lines are exactly the labelled ones
    j = ln.merge(cat[["item_code", "max_daily_quantity"]], on="item_code")
    daily = j.groupby(["claim_id", "item_code", "service_date", "max_daily_quantity"]).quantity.sum().reset_index()
    over = set(daily[daily.quantity > daily.max_daily_quantity].claim_id)
    assert over == set(lab[lab.kind == "over_quantity"].claim_id)
    # duplicates: the labelled copy matches its original
    d = lab[lab.kind == "duplicate_billing"].iloc[0]
    a, b = c.set_index("claim_id").loc[d.claim_id], c.set_index("claim_id").loc[d.related_claim_id]
    assert (a.person_id, a.provider_id, a.admit_date, a.total_amount) == (b.person_id, b.provider_id, b.admit_date, b.total_amount)
    dup = e[e.person_id.duplicated(keep=False)]
    assert set(dup.person_id) == set(lab[lab.kind == "duplicate_enrolment"].person_id)


def test_cli_generate(tmp_path):
    from typer.testing import CliRunner

    from mifund.cli import app

    r = CliRunner().invoke(app, ["demo", "generate", "--size", "small", "--seed", "3", "--out", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "d" / "claims.parquet").exists() and (tmp_path / "d" / "truth" / "labels.csv").exists()
    r = CliRunner().invoke(app, ["demo", "generate", "--size", "huge", "--out", str(tmp_path / "x")])
    assert r.exit_code != 0


def test_demo_policies_are_the_real_ones_redated():
    """The demo policies differ from the shipped real ones only in their dates and a header (the real
    files' worked examples, `tests:`, are dated in the real years and not copied)."""
    import re

    for f in ("360100_employee.yaml", "360100_resident.yaml"):
        real = (default_policy_dir() / f).read_text(encoding="utf-8").split("\ntests:")[0]
        demo = (DEMO_POLICIES / f).read_text(encoding="utf-8")
        body = "\n".join(line for line in demo.splitlines() if not line.startswith("# DEMO") and "synthetic" not in line
                         and "Regenerate" not in line)
        assert re.sub(r"\b20\d\d-01-01\b", "2015-01-01", real).strip() in body


def test_demo_run_never_deletes_what_it_did_not_make(tmp_path):
    """`mifund demo run --out DIR` replaces an earlier demo there, but a user's own warehouse or data folder
    in DIR (no README_SYNTHETIC.md from the generator) is refused, untouched, unless --force."""
    from typer.testing import CliRunner

    from mifund.cli import app
    from mifund.demo.pipeline import DemoOutError, check_out_dir

    mine = tmp_path / "mine"
    (mine / "data").mkdir(parents=True)
    (mine / "data" / "my_county_ledgers.csv").write_text("region_code,year\n", encoding="utf-8")
    with pytest.raises(DemoOutError, match="did not write"):
        check_out_dir(mine)
    real = tmp_path / "real"
    real.mkdir()
    (real / "mifund.duckdb").write_bytes(b"not a demo")
    with pytest.raises(DemoOutError, match="not a demo warehouse"):
        check_out_dir(real)
    r = CliRunner().invoke(app, ["demo", "run", "--out", str(real)])
    assert r.exit_code == 2 and "not a demo warehouse" in r.output
    assert (real / "mifund.duckdb").read_bytes() == b"not a demo"
    # an earlier demo (marked by the generator) and an empty or new folder are fine
    demo = tmp_path / "demo"
    (demo / "data").mkdir(parents=True)
    (demo / "data" / "README_SYNTHETIC.md").write_text("synthetic", encoding="utf-8")
    (demo / "mifund.duckdb").write_bytes(b"old demo")
    check_out_dir(demo)
    check_out_dir(tmp_path / "new")
