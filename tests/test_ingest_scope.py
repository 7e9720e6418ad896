"""An import limited to some regions (a county administrator's): refused rows carry a catalogue key, the
check runs in the importer itself (any caller, not only the web), and nothing is written."""

from __future__ import annotations

from mifund.ingest.scope import REASONS
from test_ingest import LEDGER, base, base_file, fails, imp, write_csv  # noqa: F401 - fixtures

COUNTY = frozenset({"110101"})


def test_rows_outside_the_allowed_regions_refuse_the_whole_import(base, tmp_path):  # noqa: F811
    rows = [{**LEDGER[0], "region_code": "110101", "year": "2030"}, {**LEDGER[0], "year": "2031"}]
    e = fails(base, write_csv(tmp_path / "fund_ledger.csv", rows), allowed_regions=COUNTY, scope_label="110101")
    (issue,) = e.issues
    # row 3 of the file (the header is row 1) is the city's, outside the county
    assert (issue.row, issue.column, issue.value) == (3, "region_code", "110100")
    assert issue.key == "import_reason_outside_region" and issue.params == {"scope": "110101"}
    assert issue.reason == REASONS[issue.key].format(scope="110101")


def test_the_catalogue_is_refused_to_a_scoped_import(base, tmp_path):  # noqa: F811
    cat = write_csv(tmp_path / "catalog.csv", [{"item_code": "X1", "name": "x", "item_category": "drug",
                                               "catalog_class": "A"}])
    e = fails(base, cat, allowed_regions=COUNTY, scope_label="110101")
    assert [i.key for i in e.issues] == ["import_reason_catalog"]
    imp(base, cat)  # unscoped (the city administrator, the CLI): imported


def test_rows_inside_import_and_unrecognised_files_carry_keys(base, tmp_path):  # noqa: F811
    rows = [{**LEDGER[0], "region_code": "110101", "year": "2030"}]
    report = imp(base, write_csv(tmp_path / "fund_ledger.csv", rows), allowed_regions=COUNTY, scope_label="110101")
    assert report.files[0].inserted == 1
    odd = tmp_path / "notes.txt"
    odd.write_text("x")
    e = fails(base, odd)
    assert [i.key for i in e.issues] == ["import_reason_file_type"]


def test_cli_import_region_option(env):
    """`mifund import --region CODE`: the same check from the command line (a county branch's import)."""
    from typer.testing import CliRunner

    from mifund.cli import app
    from test_ingest import REGIONS

    runner = CliRunner()
    regions = write_csv(env / "regions.csv", REGIONS)
    assert runner.invoke(app, ["import", str(regions)]).exit_code == 0
    rows = [{**LEDGER[0], "region_code": "110101", "year": "2030"}, {**LEDGER[0], "year": "2031"}]
    ledger = write_csv(env / "fund_ledger.csv", rows)
    r = runner.invoke(app, ["import", str(ledger), "--region", "110101"])
    assert r.exit_code == 1 and "row 3, column region_code: region outside your regions (110101 and below)" in r.output
    r = runner.invoke(app, ["import", str(ledger), "--region", "999999"])
    assert r.exit_code == 2 and "no such region" in r.output
    assert runner.invoke(app, ["import", str(ledger), "--region", "110100"]).exit_code == 0  # the city: both rows


def _enrol(person: str, region: str, year: str = "2024") -> dict:
    return {"person_id": person, "year": year, "region_code": region, "scheme": "resident",
            "category": "resident_adult", "sex": "F", "birth_date": "1990-03-07"}


def test_a_scoped_enrolment_cannot_take_another_regions_person(base, tmp_path):  # noqa: F811
    """A county enrolling a person whom another county enrols that year would make the person, and the year's
    claims (settled under one of the two enrolments), the county's: refused. The next year's enrolment of a
    person who moved is the county's own."""
    imp(base, write_csv(tmp_path / "regions.csv", [{"region_code": "110102", "name": "西城区", "level": "county",
                                                    "parent_code": "110100"}]))
    imp(base, write_csv(tmp_path / "enrollment.csv", [_enrol("P1", "110102")]))
    e = fails(base, write_csv(tmp_path / "e2.csv", [_enrol("P2", "110101"), _enrol("P1", "110101")]),
              table="enrollment", allowed_regions=COUNTY, scope_label="110101")
    assert [(i.row, i.key, i.value) for i in e.issues] == [(3, "import_reason_outside_enrolled",
                                                           "person enrolled in 110102")]
    report = imp(base, write_csv(tmp_path / "e3.csv", [_enrol("P1", "110101", "2025")]), table="enrollment",
                 allowed_regions=COUNTY, scope_label="110101")
    assert report.files[0].inserted == 1 and not report.warnings


def test_duplicate_enrolment_is_a_warning_for_every_import(base, tmp_path):  # noqa: F811
    imp(base, write_csv(tmp_path / "regions.csv", [{"region_code": "110102", "name": "西城区", "level": "county",
                                                    "parent_code": "110100"}]))
    imp(base, write_csv(tmp_path / "enrollment.csv", [_enrol("P1", "110102")]))
    report = imp(base, write_csv(tmp_path / "e2.csv", [_enrol("P1", "110101"), _enrol("P3", "110101")]),
                 table="enrollment")
    (w,) = [w for w in report.warnings if w.severity == "warning"]
    assert w.row == 2 and "duplicate enrolment (重复参保): the person is also enrolled in 110102 (resident) for 2024" \
        in w.reason
    # re-importing the same rows is no duplicate of themselves; within one file, two regions are
    report = imp(base, write_csv(tmp_path / "e2.csv", [_enrol("P3", "110101")]), table="enrollment")
    assert not [w for w in report.warnings if w.severity == "warning"]
    e = fails(base, write_csv(tmp_path / "e4.csv", [_enrol("P4", "110101"), _enrol("P4", "110102")]),
              table="enrollment", strict=True)
    assert [i.row for i in e.issues] == [2, 3]
