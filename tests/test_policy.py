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
