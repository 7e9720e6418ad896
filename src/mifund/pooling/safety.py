"""The safety line (安全线) in months of payment capacity, resolved from the early-warning rules.

Why here and not a number: the line is policy (人社部发〔2009〕67号 and a city's own bands), kept once in
the warning rules (rule ``payable_months_low``) with per-scheme, per-fund and per-region overrides and a
user's ``--rules`` file laid over the shipped one. Pooling, transfers and projection all read it through
``resolve``, so one region × scheme × fund gets the same line in every command, and every title says
which level (red 3 months, orange 6 months …) it used.

The precedence of overrides is the warning module's own (``mifund.ledger.warnings._Params``), reused
rather than re-implemented so that the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

RULE = "payable_months_low"


class SafetyLineError(ValueError):
    pass


@dataclass(frozen=True)
class SafetyLine:
    """The line for a set of rows (region × scheme × fund): ``months`` per row, and what it came from."""

    months: np.ndarray  # (rows,)
    level: str
    rule: str = RULE
    rules_file: str | None = None

    def label(self) -> str:
        """'3 months (red level of payable_months_low)', or 'red level …: 2–3 months by region'."""
        lo, hi = float(np.min(self.months)), float(np.max(self.months))
        where = f"{self.level} level of {self.rule}" + (f", {Path(self.rules_file).name}" if self.rules_file else "")
        if lo == hi:
            return f"{lo:g} months ({where})"
        return f"{lo:g}–{hi:g} months by region ({where})"


def resolve(rows: pd.DataFrame, *, level: str, rules: str | Path | None = None, rule: str = RULE) -> SafetyLine:
    """The line (months) of `level` for each row of `rows` (columns region_code, scheme, fund), after the
    rule's overrides for those rows. Errors (SafetyLineError) name the rules file, the rule and the level."""
    from mifund.ledger.warning_rules import LEVELS, load_rules
    from mifund.ledger.warnings import _Params

    if level not in LEVELS:
        raise SafetyLineError(f"safety line level {level!r}: not one of {', '.join(LEVELS)}")
    wr = load_rules(rules)  # WarningRulesError names the file and key of a bad rules file
    try:
        r = wr.rule(rule)
    except AttributeError:
        raise SafetyLineError(f"the warning rules have no rule {rule!r}") from None
    rows = rows[["region_code", "scheme", "fund"]].astype(str).reset_index(drop=True)
    params = _Params(rule, r, rows)
    months = params.value[level]
    src = str(rules) if rules else "the shipped warning rules"
    off = np.isnan(months) | ~params.enabled
    if off.any():
        bad = rows[off].head(5).apply(lambda x: f"{x.region_code} {x.scheme}/{x.fund}", axis=1)
        raise SafetyLineError(f"{src}: {rule} has no {level} level (or is disabled) for {', '.join(bad)}; "
                              "give it there or choose another level")
    return SafetyLine(months.astype(float), level, rule, str(rules) if rules else None)

