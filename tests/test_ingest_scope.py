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
