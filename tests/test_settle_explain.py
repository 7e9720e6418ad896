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
