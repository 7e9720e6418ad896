"""`mifund supervise`: rule screening, cases, provider profiles, duplicate enrolment, evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mifund.cli_options import (
    DbOpt,
    FormatOpt,
    OutputOpt,
    UserOpt,
    check_format,
    err,
    open_warehouse,
    settings,
)
from mifund.views.output import render, table_console, write_tables

app = typer.Typer(help="Intelligent supervision (智能监管): rule screening, cases, provider profiling, "
                  "duplicate enrolment, evaluation against labels.", no_args_is_help=True)
console = table_console()

RulesOpt = Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule files or directories (a rule with a shipped id replaces it). Repeatable.")]
OnlyOpt = Annotated[list[str] | None, typer.Option("--rule", help="Run only this rule id. Repeatable.")]
CASES_TOP = 30  # cases in the table view of `supervise cases` unless --top is given
# how to give what a refused move lacks (CaseError.hint), after the refusal
CASE_HINTS = {"amount": {"en": " (give it with --amount)", "zh": "（用 --amount 填写）"},
              "over_suspected": {"en": " (--over-suspected --note ...)", "zh": "（--over-suspected --note ...）"}}


def _rules(rules: list[Path] | None, only: list[str] | None):
    from mifund.supervision.spec import RuleFileError, load_rules

    try:
        return load_rules(rules, only=only)
    except RuleFileError as e:
        err.print(f"[red bold]{e}[/]")
        raise typer.Exit(1) from None


def _screen(wh, rules, allow_bad_input: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mifund.supervision.engine import SupervisionInputError, screen

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("screen", total=len(rules))

        def progress(rule_id: str, done: int, total: int) -> None:
            bar.update(task, completed=done, description=f"rule {rule_id}")

        try:
            return screen(wh, rules, allow_bad_input=allow_bad_input, progress=progress)
        except SupervisionInputError as e:
            bar.stop()
            err.print(f"[red bold]{e}[/]")
            raise typer.Exit(1) from None


@app.command("rules")
def rules_cmd(rules: RulesOpt = None, fmt: FormatOpt = "table", output: OutputOpt = None) -> None:
    """List the rules (id, names, check, parameters, case grouping, weight)."""
    check_format(fmt, output)
    rs = _rules(rules, None)
    df = pd.DataFrame([{"id": r.id, "kind": r.kind, "name_zh": r.name_zh, "name_en": r.name_en, "check": r.check,
                        "params": r.parsed.model_dump_json(), "case_by": r.case_by, "weight": r.weight,
                        "source": r.source_file} for r in rs])
    render(df, fmt, output=output, title="Supervision rules 监管规则", console=console)


@app.command("screen")
def screen_cmd(
    ctx: typer.Context, db: DbOpt = None, user: UserOpt = None, rules: RulesOpt = None, rule: OnlyOpt = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="Write hits and cases to the warehouse")] = True,
    allow_bad_input: Annotated[bool, typer.Option("--allow-bad-input", help="Leave out claim lines with unknown claims or dates outside their claim (reported) instead of stopping")] = False,
    top: Annotated[int, typer.Option("--top", help="Hits to show (table format)")] = 20,
    fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """Run the rules over the warehouse; store the hits and roll them up into cases (one transaction)."""
    check_format(fmt, output)
    rs = _rules(rules, rule)
    s = settings(ctx, db, user)
    with open_warehouse(ctx, db, read_only=not store) as wh:
        res = _screen(wh, rs, allow_bad_input)
        run_id = None
        if store:
            from mifund.supervision.store import store_screen

            run_id = store_screen(wh, res, actor=s.user)
    for p in res.input_problems:
        err.print(f"[yellow]left out:[/] {p}")
    for r in res.failures:
        err.print(f"[red]rule {r.rule_id} failed:[/] {r.error}")
    if fmt != "table":
        from mifund.supervision.export import tidy, write_json

        hits = res.hits.to_pandas()
        if fmt == "json":
            write_json(hits, output)
        else:
            render(tidy(hits), fmt, output=output, console=console, sheet_name="hits")
        return
    summary = pd.DataFrame([{"rule": r.rule_id, "名称": r.name_zh, "kind": r.kind, "hits": r.hits,
                             "amount_at_stake": r.amount_at_stake, "seconds": round(r.seconds, 2),
                             "status": "FAILED" if r.error else "ok"} for r in res.runs])
    render(summary, "table", title=f"Screen {run_id or '(not stored)'}: {res.hits.num_rows:,} hits", console=console)
    h = res.hits.to_pandas().head(top)
    h["line_no"] = h.line_no.astype("Int64")
    if len(h):
        render(h[["rule_id", "claim_id", "line_no", "provider_id", "amount_at_stake", "score", "evidence"]], "table",
               title=f"Top {len(h)} hits", console=console)
    if res.failures:
        raise typer.Exit(3)


@app.command("cases")
def cases_cmd(
    ctx: typer.Context,
    db: DbOpt = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="open | in_review | confirmed | dismissed | recovered. Repeatable.")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="provider | person")] = None,
    top: Annotated[int | None, typer.Option("--top", help=f"Cases to show (0 = all; default: {CASES_TOP} in the "
                                                          "table, all in csv / json / xlsx)")] = None,
    fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """Cases ranked by expected amount (score x suspected amount), then score."""
    from mifund.supervision.store import ENTITY_TYPES, STATUSES, cases

    check_format(fmt, output)
    problems = [f"--status: unknown status {x!r}; one of {', '.join(STATUSES)}" for x in status or []
                if x not in STATUSES]
    if entity is not None and entity not in ENTITY_TYPES:
        problems.append(f"--entity: unknown entity {entity!r}; one of {', '.join(ENTITY_TYPES)}")
    if top is not None and top < 0:
        problems.append("--top: must be 0 (all) or more")
    if problems:  # a filter that matches nothing by mistake must not read as "no cases"
        for p in problems:
            err.print(f"[red bold]{p}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    with open_warehouse(ctx, db) as wh:
        df = cases(wh, status=status, entity_type=entity)
    n = len(df)
    if top is None:  # machine formats get every case unless --top says otherwise
        top = CASES_TOP if fmt == "table" else 0
    if top:
        df = df.head(top)
    title = "Supervision cases 监管案件" + (f": {len(df):,} of {n:,} shown (--top 0 for all)" if len(df) < n else "")
    render(df, fmt, output=output, title=title, console=console, sheet_name="cases")


@app.command("case")
def case_cmd(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. P:SYN3601020001 (provider) or R:<person_id>")],
    action: Annotated[str | None, typer.Argument(help="show (default) | move")] = None,
    to: Annotated[str | None, typer.Argument(help="For move: in_review | confirmed | dismissed | recovered | open")] = None,
    amount: Annotated[float | None, typer.Option("--amount", help="Yuan confirmed (confirmed: required, 0 or more) or "
                                                                  "recovered this time (recovered: at least 0.01; "
                                                                  "recoveries add up to at most the amount confirmed; "
                                                                  "a negative amount with --note reverses recoveries "
                                                                  "recorded by mistake)")] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note for the case history")] = None,
    over_suspected: Annotated[bool, typer.Option("--over-suspected", help="Confirm an amount above the case's "
                                                 "suspected amount (the review found more; needs --note)")] = False,
    db: DbOpt = None, user: UserOpt = None, fmt: FormatOpt = "table", output: OutputOpt = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the evidence, the history's system notes and "
                                                     "refusals in the table: en | zh (machine formats carry "
                                                     "both: evidence / evidence_zh, note / note_zh)")] = "en",
) -> None:
    """Show a case (row, hits, history) or move it: `case ID move in_review --note ...`,
    `case ID move confirmed --amount 2000`, `case ID move recovered --amount 1234.5` (again for each
    further partial recovery; `--amount -900 --note "cheque bounced"` reverses 900 of them). --format
    json|csv|xlsx exports the case, its hits and its history."""
    from mifund.supervision.store import CaseError, case_history, case_hits, get_case, move_case

    check_format(fmt, output)
    if lang not in ("en", "zh"):
        raise typer.BadParameter("--lang must be en or zh")
    action = action or "show"
    if action not in ("show", "move"):
        raise typer.BadParameter("action must be show or move")
    s = settings(ctx, db, user)
    try:
        if action == "move":
            if not to:
                raise typer.BadParameter("move needs a status: in_review | confirmed | dismissed | recovered | open")
            with open_warehouse(ctx, db, read_only=False) as wh:
                new = move_case(wh, case_id, to, actor=s.user, amount=amount, note=note,
                                over_suspected=over_suspected)
            err.print(f"case {case_id} is now [bold]{new['status']}[/]")
        with open_warehouse(ctx, db) as wh:
            case = get_case(wh, case_id)
            hits, hist = case_hits(wh, case_id), case_history(wh, case_id)
    except CaseError as e:
        hint = CASE_HINTS[e.hint][lang] if e.hint else ""
        err.print(f"[red bold]{e.text(lang)}{hint}[/]", highlight=False)
        raise typer.Exit(1) from None
    if fmt != "table":
        from mifund.supervision.export import tidy

        write_tables({"case": pd.DataFrame([case]), "hits": hits, "history": hist}, fmt, output, single=("case",),
                     prepare=tidy)
        if output is not None:
            err.print(f"wrote {output}")
        return
    from mifund.supervision.export import tidy

    render(pd.DataFrame([case]), "table", title=f"Case {case_id}", console=console)
    hits = tidy(hits)
    if lang == "zh":  # rows stored before the Chinese texts were kept show the English ones
        hits["evidence"] = hits.evidence_zh.where(hits.evidence_zh.notna(), hits.evidence)
        hist["note"] = hist.note_zh.where(hist.note_zh.notna(), hist.note)
    render(hits[["rule_id", "claim_id", "line_no", "service_date", "amount_at_stake", "score", "evidence"]], "table",
           title=f"{len(hits)} hits", console=console)
    render(hist[["event_at", "actor", "action", "from_status", "to_status", "amount", "note"]], "table",
           title="History", console=console)


@app.command("recovered")
def recovered_cmd(ctx: typer.Context, db: DbOpt = None, fmt: FormatOpt = "table", output: OutputOpt = None) -> None:
    """Suspected, confirmed and recovered funds by region and rule."""
    from mifund.supervision.store import recovered_report

    check_format(fmt, output)
    with open_warehouse(ctx, db) as wh:
        df = recovered_report(wh)
    render(df, fmt, output=output, title="Recovered funds by region and rule 追回基金", console=console)


@app.command("providers")
def providers_cmd(
    ctx: typer.Context, db: DbOpt = None, top: Annotated[int, typer.Option("--top", help="Providers to show (0 = all)")] = 20,
    fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """Provider profiles: diagnosis-adjusted cost, case mix, LOS, readmissions, class-C share, cases per
    day; robust z within peer groups (level x type); Isolation Forest score of the deviations above the
    peers (being cheaper or quieter than peers is not suspicious), with the features above the peers."""
    from mifund.supervision.profiling import provider_profiles

    check_format(fmt, output)
    with open_warehouse(ctx, db) as wh:
        df = provider_profiles(wh)
    if top:
        df = df.head(top)
    if fmt == "table":
        df = df[["rank", "provider_id", "name", "peer_group", "cases", "cost_per_case", "cost_index",
                 "case_mix_index", "los_index", "readmission_rate", "class_c_share", "score", "drivers"]]
    render(df, fmt, output=output, title="Provider profiles 医疗机构画像", console=console)


@app.command("enrolment")
def enrolment_cmd(
    ctx: typer.Context,
    db: DbOpt = None,
    persons: Annotated[bool, typer.Option("--persons", help="List the duplicated person-years instead")] = False,
    fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """Duplicate enrolment (重复参保) and its effect on each region's insured rate."""
    from mifund.supervision.checks import Tables
    from mifund.supervision.enrolment import duplicate_persons, insured_rate_effect

    check_format(fmt, output)
    with open_warehouse(ctx, db) as wh:
        df = (wh.to_pandas(duplicate_persons(Tables.from_warehouse(wh))) if persons else insured_rate_effect(wh))
    render(df, fmt, output=output, title="Duplicate enrolment 重复参保", console=console,
           percent_cols={"insured_rate", "insured_rate_dedup", "rate_effect"})


