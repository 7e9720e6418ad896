"""The FastAPI application: pages, /api/v1, static files, error handling, security headers."""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from mifund.web.errors import CODES, WebError
from mifund.web.services import Services
from mifund.web.settings import WebSettings

log = logging.getLogger("mifund.web")

# Page modules (mifund.web.pages.<name>: `router`, optional `NAV`) and API modules
# (mifund.web.api.routes.<name>: `router`). A new part of the dashboard adds its name here.
PAGE_MODULES = ["auth", "apidocs", "overview", "region", "projection", "pooling", "disparity", "claims", "cases", "policies", "imports", "audit", "users", "account"]
API_MODULES = ["auth", "regions", "indicators", "warnings", "projections", "pooling", "disparity", "claims", "cases", "policies", "imports", "audit"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message", "status"], "properties": {
        "code": {"type": "string", "enum": sorted(CODES)}, "message": {"type": "string"},
        "status": {"type": "integer"}, "details": {"type": "array", "items": {}}}}},
}


ERROR_RESPONSES = {
    status: {"description": text, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    for status, text in ((400, "bad request"), (401, "not authenticated (no, wrong or expired token)"),
                         (403, "forbidden: the role may not, or the region is outside the user's"),
                         (404, "no such region, claim or route"), (413, "upload too large"),
                         (422, "invalid parameters or data (import: every problem with file, row, column)"),
                         (429, "too many failed logins"))
}


class SecurityHeaders:
    """Security headers on every answer (a plain ASGI middleware: no extra task per request)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", CSP)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: WebSettings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or WebSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        yield
        if services is None:  # opened here: closed here
            app.state.services.close()

    app = FastAPI(
        title="mifund API",
        version="1",
        description="Medical insurance fund indicators, warnings, settlement explanation, policy comparison, "
        "imports and the audit log. Authenticate with `Authorization: Bearer <token>` (`mifund users token "
        "NAME` or POST /api/v1/auth/token). Errors: `{\"error\": {\"code\", \"message\", \"status\"}}` with a "
        "stable code. Every answer is limited to the regions of the token's user.",
        lifespan=lifespan,
        docs_url=None,
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.services = services or Services(settings)
    app.state.templates = Jinja2Templates(directory=str(resources.files("mifund.web").joinpath("templates")))
    from mifund.web.fmt import FILTERS

    app.state.templates.env.filters.update(FILTERS)
    app.mount("/static", StaticFiles(directory=str(resources.files("mifund.web").joinpath("static"))), name="static")

    for name in API_MODULES:
        mod = importlib.import_module(f"mifund.web.api.routes.{name}")
        app.include_router(mod.router, prefix="/api/v1", responses=ERROR_RESPONSES)
    from mifund.web.nav import register

    for name in PAGE_MODULES:
        mod = importlib.import_module(f"mifund.web.pages.{name}")
        app.include_router(mod.router, include_in_schema=False)
        register(*getattr(mod, "NAV", ()))

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def page_error(request: Request, status: int, code: str, message: str, key: str | None = None,
                   params: dict | None = None):
        from mifund.web.deps import render

        user = None
        try:
            from mifund.web.deps import _session

            hit = _session(request, app.state.services)
            user = hit[0] if hit else None
        except Exception:  # noqa: BLE001 - an error page must render whatever happened
            user = None
        return render(request, "error.html", {"status": status, "code": code, "message": message, "key": key,
                                              "params": params or {}}, user=user, status_code=status)

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError):
        if is_api(request):
            return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
        if exc.status == 401:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return page_error(request, exc.status, exc.code, exc.message, exc.key, exc.params)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        if is_api(request):
            return JSONResponse({"error": {"code": "validation_error", "message": "invalid parameters",
                                           "status": 422, "details": details}}, status_code=422)
        return page_error(request, 422, "validation_error", "; ".join(f"{d['loc'][-1]}: {d['msg']}" for d in details))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated", 403: "forbidden"}.get(
            exc.status_code, "bad_request")
        if is_api(request):
            return JSONResponse({"error": {"code": code, "message": str(exc.detail), "status": exc.status_code}},
                                status_code=exc.status_code, headers=getattr(exc, "headers", None))
        return page_error(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        if is_api(request):
            return JSONResponse({"error": {"code": "internal_error", "message": "internal error", "status": 500}},
                                status_code=500)
        return page_error(request, 500, "internal_error", "internal error")

    app.add_middleware(SecurityHeaders)
    return app
