"""Policy loading beyond the basics: inheritance over several levels, rates that could pay more than 100 %,
YAML-level errors (syntax, impossible dates, duplicate keys) and the reference every value must cite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mifund.policy import PolicyError, load_policies
from settle_helpers import claim, person, run_engine_and_reference

REF = "metadata: {reference: [{title: test fixture 测试}]}\n"
HEAD = 'schema: mifund.policy/1\nregion_code: "{code}"\nscheme: {scheme}\nname: {name}\n'
KW = dict(category="resident_adult", special_group=None, visit_group="inpatient")
DAY = dt.date(2024, 5, 1)


def _write(d: Path, code: str, body: str, *, scheme: str = "resident", inherits: str | None = None,
           ref: bool = True) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    text = HEAD.format(code=code, scheme=scheme, name=f"p{code}")
    if inherits:
        text += f'inherits: "{inherits}"\n'
    text += (REF if ref else "") + body
    p = d / f"{code}_{scheme}.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[nth - 1]


def _problems(path) -> str:
    with pytest.raises(PolicyError) as e:
        load_policies(path)
    return str(e.value)


# -- 1. inheritance over three levels -------------------------------------------------------------------
def _three_levels(d: Path) -> None:
    _write(d, "360000", "inpatient:\n  deductible: {values: {2024-01-01: 500}}\n"
                        "  ratio:\n    default: {values: {2024-01-01: 0.5}}\n"
                        "pooled_annual_cap: {values: {2024-01-01: 70000}}\n")
    _write(d, "360100", "inpatient:\n  deductible: {values: {2024-01-01: 400}}\n", inherits="360000")
    _write(d, "360121", "inpatient:\n  ratio:\n    default: {values: {2024-01-01: 0.6}}\n", inherits="360100")


def test_a_grandchild_keeps_the_grandparents_values(tmp_path):
    _three_levels(tmp_path)
    ps = load_policies(tmp_path)
    county = ps.policy_for("360121", "resident")
    r = county.resolve(DAY, level=1, **KW)
    assert r["pcap"] == 7_000_000  # the province's cap of 70,000 yuan, two levels up
    assert r["ded"] == 40_000  # the city's deductible
    assert r["br0"] == 6_000  # the county's own ratio
    assert county.files == [str(tmp_path / f"{c}_resident.yaml") for c in ("360000", "360100", "360121")]


def test_a_grandchild_claim_stops_at_the_provinces_cap(tmp_path):
    _three_levels(tmp_path)
    ps = load_policies(tmp_path)
    # a 200,000 admission in the county: (200,000 − 400) × 60 % = 119,760, cut to the province's cap 70,000
    got = run_engine_and_reference(ps, [claim("c1", "P", "2024-03-01", 200_000)],
                                   [person("P", region="360121")])
    assert got["c1"]["pooled_fund_paid"] == 70_000
    assert got["c1"]["deductible_applied"] == 400


def test_an_error_in_an_inherited_value_names_the_file_it_is_written_in(tmp_path):
    _three_levels(tmp_path)
    # the county's band adds 0.5 to the province's 0.5 ratio on amounts above 1,000: fine (exactly 1)
    # but 0.6 is not; the error names the county file's line of that rate
    county = _write(tmp_path, "360121",
                    "inpatient:\n  bands:\n    brackets:\n"
                    "      - {threshold: {values: {2024-01-01: 0}}, rate: {values: {2024-01-01: 0}}}\n"
                    "      - {threshold: {values: {2024-01-01: 1000}}, rate: {values: {2024-01-01: 0.6}}}\n",
                    inherits="360100")
    msg = _problems(tmp_path)
    assert f"{county}:{_line_of(county, 'rate: {values: {2024-01-01: 0.6}}')}" in msg, msg


def test_an_inheritance_cycle_is_an_error(tmp_path):
    a = _write(tmp_path, "360100", "inpatient:\n  deductible: {values: {2024-01-01: 400}}\n"
                                   "  ratio:\n    default: {values: {2024-01-01: 0.5}}\n", inherits="360121")
    _write(tmp_path, "360121", "inpatient:\n  deductible: {values: {2024-01-01: 300}}\n", inherits="360100")
    msg = _problems(tmp_path)
    assert "inheritance cycle" in msg and str(a) in msg, msg


# -- 2. no combination of rates may pay more than 100 % ---------------------------------------------------
BANDED = ("inpatient:\n  deductible: {values: {2024-01-01: 0}}\n  ratio:\n    default: {values: {2024-01-01: 0.8}}\n"
          "  bands:\n    brackets:\n"
          "      - {threshold: {values: {2024-01-01: 0}}, rate: {values: {2024-01-01: 0}}}\n"
          "      - {threshold: {values: {2024-01-01: 10000}}, rate: {values: {2024-01-01: 0.2}}}\n")


def test_a_cross_region_ratio_plus_a_band_above_one_is_an_error(tmp_path):
    # 0.9 flat cross-region + the band's 0.2 above 10,000 = 1.1: a 50,000 cross-region claim would get
    # 10,000 × 0.9 + 40,000 × 1.1 = 53,000 from the pooled fund, 3,000 more than the bill
    p = _write(tmp_path, "360100", BANDED + "  cross_region_ratio: {values: {2024-01-01: 0.9}}\n")
    msg = _problems(p)
    assert f"{p}:{_line_of(p, 'cross_region_ratio')}: inpatient.cross_region_ratio" in msg, msg
    assert "above 1" in msg and f"{p}:{_line_of(p, 'bands:')}" in msg, msg


def test_rates_that_add_up_to_exactly_one_are_fine(tmp_path):
    p = _write(tmp_path, "360100", BANDED + "  cross_region_ratio: {values: {2024-01-01: 0.8}}\n")
    pol = next(iter(load_policies(p)))
    r = pol.resolve(DAY, level=1, **KW)
    assert (r["br1"], r["xred"]) == (10_000, 0)


def test_a_too_large_increase_is_reported_at_its_own_line(tmp_path):
    p = _write(tmp_path, "360100", BANDED + (
        "catastrophic:\n  threshold: {values: {2024-01-01: 10000}}\n  scale:\n    brackets:\n"
        "      - {threshold: {values: {2024-01-01: 0}}, rate: {values: {2024-01-01: 0.6}}}\n"
        "      - {threshold: {values: {2024-01-01: 20000}}, rate: {values: {2024-01-01: 0.7}}}\n"
        "  special_groups:\n    low_income:\n      rate_increase: {values: {2024-01-01: 0.55}}\n"))
    msg = _problems(p)
    assert f"{p}:{_line_of(p, 'rate_increase')}: catastrophic.special_groups.low_income.rate_increase" in msg, msg
    assert f"{p}:{_line_of(p, 'rate: {values: {2024-01-01: 0.6}}')}" in msg  # 0.6 + 0.55, the first too high


@pytest.mark.parametrize("scheme, body, key", [
    ("resident", "  ratio:\n    default: {values: {2024-01-01: 0.8}}\n    retired: {values: {2024-01-01: 1.5}}\n",
     "retired"),
    ("employee", "  ratio:\n    default: {values: {2024-01-01: 0.8}}\n"
                 "  annual_cap:\n    resident_adult: {values: {2024-01-01: 3000}}\n", "resident_adult"),
])
def test_a_category_of_the_other_scheme_is_an_error(tmp_path, scheme, body, key):
    p = _write(tmp_path, "360100", "inpatient:\n  deductible: {values: {2024-01-01: 0}}\n" + body, scheme=scheme)
    msg = _problems(p)
    assert f"{p}:{_line_of(p, key + ':')}:" in msg and f"not a category of the {scheme} scheme" in msg, msg


# -- 3. YAML-level errors name file and line; every value cites a source and has the right unit ------------
SIMPLE = "inpatient:\n  deductible: {values: {2024-01-01: 300}}\n  ratio:\n    default: {values: {2024-01-01: 0.8}}\n"


@pytest.mark.parametrize("body, needle, message", [
    ("name2: [unclosed\ninpatient: {}\n", "inpatient: {}", "invalid YAML"),  # the error shows on the next line
    (SIMPLE.replace("2024-01-01: 300", "2022-13-01: 300"), "2022-13-01", "'2022-13-01' is not a valid date"),
    (SIMPLE + "  deductible: {values: {2024-01-01: 999}}\n", "999", "key 'deductible' is given twice"),
    (SIMPLE + "scheme: employee\n", "scheme: employee", "key 'scheme' is given twice"),
])
def test_yaml_errors_name_file_and_line(tmp_path, body, needle, message):
    p = _write(tmp_path, "360100", body)
    msg = _problems(p)
    assert message in msg and f"{p}:{_line_of(p, needle)}:" in msg, msg
    assert "Traceback" not in msg and "<unicode string>" not in msg


def test_every_unreadable_file_is_named(tmp_path):
    a = _write(tmp_path, "360100", SIMPLE.replace("2024-01-01: 300", "2024-02-30: 300"))
    b = _write(tmp_path, "360200", "inpatient: [\n")
    msg = _problems(tmp_path)
    assert f"{a}:" in msg and f"{b}:" in msg, msg


def test_a_yaml_merge_key_is_not_a_duplicate(tmp_path):
    p = _write(tmp_path, "360100", "inpatient:\n  deductible: {values: {2024-01-01: 300}}\n  ratio:\n"
                                   "    default: &r {values: {2024-01-01: 0.8}, metadata: {unit: ratio}}\n"
                                   "    student:\n      <<: *r\n      values: {2024-01-01: 0.9}\n")
    pol = next(iter(load_policies(p)))
    assert pol.resolve(DAY, level=1, visit_group="inpatient", category="student", special_group=None)["br0"] == 9000


def test_a_value_without_any_reference_is_an_error(tmp_path):
    p = _write(tmp_path, "360100", SIMPLE + "pooled_annual_cap: {values: {2024-01-01: 70000}}\n", ref=False)
    msg = _problems(p)
    for needle, key in (("deductible:", "inpatient.deductible"), ("default:", "inpatient.ratio.default"),
                        ("pooled_annual_cap", "pooled_annual_cap")):
        assert f"{p}:{_line_of(p, needle)}: {key}: no reference" in msg, msg


def test_references_are_pinned_where_the_value_is_written(tmp_path):
    """A county's own value cites the county's document; what it inherits keeps the city's; a value's own
    reference beats the file's; the unit follows from the key where the file leaves it out."""
    _write(tmp_path, "360100", "inpatient:\n  deductible: {values: {2024-01-01: 300}}\n  ratio:\n"
                               "    default: {values: {2024-01-01: 0.8}, metadata: {reference: [{title: R}]}}\n")
    # the county has no reference of its own at the top, only on the value it sets
    _write(tmp_path, "360121", "inpatient:\n  deductible:\n    values: {2024-01-01: 200}\n"
                               "    metadata: {reference: [{title: county doc}]}\n", inherits="360100", ref=False)
    county = load_policies(tmp_path).policy_for("360121", "resident")
    ip = county.model.inpatient
    assert [r.title for r in ip.deductible.metadata.reference] == ["county doc"]
    assert ip.deductible.metadata.unit == "yuan"
    assert [r.title for r in ip.ratio["default"].metadata.reference] == ["R"]
    assert ip.ratio["default"].metadata.unit == "ratio"


def test_a_county_value_without_a_county_reference_is_an_error(tmp_path):
    _write(tmp_path, "360100", SIMPLE)
    c = _write(tmp_path, "360121", "inpatient:\n  deductible: {values: {2024-01-01: 200}}\n",
               inherits="360100", ref=False)
    msg = _problems(tmp_path)
    assert f"{c}:{_line_of(c, 'deductible')}: inpatient.deductible: no reference" in msg, msg


@pytest.mark.parametrize("old, new, key", [
    ("{values: {2024-01-01: 300}}", "{values: {2024-01-01: 300}, metadata: {unit: ratio}}", "deductible"),
    ("{values: {2024-01-01: 0.8}}", "{values: {2024-01-01: 0.8}, metadata: {unit: yuan}}", "default"),
])
def test_a_unit_that_contradicts_the_key_is_an_error(tmp_path, old, new, key):
    p = _write(tmp_path, "360100", SIMPLE.replace(old, new))
    msg = _problems(p)
    assert f"{p}:{_line_of(p, key + ':')}:" in msg and "unit" in msg, msg
