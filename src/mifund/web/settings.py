"""The web application's settings: the CLI's settings (db, user, ID-hash key) plus the web's own, from
arguments, then MIFUND_* environment variables, then defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from mifund.config import Settings


class WebSettings(Settings):
    policies: Path | None = Field(
        default=None,
        description="Policy directory for claim explanation and policy comparison (default: the one the "
        "warehouse's latest settlement run used, else $MIFUND_POLICIES or ./policies)",
    )
    session_hours: float = Field(default=8, description="A login session lasts this long")
    cookie_secure: bool = Field(default=False, description="Send cookies only over HTTPS (set behind a TLS proxy)")
    login_fail_per_user: int = Field(default=5, description="Failed logins per username in the window before refusal")
    login_fail_per_client: int = Field(default=20, description="Failed logins per client address in the window")
    login_window_s: int = Field(default=900, description="Rate-limit window for failed logins (seconds)")
    max_upload_mb: int = Field(default=200, description="Largest import upload (MB)")
    default_lang: str = Field(default="zh", description="Page language when the browser states none: zh | en")
    worker_threads: int = Field(default=8, description="Threads serving requests (fewer contend less for the GIL)")
    session_cache_s: float = Field(default=30, description="Seconds a checked session is trusted in memory")
