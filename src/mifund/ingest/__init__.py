"""Import: files (CSV, Excel, Parquet) checked against the data contract, then written all or nothing.

    report = import_paths(wh, ["data/"], unit="wan", actor="alice", id_key=load_or_create_id_key(settings))

Modules: readers (files to text chunks), headers (header row to contract columns), convert (text to
types, per-cell issues), idnumber (citizen IDs: validate, hash, mask; the hash key), checks (whole-file
and cross-table checks on the stage), importer (the transaction, staging, upsert, bookkeeping).
"""

from mifund.ingest.idnumber import load_or_create_id_key
from mifund.ingest.importer import import_paths, import_sample
from mifund.ingest.report import FileReport, ImportFailed, ImportIssue, ImportReport

__all__ = [
    "FileReport",
    "ImportFailed",
    "ImportIssue",
    "ImportReport",
    "import_paths",
    "import_sample",
    "load_or_create_id_key",
]
