"""Errors with a stable machine code. The API answers them as
``{"error": {"code": "...", "message": "...", "status": 403}}``; pages render them (or, for
``not_authenticated``, redirect to the login page)."""

from __future__ import annotations


class WebError(Exception):
    """`message`: English, for the API and logs. `key` (+ `params`): the catalogue line (locales/*.yaml) a
    page shows instead, in its own language, where the message says more than the code's generic line."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None,
                 details: list | None = None, headers: dict | None = None, key: str | None = None,
                 params: dict | None = None):
        super().__init__(message or self.code)
        self.message = message or self.code.replace("_", " ")
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details
        self.headers = headers
        self.key = key
        self.params = params or {}

    def text(self, t) -> str:
        """The error in a page's language (`t`: the page's translator): the catalogue line of `key`, else
        of the code, else the English message."""
        if self.key:
            return t(self.key, self.message, **self.params)
        return t(f"error_{self.code}", self.message)

    def body(self) -> dict:
        err = {"code": self.code, "message": self.message, "status": self.status}
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


class NotAuthenticated(WebError):
    status, code = 401, "not_authenticated"


class Forbidden(WebError):
    status, code = 403, "forbidden"


class RegionForbidden(Forbidden):
    code = "region_forbidden"


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class NotFound(WebError):
    status, code = 404, "not_found"


class RateLimited(WebError):
    status, code = 429, "rate_limited"


class ImportRejected(WebError):
    status, code = 422, "import_failed"


# every code the API may answer, for the OpenAPI description and the tests
CODES = {
    "bad_request": 400, "settlement_error": 400,
    "not_authenticated": 401, "invalid_token": 401, "login_failed": 401,
    "forbidden": 403, "region_forbidden": 403, "csrf_failed": 403,
    "not_found": 404, "region_not_found": 404, "year_not_found": 404, "claim_not_found": 404, "case_not_found": 404, "run_not_found": 404,
    "projection_not_found": 404, "token_not_found": 404,
    "method_not_allowed": 405, "upload_too_large": 413,
    "validation_error": 422, "import_failed": 422, "user_invalid": 422, "case_invalid": 422,
    "pooling_error": 422,
    "rate_limited": 429, "internal_error": 500,
}
