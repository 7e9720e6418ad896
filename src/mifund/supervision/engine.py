"""Screening: run every rule over the input tables, one failure never stopping the others.

API::

    from mifund.supervision import load_rules, screen
    result = screen(wh, load_rules())          # or screen(Tables(...), rules)
    result.hits      # Arrow table, one row per hit (HIT_SCHEMA), ranked by score then amount
    result.runs      # per rule: hits, amount at stake, seconds, error (None when it ran)

Before the rules run, the claim lines are checked against the claims: a line naming an unknown claim,
or dated outside its claim's admission-discharge range, is bad input. By default that is an error
(:class:`SupervisionInputError`, with counts and examples); with ``allow_bad_input=True`` those lines
are left out and the problem is reported in ``result.input_problems``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import pyarrow as pa

from mifund.supervision.checks import CHECKS, HIT_COLUMNS, Tables, text
from mifund.supervision.spec import RuleSpec, load_rules

HIT_SCHEMA = pa.schema([
    ("hit_id", pa.string()), ("rule_id", pa.string()), ("kind", pa.string()), ("case_by", pa.string()),
    ("claim_id", pa.string()), ("line_no", pa.int64()), ("person_id", pa.string()), ("provider_id", pa.string()),
    ("related_claim_id", pa.string()), ("service_date", pa.date32()), ("amount_at_stake", pa.float64()),
    ("severity", pa.float64()), ("score", pa.float64()), ("evidence", pa.string()),
    ("evidence_zh", pa.string()),
])


class SupervisionInputError(ValueError):
    """Input tables the rules cannot be trusted on (the message says what and where)."""


@dataclass
class RuleRun:
    rule_id: str
    kind: str
    name_zh: str
    hits: int = 0
    amount_at_stake: float = 0.0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class ScreenResult:
    hits: pa.Table
    runs: list[RuleRun]
    input_problems: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[RuleRun]:
        return [r for r in self.runs if r.error]


def input_problems(t: Tables, examples: int = 3) -> tuple[list[str], ibis.Table]:
    """Problems of the lines against the claims, and the lines without them."""
    ln, c = t.lines, t.claims.select(c_id="claim_id", c_admit="admit_date", c_discharge="discharge_date")
    j = ln.left_join(c, ln.claim_id == c.c_id)
    unknown = j.c_id.isnull()
    outside = j.c_id.notnull() & ((j.service_date < j.c_admit) | (j.service_date > j.c_discharge))
    probs = []
    for what, cond in (("refer to unknown claims", unknown), ("have a service_date outside their claim's "
                                                              "admit_date..discharge_date", outside)):
        bad = j.filter(cond)
        n = int(bad.count().to_pyarrow().as_py())
        if n:
            ex = bad.order_by(["claim_id", "line_no"]).limit(examples).select("claim_id", "line_no", "service_date")
            shown = ", ".join(f"{r['claim_id']} line {r['line_no']} ({r['service_date']})" for r in ex.to_pyarrow().to_pylist())
            probs.append(f"{n:,} claim line(s) {what}, e.g. {shown}")
    good = j.filter(~unknown & ~outside).select(*ln.columns)
    return probs, good


def rule_expr(t: Tables, rule: RuleSpec) -> ibis.Table:
    """One rule's hits as an Ibis expression with the columns of HIT_SCHEMA."""
    h = CHECKS[rule.check].fn(t, rule.parsed)
    if rule.effective_from:
        h = h.filter(h.service_date >= rule.effective_from)
    if rule.effective_to:
        h = h.filter(h.service_date <= rule.effective_to)
    entity = h.claim_id.fill_null(text("person ", h.person_id.fill_null("?"), " ", h.service_date.year()))
    hit_id = text(rule.id, ":", entity, ":", h.line_no.cast("string").fill_null("-"))
    hit_id = hit_id + ibis.ifelse(h.role.isnull(), "", ":" + h.role.fill_null(""))
    h = h.mutate(hit_id=hit_id, rule_id=ibis.literal(rule.id), kind=ibis.literal(rule.kind),
                 case_by=ibis.literal(rule.case_by), score=(h.severity * rule.weight).round(4),
                 amount_at_stake=h.amount_at_stake.round(2))
    return h.select(*HIT_SCHEMA.names)


def screen(source, rules: list[RuleSpec] | None = None, *, allow_bad_input: bool = False,
           progress: Callable[[str, int, int], None] | None = None) -> ScreenResult:
    """Run `rules` (default: the shipped ones) over a Warehouse or a Tables; a rule that fails is
    reported in its RuleRun and the others still run."""
    t = source if isinstance(source, Tables) else Tables.from_warehouse(source)
    rules = load_rules() if rules is None else rules
    probs, good = input_problems(t)
    if probs and not allow_bad_input:
        raise SupervisionInputError("bad claim lines (fix the data, or screen with --allow-bad-input to leave "
                                    "them out): " + "; ".join(probs))
    if probs:
        t = Tables(t.claims, good, t.enrollment, t.providers, t.catalog, t.population)
    parts, runs = [], []
    for i, rule in enumerate(rules):
        if progress:
            progress(rule.id, i, len(rules))
        run = RuleRun(rule.id, rule.kind, rule.name_zh)
        t0 = time.perf_counter()
        try:
            tab = rule_expr(t, rule).to_pyarrow().cast(HIT_SCHEMA)
            parts.append(tab)
            run.hits = tab.num_rows
            run.amount_at_stake = float(pa.compute.sum(tab["amount_at_stake"]).as_py() or 0.0)
        except Exception as e:  # one bad rule must not stop the screen; the error is reported
            run.error = f"{type(e).__name__}: {e}"
        run.seconds = time.perf_counter() - t0
        runs.append(run)
    if progress:
        progress("done", len(rules), len(rules))
    hits = pa.concat_tables(parts) if parts else HIT_SCHEMA.empty_table()
    if hits.num_rows:
        hits = hits.sort_by([("score", "descending"), ("amount_at_stake", "descending"), ("hit_id", "ascending")])
    return ScreenResult(hits, runs, probs)


__all__ = ["HIT_COLUMNS", "HIT_SCHEMA", "RuleRun", "ScreenResult", "SupervisionInputError", "screen"]
