"""`settle explain`: each step cites its own parameters' documents; a cap lowered mid-year is said to be
kept; the catastrophic layer band by band. Figures worked by hand beside each assertion."""

from __future__ import annotations

import pytest

from mifund.policy import load_policies
from mifund.settlement import settlement_inputs
from mifund.settlement.explain import explain_claim
from settle_helpers import GOLDEN_POLICY, claim, person, source, write_policy

# the golden policy with documents of its own for the outpatient rules and the catastrophic layer, and a
# county (990102) that overrides the level-1 inpatient deductible under its own document
CITED = GOLDEN_POLICY.replace(
    "outpatient:\n  deductible:",
    "outpatient:\n  metadata: {reference: [{title: assumed outpatient figures}]}\n  deductible:").replace(
    "catastrophic:\n  threshold:",
    "catastrophic:\n  metadata: {reference: [{title: catastrophic document}]}\n  threshold:")
COUNTY = ('schema: mifund.policy/1\nregion_code: "990102"\nscheme: resident\nname: county\ninherits: "990100"\n'
          "metadata: {reference: [{title: county document}]}\n"
          "inpatient:\n  deductible:\n    level_1: {values: {2024-01-01: 50}}\n")


def _explain(tmp_path, claims, persons, cid, policy=CITED, county=None, lang="en"):
    write_policy(tmp_path / "pol", policy)
    if county:
        write_policy(tmp_path / "pol", county, name="990102_resident.yaml")
    policies = load_policies(tmp_path / "pol")
    con, prepared, _ = settlement_inputs(source(claims, persons), policies)
    return explain_claim(con, prepared, policies, cid, lang=lang)


def _line(lines, start):
    return next(x for x in lines if x.strip().startswith(start))


def test_each_step_cites_its_own_document(tmp_path):
    lines = _explain(tmp_path, [claim("a1", "A", "2024-03-10", 32000, provider="L3", self_pay=1000, copay=1000),
                                claim("a2", "A", "2024-05-10", 10000),
                                claim("o1", "A", "2024-06-01", 800, visit="outpatient")], [person("A")], "a2")
    assert _line(lines, "admission no. 2").endswith("[source: test fixture]")
    assert _line(lines, "ratios and bands").endswith("[source: test fixture]")
    assert _line(lines, "pooled fund annual cap").endswith("[source: test fixture]")
    # the catastrophic layer's values cite the catastrophic document, not the file's first reference
    assert _line(lines, "cumulative policy-scope burden").endswith("[source: catastrophic document]")
    assert _line(lines, "catastrophic annual cap").endswith("[source: catastrophic document]")
    # an outpatient claim: its deductible and cap are the (assumed) outpatient figures'
    out = _explain(tmp_path, [claim("o1", "A", "2024-06-01", 800, visit="outpatient")], [person("A")], "o1")
    assert _line(out, "annual deductible 200.00").endswith("[source: assumed outpatient figures]")
    assert _line(out, "outpatient annual cap 1,000.00").endswith("[source: assumed outpatient figures]")
    # and in Chinese
    zh = _explain(tmp_path, [claim("o1", "A", "2024-06-01", 800, visit="outpatient")], [person("A")], "o1", lang="zh")
    assert _line(zh, "年度起付标准 200.00").endswith("［依据：assumed outpatient figures］")


def test_county_value_cites_the_county_document(tmp_path):
    lines = _explain(tmp_path, [claim("a1", "A", "2024-03-10", 1000)], [person("A")], "a1", county=COUNTY)
    # the county's own deductible (50) its document; the ratio it inherits, the city's
    assert _line(lines, "admission no. 1").startswith("   admission no. 1 this year; deductible due 50.00")
    assert _line(lines, "admission no. 1").endswith("[source: county document]")
    assert _line(lines, "ratios and bands").endswith("[source: test fixture]")


