"""What a column of a download is, for people and for JSON: its Chinese and English names with the unit,
and whether it holds money (JSON rounds money to the fen).

Names come from the indicator catalogue (mifund.ledger.catalog: name, 中文, unit) for indicator columns,
else from the page catalogues (``col_<name>``, else ``<name>``: the label the pages already use), else the
column's code. Money is what the catalogue says is yuan, or what the shared naming rule
(mifund.views.output.column_kind) calls money, plus a few settlement words it does not know; never a text
column (``fund`` names a fund: pooled, account) nor a count (``units_covered``). A percentile column of an
indicator (``balance_p5``) is the indicator's, named with the percentile."""

from __future__ import annotations

import re
from functools import lru_cache

from mifund.views.output import column_kind
from mifund.web.i18n import catalogue

UNIT_WORDS = {  # catalogue unit -> (中文, English)
    "yuan": ("元", "yuan"), "persons": ("人", "persons"), "months": ("月", "months"),
    "percent-as-ratio": ("比率", "ratio"), "ratio": ("比值", "ratio"),
}
_MONEY_WORDS = {"bill", "pocket", "deductible", "oop", "stake", "suspected", "confirmed", "recovered"}
_NOT_MONEY = {"share", "rate", "ratio", "months", "score", "growth", "count", "n", "p"}
# text columns whose names carry a money word (`fund` says which fund: pooled, account...; never yuan)
_TEXT = {"fund", "scheme", "source", "source_zh", "source_file", "scenario_file", "scenario_name", "region_code",
         "region_name", "region_level", "level", "warning_level", "rule", "rules", "status", "category", "unit",
         "actor", "action", "entity_type", "entity_id", "case_id", "run_id", "batch_id", "table_name", "detail",
         "missing_regions", "message_zh", "message_en", "figures", "record_key", "old_values", "new_values"}
# counts (of units, rows, paths...): whole numbers, never money, whatever else their names say (units_covered)
_COUNT_TOKENS = {"units", "n", "count", "rows", "hits", "claims", "paths", "persons", "insured"}
PERCENTILE = re.compile(r"(?P<base>[a-z_]+?)_p(?P<n>\d{1,2})")  # balance_p5: a percentile of balance (projections)
_PERCENTILE_OF = {"balance": "balance_end"}  # the projections' balance_p5 ... balance_p95: of the accumulated balance


@lru_cache
def _indicators() -> dict[str, tuple[str, str, str]]:
    from mifund.ledger.catalog import INDICATORS

    return {i.name: (i.zh, i.en[:1].upper() + i.en[1:], i.unit) for i in INDICATORS if i.column}


def _percentile(col: str) -> tuple[str, str] | None:
    """(indicator, percentile) of a percentile column of an indicator (balance_p95), else None."""
    m = PERCENTILE.fullmatch(str(col))
    base = _PERCENTILE_OF.get(m["base"], m["base"]) if m else None
    if base in _indicators():
        return base, m["n"]
    return None


def unit_of(col: str) -> str | None:
    """'yuan', 'persons', 'months', 'percent-as-ratio', 'ratio' or None (no unit: codes, text, dates, counts
    of things other than persons)."""
    pct = _percentile(col)
    hit = _indicators().get(pct[0] if pct else col)
    if hit:
        return hit[2]
    return "yuan" if is_money(col) else None


@lru_cache
def is_text(col: str) -> bool:
    """A column of codes, names or words (never a unit, whatever its name says)."""
    return str(col) in _TEXT


@lru_cache
def is_count(col: str) -> bool:
    """A count of things (units reported, rows read, paths): whole numbers without a money unit."""
    pct = _percentile(col)
    hit = _indicators().get(pct[0] if pct else col)
    if hit:
        return hit[2] == "persons"
    return not is_text(col) and bool(set(str(col).lower().split("_")) & _COUNT_TOKENS)


@lru_cache
def is_money(col: str) -> bool:
    pct = _percentile(col)
    hit = _indicators().get(pct[0] if pct else col)
    if hit:
        return hit[2] == "yuan"
    if is_text(col) or is_count(col):
        return False
    tokens = set(str(col).lower().split("_"))
    if tokens & _NOT_MONEY:
        return False
    return column_kind(str(col)) == "money" or bool(tokens & _MONEY_WORDS)


def names(col: str) -> tuple[str, str]:
    """(中文 name, English name) of a column, without unit."""
    hit = _indicators().get(col)
    if hit:
        return hit[0], hit[1]
    pct = _percentile(col)
    out = []
    for lang in ("zh", "en"):
        cat = catalogue(lang)
        if pct and f"col_{col}" not in cat:
            base = names(pct[0])[0 if lang == "zh" else 1]
            out.append(cat["col_percentile"].format(name=base, n=pct[1]))
        else:
            out.append(cat.get(f"col_{col}") or cat.get(col) or col)
    return out[0], out[1]


def header(col: str, numeric: bool = True) -> str:
    """Bilingual header with the unit: '基金收入（元）/ Fund income (yuan)'; the code where no name is known.
    A column that holds no numbers (`numeric` False) gets no unit, whatever its name says."""
    zh, en = names(col)
    unit = unit_of(col) if numeric and not is_text(col) else None
    if unit:
        uzh, uen = UNIT_WORDS[unit]
        if f"（{uzh}" not in zh:  # a page label may carry it already: 住院费用（元）
            zh = f"{zh}（{uzh}）"
        if f"({uen}" not in en:
            en = f"{en} ({uen})"
    return zh if zh == en else f"{zh} / {en}"
