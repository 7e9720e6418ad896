"""Import files into the warehouse: all of them or nothing.

For each file, in dependency order (regions before the tables that refer to them): read it in chunks of
text, convert each chunk (bad cells become issues naming row and column), append it to a stage table,
run the whole-file checks on the stage, then upsert into the real table (replacements are audited by the
warehouse) and record the batch. Every file of one call shares one transaction and one batch id, so the
first error (or, with strict, warning) rolls back everything, earlier files included.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import ibis

from mifund import contract as C
from mifund.ingest import checks, idnumber, readers, scope
from mifund.ingest.convert import convert_chunk, unit_exponent
from mifund.ingest.headers import ID_NUMBER, map_headers
from mifund.ingest.report import (
    ERROR,
    INFO,
    WARNING,
    FileReport,
    ImportFailed,
    ImportIssue,
    ImportReport,
    IssueLog,
)

Progress = Callable[[str, int, int | None], None]
SAMPLES_PACKAGE = "mifund.samples"


@dataclass
class _Planned:
    path: Path
    table: C.Table
    label: str  # how messages and import_batches name the file


def recognise_by_header(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> C.Table | None:
    """The table whose required columns the file's header carries (the most matched columns wins).

    Why: an analyst saves the filled template as '2024年报.xlsx'; the name says nothing, the Chinese
    headers say everything. Ambiguous (two tables fit equally) gives None.
    """
    try:
        source = readers.open_source(path, sheet=sheet, encoding=encoding)
    except Exception:  # unreadable here is reported properly when the file is imported
        return None
    candidates = [source.header] + [h for _, h in getattr(source, "header_candidates", list)()]
    for header in candidates:  # the first row, else a row below a title
        fits = []
        for t in C.TABLES.values():
            hm = map_headers(header, t)
            if not hm.missing:
                fits.append((len(hm.positions), t))
        fits.sort(key=lambda f: -f[0])
        if fits:
            return None if len(fits) > 1 and fits[0][0] == fits[1][0] else fits[0][1]
    return None


def _plan(paths: Iterable, table: str | None, *, sheet: str | None = None,
          encoding: str | None = None) -> tuple[list[_Planned], list[ImportIssue]]:
    """Expand directories and recognise each file's table (by name, else by header); unknown ones
    are errors when named explicitly, skipped with a warning inside a directory."""
    forced = None
    if table is not None:
        if table not in C.TABLES:
            raise ImportFailed([ImportIssue("", None, None, f"unknown table {table!r}; tables: {', '.join(C.TABLES)}")])
        forced = C.TABLES[table]
    planned, issues = [], []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for f in sorted(path.iterdir()):
                if f.name.startswith((".", "~$")) or not f.is_file() or f.suffix.lower() not in readers.DATA_EXTS:
                    continue
                t = forced or C.table_for_stem(f.stem) or recognise_by_header(f, sheet=sheet, encoding=encoding)
                if t is None:
                    issues.append(ImportIssue(str(f), None, None, "skipped: the file name names no table", severity=WARNING))
                else:
                    planned.append(_Planned(f, t, str(f)))
        elif path.is_file():
            t = forced or C.table_for_stem(path.stem)
            if t is None and path.suffix.lower() in readers.DATA_EXTS:
                t = recognise_by_header(path, sheet=sheet, encoding=encoding)
            if path.suffix.lower() not in readers.DATA_EXTS:
                issues.append(scope.issue(str(path), None, None, "import_reason_file_type"))
            elif t is None:
                issues.append(scope.issue(str(path), None, None, "import_reason_no_table", tables=", ".join(C.TABLES)))
            else:
                planned.append(_Planned(path, t, str(path)))
        else:
            issues.append(ImportIssue(str(path), None, None, "no such file or directory"))
    if not planned and not any(i.severity == ERROR for i in issues):
        issues.append(ImportIssue(", ".join(str(p) for p in paths), None, None, "no data files to import"))
    unique: dict[Path, _Planned] = {}  # a file named and also inside a named directory is imported once
    for pl in planned:
        unique.setdefault(pl.path.resolve(), pl)
    planned = list(unique.values())
    order = C.import_order({pl.table.name for pl in planned})
    planned.sort(key=lambda pl: order.index(pl.table.name))  # stable: same table keeps its path order
    return planned, issues


@dataclass
class _Context:
    wh: object
    actor: str
    batch_id: str
    unit: str
    unit_exp: int
    id_key: bytes
    strict: bool
    sheet: str | None
    encoding: str | None
    progress: Progress | None
    chunk_rows: int
    allowed_regions: frozenset[str] | None = None
    scope_label: str = ""


def _stage_for(wh, table: C.Table) -> str:
    """An empty temporary table shaped like `table` plus `_row`, the row number in the file.

    Warehouse.create_stage() makes the table's exact shape; the checks need `_row` to name rows, so the
    stage is made here through Ibis. upsert() copies only the target's columns, so `_row` stays behind.
    """
    name = f"_stage_{table.name}_{uuid.uuid4().hex[:8]}"
    schema = ibis.schema({**dict(wh.table(table.name).schema().items()), "_row": "int64"})
    wh.con.create_table(name, schema=schema, temp=True)
    return name


def _import_file(ctx: _Context, item: _Planned, stages: list[str]) -> tuple[FileReport, list[ImportIssue], str]:
    wh, table, label = ctx.wh, item.table, item.label
    log = IssueLog()
    try:
        source = readers.open_source(item.path, sheet=ctx.sheet, encoding=ctx.encoding)
    except readers.ReadError as e:
        raise ImportFailed([ImportIssue(label, e.row, None, str(e))]) from None
    hm = map_headers(source.header, table)
    title_hint = ""
    if hm.missing and hasattr(source, "header_candidates"):
        # a title or unit row above the header: take the first row below that names every required column
        for row, cells in source.header_candidates():
            below = map_headers(cells, table)
            if not below.missing:
                log.add(ImportIssue(label, row, None, f"header read from row {row}; the row(s) above it "
                                    "are taken as a title and ignored", severity=INFO))
                source.use_header(row)
                hm = below
                break
        else:
            title_hint = (f"; the header is read from row {source.header_row}, the first non-empty row: "
                          "if a title is above it, delete the title rows")
    for h in hm.extra:
        log.add(ImportIssue(label, source.header_row, h, f"column not in table {table.name}: ignored", severity=INFO))
    for c in hm.clashes:
        log.add(ImportIssue(label, source.header_row, None, c))
    for name in hm.missing:
        col = table.column(name)
        alt = f" or {ID_NUMBER} (公民身份号码)" if name == "person_id" else ""
        log.add(ImportIssue(label, source.header_row, name,
                            f"required column missing (header {name} or {col.zh}{alt}){title_hint}"))
    if log.count(ERROR):
        raise log.failure()
    if "person_id" not in hm.positions and ID_NUMBER in hm.positions:  # IDs to hash: with this warehouse's key
        try:
            idnumber.check_id_key(wh, ctx.id_key, actor=ctx.actor)
        except idnumber.IdKeyMismatch as e:
            raise ImportFailed([ImportIssue(label, source.header_row, ID_NUMBER, str(e))]) from None

    stage = _stage_for(wh, table)
    stages.append(stage)
    rows_read = 0
    try:
        for chunk in source.chunks(ctx.chunk_rows):
            conv = convert_chunk(table, chunk, hm, file=label, unit_exp=ctx.unit_exp, id_key=ctx.id_key,
                                 room=log.room())
            log.extend(conv.issues, {ERROR: conv.found - len(conv.issues)})
            if not log.count(ERROR):
                wh.append(stage, conv.data)
            rows_read += len(chunk.rows)
            if ctx.progress:
                ctx.progress(label, rows_read, source.total_rows)
    except readers.ReadError as e:
        log.add(ImportIssue(label, e.row, None, str(e)))
    if log.count(ERROR):
        raise log.failure()

    log.extend(*checks.run(wh, checks.file_checks(wh, table, stage, set(hm.positions)), label, log.room()))
    if log.count(ERROR):
        raise log.failure()
    if ctx.strict and log.count(WARNING):
        raise log.failure(strict=True)
    if ctx.allowed_regions is not None:
        scope.check_scope(wh, table.name, stage, ctx.allowed_regions, ctx.scope_label, label)

    stats = wh.upsert(table.name, stage, table.key, actor=ctx.actor, batch_id=ctx.batch_id, detail=f"import {label}")
    report = FileReport(label, table.name, rows_read, stats.inserted, stats.replaced, stats.unchanged)
    warnings = log.warnings
    wh.record_batch({
        "batch_id": ctx.batch_id,
        "logged_at": dt.datetime.now(),
        "actor": ctx.actor,
        "source_file": label,
        "table_name": table.name,
        "rows_read": rows_read,
        "rows_inserted": stats.inserted,
        "rows_replaced": stats.replaced,
        "rows_unchanged": stats.unchanged,
        "unit": ctx.unit,
        "warnings": json.dumps([w.as_dict() for w in warnings], ensure_ascii=False),
    })
    wh.audit("import", actor=ctx.actor, table_name=table.name, batch_id=ctx.batch_id,
             detail=json.dumps({"file": label, "rows_read": rows_read, "inserted": stats.inserted,
                                "replaced": stats.replaced, "unchanged": stats.unchanged, "unit": ctx.unit},
                               ensure_ascii=False))
    return report, warnings, stage


def import_paths(
    wh,
    paths,
    *,
    table: str | None = None,
    unit: str = "yuan",
    actor: str,
    id_key: bytes,
    strict: bool = False,
    sheet: str | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
    chunk_rows: int | None = None,
    allowed_regions: frozenset[str] | None = None,
    scope_label: str = "",
    _labels: dict[Path, str] | None = None,
) -> ImportReport:
    """Import files and directories in one transaction; raises ImportFailed (nothing written) on any error.

    `unit` scales amount columns only (yuan, wan = 万元, yi = 亿元). `strict` turns warnings into errors.
    `progress(file, rows_done, rows_total)` is called after each chunk (rows_total None when unknown).
    `allowed_regions` (with `scope_label`, the scope's top region as messages name it): only rows of these
    regions may be written, and nothing of theirs replaced by another region's (``ingest.scope``); None: any.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    unit_exp = unit_exponent(unit)
    planned, issues = _plan(paths, table, sheet=sheet, encoding=encoding)
    if any(i.severity == ERROR for i in issues) or (strict and issues):
        raise ImportFailed([i for i in issues if strict or i.severity == ERROR], strict=strict)
    for pl in planned:
        pl.label = (_labels or {}).get(pl.path, pl.label)
    ctx = _Context(wh, actor, uuid.uuid4().hex, unit, unit_exp, id_key, strict, sheet, encoding, progress,
                   chunk_rows or readers.CHUNK_ROWS, None if allowed_regions is None else frozenset(allowed_regions),
                   scope_label)
    reports: list[FileReport] = []
    warnings: list[ImportIssue] = list(issues)
    stages: list[str] = []
    with wh.transaction():
        try:
            kept: dict[str, list[tuple[str, str]]] = {"claims": [], "claim_lines": []}
            for item in planned:
                report, file_warnings, stage = _import_file(ctx, item, stages)
                reports.append(report)
                warnings += file_warnings
                if item.table.name in kept:  # kept for the lines-against-totals check at the end
                    kept[item.table.name].append((stage, item.label))
                else:
                    wh.drop_stage(stage)
                    stages.remove(stage)
            _check_claim_lines(ctx, kept)
        except BaseException:
            # the rollback drops the stages (made in this transaction); a failed statement has aborted
            # the transaction, where dropping them here would only raise a second error over the first
            for s in stages:
                with suppress(Exception):
                    wh.drop_stage(s)
            raise
        for s in stages:
            wh.drop_stage(s)
    return ImportReport(reports, warnings, ctx.batch_id)


def _check_claim_lines(ctx: _Context, kept: dict[str, list[tuple[str, str]]]) -> None:
    if not kept["claims"] and not kept["claim_lines"]:
        return
    labels = dict(kept["claims"] + kept["claim_lines"])
    exprs = checks.lines_total_checks(ctx.wh, [s for s, _ in kept["claims"]], [s for s, _ in kept["claim_lines"]])
    for stage, expr in exprs:
        log = IssueLog()
        log.extend(*checks.run(ctx.wh, [expr], labels[stage], log.room()))
        if log.count(ERROR):
            raise log.failure()


def sample_names() -> list[str]:
    """The samples packaged in mifund/samples/."""
    root = resources.files(SAMPLES_PACKAGE)
    return sorted(e.name for e in root.iterdir() if e.is_dir() and not e.name.startswith("_"))


def import_sample(wh, name: str = "national", *, actor: str, id_key: bytes, progress: Progress | None = None) -> ImportReport:
    """Import a sample packaged in mifund/samples/<name>/ (amounts there are in yuan)."""
    root = resources.files(SAMPLES_PACKAGE)
    available = sample_names()
    if name not in available:
        raise ValueError(f"no sample {name!r}; samples: {', '.join(available)}")
    with ExitStack() as stack:
        files = [stack.enter_context(resources.as_file(e)) for e in (root / name).iterdir() if e.name.endswith(".csv")]
        labels = {Path(f): f"sample:{name}/{Path(f).name}" for f in files}
        return import_paths(wh, files, unit="yuan", actor=actor, id_key=id_key, progress=progress, _labels=labels)