def test_cap_lowered_mid_year_is_said_to_be_kept(tmp_path):
    lowered = CITED.replace("pooled_annual_cap: {values: {2024-01-01: 50000, 2024-07-01: 60000}}",
                            "pooled_annual_cap: {values: {2024-01-01: 60000, 2024-07-01: 50000}}")
    assert lowered != CITED
    lines = _explain(tmp_path, [claim("b1", "B", "2024-02-01", 50000), claim("b2", "B", "2024-08-01", 20000)],
                     [person("B")], "b2", policy=lowered)
    # b1 (cap 60,000 in force): deductible 100; 20000 × 90 % + 29900 × 95 % = 46405 paid.
    # b2 (cap 50,000 in force from July): the 60,000 still applies: headroom 60000 − 46405 = 13595
    assert ("   cap in force 50,000.00; the largest cap in force earlier this year, 60,000.00, applies: a cap "
            "lowered mid-year is not clawed back") in lines
    assert _line(lines, "pooled fund annual cap").startswith(
        "   pooled fund annual cap 60,000.00: headroom before 13,595.00, after 0.00")
    # a cap that was never lowered gets no such note (the golden policy raises it in July)
    raised = _explain(tmp_path, [claim("b1", "B", "2024-02-01", 50000), claim("b2", "B", "2024-08-01", 20000)],
                      [person("B")], "b2")
    assert not any("clawed back" in x for x in raised)


def test_catastrophic_band_by_band(tmp_path):
    lines = _explain(tmp_path, [claim("a1", "A", "2024-03-10", 32000, provider="L3", self_pay=1000, copay=1000),
                                claim("a2", "A", "2024-05-10", 10000)], [person("A")], "a2")
    i = lines.index("2. Catastrophic illness insurance")
    # see test_settle_golden: the year's base 9,250 → 10,295 over the threshold 10,000; 295 × 60 % = 177
    assert lines[i + 1:i + 6] == [
        "   cumulative policy-scope burden this year 9,250.00 → 10,295.00; threshold 10,000.00 "
        "[source: catastrophic document]",
        "   above the threshold: 0.00 → 295.00",
        "   band 0.00–20,000.00: 0.00 → 295.00 × 60 % = 0.0000 → 177.0000",
        "   rates [source: catastrophic document]",
        "   benefit on the cumulative amount (rounded half up): 0.00 → 177.00; this claim 177.00 − 0.00 = 177.00",
    ]
    assert "   catastrophic_paid = 177.00" in lines


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_special_group_crosses_two_catastrophic_bands(tmp_path, lang):
    """Extreme poverty: threshold 5,000, rates +10 points (70 %, then 80 % above 20,000 over the threshold)."""
    lines = _explain(tmp_path, [claim("c1", "C", "2024-04-01", 100000)], [person("C", special="extreme_poverty")],
                     "c1", lang=lang)
    # pooled: deductible 100; 20000 × 80 % + 79900 × 85 % = 16000 + 67915 = 83915, capped at 50,000.
    # base 100000 − 50000 = 50000; over the threshold 45000: 20000 × 70 % + 25000 × 80 % = 14000 + 20000 = 34000
    bands = [x for x in lines if x.strip().startswith(("band", "分段")) and "→" in x]  # the catastrophic bands
    if lang == "en":
        assert bands == ["   band 0.00–20,000.00: 0.00 → 20,000.00 × 70 % = 0.0000 → 14,000.0000",
                         "   band 20,000.00–∞: 0.00 → 25,000.00 × 80 % = 0.0000 → 20,000.0000"]
        assert "   catastrophic_paid = 34,000.00" in lines
    else:
        assert bands == ["   分段 0.00–20,000.00：0.00 → 20,000.00 × 70% = 0.0000 → 14,000.0000",
                         "   分段 20,000.00–∞：0.00 → 25,000.00 × 80% = 0.0000 → 20,000.0000"]
        assert "   大病保险支付 = 34,000.00" in lines


