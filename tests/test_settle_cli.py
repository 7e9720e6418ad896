"""`mifund settle`, `mifund settle explain`, `mifund policy compare|harmonise` end to end."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from mifund.cli import app
from settle_helpers import PROVIDERS, claim, person, write_policy

runner = CliRunner()


def _files(tmp_path, claims):
    pol = tmp_path / "pol"
    write_policy(pol)
    pd.DataFrame(claims).to_csv(tmp_path / "claims.csv", index=False)
    pd.DataFrame([person("A"), person("C", special="extreme_poverty")]).to_csv(tmp_path / "enrollment.csv", index=False)
    PROVIDERS.to_csv(tmp_path / "providers.csv", index=False)
    return ["--policy", str(pol), "--enrollment", str(tmp_path / "enrollment.csv"),
            "--providers", str(tmp_path / "providers.csv")]


def test_settle_writes_parquet_and_totals(tmp_path):
    opts = _files(tmp_path, [claim("a1", "A", "2024-03-10", 32000, provider="L3", self_pay=1000, copay=1000),
                             claim("c1", "C", "2024-04-01", 42000, provider="L2", self_pay=2000)])
    out, tot = tmp_path / "settled.parquet", tmp_path / "totals.csv"
    r = runner.invoke(app, ["--db", str(tmp_path / "w.duckdb"), "settle", str(tmp_path / "claims.csv"), *opts,
                            "--out", str(out), "--totals", str(tot)])
    assert r.exit_code == 0, r.output
    rows = {x["claim_id"]: x for x in pq.read_table(out).to_pylist()}
    assert rows["a1"]["pooled_fund_paid"] == Decimal("20750.00")  # see test_settle_golden
    assert rows["c1"]["assistance_paid"] == Decimal("3991.40")
    assert len(pd.read_csv(tot)) == 2


def test_settle_bad_row_named_nothing_written(tmp_path):
    opts = _files(tmp_path, [claim("a1", "A", "2024-03-10", 100), claim("a2", "A", "2024-03-11", 100, provider="X9")])
    out = tmp_path / "settled.parquet"
    r = runner.invoke(app, ["--db", str(tmp_path / "w.duckdb"), "settle", str(tmp_path / "claims.csv"), *opts,
                            "--out", str(out)])
    assert r.exit_code == 1
    assert "claims.csv row 3, claim a2: unknown provider X9" in r.output.replace("\n", "")
    assert not out.exists()


def test_explain(tmp_path):
    opts = _files(tmp_path, [claim("a1", "A", "2024-03-10", 32000, provider="L3", self_pay=1000, copay=1000),
                             claim("a2", "A", "2024-05-10", 10000)])
    r = runner.invoke(app, ["--db", str(tmp_path / "w.duckdb"), "settle", "explain", "a2",
                            "--claims", str(tmp_path / "claims.csv"), "--lang", "en", *opts])
    assert r.exit_code == 0, r.output
    text = r.output
    assert "version in force from 2024-01-01" in text and "admission no. 2" in text
    assert "deductible due 50.00" in text and "pooled_fund_paid = 8,955.00" in text
    assert "catastrophic_paid = 177.00" in text and "Earlier claims this year (settled first): a1" in text
    # the same claim in Chinese (the default), the glossary's terms
    r = runner.invoke(app, ["--db", str(tmp_path / "w.duckdb"), "settle", "explain", "a2",
                            "--claims", str(tmp_path / "claims.csv"), *opts])
    assert r.exit_code == 0, r.output
    text = r.output
    assert "本年度第 2 次住院" in text and "应付起付标准 50.00" in text
    assert "统筹基金支付 = 8,955.00" in text and "大病保险支付 = 177.00" in text
    assert "本年度此前的结算（先行结算）：a1" in text and "城乡居民（成年）" in text


def test_policy_compare_csv(tmp_path):
    pol = tmp_path / "pol"
    write_policy(pol)
    r = runner.invoke(app, ["policy", "compare", "--policy", str(pol), "--amounts", "5000", "--date", "2024-03-01",
                            "--format", "csv"])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    # resident_adult, level 1, 5000: (5000 − 100) × 90 % = 4410
    assert any(line.startswith("990100,resident,resident_adult,1,5000.0,100.0,4410.0") for line in lines), lines


def test_policy_compare_plot_across_real_regions(tmp_path):
    """Nanchang against Jiamusi (the shipped real policies) as curves: a self-contained page whose chart
    data are the table's figures."""
    import json
    import re

    from mifund.cli import app as main_app

    out = tmp_path / "cmp.html"
    r = runner.invoke(main_app, ["policy", "compare", "--amounts", "5000,20000,100000", "--date", "2025-06-01",
                                 "--plot", str(out), "--format", "csv"])
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert "echarts" in page and not re.search(r'(src|href)="https?://', page)
    options = [json.loads(m) for m in re.findall(r"setOption\((\{.*?\})\);\n", page)]
    names = {s["name"] for o in options for s in o["series"]}
    assert {"230800 三级 level 3", "360100 三级 level 3"} <= names
    # Jiamusi resident, level 3, 20,000: out of pocket 700 + 19300 × 35 % = 7455
    jms = next(o for o in options if o["title"]["text"].startswith("resident / resident_adult: out of pocket"))
    line = next(s for s in jms["series"] if s["name"] == "230800 三级 level 3")
    assert [20000.0, 7455.0] in line["data"]
    r = runner.invoke(main_app, ["policy", "compare", "--plot", str(tmp_path / "x.png")])
    assert r.exit_code != 0


