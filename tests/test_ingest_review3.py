"""Third review of the import: raw citizen IDs under person_id, what a failed import leaves behind, and how
warnings name their file."""

from __future__ import annotations

from typer.testing import CliRunner

from mifund.cli import app
from test_ingest import KEY, LEDGER, REGIONS, base, base_file, fails, imp, with_check, write_csv  # noqa: F401

runner = CliRunner()


def _claim(person: str) -> dict:
    return {"claim_id": "C1", "person_id": person, "provider_id": "H1", "visit_type": "outpatient",
            "admit_date": "2024-03-01", "discharge_date": "2024-03-01", "diagnosis_code": "J06.9",
            "total_amount": "100.00", "self_pay_amount": "0", "copay_first_amount": "0"}


def test_a_citizen_id_under_person_id_is_refused_masked(base, tmp_path):  # noqa: F811
    """A valid ID (shape, birth date, check character) given as person_id would be stored raw: refused, and
    the message shows it masked. An internal number that fails any test of an ID goes in as it is."""
    good_id = with_check("36010219800101001")
    e = fails(base, write_csv(tmp_path / "claims.csv", [_claim(good_id)]))
    (i,) = e.issues
    assert (i.row, i.column) == (2, "person_id") and "never stored" in i.reason and "id_number" in i.reason
    assert i.value == good_id[:4] + "*" * 10 + good_id[-4:] and good_id not in str(e)
    bad_check = good_id[:17] + ("0" if good_id[17] != "0" else "1")  # same digits, wrong check character
    imp(base, write_csv(tmp_path / "claims.csv", [_claim(bad_check)]))


def test_failed_import_leaves_no_new_warehouse_or_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MIFUND_DB", str(tmp_path / "w.duckdb"))
    monkeypatch.delenv("MIFUND_ID_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    r = runner.invoke(app, ["import", "--sample", "nope"])
    assert r.exit_code == 2 and "no such sample; samples: national" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["import", str(tmp_path / "missing.csv")])
    assert r.exit_code == 1 and "no such file or directory" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no w.duckdb, no w.duckdb.idkey
    # an existing warehouse and key stay as they are after a failed import
    assert runner.invoke(app, ["import", str(write_csv(tmp_path / "regions.csv", REGIONS))]).exit_code == 0
    made = sorted(p.name for p in tmp_path.iterdir())
    assert runner.invoke(app, ["import", str(tmp_path / "missing.csv")]).exit_code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == made


def test_warnings_name_the_path_as_errors_do(tmp_path, monkeypatch):
    monkeypatch.setenv("MIFUND_DB", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("MIFUND_ID_KEY", KEY.hex())
    monkeypatch.setenv("COLUMNS", "250")
    (tmp_path / "a").mkdir()
    write_csv(tmp_path / "a" / "regions.csv", REGIONS)
    # the identity broken by 100 yuan: a warning (1100 + 600 − 500 ≠ 1300)
    write_csv(tmp_path / "a" / "fund_ledger.csv", [LEDGER[0], {**LEDGER[1], "balance_end": "1300.00"}])
    r = runner.invoke(app, ["import", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    assert f"warning {tmp_path / 'a' / 'fund_ledger.csv'}, row 3" in r.output
