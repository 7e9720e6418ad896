"""What a column of a download is, for people and for JSON: its Chinese and English names with the unit,
and whether it holds money (JSON rounds money to the fen).

Names come from the indicator catalogue (mifund.ledger.catalog: name, 中文, unit) for indicator columns,
else from the page catalogues (``col_<name>``, else ``<name>``: the label the pages already use), else the
column's code. Money is what the catalogue says is yuan, or what the shared naming rule
(mifund.views.output.column_kind) calls money, plus a few settlement words it does not know."""

from __future__ import annotations

from functools import lru_cache

from mifund.views.output import column_kind
from mifund.web.i18n import catalogue

UNIT_WORDS = {  # catalogue unit -> (中文, English)
    "yuan": ("元", "yuan"), "persons": ("人", "persons"), "months": ("月", "months"),
    "percent-as-ratio": ("比率", "ratio"), "ratio": ("比值", "ratio"),
}
_MONEY_WORDS = {"bill", "pocket", "deductible", "oop", "stake", "suspected", "confirmed", "recovered"}
_NOT_MONEY = {"share", "rate", "ratio", "months", "score", "growth", "count", "n", "p"}


@lru_cache
def _indicators() -> dict[str, tuple[str, str, str]]:
    from mifund.ledger.catalog import INDICATORS

    return {i.name: (i.zh, i.en[:1].upper() + i.en[1:], i.unit) for i in INDICATORS if i.column}


def unit_of(col: str) -> str | None:
    """'yuan', 'persons', 'months', 'percent-as-ratio', 'ratio' or None (no unit: codes, text, dates)."""
    hit = _indicators().get(col)
    if hit:
        return hit[2]
    return "yuan" if is_money(col) else None


@lru_cache
def is_money(col: str) -> bool:
    hit = _indicators().get(col)
    if hit:
        return hit[2] == "yuan"
    tokens = set(str(col).lower().split("_"))
    if tokens & _NOT_MONEY:
        return False
    return column_kind(str(col)) == "money" or bool(tokens & _MONEY_WORDS)


def names(col: str) -> tuple[str, str]:
    """(中文 name, English name) of a column, without unit."""
    hit = _indicators().get(col)
    if hit:
        return hit[0], hit[1]
    out = []
    for lang in ("zh", "en"):
        cat = catalogue(lang)
        out.append(cat.get(f"col_{col}") or cat.get(col) or col)
    return out[0], out[1]


def header(col: str) -> str:
    """Bilingual header with the unit: '基金收入（元）/ Fund income (yuan)'; the code where no name is known."""
    zh, en = names(col)
    unit = unit_of(col)
    if unit:
        uzh, uen = UNIT_WORDS[unit]
        if f"（{uzh}" not in zh:  # a page label may carry it already: 住院费用（元）
            zh = f"{zh}（{uzh}）"
        if f"({uen}" not in en:
            en = f"{en} ({uen})"
    return zh if zh == en else f"{zh} / {en}"
