"""`mifund accounts`: employee individual accounts before and after the 2021 reform (国办发〔2021〕14号).

    mifund accounts simulate            # pooled fund's gain, account flows, idle balance, and a reconciliation
                                        # with the ledger and the stored settlement's account_paid
    mifund accounts compare             # who gains and who loses (each year's gain): by age band, category,
                                        # chronic status, family
    mifund accounts cover               # commercial cover: premiums, claims, loss ratio, out-of-pocket reduction
    mifund accounts segments            # member risk segments (explicit bands or k-means)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mifund.cli_options import DbOpt, FormatOpt, OutputOpt, check_format, err, open_warehouse
from mifund.views.output import table_console, write_tables

app = typer.Typer(help="Employee individual accounts (个人账户): the 2021 reform, family sharing (家庭共济), "
                       "commercial cover (社商合作).", no_args_is_help=True)

RulesOpt = Annotated[Path | None, typer.Option(
    "--rules", help="Account-rule YAML file or directory (default: the shipped mifund/accounts/policies)")]
RegionOpt = Annotated[str | None, typer.Option(
    "--region", help="Simulate the members enrolled in this region or below it, under the account rules of "
                     "its city (default: the city of the warehouse's most common insured region, where the "
                     "region tree holds it, else every member)")]
OpeningOpt = Annotated[str, typer.Option(
    "--opening", help="Opening balances: ledger (the county's account balance from fund_ledger, shared by "
                      "old-regime credits) | zero")]
FamilyUseOpt = Annotated[float, typer.Option(
    "--family-use", min=0.0, max=1.0,
    help="Share of the possible family sharing that families use, 0 to 1 (default 1 = all: an upper bound, "
         "which the reconciliation note names with its part of the gap with the ledger)")]
PolicyCheckOpt = Annotated[Path | None, typer.Option(
    "--policy", help="Benefit policy file or directory whose outpatient mutual-aid figures the account rules "
                     "must agree with (default: the benefit policies mifund uses; skipped where there are none)")]
YearOpt = Annotated[list[int] | None, typer.Option("--year", "-y", help="Simulate these years (default: all "
                                                                         "enrolment years). Repeatable.")]

PERCENT = {"loss_ratio", "loser_share", "dormant_share", "beyond_share", "cash_change_share", "oop_reduction_share",
           "retired_share", "chronic_share", "oop_share_of_cost", "simulated_share_of_ledger",
           "settlement_share_of_simulated"}


def _check_policy(rules, policy_path: Path | None, region: str) -> None:
    """Exit 2 naming both files where the account rules' mutual-aid figures and the benefit policy's
    differ (see mifund.accounts.consistency for why there are two copies)."""
    from mifund.accounts.consistency import check_against_policies
    from mifund.policy import PolicyError, default_policy_dir, load_policies

    path = policy_path or default_policy_dir()
    if policy_path is None and not path.exists():
        err.print(f"[yellow]No benefit policies at {path}: the mutual-aid figures were not checked.[/]")
        return
    try:
        policies = load_policies(path)
    except PolicyError as e:
        err.print(f"[red]Benefit policy:[/]\n{e}")
        raise typer.Exit(2) from None
    problems = check_against_policies(rules, policies, region)
    if problems:
        err.print("[red]The account rules and the benefit policy disagree on outpatient mutual aid:[/]\n"
                  + "\n".join(problems))
        raise typer.Exit(2)


def _members_region(wh, region: str | None, rules) -> str | None:
    """Whose members are simulated: the --region given (it and everything below it), else the region of
    the rules file (the city) where the region tree holds it, else None (every member: a warehouse without
    a tree cannot say which members a city's rules are for)."""
    if region is not None:
        return region
    r = wh.table("regions")
    held = wh.to_pandas(r.filter(r.region_code == rules.region_code).select("region_code"))
    return rules.region_code if len(held) else None


def _said(wh, sim) -> str:
    """One line naming the members simulated and the rules they were simulated under."""
    from mifund.ledger.regions import region_names

    n = sim.members.person_id.nunique()
    if sim.region is None:
        return (f"Simulated every member of the warehouse ({n:,}) under the account rules of "
                f"{sim.region_code}: the region tree does not hold {sim.region_code}.")
    name = region_names(wh).get(sim.region, "")
    return (f"Simulated the {n:,} members enrolled in {sim.region}{f' {name}' if name else ''} or below it, "
            f"under the account rules of {sim.region_code}.")


def _whose(sim) -> str:
    """Whose figures, for a title: the members of a region and below, or every member."""
    return "Every member" if sim.region is None else f"Members of {sim.region} and below"


def _run(ctx, db, rules_path, region, opening, years, family_use: float = 1.0, policy: Path | None = None):
    """Open the warehouse read-only, load the rules (checked against the benefit policy), simulate both
    regimes (with progress) for the members of `region` and below (``_members_region``), and say whose."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from mifund.accounts.engine import simulate
    from mifund.accounts.rules import AccountRulesError, load_account_rules

    if opening not in ("ledger", "zero"):
        raise typer.BadParameter(f"--opening is ledger or zero, not {opening!r}")
    wh = open_warehouse(ctx, db, hint="Run `mifund import …` or `mifund demo run` first.")
    explicit = region
    try:
        if region is None:
            e = wh.table("enrollment")
            top = wh.to_pandas(e.group_by("region_code").aggregate(n=e.count()).order_by(e.count().desc()).limit(1))
            if top.empty:
                err.print("[red]The warehouse has no enrolment.[/]")
                raise typer.Exit(2)
            region = str(top.region_code.iloc[0])
        try:
            rules = load_account_rules(rules_path, region_code=region)
        except AccountRulesError as e:
            err.print(f"[red]Account rules:[/]\n{e}")
            raise typer.Exit(2) from None
        _check_policy(rules, policy, region)
        members_region = _members_region(wh, explicit, rules)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                      transient=True) as prog:
            task = prog.add_task("simulating accounts", total=None)
            try:
                sim = simulate(wh, rules, years=years or None, opening=opening, family_use=family_use,
                               region=members_region,
                               progress=lambda s: prog.update(task, description=f"simulated {s}"))
            except ValueError as e:
                prog.stop()
                err.print(f"[red]Cannot simulate:[/] {e}")
                raise typer.Exit(2) from None
        err.print(_said(wh, sim), highlight=False)
        return wh, rules, sim
    except BaseException:
        wh.close()
        raise


def _emit(tables: dict[str, pd.DataFrame], fmt: str, output: Path | None, *, charts: dict | None = None,
          titles: dict[str, str] | None = None) -> None:
    """One or more tables as one answer (``views.output.write_tables``): Rich tables; json: one object keyed
    by table name, each a list of rows; csv: to stdout one table whose first column `table` names each
    row's table, to a file one file per table (FILE for the first, FILE_<name>.csv for the others); xlsx:
    one sheet each, with number formats and native charts. json and csv figures to 4 decimals."""
    if fmt in ("json", "csv"):
        tables = {n: df.round(4) for n, df in tables.items()}
    write_tables(tables, fmt, output, csv_files=True, charts=charts, number_formats=True, titles=titles,
                 percent_cols=PERCENT)
    if fmt == "xlsx":
        err.print(f"wrote {output}")


@app.command("simulate")
def simulate_cmd(
    ctx: typer.Context,
    db: DbOpt = None,
    rules: RulesOpt = None,
    policy: PolicyCheckOpt = None,
    region: RegionOpt = None,
    opening: OpeningOpt = "ledger",
    year: YearOpt = None,
    family_use: FamilyUseOpt = 1.0,
    idle_years: Annotated[int | None, typer.Option(
        "--idle-years", min=1, help="N for the idle balance: dormant = unused in the last N simulated years; "
                             "beyond = balance above N years of the holder's use (default 3)")] = None,
    members_out: Annotated[Path | None, typer.Option(
        "--members-out", help="Also write the member table (person, year, regime) to this .parquet/.csv")] = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Simulate every member under the old and the new account rules: per year, the pooled fund's extra
    income and outpatient spending and the members' net gain (flows of the year: conservation_residual is 0
    every year), account credits and spending, opening and closing balances (basis: start / end of year),
    and the idle balance; and reconcile the simulated account spending (own claims + family sharing) and
    year-end balance with the ledger's, and the spending on own claims with the stored settlement's
    account_paid."""
    from mifund.accounts.analysis import COLUMN_NOTES, idle_balance, pooled_summary
    from mifund.accounts.reconcile import largest_gap, reconcile

    check_format(fmt, output)
    wh, rules_, sim = _run(ctx, db, rules, region, opening, year, family_use, policy)
    with wh:
        summary = pooled_summary(sim)
        long = summary.set_index("year").T.reset_index().rename(columns={"index": "measure"})
        long.columns = [str(c) for c in long.columns]
        # a flow of the year (adds up over years) or a balance at the start / end of the year (a stock)
        long.insert(1, "basis", [COLUMN_NOTES.get(m, ("", ""))[0] for m in long.measure])
        idle = idle_balance(sim, idle_years)
        if idle_years is not None and idle_years > len(sim.years):  # idle_balance can only look back so far
            n = len(sim.years)
            err.print(f"[yellow]--idle-years {idle_years} is more than the {n} simulated year(s) "
                      f"({', '.join(map(str, sim.years))}): dormant means unused in the {n} simulated year(s) "
                      f"(dormant_years {n}), not in {idle_years}; the balance beyond {idle_years} years of use "
                      "still looks that far ahead. Simulate more years (--year) for a longer window.[/]",
                      highlight=False)
        if members_out is not None:
            if members_out.suffix == ".csv":
                sim.members.to_csv(members_out, index=False)
            else:
                sim.members.to_parquet(members_out, index=False)
            err.print(f"wrote {members_out} ({len(sim.members):,} rows)")
        rec = reconcile(sim, wh)
        note = largest_gap(rec, family_use=sim.family_use)
        tables = {"pooled_fund": long, "idle_balance": idle, "reconciliation": rec}
        if fmt == "table":  # for people: figures and differences as two tables that fit a page
            people = rec.astype({"year": str})  # a label, so the text columns are never squeezed
            split = people.columns.get_loc("settlement") + 1
            keys = ["year", "measure"]
            tables["reconciliation"] = people.iloc[:, :split]
            tables["reconciliation_differences"] = people[keys + list(people.columns[split:])]
        else:  # machines get the note as a one-row table; people get it as a line below the tables
            tables["reconciliation_note"] = pd.DataFrame({"note": [note]})
        _emit(tables, fmt, output,
              titles={"pooled_fund": f"{_whose(sim)}: old vs new account rules (transition "
                                     f"{rules_.transition_date}), yuan: flows in each year (the year's gain), "
                                     "and balances at the start and end of each year",
                      "idle_balance": "Idle balance in individual accounts at the end of the last year",
                      "reconciliation": "Account spending in the year and year-end balance: simulator vs ledger "
                                        "(whole spending, own claims + family sharing) and vs stored "
                                        "settlement (account_paid: own claims only), yuan",
                      "reconciliation_differences": "Differences (first − second) and shares (first ÷ second)"})
        if fmt == "table":
            table_console().print(note)
        elif output is not None:
            err.print(note)


@app.command("compare")
def compare_cmd(
    ctx: typer.Context,
    db: DbOpt = None,
    rules: RulesOpt = None,
    policy: PolicyCheckOpt = None,
    region: RegionOpt = None,
    opening: OpeningOpt = "ledger",
    year: YearOpt = None,
    family_use: FamilyUseOpt = 1.0,
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="age_band | category | chronic | family_type (repeatable; default all four)")] = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="Only employee or resident members")] = None,
    family: Annotated[bool, typer.Option("--family/--no-family",
                                         help="Also the family-sharing effect on families with a chronically "
                                              "ill or elderly member")] = True,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Who gains and who loses from the new rules, by group: a member's net gain in a year = the change in
    their account during the year (closing − opening) − the change in their cash outlays, new rules minus
    old, before family transfers (money passed between a family's members, in its own columns); and per
    family. Every gain and change is a flow of its year (one row per member-year; they add up over years);
    closing_gap and the closing balances are year-end balances, which carry the earlier years' gains."""
    from mifund.accounts.analysis import (
        DIMENSIONS,
        column_notes,
        family_effect,
        family_gains,
        gains_losses,
        member_changes,
    )

    check_format(fmt, output)
    dims = by or list(DIMENSIONS)
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad:
        raise typer.BadParameter(f"--by must be among {', '.join(DIMENSIONS)}")
    if scheme not in (None, "employee", "resident"):
        raise typer.BadParameter(f"--scheme is employee or resident, not {scheme!r}")
    wh, _rules, sim = _run(ctx, db, rules, region, opening, year, family_use, policy)
    with wh:
        ch = member_changes(sim)
        tables = {"gains_losses": gains_losses(ch, dims, scheme=scheme)}
        if family:
            tables["family_gains"] = family_gains(ch)
            tables["family_effect"] = family_effect(ch if scheme is None else ch[ch.scheme == scheme])
        note = ("Net gains, changes, cash and transfers are flows within each year (new rules − old rules; "
                "one observation per member-year, they add up over years). closing_gap and closing balances "
                "are year-end balances: they carry the earlier years' gains and are not the year's gain.")
        if fmt != "table":  # machines get what every column is as a table of its own
            tables["column_notes"] = column_notes(tables)
        charts = {"gains_losses": {"category": "group", "values": ["net_gain_mean"], "split": "dimension",
                                   "title": "Mean net gain in a year from the new rules (yuan)"},
                  "family_effect": {"category": "family_kind", "values": ["cash_old_mean", "cash_new_mean"],
                                    "title": "Family cash outlays, old vs new rules (yuan)"}}
        _emit(tables, fmt, output, charts=charts,
              titles={"gains_losses": "Net gain per member-year under the new rules (the year's flow: change "
                                      "during the year), before family transfers (yuan)",
                      "family_gains": "Net gain per family-year (the year's flow; transfers within the family "
                                      "cancel), yuan",
                      "family_effect": "Family sharing: family cash outlays in the year, and year-end balances "
                                       "(yuan)"})
        if fmt == "table":
            table_console().print(note)


@app.command("cover")
def cover_cmd(
    ctx: typer.Context,
    products: Annotated[Path | None, typer.Option(
        "--products", help="Product file (schema mifund.cover/1; default: the shipped illustrative example)")] = None,
    db: DbOpt = None,
    rules: RulesOpt = None,
    policy: PolicyCheckOpt = None,
    region: RegionOpt = None,
    opening: OpeningOpt = "ledger",
    year: YearOpt = None,
    by: Annotated[str, typer.Option("--by", help="Group for the detail table: age_band | category | chronic")] = "age_band",
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Commercial cover: premiums, claims it would pay on what the three layers leave, loss ratio and the
    out-of-pocket reduction by group, for each product and take-up scenario side by side."""
    from mifund.accounts.cover import CoverError, evaluate, load_cover

    check_format(fmt, output)
    if by not in ("age_band", "category", "chronic"):
        raise typer.BadParameter("--by is age_band, category or chronic")
    try:
        cover = load_cover(products)
    except CoverError as e:
        err.print(f"[red]Product file:[/]\n{e}")
        raise typer.Exit(2) from None
    wh, rules_, sim = _run(ctx, db, rules, region, opening, year, policy=policy)
    with wh:
        summary, groups = evaluate(sim, cover, wh, rules_, by=by)
        _emit({"cover": summary, "cover_by_group": groups}, fmt, output,
              charts={"cover": {"category": "scenario", "values": ["loss_ratio"], "split": "product",
                                "title": "Loss ratio by product and scenario"}},
              titles={"cover": f"{cover.name}: premiums, claims, loss ratio (yuan)",
                      "cover_by_group": f"By {by}"})


@app.command("segments")
def segments_cmd(
    ctx: typer.Context,
    db: DbOpt = None,
    rules: RulesOpt = None,
    policy: PolicyCheckOpt = None,
    region: RegionOpt = None,
    opening: OpeningOpt = "ledger",
    year: YearOpt = None,
    method: Annotated[str, typer.Option("--method", help="bands (explicit) | kmeans")] = "bands",
    k: Annotated[int, typer.Option("--k", min=1, help="Clusters for kmeans (1 or more)")] = 6,
    min_members: Annotated[int, typer.Option("--min-members", min=1,
                                             help="Smaller band segments go to 'other'")] = 20,
    regime: Annotated[str, typer.Option("--regime", help="new | old")] = "new",
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Member risk segments: expected cost, account balance and unmet out-of-pocket of each."""
    from mifund.accounts.analysis import segments

    check_format(fmt, output)
    if method not in ("bands", "kmeans") or regime not in ("new", "old"):
        raise typer.BadParameter("--method is bands or kmeans; --regime is new or old")
    wh, _rules, sim = _run(ctx, db, rules, region, opening, year, policy=policy)
    with wh:
        try:
            seg = segments(sim, regime=regime, method=method, k=k, min_members=min_members)
        except ValueError as e:
            err.print(f"[red]Cannot segment:[/] {e}")
            raise typer.Exit(2) from None
        _emit({"segments": seg}, fmt, output,
              charts={"segments": {"category": "segment", "values": ["expected_cost", "unmet_out_of_pocket_mean"],
                                   "title": "Expected cost and unmet out-of-pocket by segment (yuan)"}},
              titles={"segments": f"Member segments ({method}, {regime} rules), yuan per member"})
