"""`mifund serve`: the dashboard and API on uvicorn (one process: DuckDB allows one writer per file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mifund.cli_options import DbOpt, err, require_warehouse, warehouse_path

app = typer.Typer(help="The web dashboard and API (网页端与接口).", no_args_is_help=True)


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port")] = 8000,
    db: DbOpt = None,
    policies: Annotated[Path | None, typer.Option("--policies", help="Policy directory for claim explanation and "
                                                  "comparison (default: the latest settlement run's)")] = None,
    cookie_secure: Annotated[bool, typer.Option("--cookie-secure", help="HTTPS-only cookies (behind a TLS proxy)")] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level")] = "info",
) -> None:
    """Serve the dashboard (pages in Chinese and English) and /api/v1 (reference at /docs).

    Log in with a user made by `mifund users add` (or the demo users printed by `mifund demo run`).
    While it runs, the warehouse is locked for other writers: change users on the Users page.
    """
    import uvicorn

    from mifund.web.app import create_app
    from mifund.web.settings import WebSettings

    overrides = {"policies": policies} if policies is not None else {}  # else $MIFUND_POLICIES or the default
    settings = WebSettings(db=warehouse_path(ctx, db), **overrides, cookie_secure=cookie_secure)
    require_warehouse(settings.db, "Run `mifund demo run` or `mifund import …` first.")
    try:
        application = create_app(settings)
    except Exception as e:  # noqa: BLE001 - typically: the warehouse is locked by another process
        err.print(f"[red]Cannot open {settings.db}:[/] {e}")
        raise typer.Exit(2) from None
    err.print(f"mifund dashboard on http://{host}:{port}/  (API reference: http://{host}:{port}/docs)")
    uvicorn.run(application, host=host, port=port, log_level=log_level, proxy_headers=False)
