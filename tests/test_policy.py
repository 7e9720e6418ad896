"""Policy files: schema, line-numbered errors, versions, city → county inheritance, shipped policies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mifund.policy import PolicyError, load_policies
from settle_helpers import GOLDEN_POLICY, write_policy

ROOT = Path(__file__).resolve().parents[1]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_shipped_policies_load_with_references():
    ps = load_policies(ROOT / "policies")
    assert len(ps) >= 2
    for p in ps:
        assert p.reference_for(), p.key  # every file cites its source
    res = ps.policy_for("360102", "resident")  # a county of Nanchang falls back to the city
    assert res.key == "360100/resident"
    r = res.resolve(dt.date(2024, 5, 1), category="resident_adult", special_group=None, level=3, visit_group="inpatient")
    assert r["ded"] == 60000 and r["br0"] == 6000  # 600 yuan, 60 %


def test_template_is_valid(tmp_path):
    text = (ROOT / "policies" / "TEMPLATE.yaml").read_text(encoding="utf-8")
    write_policy(tmp_path, text, name="x.yaml")
    assert len(load_policies(tmp_path / "x.yaml")) == 1


def test_versions_and_value_in_force(tmp_path):
    ps = load_policies(write_policy(tmp_path))
    p = next(iter(ps))
    assert p.versions == [dt.date(2024, 1, 1), dt.date(2024, 7, 1)]
    kw = dict(category="resident_adult", special_group=None, level=3, visit_group="inpatient")
    assert p.resolve(dt.date(2024, 6, 30), **kw)["ded"] == 100000
    assert p.resolve(dt.date(2024, 7, 1), **kw)["ded"] == 80000


@pytest.mark.parametrize("needle, replacement, message", [
    ("level_1: {values: {2024-01-01: 0.90}}", "level_1: {values: {2024-01-01: 1.20}}", "ratio 1.2 is above 1"),
    ("level_1: {values: {2024-01-01: 100}}", "level_1: {values: {2024-01-01: -100}}", "negative value"),
    ("- {threshold: {values: {2024-01-01: 20000}}, rate: {values: {2024-01-01: 0.05}}}",
     "- {threshold: {values: {2024-01-01: 0}}, rate: {values: {2024-01-01: 0.05}}}", "overlapping bands"),
    ("cross_region_reduction:", "cross_region_reductoin:", "Extra inputs are not permitted"),
    ("level_1: {values: {2024-01-01: 100}}", "level_1: {values: {2024-01-01: 100.005}}", "more than 2 decimals"),
])
def test_errors_name_file_and_line(tmp_path, needle, replacement, message):
    assert needle in GOLDEN_POLICY
    text = GOLDEN_POLICY.replace(needle, replacement, 1)
    path = write_policy(tmp_path, text)
    with pytest.raises(PolicyError) as e:
        load_policies(path)
    msg = str(e.value)
    assert message in msg
    assert f"{path}:{_line_of(text, replacement)}" in msg, msg


def test_ratio_plus_band_above_one_is_an_error(tmp_path):
    text = GOLDEN_POLICY.replace("rate: {values: {2024-01-01: 0.05}}", "rate: {values: {2024-01-01: 0.25}}")
    with pytest.raises(PolicyError, match="above 1"):
        load_policies(write_policy(tmp_path, text))


def test_county_inherits_city_and_overrides(tmp_path):
    write_policy(tmp_path)
    (tmp_path / "990102_resident.yaml").write_text(
        'schema: mifund.policy/1\nregion_code: "990102"\nscheme: resident\nname: county\ninherits: "990100"\n'
        "metadata: {reference: [{title: county document}]}\n"
        "inpatient:\n  deductible:\n    level_1: {values: {2024-01-01: 50}}\n", encoding="utf-8")
    ps = load_policies(tmp_path)
    county = ps.policy_for("990102", "resident")
    assert county.key == "990102/resident"
    kw = dict(category="resident_adult", special_group=None, visit_group="inpatient")
    day = dt.date(2024, 3, 1)
    assert county.resolve(day, level=1, **kw)["ded"] == 5000  # overridden
    assert county.resolve(day, level=2, **kw)["ded"] == 40000  # inherited from the city
    assert county.resolve(day, level=1, **kw)["br0"] == 9000  # inherited ratio
    assert ps.policy_for("990105", "resident").key == "990100/resident"  # no county file: the city's


def test_county_error_points_at_county_file(tmp_path):
    write_policy(tmp_path)
    county = tmp_path / "990102_resident.yaml"
    county.write_text('schema: mifund.policy/1\nregion_code: "990102"\nscheme: resident\nname: county\n'
                      'inherits: "990100"\ninpatient:\n  deductible:\n    level_1: {values: {2024-01-01: 50}, colour: red}\n',
                      encoding="utf-8")
    with pytest.raises(PolicyError) as e:
        load_policies(tmp_path)
    assert f"{county}:8" in str(e.value)


def test_a_missing_policy_path_is_named(tmp_path):
    with pytest.raises(PolicyError, match="no such policy file or directory"):
        load_policies(tmp_path / "nope")


def _county(tmp_path, body: str):
    write_policy(tmp_path)
    (tmp_path / "990102_resident.yaml").write_text(
        'schema: mifund.policy/1\nregion_code: "990102"\nscheme: resident\nname: county\ninherits: "990100"\n'
        "metadata: {reference: [{title: county document}]}\n" + body, encoding="utf-8")
    return load_policies(tmp_path)


def test_county_single_dated_value_over_city_levels_keeps_the_city_before_its_date(tmp_path):
    """A county's one deductible from 2024-07-01 over the city's per-level ones: before that date the city's
    level deductible applies (it used to replace the node, so the county's admissions before the date got
    no pooled payment at all, silently)."""
    from settle_helpers import claim, person, run_engine_and_reference

    ps = _county(tmp_path, "inpatient:\n  deductible: {values: {2024-07-01: 300}}\n")
    # level 2, 5,000 in March: the city's deductible 400, (5000 − 400) × 80 % = 3,680; out of pocket 1,320.
    # level 2, 5,000 in August: the county's 300, (5000 − 300) × 80 % = 3,760. Two persons: no repeat admission.
    got = run_engine_and_reference(ps, [claim("a", "P1", "2024-03-01", 5000, provider="L2"),
                                        claim("b", "P2", "2024-08-01", 5000, provider="L2")],
                                   [person("P1"), person("P2")])
    assert (got["a"]["deductible_applied"], got["a"]["pooled_fund_paid"], got["a"]["out_of_pocket"]) == (400, 3680, 1320)
    assert (got["b"]["deductible_applied"], got["b"]["pooled_fund_paid"]) == (300, 3760)
    # the same for a ratio given once over per-level ones: level 3 keeps the city's 70 % before the date
    ps = _county(tmp_path, "inpatient:\n  ratio:\n    default: {values: {2024-07-01: 0.75}}\n")
    kw = dict(category="resident_adult", special_group=None, visit_group="inpatient", level=3)
    county = ps.policy_for("990102", "resident")
    assert county.resolve(dt.date(2024, 3, 1), **kw)["br0"] == 7000
    assert county.resolve(dt.date(2024, 8, 1), **kw)["br0"] == 7500


def test_county_per_level_values_over_one_city_value(tmp_path):
    """The other way round: the city's outpatient deductible is one value (200); a county gives level 3 its
    own from 2024-07-01. Level 3 keeps 200 before that date, the other levels keep 200 throughout."""
    ps = _county(tmp_path, "outpatient:\n  deductible:\n    level_3: {values: {2024-07-01: 100}}\n")
    county = ps.policy_for("990102", "resident")
    kw = dict(category="resident_adult", special_group=None, visit_group="outpatient")
    assert county.resolve(dt.date(2024, 3, 1), level=3, **kw)["ded"] == 20000
    assert county.resolve(dt.date(2024, 8, 1), level=3, **kw)["ded"] == 10000
    assert county.resolve(dt.date(2024, 8, 1), level=1, **kw)["ded"] == 20000


def test_a_number_written_as_text_is_named_plainly(tmp_path):
    """'10,000' for a threshold: the key reads values.2024-01-01 (not datetime.date(2024, 1, 1)) and the
    message says what to write."""
    needle = "threshold: {values: {2024-01-01: 10000}}"
    text = GOLDEN_POLICY.replace(needle, 'threshold: {values: {2024-01-01: "10,000"}}')
    path = write_policy(tmp_path, text)
    with pytest.raises(PolicyError) as e:
        load_policies(path)
    msg = str(e.value)
    line = _line_of(text, '"10,000"')
    assert f"{path}:{line}: catastrophic.threshold.values.2024-01-01: '10,000' is not a number (write 10000)" in msg
    assert "datetime.date" not in msg
