"""`mifund users`: add, list, disable/enable, set passwords and roles, API tokens.

The warehouse is locked by a running `mifund serve` (DuckDB allows one writer): stop the server, or use
the Users page of the web application, to change users while it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mifund.cli_options import DbOpt, FormatOpt, OutputOpt, check_format, err, require_warehouse, settings

app = typer.Typer(help="Users and roles of the web application (用户与角色): add, list, disable, tokens.",
                  no_args_is_help=True)
console = Console()
# = mifund.users.store.MAX_TOKEN_DAYS, which the store checks too; not imported here: importing the store
# hashes a password, and `mifund --help` stays instant (tests/test_users_review.py holds them equal)
MAX_TOKEN_DAYS = 3660


def _open(ctx: typer.Context, db: Path | None, *, read_only: bool = False):
    """(warehouse, settings); a missing warehouse, or one locked by a running `mifund serve`, is an error."""
    from mifund.storage import Warehouse

    s = settings(ctx, db)
    require_warehouse(s.db)
    try:
        return Warehouse(s.db, read_only=read_only), s
    except Exception as e:  # noqa: BLE001 - typically the lock held by a running `mifund serve`
        err.print(f"[red]Cannot open {s.db}:[/] {e}")
        raise typer.Exit(2) from None


def _password(password: str | None, generate: bool) -> str:
    import secrets

    if generate:
        return secrets.token_urlsafe(12)
    if password:
        return password
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command("add")
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option("--role", help="admin | analyst | supervisor | viewer")] = "viewer",
    region: Annotated[str | None, typer.Option("--region", "-r", help="Region code: the user sees this subtree "
                                               "(required except for admin)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name")] = None,
    password: Annotated[str | None, typer.Option("--password", help="Password (else prompted; $MIFUND_PASSWORD)",
                                                 envvar="MIFUND_PASSWORD")] = None,
    generate: Annotated[bool, typer.Option("--generate-password", help="Generate one and print it once")] = False,
    db: DbOpt = None,
) -> None:
    """Add a user with a role and a region (an analyst of 360102 sees 360102 and everything below it)."""
    from mifund.users import UserError, add_user

    pw = _password(password, generate)
    wh, s = _open(ctx, db)
    try:
        u = add_user(wh, username, pw, role=role, region_code=region, display_name=name, actor=s.user)
    except UserError as e:
        err.print(f"[red]{e}[/]")
        raise typer.Exit(1) from None
    finally:
        wh.close()
    console.print(f"Added {u.username} ({u.role}, region {u.region_code or 'all'})")
    if generate:
        console.print(f"Password (shown once): {pw}", highlight=False)


@app.command("list")
def list_cmd(ctx: typer.Context, db: DbOpt = None, fmt: FormatOpt = "table", output: OutputOpt = None) -> None:
    """Every user with role, region and whether disabled."""
    from mifund.users import list_users
    from mifund.views.output import render

    check_format(fmt, output)
    wh, _ = _open(ctx, db, read_only=True)
    try:
        df = list_users(wh)
    finally:
        wh.close()
    if fmt == "table":  # for people, at 80 columns: dates, not timestamps (csv/json/xlsx keep them whole)
        df = df.drop(columns=["updated_at"], errors="ignore")
        if "created_at" in df.columns:
            df["created_at"] = df["created_at"].astype(str).str[:10]
    render(df, fmt, output=output, title="Users 用户", console=console, sheet_name="users")


def _toggle(ctx: typer.Context, username: str, disabled: bool, db: Path | None) -> None:
    from mifund.users import UserError, set_disabled

    wh, s = _open(ctx, db)
    try:
        set_disabled(wh, username, disabled, actor=s.user)
    except UserError as e:
        err.print(f"[red]{e}[/]")
        raise typer.Exit(1) from None
    finally:
        wh.close()
    console.print(f"{username}: {'disabled' if disabled else 'enabled'}")


@app.command("disable")
def disable(ctx: typer.Context, username: Annotated[str, typer.Argument()], db: DbOpt = None) -> None:
    """Disable a user: no more logins, open sessions end, API tokens stop working."""
    _toggle(ctx, username, True, db)


@app.command("enable")
def enable(ctx: typer.Context, username: Annotated[str, typer.Argument()], db: DbOpt = None) -> None:
    """Enable a disabled user again."""
    _toggle(ctx, username, False, db)


@app.command("password")
def password_cmd(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    password: Annotated[str | None, typer.Option("--password", envvar="MIFUND_PASSWORD")] = None,
    generate: Annotated[bool, typer.Option("--generate-password")] = False,
    db: DbOpt = None,
) -> None:
    """Set a user's password."""
    from mifund.users import UserError, set_password

    pw = _password(password, generate)
    wh, s = _open(ctx, db)
    try:
        set_password(wh, username, pw, actor=s.user)
    except UserError as e:
        err.print(f"[red]{e}[/]")
        raise typer.Exit(1) from None
    finally:
        wh.close()
    console.print(f"Password of {username} set" + (f": {pw}" if generate else ""), highlight=False)


@app.command("token")
def token_cmd(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    name: Annotated[str | None, typer.Option("--name", help="What the token is for")] = None,
    days: Annotated[float, typer.Option("--days", min=0.001, max=MAX_TOKEN_DAYS,
                                        help=f"Valid for this many days (at most {MAX_TOKEN_DAYS})")] = 90,
    revoke: Annotated[str | None, typer.Option("--revoke", help="Revoke the token starting with this prefix instead")] = None,
    db: DbOpt = None,
) -> None:
    """Create a bearer token for the API (printed once), or --revoke PREFIX."""
    from mifund.users import UserError, create_token, revoke_token

    wh, s = _open(ctx, db)
    try:
        if revoke:
            revoke_token(wh, revoke, actor=s.user, username=username)
            console.print(f"Revoked {revoke}")
            return
        tok = create_token(wh, username, name=name, days=days, actor=s.user)
    except UserError as e:
        err.print(f"[red]{e}[/]")
        raise typer.Exit(1) from None
    finally:
        wh.close()
    console.print(f"Token for {username} (shown once; send as 'Authorization: Bearer …'):\n{tok}", highlight=False)
