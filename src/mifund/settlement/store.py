"""Store settlement results in the warehouse (tables of migration 0002).

API::

    from mifund.settlement.store import store_settlement, latest_settlement

    run_id = store_settlement(wh, settle(wh, policies, detail=True), actor="alice", policy_source="policies/")
    current = latest_settlement(wh)          # Ibis table: the latest result of every claim

One run is one transaction: the claims are upserted into `settlement` by claim_id (changed rows go to
the audit log with old and new values), the person-year totals of every person-year the run touched are
recomputed from `settlement` and upserted into `settlement_person_year`, a row goes into `settlement_runs`,
and an audit entry `settle` records the run. Any failure leaves the warehouse as it was. A row the run
leaves unchanged keeps its earlier run_id (so it is not audited as replaced).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from mifund.settlement.engine import OUTPUT_COLUMNS

AMOUNTS = OUTPUT_COLUMNS[1:]
DETAIL_COLUMNS = ["person_id", "year", "policy_key", "policy_version", "total_amount"]
VALUE_COLUMNS = [*AMOUNTS, *DETAIL_COLUMNS]
PY_KEY = ["person_id", "year"]
SUMMED = ["total_amount", *AMOUNTS]


def _with_run_ids(wh, name: str, new: ir.Table, key: list[str], values: list[str], run_id: str) -> ir.Table:
    """`new` plus run_id: the stored row's run_id where that row is the same in every value (so that an
    unchanged row is not audited as replaced), else `run_id`."""
    s = wh.table(name).rename({f"{c}_old": c for c in [*key, *values, "run_id"]})
    j = new.left_join(s, [new[k] == s[f"{k}_old"] for k in key])
    same = ibis.and_(*[j[c].identical_to(j[f"{c}_old"]) for c in values])
    keep = j[f"{key[0]}_old"].notnull() & same
    return j.select(*key, *values, run_id=ibis.ifelse(keep, j.run_id_old, ibis.literal(run_id, type="string")))


def _touched_person_years(wh, new: ir.Table) -> ir.Table:
    """Person-years of the new rows and, for claims already stored, of their stored rows (a claim may
    have moved to another person or year)."""
    s = wh.table("settlement")
    before = s.semi_join(new, s.claim_id == new.claim_id).select(*PY_KEY)
    return new.select(*PY_KEY).union(before, distinct=True)


def _person_year_expr(wh, touched: ir.Table) -> ir.Table:
    """Totals, recomputed from `settlement`, of the `touched` person-years."""
    s = wh.table("settlement")
    rows = s.semi_join(touched, PY_KEY)
    return rows.group_by(PY_KEY).aggregate(claims=rows.count(), **{c: rows[c].sum() for c in SUMMED})


def _policy_versions(settled: pa.Table) -> list[str]:
    keys = settled.column("policy_key").to_pylist()
    versions = settled.column("policy_version").to_pylist()
    return sorted({f"{k}@{v}" for k, v in zip(keys, versions, strict=True)})


def _upsert_arrow(wh, name: str, data: pa.Table, key: list[str], *, actor: str, run_id: str):
    stage = wh.create_stage(name)
    try:
        wh.append(stage, data)
        return wh.upsert(name, stage, key, actor=actor, batch_id=run_id, detail=f"settlement run {run_id}")
    finally:
        wh.drop_stage(stage)


def store_settlement(wh, settled: pa.Table, *, actor: str, policy_source: str,
                     no_basic_layer: list[dict] | None = None) -> str:
    """Store a `settle(..., detail=True)` result as a new run; returns its run id. All or nothing.
    `no_basic_layer` (``settle_with_gaps``'s rows: claims a policy has no layer for) goes into the run's
    audit entry, so the run says which claims the pooled fund paid nothing on for want of a layer."""
    missing = [c for c in ["claim_id", *VALUE_COLUMNS] if c not in settled.column_names]
    if missing:
        raise ValueError(f"settlement result lacks columns {missing} (settle with detail=True)")
    run_id = f"S{dt.datetime.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    started = dt.datetime.now()
    new = ibis.memtable(settled.select(["claim_id", *VALUE_COLUMNS]))
    totals = wh.to_arrow(new.aggregate(claims=new.count(), **{c: new[c].sum() for c in SUMMED})).to_pylist()[0]
    versions = _policy_versions(settled)
    with wh.transaction():
        touched = wh.to_arrow(_touched_person_years(wh, new))
        rows = wh.to_arrow(_with_run_ids(wh, "settlement", new, ["claim_id"], VALUE_COLUMNS, run_id))
        claims_stats = _upsert_arrow(wh, "settlement", rows, ["claim_id"], actor=actor, run_id=run_id)
        py = _person_year_expr(wh, ibis.memtable(touched))
        person_years = wh.to_arrow(_with_run_ids(wh, "settlement_person_year", py, PY_KEY, ["claims", *SUMMED],
                                                 run_id))
        py_stats = _upsert_arrow(wh, "settlement_person_year", person_years, PY_KEY, actor=actor, run_id=run_id)
        wh.append("settlement_runs", pa.Table.from_pylist([{
            "run_id": run_id, "started": started, "actor": actor, "policy_source": policy_source,
            "policy_versions": json.dumps(versions), **totals,
        }]))
        detail = {
            "run_id": run_id, "claims": settled.num_rows, "person_years": person_years.num_rows,
            "policy_source": policy_source, "policy_versions": versions,
            "settlement": vars(claims_stats), "settlement_person_year": vars(py_stats),
            "no_basic_layer": no_basic_layer or [],
        }
        wh.audit("settle", actor=actor, table_name="settlement_runs", record_key={"run_id": run_id},
                 batch_id=run_id, detail=json.dumps(detail, ensure_ascii=False))
    return run_id


def latest_settlement(wh, run_id: str | None = None) -> ir.Table:
    """The stored result of every claim (each as last settled), or only the claims `run_id` changed or
    added (a claim a later run settled to the same values keeps the earlier run id)."""
    s = wh.table("settlement")
    return s if run_id is None else s.filter(s.run_id == run_id)


def settlement_runs(wh) -> ir.Table:
    """Stored runs, newest first."""
    r = wh.table("settlement_runs")
    return r.order_by(r.started.desc())


# -- settlement results in a file ------------------------------------------------------------------------
FILE_FORMATS = {".parquet": "parquet", ".csv": "csv", ".json": "json", ".xlsx": "xlsx"}
XLSX_MAX_ROWS = 1_048_575  # an Excel sheet's rows, less the header


def output_problem(path) -> str | None:
    """Why `path` cannot take settlement results (unknown suffix, no such folder, not writable), or None.
    Asked before anything is settled or stored, so that a bad --out does not fail after the work."""
    import os
    from pathlib import Path

    p = Path(path)
    if p.suffix.lower() not in FILE_FORMATS:
        return f"{p}: unknown file type {p.suffix or '(none)'!r}; use one of {', '.join(FILE_FORMATS)}"
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        return f"{p}: folder {parent} does not exist"
    if p.is_dir():
        return f"{p} is a folder"
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        return f"{p}: not writable"
    return None


def write_table(table: pa.Table, path) -> None:
    """Write settlement results (or totals) in the format the suffix names (``FILE_FORMATS``): Parquet
    keeps the exact DECIMAL yuan; csv prints them to the fen; json and xlsx give numbers. The file is
    written beside its place and moved there when complete (never half a file)."""
    import os
    import tempfile
    from pathlib import Path

    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    p = Path(path)
    fmt = FILE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ValueError(output_problem(p))
    if fmt == "xlsx" and table.num_rows > XLSX_MAX_ROWS:
        raise ValueError(f"{p}: {table.num_rows:,} rows do not fit an Excel sheet ({XLSX_MAX_ROWS:,}); "
                         "use .parquet or .csv")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=p.suffix, dir=p.parent if str(p.parent) else ".")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # the permissions an ordinary new file gets (mkstemp's are 0600)
    try:
        if fmt == "parquet":
            pq.write_table(table, tmp)
        elif fmt == "csv":
            pcsv.write_csv(table, tmp)
        else:
            df = table.to_pandas()
            for c in df.columns:  # Decimal yuan → float: exact to the fen at these magnitudes
                if pa.types.is_decimal(table.schema.field(c).type):
                    df[c] = df[c].astype("float64")
                elif fmt == "json" and pa.types.is_date(table.schema.field(c).type):
                    df[c] = [None if v is None else v.isoformat() for v in df[c]]  # a day, not a timestamp
            if fmt == "json":
                df.to_json(tmp, orient="records", date_format="iso", force_ascii=False, indent=1)
            else:
                import pandas as pd

                with pd.ExcelWriter(tmp, engine="xlsxwriter") as xw:
                    df.to_excel(xw, sheet_name="settlement", index=False)
                    xw.sheets["settlement"].freeze_panes(1, 0)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
