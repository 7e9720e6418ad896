"""The warehouse: one DuckDB file, reached through Ibis.

This module (with the SQL migrations beside it) is the only place that knows the engine. Everything
else asks for Ibis tables (`wh.table("fund_ledger")`), builds expressions, and hands them back to
`wh.to_pandas()` / `wh.to_arrow()`. Writes go through `append()` / `upsert()` here, inside
`transaction()`, so that an import is all or nothing and every replaced record lands in the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

MIGRATIONS_PACKAGE = "mifund.storage.migrations"


@dataclass
class UpsertStats:
    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0


def _ident(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every numbered file in storage/migrations, in order."""
    out = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(out)


class WarehouseInUse(RuntimeError):
    """Another process holds the warehouse file open for writing (DuckDB: one writing process, and no
    other process may open the file meanwhile, not even to read), e.g. a running `mifund serve`."""


class Warehouse:
    """An open warehouse. Use as a context manager or call close()."""

    def __init__(self, path: str | Path = "mifund.duckdb", *, read_only: bool = False, migrate: bool = True):
        self.path = Path(path)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = ibis.duckdb.connect(str(self.path), read_only=read_only)
        except Exception as e:  # noqa: BLE001 - DuckDB's lock conflict is an IOException; anything else re-raised
            if "lock" not in str(e).lower():
                raise
            held = re.search(r"\(PID (\d+)\)", str(e))
            by = f" (process {held.group(1)})" if held else ""
            raise WarehouseInUse(f"{self.path} is in use by another process{by}, e.g. a running `mifund serve`: "
                                 "while one process has a warehouse open for writing no other can open it, not "
                                 "even to read. Stop that process, or work on a copy of the file") from None
        self._raw = self.con.con  # the DuckDB connection; private to storage
        self._in_tx = False
        if migrate and not read_only:
            self.migrate()

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self.con.disconnect()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------------------
    def schema_version(self) -> int:
        if "schema_migrations" not in self.con.list_tables():
            return 0
        v = self._raw.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        return int(v or 0)

    def migrate(self) -> list[int]:
        """Apply the numbered migrations not yet applied, each in its own transaction. "Not yet applied"
        is by number, not "above the highest": parts developed side by side may land a lower number
        after a higher one, and a warehouse that has the higher must still get the lower."""
        self._raw.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER, name VARCHAR, applied_at TIMESTAMP)"
        )
        done = {int(r[0]) for r in self._raw.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for version, name, sql in migrations():
            if version in done:
                continue
            self._raw.execute("BEGIN TRANSACTION")
            try:
                self._raw.execute(sql)
                self._raw.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, dt.datetime.now()]
                )
                self._raw.execute("COMMIT")
            except Exception:
                self._raw.execute("ROLLBACK")
                raise
            applied.append(version)
        return applied

    def columns(self, name: str) -> dict[str, str]:
        """Column name -> engine type, in table order."""
        rows = self._raw.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [name],
        ).fetchall()
        return dict(rows)

    # -- reading ---------------------------------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        return self.con.table(name)

    def count(self, name: str) -> int:
        return int(self.con.table(name).count().to_pyarrow().as_py())

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def to_pandas(self, expr: ir.Table, *, decimals_as_float: bool = True) -> pd.DataFrame:
        """Execute; exact decimal amounts become float64 unless asked otherwise (for display and ratios)."""
        if decimals_as_float:
            casts = {n: expr[n].cast("float64") for n, t in expr.schema().items() if t.is_decimal()}
            if casts:
                expr = expr.mutate(**casts)
        return self.con.to_pandas(expr)

    def memtable(self, data: pd.DataFrame | pa.Table) -> ir.Table:
        return ibis.memtable(data)

    # -- transactions ----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """All writes inside commit together or not at all. Nested use joins the outer transaction."""
        if self._in_tx:
            yield self
            return
        self._raw.execute("BEGIN TRANSACTION")
        self._in_tx = True
        try:
            yield self
        except BaseException:
            self._raw.execute("ROLLBACK")
            raise
        else:
            self._raw.execute("COMMIT")
        finally:
            self._in_tx = False

    # -- staging (used by the importer to check a whole file before it touches a real table) --
    def create_stage(self, like: str) -> str:
        """A temporary, empty table shaped like `like`; returns its name."""
        stage = f"_stage_{like}_{uuid.uuid4().hex[:8]}"
        self._raw.execute(f"CREATE TEMP TABLE {_ident(stage)} AS SELECT * FROM {_ident(like)} LIMIT 0")
        return stage

    def drop_stage(self, stage: str) -> None:
        self._raw.execute(f"DROP TABLE IF EXISTS {_ident(stage)}")

    # -- writing ---------------------------------------------------------------------------------
    def append(self, name: str, data: pa.Table | pd.DataFrame) -> int:
        """Insert rows by column name; columns of the table absent from `data` get NULL."""
        if isinstance(data, pd.DataFrame):
            data = pa.Table.from_pandas(data, preserve_index=False)
        cols = [c for c in self.columns(name) if c in data.column_names]
        view = f"_incoming_{uuid.uuid4().hex[:8]}"
        self._raw.register(view, data)
        try:
            collist = ", ".join(_ident(c) for c in cols)
            self._raw.execute(f"INSERT INTO {_ident(name)} ({collist}) SELECT {collist} FROM {_ident(view)}")
        finally:
            self._raw.unregister(view)
        return data.num_rows

    def upsert(
        self,
        name: str,
        source: str,
        key: Sequence[str],
        *,
        actor: str,
        batch_id: str,
        detail: str | None = None,
    ) -> UpsertStats:
        """Move every row of table `source` into `name`, replacing rows with the same key.

        A replaced row whose values change is written to the audit log with its old and new values.
        Keys compare NULL-safely (an annual ledger row has month NULL).
        """
        cols = list(self.columns(name))
        on = " AND ".join(f"t.{_ident(k)} IS NOT DISTINCT FROM s.{_ident(k)}" for k in key)
        key_json = "json_object(" + ", ".join(f"'{k}', s.{_ident(k)}" for k in key) + ")"
        old_s = "{" + ", ".join(f"'{c}': t.{_ident(c)}" for c in cols) + "}"
        new_s = "{" + ", ".join(f"'{c}': s.{_ident(c)}" for c in cols) + "}"
        T, S = _ident(name), _ident(source)
        matched = f"FROM {T} t JOIN {S} s ON {on}"
        replaced, changed = self._raw.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {old_s} IS DISTINCT FROM {new_s}) {matched}"
        ).fetchone()
        if changed:
            self._raw.execute(
                f"""INSERT INTO audit_log (logged_at, actor, action, table_name, record_key, old_values, new_values, batch_id, detail)
                    SELECT ?, ?, 'replace', ?, {key_json}::VARCHAR, to_json({old_s})::VARCHAR,
                           to_json({new_s})::VARCHAR, ?, ?
                    {matched} WHERE {old_s} IS DISTINCT FROM {new_s}""",
                [dt.datetime.now(), actor, name, batch_id, detail],
            )
        if replaced:
            self._raw.execute(f"DELETE FROM {T} t WHERE EXISTS (SELECT 1 FROM {S} s WHERE {on})")
        total = self._raw.execute(f"SELECT count(*) FROM {S}").fetchone()[0]
        collist = ", ".join(_ident(c) for c in cols)
        self._raw.execute(f"INSERT INTO {T} ({collist}) SELECT {collist} FROM {S}")
        return UpsertStats(inserted=total - replaced, replaced=changed, unchanged=replaced - changed)

    def audit(
        self,
        action: str,
        *,
        actor: str,
        table_name: str | None = None,
        record_key: dict | None = None,
        old_values: dict | None = None,
        new_values: dict | None = None,
        batch_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """One audit-log entry (every write to the warehouse leaves one)."""

        def clean(v):
            """A float NaN (pandas' missing value) as JSON's null: json.dumps would write NaN, which no JSON
            reader accepts, and the audit log is read by other tools than this one."""
            if isinstance(v, float) and not math.isfinite(v):
                return None if v != v else str(v)  # NaN: missing; an infinity as text ('inf', '-inf')
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [clean(x) for x in v]
            return v

        def j(v):
            return None if v is None else json.dumps(clean(v), ensure_ascii=False, default=str, allow_nan=False)

        self._raw.execute(
            "INSERT INTO audit_log (logged_at, actor, action, table_name, record_key, old_values, new_values, batch_id, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [dt.datetime.now(), actor, action, table_name, j(record_key), j(old_values), j(new_values), batch_id, detail],
        )

    def record_batch(self, row: dict) -> None:
        self.append("import_batches", pd.DataFrame([row]))

    def delete_all(self, name: str) -> None:
        self._raw.execute(f"DELETE FROM {_ident(name)}")
