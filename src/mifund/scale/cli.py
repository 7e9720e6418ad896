"""`mifund dataset`: claim-scale work on partitioned Parquet datasets, on DuckDB or Spark (issue #10)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from mifund.cli_options import FormatOpt, OutputOpt, check_format, open_warehouse
from mifund.views.output import table_console

app = typer.Typer(help="Province scale (省级): settle, screen and aggregate Parquet datasets partitioned by year, "
                  "on DuckDB (default) or Apache Spark — the same expressions, the same results.",
                  no_args_is_help=True)
console = table_console()

EngineOpt = Annotated[str, typer.Option("--engine", help="duckdb (default) or spark")]
MasterOpt = Annotated[str | None, typer.Option("--spark-master", help="Spark master URL (default local[*], or "
                                                "$MIFUND_SPARK_MASTER), e.g. spark://head:7077, yarn")]
RemoteOpt = Annotated[str | None, typer.Option("--spark-remote", help="Spark Connect URL, sc://host:15002")]


def _con(engine: str, master: str | None, remote: str | None):
    from mifund.storage.engines import EngineError, connect

    try:
        return connect(engine, master=master, remote=remote)
    except EngineError as e:
        raise typer.BadParameter(str(e)) from None


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="Directory for the datasets (<out>/<table>/part_year=YYYY/…)")],
    table: Annotated[list[str] | None, typer.Option("--table", help="Only these tables (repeatable)")] = None,
) -> None:
    """Write the warehouse's tables as Parquet datasets partitioned by year (claims by discharge year, claim
    lines with their claim, enrolment by year), the layout a Spark cluster reads."""
    from mifund.storage.engines import export_warehouse

    with open_warehouse(ctx) as wh:
        paths = export_warehouse(wh, out, table or None)
    for n, p in paths.items():
        files = len(list(Path(p).rglob("*.parquet")))
        console.print(f"  {n}: {p} ({files} file{'s' if files != 1 else ''})", highlight=False)


@app.command("settle")
def settle_cmd(
    data: Annotated[str, typer.Argument(help="Dataset directory with claims/, enrollment/, providers/")],
    out: Annotated[str, typer.Option("--out", help="Directory for the settled claims (partitioned by year)")],
    policy: Annotated[Path, typer.Option("--policy", help="Policy file or directory")] = Path("policies"),
    year: Annotated[int | None, typer.Option("--year", "-y", help="Only claims discharged in this year")] = None,
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    remote: RemoteOpt = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Settle every claim of a dataset (three layers, exact to the fen) on the chosen engine; write the
    results partitioned by year and print the aggregate by region × scheme × year × visit group."""
    from mifund.policy import PolicyError, load_policies
    from mifund.scale import aggregate_settlement, settle_dataset
    from mifund.settlement import SettlementError
    from mifund.views.output import render

    check_format(fmt, output)
    try:
        policies = load_policies(policy)
    except PolicyError as e:
        raise typer.BadParameter(str(e)) from None
    t = time.perf_counter()
    with console.status(f"starting {engine} …"):
        con = _con(engine, master, remote)
    try:
        with console.status(f"settling {data} on {engine} …"):
            run = settle_dataset(con, data, policies, out=out, year=year)
    except SettlementError as e:
        console.print(f"[red bold]Nothing settled:[/]\n{e}")
        raise typer.Exit(1) from None
    secs = time.perf_counter() - t
    render(aggregate_settlement(con, out), fmt, output=output, console=console, sheet_name="settled",
           title=f"Settled {run.claims:,} claims on {engine} in {secs:.1f} s → {out} (yuan)")


@app.command("screen")
def screen_cmd(
    data: Annotated[str, typer.Argument(help="Dataset directory with claims/, claim_lines/, enrollment/, "
                                             "providers/, catalog/, population/")],
    out: Annotated[Path | None, typer.Option("--out", help="Directory for hits.parquet")] = None,
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    remote: RemoteOpt = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Run the supervision rule library over a dataset on the chosen engine (hits to --out; nothing is
    stored in a warehouse: `mifund supervise screen` does that)."""
    import pandas as pd

    from mifund.scale import screen_dataset
    from mifund.views.output import render

    check_format(fmt, output)
    with console.status(f"starting {engine} …"):
        con = _con(engine, master, remote)
    with console.status(f"screening {data} on {engine} …"):
        res = screen_dataset(con, data, out=out)
    df = pd.DataFrame([{"rule": r.rule_id, "kind": r.kind, "hits": r.hits, "amount_at_stake": r.amount_at_stake,
                        "seconds": round(r.seconds, 2), "error": r.error or ""} for r in res.runs])
    render(df, fmt, output=output, console=console, sheet_name="rules",
           title=f"{res.hits.num_rows:,} hits on {engine}" + (f" → {out}/hits.parquet" if out else ""))
    if res.failures:
        raise typer.Exit(3)
