"""Warning-rule files: strict schema, errors that name the file and the key, merging over the defaults."""

from __future__ import annotations

import textwrap

import pytest

from mifund.ledger.warning_rules import WarningRulesError, load_rules, region_prefix


def write(tmp_path, text: str, name: str = "my_rules.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def error_of(tmp_path, text: str) -> str:
    p = write(tmp_path, text)
    with pytest.raises(WarningRulesError) as e:
        load_rules(p)
    msg = str(e.value)
    assert str(p) in msg  # the file is named
    return msg


def test_unknown_key_is_rejected_with_its_path(tmp_path):
    msg = error_of(tmp_path, """
        rules:
          growth_gap:
            min_gapp: {value: 0, source: "typo"}
    """)
    assert "rules.growth_gap.min_gapp: unknown key" in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("colour: red", "colour: unknown key"),
        ("rules: {growth_gapp: {enabled: false}}", "rules.growth_gapp: unknown key"),
        # min_gap belongs to growth_gap only
        ("rules: {payable_months_low: {min_gap: {value: 0, source: xyz}}}", "rules.payable_months_low.min_gap: unknown key"),
        # monthly belongs to the payable_months rules only
        ("rules: {growth_gap: {monthly: all}}", "rules.growth_gap.monthly: unknown key"),
        ("rules: {payable_months_low: {levels: {red: {value: 3, source: abc, colour: x}}}}",
         "rules.payable_months_low.levels.red.colour: unknown key"),
        ("rules: {payable_months_low: {levels: {green: {value: 3, source: abc}}}}",
         "rules.payable_months_low.levels.green"),
        ("rules: {payable_months_low: {levels: {red: {value: 3}}}}",
         "rules.payable_months_low.levels.red.source: required key missing"),
        ("rules: {payable_months_low: {overrides: [{scheme: resident, enabled: false, colour: x}]}}",
         "rules.payable_months_low.overrides[0].colour: unknown key"),
        ("rules: {payable_months_low: {overrides: [{region_code: '3601', enabled: false}]}}",
         "6-digit"),
        ("rules: {payable_months_low: {overrides: [{include_descendants: true, scheme: resident, enabled: false}]}}",
         "include_descendants needs region_code"),
        ("rules: {payable_months_low: {overrides: [{scheme: resident}]}}", "must set something"),
        ("rules: {payable_months_low: {overrides: [{enabled: false}]}}", "at least one of region_code"),
        ("rules: {payable_months_low: {applies_to: {employee: [pension]}}}",
         "rules.payable_months_low.applies_to.employee[0]"),
        # a more severe level must be more extreme
        ("rules: {payable_months_low: {levels: {red: {value: 6, source: abc}, orange: {value: 3, source: abc}}}}",
         "level red (6) must be more extreme than orange (3)"),
        ("rules: {consecutive_deficits: {levels: {red: {value: 2.5, source: abc}}}}", "must be whole"),
        ("rules: {insured_falling: {levels: {yellow: {value: -0.01, source: abc}}}}", "outside [0, 1]"),
        ("version: 2", "version"),
        ("rules: [1, 2]", "rules"),
        ("- a\n- b\n", "the top level must be a mapping"),
        ("rules: {growth_gap: {enabled: true}\n", "not valid YAML"),
        ("rules:\n  growth_gap: {enabled: true}\n  growth_gap: {enabled: false}\n", "duplicate key 'growth_gap'"),
    ],
)
def test_bad_files_are_rejected_naming_the_key(tmp_path, text, expected):
    assert expected in error_of(tmp_path, text)


def test_error_indexes_the_users_own_overrides(tmp_path):
    # the defaults' overrides come first in the merged list; the message uses the user's index
    msg = error_of(tmp_path, """
        rules:
          payable_months_low:
            overrides:
              - {scheme: resident, enabled: false}
              - {scheme: employee, enabled: false, colour: x}
    """)
    assert "rules.payable_months_low.overrides[1].colour: unknown key" in msg


def test_missing_file_is_named(tmp_path):
    with pytest.raises(WarningRulesError, match="nope.yaml: cannot read"):
        load_rules(tmp_path / "nope.yaml")


def test_empty_user_file_means_defaults(tmp_path):
    assert load_rules(write(tmp_path, "# nothing\n")) == load_rules()


def test_a_full_copy_of_the_defaults_loads_unchanged(tmp_path):
    from mifund.ledger.warning_rules import default_rules_text

    assert load_rules(write(tmp_path, default_rules_text())) == load_rules()


def test_overrides_are_appended_and_settings_replaced(tmp_path):
    p = write(tmp_path, """
        rules:
          payable_months_low:
            applies_to: {resident: [pooled]}
            overrides:
              - {region_code: "360100", enabled: false}
    """)
    r = load_rules(p).rules.payable_months_low
    assert r.applies_to == {"resident": ["pooled"]}
    assert [o.region_code for o in r.overrides] == [["360100"]]
    assert r.levels["red"].value == 3  # not named: kept


def test_region_prefix():
    assert region_prefix("000000") == ""
    assert region_prefix("360000") == "36"
    assert region_prefix("360100") == "3601"
    assert region_prefix("360111") == "360111"