@app.command("evaluate")
def evaluate_cmd(
    ctx: typer.Context,
    labels: Annotated[Path, typer.Option("--labels", help="CSV/XLSX/Parquet: claim_id,kind | provider_id,kind | person_id,year,kind (optional is_abuse)")],
    db: DbOpt = None, rules: RulesOpt = None, rule: OnlyOpt = None,
    hash_person_ids: Annotated[bool, typer.Option("--hash-person-ids", help="The labels hold raw citizen IDs: hash them with the installation key")] = False,
    allow_bad_input: Annotated[bool, typer.Option("--allow-bad-input")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse labels that match nothing (ids not in the "
                                                          "warehouse, kinds of no rule) instead of warning")] = False,
    fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """Recall per kind, precision, precision at k, ROC AUC and AUPRC of a fresh screen (nothing stored)
    and of the provider profile score. Labels whose id is not in the warehouse, or whose kind is no rule's,
    are named (a warning; an error with --strict)."""
    from mifund.supervision.evaluate import evaluate_warehouse

    check_format(fmt, output)
    rs = _rules(rules, rule)
    key = None
    if hash_person_ids:  # the warehouse's own key, never a new one: a read-only evaluation writes no key file
        from mifund.ingest import load_or_create_id_key

        st = settings(ctx, db)
        if not st.id_key and not Path(st.key_file()).exists():
            err.print(f"[red bold]--hash-person-ids: no ID-hash key (MIFUND_ID_KEY is not set and there is no key "
                      f"file {st.key_file()}); labels hashed with a new key would match nobody. Use the key this "
                      "warehouse was imported with[/]", highlight=False, soft_wrap=True)
            raise typer.Exit(1)
        key = load_or_create_id_key(st)
    with open_warehouse(ctx, db) as wh:
        if key is not None:
            from mifund.ingest.idnumber import IdKeyMismatch, check_id_key, recorded_fingerprint

            if recorded_fingerprint(wh) is None:
                err.print("[red bold]--hash-person-ids: this warehouse records no ID-hash key (its person ids "
                          "were not hashed on import), so hashed labels would match nobody; give the person ids "
                          "as the warehouse holds them, without --hash-person-ids[/]", highlight=False,
                          soft_wrap=True)
                raise typer.Exit(1)
            try:
                check_id_key(wh, key, record=False)
            except IdKeyMismatch as e:
                err.print(f"[red bold]--hash-person-ids: {e}[/]", highlight=False, soft_wrap=True)
                raise typer.Exit(1) from None
        try:
            rep = evaluate_warehouse(wh, labels, rs, id_key=key, allow_bad_input=allow_bad_input)
        except (FileNotFoundError, ValueError) as e:
            err.print(f"[red bold]{e}[/]")
            raise typer.Exit(1) from None
    for p in rep.problems:
        err.print(f"[{'red bold' if strict else 'yellow'}]labels: {p}[/]", highlight=False, soft_wrap=True)
    if strict and rep.problems:
        raise typer.Exit(1)
    if fmt == "table":
        render(rep.kinds, "table", title="Recall and precision per kind", console=console,
               percent_cols={"recall", "precision", "precision_same_kind"})
        render(rep.metrics, "table", title="Ranking metrics", console=console)
        return
    df = pd.concat([rep.kinds.assign(table="kinds"), rep.metrics.assign(table="metrics")], ignore_index=True)
    render(df, fmt, output=output, console=console)