def test_an_assumed_value_shows_its_note_not_a_document(tmp_path):
    """The shipped Nanchang employee file marks the account share (0.5) an assumption: the account line
    gives that note, not 洪医保发〔2025〕27号, whose figures the basic layer's lines still cite."""
    from pathlib import Path

    policies = load_policies(Path(__file__).resolve().parents[1] / "policies" / "360100_employee.yaml")
    src = source([claim("e1", "E", "2025-03-05", 10000, provider="L2")],
                 [person("E", 2025, region="360100", scheme="employee", category="in_service")])
    con, prepared, _ = settlement_inputs(src, policies)
    for lang, start, label in (("en", "50 % of", "assumption, in no document: Modelling assumption"),
                               ("zh", "1,450.00 的 50%", "模型假设（非文件规定）：Modelling assumption")):
        lines = explain_claim(con, prepared, policies, "e1", lang=lang)
        # deductible 500; (10000 − 500) × 90 % = 8,550; burden 1,450 of which the account pays half
        acct = _line(lines, start)
        assert "1,450.00" in acct and label in acct and "27号" not in acct, acct
        assert "27号" in _line(lines, "admission no. 1" if lang == "en" else "本年度第 1 次住院")


def test_explain_a_warehouse_claim_under_its_stored_run_and_check_it(tmp_path, monkeypatch):
    """`settle explain` of a warehouse claim, no --policy: the policies of the run that stored it (not
    ./policies); only the claim's person-year is settled (another person's bad claim does not stop it); the
    figures are checked against the stored row, and a policy edited since the run is a warning, exit 1."""
    import shutil
    from pathlib import Path

    import pandas as pd
    from typer.testing import CliRunner

    from mifund.cli import app
    from mifund.storage import Warehouse
    from test_settle_store import _tiny_warehouse

    db, pol = tmp_path / "w.duckdb", tmp_path / "pol"
    shutil.copytree(Path(__file__).resolve().parents[1] / "policies", pol)
    _tiny_warehouse(db)
    runner = CliRunner()
    assert runner.invoke(app, ["--db", str(db), "settle", "warehouse", "--policy", str(pol)]).exit_code == 0
    with Warehouse(db) as w:  # someone else's claim at an unknown provider, added after the run
        bad = pd.DataFrame([claim("k9", "R1", "2025-06-10", 100, provider="P9")])
        bad["cross_region"] = False
        w.append("claims", bad)
    monkeypatch.chdir(tmp_path)  # no ./policies here
    r = runner.invoke(app, ["--db", str(db), "settle", "explain", "k1", "--lang", "en"])
    assert r.exit_code == 0, r.output
    # in-service, level 3, 20,000: deductible 800, (20000 − 800) × 85 % = 16,320
    assert "pooled_fund_paid = 16,320.00" in r.output and "the same figures" in r.output
    assert "Policies of settlement run" in r.output and str(pol) in r.output.replace("\n", "")
    f = pol / "360100_employee.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("level_3: {values: {2025-01-01: 0.85}}",
                                                       "level_3: {values: {2025-01-01: 0.90}}"), encoding="utf-8")
    r = runner.invoke(app, ["--db", str(db), "settle", "explain", "k1", "--lang", "en"])
    text = " ".join(r.output.split())
    # 19,200 × 90 % = 17,280 re-settled against the stored 16,320
    assert r.exit_code == 1 and "WARNING: the stored settlement" in text, r.output
    assert "pooled_fund_paid stored 16,320.00, re-settled 17,280.00" in text


def test_why_assistance_does_not_apply_and_no_cap_said_once(tmp_path):
    """Three reasons, three messages: no special group; a group the policy's assistance leaves out
    (the golden policy covers extreme_poverty only); no assistance layer at all (an extreme-poverty person
    used to read "not a special group covered by the policy"). A cap switched off reads "no annual cap"."""
    cl = [claim("a1", "A", "2024-03-10", 20000)]
    lines = _explain(tmp_path, cl, [person("A")], "a1")
    assert "   not applicable (not in a special group)" in lines
    lines = _explain(tmp_path, cl, [person("A", special="low_income")], "a1")
    assert any("does not cover group low_income" in x for x in lines)
    no_asst = CITED.split("assistance:\n")[0]
    lines = _explain(tmp_path, cl, [person("A", special="extreme_poverty")], "a1", policy=no_asst)
    assert "   not applicable (the policy has no medical assistance layer in force)" in lines
    # extreme poverty: the catastrophic cap is null (switched off) in the golden policy
    assert _line(lines, "catastrophic: no annual cap").endswith("[source: catastrophic document]")
    assert not any("cap no cap" in x or "headroom no cap" in x for x in lines)
