"""Rule files: a key given twice, problems named with file and line, the `units:` block, two files of one id."""

from __future__ import annotations

from importlib import resources

import pytest
from typer.testing import CliRunner

from mifund.supervision import RuleFileError, load_rules
from mifund.supervision.cli import app
from mifund.supervision.spec import load_rule_file

SRC = (resources.files("mifund.supervision.rules") / "split_admission.yaml").read_text(encoding="utf-8")
LINES = SRC.splitlines()


def _line(prefix: str) -> int:
    """1-based line of the shipped file that starts with `prefix`."""
    return next(i for i, x in enumerate(LINES, 1) if x.startswith(prefix))


def test_a_key_given_twice_is_refused_with_its_line(tmp_path):
    f = tmp_path / "twice.yaml"
    f.write_text(SRC.replace("weight: 0.9", "weight: 0.9\nweight: 0.1"), encoding="utf-8")
    w = _line("weight:")
    with pytest.raises(RuleFileError, match=rf"twice\.yaml:{w + 1}: key 'weight' is given twice \(first on line {w}\)"):
        load_rule_file(f)
    # inside params too
    f.write_text(SRC.replace("  max_gap_days: 15", "  max_gap_days: 15\n  max_gap_days: 30"), encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"key 'max_gap_days' is given twice"):
        load_rule_file(f)


def test_unknown_keys_are_named_with_their_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(SRC.replace("weight: 0.9", "weight: 0.9\ncolour: red"), encoding="utf-8")
    with pytest.raises(RuleFileError, match=rf"bad\.yaml:{_line('weight:') + 1}: colour: unknown key"):
        load_rule_file(f)
    f.write_text(SRC.replace("weight: 0.9", "weight: 1.5"), encoding="utf-8")
    with pytest.raises(RuleFileError, match=rf"bad\.yaml:{_line('weight:')}: weight: "):
        load_rule_file(f)
    f.write_text("id: x\nkind: [unclosed\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"bad\.yaml:\d+: invalid YAML"):
        load_rule_file(f)


def test_units_are_validated(tmp_path):
    f = tmp_path / "units.yaml"
    u = _line("units:")
    assert LINES[u - 1] == "units: {max_gap_days: day}"
    cases = {"units: {max_gap_dayz: day}": "no parameter 'max_gap_dayz' in check readmission",
             "units: {max_gap_days: parsec}": "unknown unit 'parsec'",
             "units: {visit_types: day}": "visit_types is not a number",
             "units: {max_gap_dayz: parsec}": "no parameter 'max_gap_dayz'"}
    for text, msg in cases.items():
        f.write_text(SRC.replace("units: {max_gap_days: day}", text), encoding="utf-8")
        with pytest.raises(RuleFileError, match=rf"units\.yaml:{u}: units\.\w+: {msg}"):
            load_rule_file(f)
    f.write_text(SRC.replace("units: {max_gap_days: day}", "units: {max_gap_days: day, diagnosis_chars: count}"),
                 encoding="utf-8")
    assert load_rule_file(f).units == {"max_gap_days": "day", "diagnosis_chars": "count"}


def test_two_files_with_one_id_are_refused(tmp_path):
    d = tmp_path / "rules"
    d.mkdir()
    a = SRC.replace("id: split_admission", "id: my_split")
    (d / "a.yaml").write_text(a, encoding="utf-8")
    (d / "b.yaml").write_text(a.replace("max_gap_days: 15", "max_gap_days: 30"), encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"b\.yaml: rule id 'my_split' is also the id of .*a\.yaml"):
        load_rules([d])
    # in two paths given, too
    (d / "b.yaml").unlink()
    other = tmp_path / "other.yaml"
    other.write_text(a, encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"other\.yaml: rule id 'my_split' is also the id of .*a\.yaml"):
        load_rules([d, other])
    # the same file named twice is one rule; a given rule still replaces a shipped one
    assert [r.id for r in load_rules([d, d / "a.yaml"], only=["my_split"])] == ["my_split"]
    (d / "s.yaml").write_text(SRC.replace("max_gap_days: 15", "max_gap_days: 30"), encoding="utf-8")
    r = load_rules([d], only=["split_admission"])[0]
    assert r.parsed.max_gap_days == 30 and r.source_file.endswith("s.yaml")
    res = CliRunner().invoke(app, ["rules", "--rules", str(d), "--rules", str(other)])
    assert res.exit_code == 1 and "is also the id of" in res.output
