"""POST /api/v1/imports (files, validated exactly as `mifund import`), GET /api/v1/imports (batches)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from mifund.web.api.schemas import DOWNLOADS, ImportBatchTable
from mifund.web.deps import Svc, check_csrf, require
from mifund.web.export import tabular
from mifund.web.services import admin

router = APIRouter(tags=["imports"])
TABLES_PATTERN = "^(regions|population|fund_ledger|enrollment|providers|catalog|claims|claim_lines)$"


@router.post("/imports", summary="Import data-contract files in one transaction (administrators; one with a region: rows of its regions only)")
def post_import(
    request: Request, user: require("import_data"), svc: Svc,
    files: Annotated[list[UploadFile], File(description="csv, xlsx or parquet files")],
    table: Annotated[str | None, Form(pattern=TABLES_PATTERN, description="Force the table (else recognised)")] = None,
    unit: Annotated[str, Form(pattern="^(yuan|wan|yi)$", description="Unit of the amounts in the files: yuan, "
                                                                    "wan (万元) or yi (亿元); stored in yuan")] = "yuan",
    strict: Annotated[bool, Form(description="Treat warnings (e.g. a broken balance identity) as errors")] = False,
) -> dict:
    check_csrf(request, None)
    return admin.import_files(svc, user, [(f.filename or "upload", f.file) for f in files], table=table, unit=unit,
                              strict=strict)


@router.get("/imports", response_model=ImportBatchTable, responses=DOWNLOADS, summary="Recent import batches (an administrator with a region: those of its regions' users)")
def list_imports(user: require("import_data"), svc: Svc,
                 limit: Annotated[int, Query(ge=1, le=1000, description="The latest this many import batches (count)")] = 50,
                 format: Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="Answer as json (default), or download csv or xlsx (needs a role that may export)")] = "json"):
    return tabular(admin.import_batches(svc, user, limit), format, "import_batches")
