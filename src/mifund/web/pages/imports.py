"""/imports: upload data-contract files; the same validation as `mifund import` (all or nothing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile

from mifund.web.deps import Svc, check_csrf, get_lang, render, require
from mifund.web.errors import ImportRejected
from mifund.web.i18n import translator
from mifund.web.nav import NavItem
from mifund.web.services import admin, fund

router = APIRouter()
NAV = [NavItem("nav_imports", "/imports", "import_data", 70)]


def _page(request, user, svc, status_code=200, **extra):
    batches = fund.records(admin.import_batches(svc, user, 30))
    return render(request, "imports.html", {"batches": batches, "result": None, "failure": None, **extra}, user=user,
                  status_code=status_code)


@router.get("/imports")
def imports_page(request: Request, user: require("import_data"), svc: Svc):
    return _page(request, user, svc)


@router.post("/imports")
def imports_post(request: Request, user: require("import_data"), svc: Svc,
                 files: Annotated[list[UploadFile], File()], csrf_token: Annotated[str, Form(max_length=100)],
                 table: Annotated[str, Form(max_length=40)] = "", unit: Annotated[str, Form(max_length=8)] = "yuan",
                 strict: Annotated[bool, Form()] = False):
    check_csrf(request, csrf_token)
    try:
        result = admin.import_files(svc, user, [(f.filename or "upload", f.file) for f in files if f.filename],
                                    table=table or None, unit=unit, strict=strict)
    except ImportRejected as e:
        # said in the page's language: the count, and the reasons the catalogue knows (the importer's other
        # reasons name the file's columns and values, as the CLI does)
        t = translator(get_lang(request))
        issues = [{**i, "reason": admin.reason_text(i, t)} for i in e.details or []]
        files = sorted({i["file"] for i in issues if i.get("file")})
        return _page(request, user, svc, failure={"n": e.params.get("n", len(issues)), "files": files,
                                                  "issues": issues}, status_code=422)
    return _page(request, user, svc, result=result)