def test_policy_harmonise(tmp_path):
    from mifund.policy import load_policies
    from mifund.policy.compare import harmonise
    from settle_helpers import GOLDEN_POLICY, source

    write_policy(tmp_path / "a")
    write_policy(tmp_path / "b", GOLDEN_POLICY.replace("level_1: {values: {2024-01-01: 100}}",
                                                       "level_1: {values: {2024-01-01: 300}}"))
    src = source([claim("a1", "A", "2024-03-01", 1000)], [person("A")])
    df = harmonise(src, load_policies(tmp_path / "a"), load_policies(tmp_path / "b"))
    # deductible 100 → 300: the fund pays (1000 − 300) × 90 % = 630 instead of 810
    assert df["fund_change"].tolist() == [-180.0] and df["oop_change"].tolist() == [180.0]


def test_claims_without_a_layer_are_warned_about_and_recorded(tmp_path):
    """The golden policy has no chronic_outpatient layer: two such claims (500 + 700) settle with 0 from
    the pooled fund, and the summary says so per policy and visit type (it used to say nothing, exit 0);
    the stored run's audit entry records them. An inpatient claim, which has its layer, is not named."""
    import json

    from mifund.storage import Warehouse

    opts = _files(tmp_path, [claim("k1", "A", "2024-03-10", 500, visit="chronic_outpatient"),
                             claim("k2", "A", "2024-04-10", 700, visit="chronic_outpatient"),
                             claim("a1", "A", "2024-05-10", 1000)])
    db = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["--db", str(db), "settle", str(tmp_path / "claims.csv"), *opts, "--store"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert ("Warning: 2 chronic_outpatient claims (1,200.00 yuan): policy 990100/resident has no chronic_outpatient "
            "layer in force, pooled fund paid 0") in text
    assert "inpatient claims" not in text
    with Warehouse(db, read_only=True) as w:
        a = w.to_pandas(w.table("audit_log"))
        detail = json.loads(a[a.action == "settle"].detail.iloc[0])
    assert detail["no_basic_layer"] == [{"policy_key": "990100/resident", "visit_group": "chronic_outpatient",
                                         "claims": 2, "total_amount": 1200.0}]
