"""The storage layer: migrations match the data contract; transactions are all or nothing; upserts audit."""

from __future__ import annotations

import pandas as pd
import pytest

from mifund.contract import TABLES
from mifund.storage import Warehouse, migrations


def test_migrations_are_numbered_and_applied_once(tmp_path):
    w = Warehouse(tmp_path / "a.duckdb")
    versions = [v for v, _, _ in migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1
    assert w.schema_version() == versions[-1]
    assert w.migrate() == []  # nothing left to apply
    w.close()
    # re-opening an existing file applies nothing and keeps the data
    w = Warehouse(tmp_path / "a.duckdb")
    assert w.schema_version() == versions[-1]
    w.close()


@pytest.mark.parametrize("name", list(TABLES))
def test_schema_matches_contract(wh, name):
    cols = wh.columns(name)
    spec = TABLES[name]
    assert list(cols) == spec.names
    for c in spec.columns:
        assert cols[c.name].replace(" ", "") == c.sql_type.replace(" ", ""), c.name


def _ledger_row(**kw):
    row = dict(region_code="000000", year=2020, scheme="resident", fund="pooled", insured=10,
               income_total=100.0, expenditure_total=90.0, balance_end=50.0)
    row.update(kw)
    return pd.DataFrame([row])


def test_transaction_rolls_back_everything(wh):
    wh.append("fund_ledger", _ledger_row())
    with pytest.raises(RuntimeError):
        with wh.transaction():
            wh.append("fund_ledger", _ledger_row(year=2021))
            wh.delete_all("regions")
            raise RuntimeError("boom")
    assert wh.count("fund_ledger") == 1


def test_upsert_replaces_by_key_and_audits_changes(wh):
    key = TABLES["fund_ledger"].key
    for insured, expect in ((10, (1, 0, 0)), (11, (0, 1, 0)), (11, (0, 0, 1))):
        with wh.transaction():
            st = wh.create_stage("fund_ledger")
            wh.append(st, _ledger_row(insured=insured))
            s = wh.upsert("fund_ledger", st, key, actor="tester", batch_id="b")
            wh.drop_stage(st)
        assert (s.inserted, s.replaced, s.unchanged) == expect
    assert wh.count("fund_ledger") == 1
    log = wh.to_pandas(wh.table("audit_log"))
    assert len(log) == 1  # only the change from 10 to 11 is a replacement worth auditing
    assert '"insured":10' in log.old_values[0] and '"insured":11' in log.new_values[0]
    assert log.actor[0] == "tester"


def test_a_warehouse_held_by_another_process_is_a_clear_error(tmp_path):
    """A running `mifund serve` holds the file: the CLI said nothing but a DuckDB lock traceback."""
    import subprocess
    import sys

    from mifund.storage import Warehouse

    path = tmp_path / "w.duckdb"
    Warehouse(path).close()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom mifund.storage import Warehouse\n"
                               f"w = Warehouse({str(path)!r})\nprint('open', flush=True)\ntime.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        r = subprocess.run([sys.executable, "-m", "mifund.cli", "--db", str(path), "db", "info"],
                           capture_output=True, text=True)
        text = " ".join(r.stderr.split())
        assert r.returncode == 2, r.stderr
        assert f"in use by another process (process {holder.pid})" in text and "Traceback" not in text
    finally:
        holder.kill()


def test_audit_values_are_valid_json_without_nan(wh):
    """pandas gives NaN for a missing value; JSON has no NaN (json.dumps would write it, and readers refuse it)."""
    import json

    wh.audit("case_move", actor="t", old_values={"amount": float("nan"), "rows": [1.5, float("nan")]},
             new_values={"amount": float("inf")})
    row = wh.to_pandas(wh.table("audit_log").filter(lambda t: t.action == "case_move"))
    assert json.loads(row.old_values.iloc[0]) == {"amount": None, "rows": [1.5, None]}
    assert json.loads(row.new_values.iloc[0]) == {"amount": "inf"}
