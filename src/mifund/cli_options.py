"""Options and helpers shared by the `mifund` command line (mifund.cli) and the parts' own command modules
(mifund/*/cli.py): --db, --user, --format, --output, where the warehouse is, the format check, opening the
warehouse, writing several tables to one workbook.

Light on purpose (typer and rich only): the settings, the warehouse and pandas are imported when a helper
runs, so that `mifund --help` stays instant. It must not import mifund.cli (which imports the parts).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from mifund.config import Settings
    from mifund.storage import Warehouse

err = Console(stderr=True)

DbOpt = Annotated[Path | None, typer.Option("--db", help="Warehouse file (default ./mifund.duckdb, or $MIFUND_DB)")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Name recorded in the audit log (default $MIFUND_USER or login)")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table (for people) | csv | json | xlsx (for machines)")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (required for xlsx)")]

NO_WAREHOUSE_HINT = "Run `mifund import …` first (or set --db / MIFUND_DB)."


def settings(ctx: typer.Context | None, db: Path | None = None, user: str | None = None) -> Settings:
    """The settings for this command: its own --db / --user, else the main `mifund --db / --user` (the
    root context's object), else $MIFUND_DB / $MIFUND_USER, else the defaults. `ctx` is the command's
    context (None: no main command line)."""
    from mifund.config import Settings, get_settings

    root = ctx.find_root().obj if ctx is not None else None
    if not isinstance(root, Settings):
        return get_settings(db=db, user=user)
    if db is None and user is None:
        return root
    return get_settings(db=db or root.db, user=user or root.user)


def warehouse_path(ctx: typer.Context | None, db: Path | None = None) -> Path:
    """The warehouse file: --db here, else `mifund --db`, else $MIFUND_DB, else ./mifund.duckdb."""
    return settings(ctx, db=db).db


def check_format(fmt: str, output: Path | None) -> None:
    """--format is one of table, csv, json, xlsx; xlsx needs --output; --output needs a format for machines
    (the table is for people, on the screen: a user who asked for a file and got none would believe it
    written, so refuse rather than print the table and drop the file)."""
    from mifund.views.output import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    if fmt == "xlsx" and output is None:
        raise typer.BadParameter("--format xlsx needs --output FILE.xlsx")
    if fmt == "table" and output is not None:
        raise typer.BadParameter(f"--output {output} needs --format csv|json|xlsx (the table format prints "
                                 "to the screen and writes no file)")


def require_warehouse(path: Path, hint: str = NO_WAREHOUSE_HINT) -> Path:
    """`path` if the file exists, else say so (with `hint`, what to do about it) and exit with status 2."""
    if not Path(path).exists():
        err.print(f"[red]No warehouse at {path}.[/]" + (f" {hint}" if hint else ""))
        raise typer.Exit(2)
    return path


def open_warehouse(ctx: typer.Context | None, db: Path | None = None, *, read_only: bool = True, create: bool = False,
                   hint: str = NO_WAREHOUSE_HINT) -> Warehouse:
    """Open the warehouse (see `warehouse_path`). A missing file is an error (exit status 2) unless
    `create` (only with read_only=False: the first import creates it)."""
    from mifund.storage import Warehouse, WarehouseInUse

    path = warehouse_path(ctx, db)
    if read_only or not create:
        require_warehouse(path, hint)
    try:
        return Warehouse(path, read_only=read_only)
    except WarehouseInUse as e:
        err.print(f"[red bold]Warehouse in use:[/] {e}", highlight=False)
        raise typer.Exit(2) from None


def write_sheets(output: Path, sheets: dict, chart: tuple[str, str, str] | None = None) -> None:
    """DataFrames as the sheets of one workbook (names cut to Excel's 31 characters, header row frozen);
    chart = (sheet, category column, value column) adds a native column chart below that sheet's table."""
    import pandas as pd

    with pd.ExcelWriter(output, engine="xlsxwriter") as xw:
        for name, df in sheets.items():
            df.to_excel(xw, sheet_name=name[:31], index=False)
            xw.sheets[name[:31]].freeze_panes(1, 0)
        if chart:
            sheet, cat, val = chart
            sheet, df = sheet[:31], sheets[sheet]
            ci, vi, n = df.columns.get_loc(cat), df.columns.get_loc(val), len(df)
            ch = xw.book.add_chart({"type": "column"})
            ch.add_series({"name": val, "categories": [sheet, 1, ci, n, ci], "values": [sheet, 1, vi, n, vi]})
            ch.set_title({"name": f"{val} by {cat}"})
            xw.sheets[sheet].insert_chart(n + 3, 1, ch)
