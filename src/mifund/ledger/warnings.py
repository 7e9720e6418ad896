"""Early warning (风险预警) on fund indicators: safety line, idle balance, deficits, 收支倒挂, falling
balance or enrolment, and the balance and persons identities as data-quality checks.

Rules and thresholds (each with its source) come from ``rules/warnings.yaml``, optionally overridden
by the user's file; see :mod:`mifund.ledger.warning_rules` for the schema.

Rows evaluated
--------------
``indicators`` has one row per region × year (× month) × scheme × fund. Every rule looks at the
annual rows (``month`` missing). The two ``payable_months_*`` rules may also look at monthly rows,
per their ``monthly`` setting: ``latest`` (default) adds, for each region × scheme × fund × year with
monthly rows but no annual row (the year in progress), its latest month; ``all`` adds every monthly
row; ``off`` none. The other rules compare years, so monthly rows never feed them. Which scheme ×
fund pairs a rule looks at is its ``applies_to`` (scheme ``total`` and fund ``total`` are derived
sums and are skipped unless listed). An employee ``combined`` row beside a ``pooled`` row of the
same region × year × month is the indicator module's derived sum (pooled + account): it is skipped
unless the rule sets ``combined_when_split: true``, so the pooled fund speaks for the split fund.

Consecutive-year rules (consecutive_deficits, growth_gap, balance_falling) count a run of years per
region × scheme × fund; a missing year ends the run (2021, 2023 are not consecutive).

Output: one row per warning, with the most severe level that fired, sorted by severity
(red, orange, yellow, blue), then region, year, month, scheme, fund, rule.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from mifund.ledger.warning_rules import (
    LEVELS,
    RULE_IDS,
    RULE_KINDS,
    SEVERITY,
    Override,
    Rule,
    Threshold,
    WarningRules,
    WarningRulesError,
    load_rules,
    region_prefix,
)

__all__ = ["OUTPUT_COLUMNS", "RULE_TITLES", "WarningRules", "WarningRulesError", "evaluate", "load_rules"]

OUTPUT_COLUMNS = [
    "region_code", "region_name", "year", "month", "scheme", "fund", "rule", "level", "value",
    "threshold", "figures", "message_en", "message_zh", "source", "source_zh",
]

RULE_TITLES: dict[str, tuple[str, str]] = {
    "payable_months_low": ("Below the safety line", "低于安全线"),
    "payable_months_high": ("Idle balance", "结余过多"),
    "current_deficit": ("Current-year deficit", "当期收不抵支"),
    "consecutive_deficits": ("Consecutive deficits", "连续收不抵支"),
    "growth_gap": ("Expenditure outgrowing income (收支倒挂)", "收支倒挂"),
    "balance_falling": ("Falling balance", "累计结存下降"),
    "insured_falling": ("Falling enrolment", "参保人数下降"),
    "balance_identity": ("Balance identity broken (data quality)", "结存勾稽不平（数据质量）"),
    "persons_identity": ("In-service + retired ≠ insured (data quality)", "在职退休人数与参保人数不符（数据质量）"),
}

_KEY = ["region_code", "scheme", "fund"]
_BASE_COLUMNS = ("region_code", "year", "scheme", "fund")
_RULE_COLUMNS: dict[str, tuple[str, ...]] = {
    "payable_months_low": ("payable_months", "balance_end", "expenditure_total"),
    "payable_months_high": ("payable_months", "balance_end", "expenditure_total"),
    "current_deficit": ("surplus", "income_total", "expenditure_total"),
    "consecutive_deficits": ("surplus",),
    "growth_gap": ("income_growth", "expenditure_growth"),
    "balance_falling": ("balance_growth", "balance_end"),
    "insured_falling": ("insured_growth", "insured"),
    "balance_identity": ("balance_gap", "balance_end"),
    "persons_identity": ("insured", "insured_in_service", "insured_retired"),
}
# columns the ledger may leave out (the employee split of the insured): a frame without them gives the
# persons identity nothing to judge, not an error
_OPTIONAL = {"insured_in_service", "insured_retired"}
# rule-specific extra thresholds (besides the levels)
_EXTRAS: dict[str, tuple[str, ...]] = {"growth_gap": ("min_gap",), "balance_falling": ("min_fall",)}


# --------------------------------------------------------------------------------------------------
# preparation
# --------------------------------------------------------------------------------------------------
def _active(rule: Rule) -> bool:
    return rule.enabled or any(o.enabled for o in rule.overrides)


def _prepare(indicators: pd.DataFrame, rules: WarningRules) -> pd.DataFrame:
    missing = [c for c in _BASE_COLUMNS if c not in indicators.columns]
    need: set[str] = set()
    for rid in RULE_IDS:
        if _active(rules.rule(rid)):
            need.update(_RULE_COLUMNS[rid])
    missing += sorted(c for c in need - _OPTIONAL if c not in indicators.columns)
    if missing:
        raise ValueError(f"indicators lack the column(s) the warning rules need: {', '.join(missing)}")
    df = indicators.reset_index(drop=True).copy()
    for c in sorted(need & _OPTIONAL - set(df.columns)):  # optional in the ledger: nothing to judge
        df[c] = np.nan
    if "month" not in df.columns:
        df["month"] = np.nan
    if "region_name" not in df.columns:
        df["region_name"] = ""
    df["region_code"] = df["region_code"].astype(str).str.strip().str.zfill(6)
    df["month"] = pd.to_numeric(df["month"], errors="coerce").astype("float64")
    for c in need | {"year"} | ({"balance_start"} & set(df.columns)):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


def _rows(rid: str, rule: Rule, df: pd.DataFrame) -> pd.DataFrame:
    """Rows a rule looks at: its scheme × fund pairs; annual rows, plus months per `monthly`."""
    pairs = pd.MultiIndex.from_tuples(rule.applies(), names=["scheme", "fund"]) if rule.applies() else None
    if pairs is None:
        return df.iloc[0:0]
    if not rule.combined_when_split:
        # a combined row beside a pooled row of the same key is derived (pooled + account): the
        # pooled row speaks for the fund, so the same fact is not reported twice
        key = ["region_code", "year", "month", "scheme"]
        pooled = df.loc[df["fund"] == "pooled", key].fillna({"month": 0}).astype(object)
        combined = (df["fund"] == "combined").to_numpy()
        split = pd.MultiIndex.from_frame(df[key].fillna({"month": 0}).astype(object)).isin(
            pd.MultiIndex.from_frame(pooled)
        )
        df = df[~(combined & split)]
    df = df[pd.MultiIndex.from_frame(df[["scheme", "fund"]].astype(object)).isin(pairs)]
    annual = df[df["month"].isna()]
    mode = getattr(rule, "monthly", "off")
    if mode == "off":
        return annual
    monthly = df[df["month"].notna()]
    if mode == "latest" and len(monthly):
        key = [*_KEY, "year"]
        covered = pd.MultiIndex.from_frame(monthly[key].astype(object)).isin(
            pd.MultiIndex.from_frame(annual[key].astype(object))
        )
        monthly = monthly[~covered]
        if len(monthly):
            monthly = monthly.loc[monthly.groupby(key, dropna=False, sort=False)["month"].idxmax()]
    return pd.concat([annual, monthly])


# --------------------------------------------------------------------------------------------------
# thresholds per row (base, then overrides in precedence order)
# --------------------------------------------------------------------------------------------------
def _match(rows: pd.DataFrame, o: Override) -> np.ndarray:
    m = np.ones(len(rows), dtype=bool)
    if o.scheme is not None:
        m &= (rows["scheme"] == o.scheme).to_numpy()
    if o.fund is not None:
        m &= (rows["fund"] == o.fund).to_numpy()
    if o.region_code:
        codes = rows["region_code"]
        rm = np.zeros(len(rows), dtype=bool)
        for code in o.region_code:
            rm |= (codes == code).to_numpy()
            if o.include_descendants:
                rm |= codes.str.startswith(region_prefix(code)).to_numpy(dtype=bool)
        m &= rm
    return m


class _Params:
    """Per-row resolved settings: enabled, and for each level / extra the value and the Threshold."""

    def __init__(self, rid: str, rule: Rule, rows: pd.DataFrame):
        n = len(rows)
        self.thresholds: list[Threshold] = []
        self.enabled = np.full(n, rule.enabled, dtype=bool)
        self.value: dict[str, np.ndarray] = {}
        self.index: dict[str, np.ndarray] = {}
        names = [*LEVELS, *_EXTRAS.get(rid, ())]
        for name in names:
            self.value[name] = np.full(n, np.nan)
            self.index[name] = np.full(n, -1, dtype=np.int64)
        everyone = np.ones(n, dtype=bool)
        self._levels(everyone, rule.levels)
        for extra in _EXTRAS.get(rid, ()):
            self._set(everyone, extra, getattr(rule, extra))
        # stable sort: equal specificity keeps file order (the user's overrides after the defaults')
        for o in sorted(rule.overrides, key=lambda o: o.specificity):
            m = _match(rows, o)
            if not m.any():
                continue
            if o.enabled is not None:
                self.enabled[m] = o.enabled
            if o.levels is not None:
                self._levels(m, o.levels)
            for extra in _EXTRAS.get(rid, ()):
                t = getattr(o, extra, None)
                if t is not None:
                    self._set(m, extra, t)

    def _set(self, mask: np.ndarray, name: str, t: Threshold | None) -> None:
        if t is None:
            self.value[name][mask] = np.nan
            self.index[name][mask] = -1
            return
        self.thresholds.append(t)
        self.value[name][mask] = t.value
        self.index[name][mask] = len(self.thresholds) - 1

    def _levels(self, mask: np.ndarray, levels: dict[str, Threshold]) -> None:
        for lvl in LEVELS:  # a level set is complete: levels it omits are off
            self._set(mask, lvl, levels.get(lvl))

    def pick(self, measure: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(level or None, threshold value, Threshold index) of the most severe level that fires."""
        with np.errstate(invalid="ignore"):
            conds = []
            for lvl in LEVELS:
                v = self.value[lvl]
                if kind == "below":
                    c = measure < v
                elif kind == "above":
                    c = measure > v
                else:  # run
                    c = measure >= v
                conds.append(c & ~np.isnan(v) & self.enabled)
        level = np.select(conds, list(LEVELS), default="")
        value = np.select(conds, [self.value[lvl] for lvl in LEVELS], default=np.nan)
        index = np.select(conds, [self.index[lvl] for lvl in LEVELS], default=-1)
        return level, value, index


# --------------------------------------------------------------------------------------------------
# measures
# --------------------------------------------------------------------------------------------------
def _run_length(rows: pd.DataFrame, cond: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Length of the run of consecutive years with `cond` ending at each row, and its first year.

    Runs are per region × scheme × fund over annual rows; a missing year ends a run.
    """
    r = rows.assign(_cond=np.asarray(cond, dtype=bool), _pos=np.arange(len(rows)))
    r = r.sort_values([*_KEY, "year"], kind="stable")
    g = r.groupby(_KEY, sort=False, dropna=False)
    prev_year = g["year"].shift()
    prev_cond = g["_cond"].shift(fill_value=False).astype(bool)
    contiguous = (r["year"] - prev_year) == 1
    start = r["_cond"] & ~(contiguous & prev_cond)
    streak = start.cumsum()
    run = r["_cond"].astype(np.int64).groupby(streak).cumsum().where(r["_cond"], 0)
    out_run = np.zeros(len(rows), dtype=np.int64)
    out_run[r["_pos"].to_numpy()] = run.to_numpy()
    first = rows["year"].to_numpy() - out_run + 1
    return out_run, first


def _col(rows: pd.DataFrame, name: str) -> np.ndarray:
    return rows[name].to_numpy(dtype="float64", na_value=np.nan)


def _measure(rid: str, rows: pd.DataFrame, p: _Params) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The figure a rule compares with its levels, and the figures reported with a warning."""
    c = lambda name: _col(rows, name)  # noqa: E731
    with np.errstate(divide="ignore", invalid="ignore"):
        if rid in ("payable_months_low", "payable_months_high"):
            pm = c("payable_months")
            return pm, {"payable_months": pm, "balance_end": c("balance_end"),
                        "expenditure_total": c("expenditure_total")}
        if rid == "current_deficit":
            s, inc = c("surplus"), c("income_total")
            rate = np.where(inc > 0, s / inc, np.where(s < 0, -np.inf, np.nan))
            rate = np.where(s < 0, rate, np.nan)  # a deficit is a negative surplus, whatever the rate
            return rate, {"surplus": s, "surplus_rate": rate, "income_total": inc,
                          "expenditure_total": c("expenditure_total")}
        if rid == "consecutive_deficits":
            s = c("surplus")
            run, first = _run_length(rows, s < 0)
            return run.astype(float), {"surplus": s, "run_years": run, "first_year": first}
        if rid == "growth_gap":
            ig, eg = c("income_growth"), c("expenditure_growth")
            gap = eg - ig
            run, first = _run_length(rows, gap > p.value["min_gap"])
            return run.astype(float), {"income_growth": ig, "expenditure_growth": eg, "growth_gap": gap,
                                       "min_gap": p.value["min_gap"], "run_years": run, "first_year": first}
        if rid == "balance_falling":
            # against balance_start where given: (end - start) / |start| stays right for negative
            # balances (a deficit deepening from -100 to -200 is a fall, not +100% growth)
            bg = c("balance_growth")
            if "balance_start" in rows.columns:
                bs, be = c("balance_start"), c("balance_end")
                bg = np.where(np.isfinite(bs) & (bs != 0) & np.isfinite(be), (be - bs) / np.abs(bs), bg)
            run, first = _run_length(rows, bg < -p.value["min_fall"])
            return run.astype(float), {"balance_growth": bg, "balance_end": c("balance_end"),
                                       "min_fall": p.value["min_fall"], "run_years": run, "first_year": first}
        if rid == "insured_falling":
            ig = c("insured_growth")
            return -ig, {"insured": c("insured"), "insured_growth": ig}
        if rid == "balance_identity":
            gap, bal = c("balance_gap"), c("balance_end")
            ratio = np.where(bal != 0, np.abs(gap) / np.abs(bal), np.where(gap != 0, np.inf, 0.0))
            ratio = np.where(np.isnan(gap), np.nan, ratio)
            return ratio, {"balance_gap": gap, "balance_end": bal, "gap_ratio": ratio}
        if rid == "persons_identity":
            # the employee split of the insured: a row whose parts miss the total feeds a false
            # support ratio (in service / retired), which the indicators leave blank beyond the
            # import check's tolerance (see mifund.ledger.indicators)
            ins, srv, ret = c("insured"), c("insured_in_service"), c("insured_retired")
            gap = srv + ret - ins
            ratio = np.where(ins != 0, np.abs(gap) / np.abs(ins), np.where(gap != 0, np.inf, 0.0))
            ratio = np.where(np.isnan(gap), np.nan, ratio)
            sr = c("support_ratio") if "support_ratio" in rows.columns else np.full(len(rows), np.nan)
            return ratio, {"insured": ins, "insured_in_service": srv, "insured_retired": ret,
                           "persons_gap": gap, "gap_ratio": ratio, "support_ratio": sr}
    raise KeyError(rid)  # pragma: no cover


# --------------------------------------------------------------------------------------------------
# messages
# --------------------------------------------------------------------------------------------------
def _pct(v: float, nd: int = 2, sign: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v * 100:+.{nd}f}%" if sign else f"{v * 100:.{nd}f}%"


def _tpct(v: float) -> str:
    return f"{v * 100:g}%"


# The unit of money in the messages, as in the report (万元 by default): both languages give the same
# figure, to 2 decimals rounded half up (四舍五入), in the same unit; persons as whole numbers.
UNITS: dict[str, tuple[int, str, str]] = {"yuan": (0, "元", "yuan"), "wan": (4, "万元", "10k yuan"),
                                          "yi": (8, "亿元", "100m yuan")}
DEFAULT_UNIT = "wan"


def _amount(v: float, unit: str) -> str | None:
    if v is None or not math.isfinite(v):
        return None
    exp = UNITS[unit][0]
    d = (Decimal(repr(float(v))).scaleb(-exp)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{d + 0:,.2f}"  # + 0: -0.00 reads 0.00


def _amt_en(v: float, unit: str = DEFAULT_UNIT) -> str:
    a = _amount(v, unit)
    return "n/a" if a is None else f"{a} {UNITS[unit][2]}"


def _amt_zh(v: float, unit: str = DEFAULT_UNIT) -> str:
    a = _amount(v, unit)
    return "不详" if a is None else f"{a} {UNITS[unit][1]}"


def _persons(v: float, zh: bool) -> str:
    if v is None or not math.isfinite(v):
        return "不详" if zh else "n/a"
    return f"{v:,.0f} 人" if zh else f"{v:,.0f} persons"


def _span(first: int, year: int, zh: bool = False) -> str:
    if first == year:
        return f"{year}年" if zh else f"{year}"
    return f"{first}—{year}年" if zh else f"{first}–{year}"


def months_text(value: float, thr: float, below: bool) -> str:
    """Months to 1 decimal, or as many more (up to 4) as it takes to show the figure on its side of the
    line: 5.9926 < 6 reads "5.99", never "6.0 < 6"; past 4 decimals it is cut toward the line's safe
    side (5.99999 -> "5.9999")."""
    if value is None or not math.isfinite(value):
        return f"{value}"
    for nd in range(1, 5):  # rounded half up, as the report's tables round
        d = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-nd), rounding=ROUND_HALF_UP)
        if (d < Decimal(repr(float(thr)))) if below else (d > Decimal(repr(float(thr)))):
            return f"{d:f}"
    cut = math.floor(value * 1e4) if below else math.ceil(value * 1e4)
    return f"{cut / 1e4:.4f}"


def _note(t: Threshold, zh: bool) -> str:
    """'label; citation' for the message (the label only where the threshold has one)."""
    if zh:
        return f"{t.label_zh}；{t.cite_zh}" if t.label_zh else t.cite_zh
    return f"{t.label_en}; {t.cite}" if t.label_en else t.cite


def _messages(rid: str, f: dict, value: float, thr: float, t: Threshold, year: int,
              month: float, unit: str = DEFAULT_UNIT) -> tuple[str, str]:
    en_note, zh_note = _note(t, False), _note(t, True)

    def amt_en(v: float) -> str:
        return _amt_en(v, unit)

    def amt_zh(v: float) -> str:
        return _amt_zh(v, unit)

    if rid == "payable_months_low":
        m = months_text(value, thr, below=True)
        en = f"Months of payment capacity {m} < {thr:g} (safety line, {en_note})"
        zh = f"可支付月数 {m} 个月，低于安全线 {thr:g} 个月（{zh_note}）"
    elif rid == "payable_months_high":
        m = months_text(value, thr, below=False)
        en = f"Months of payment capacity {m} > {thr:g} (idle balance, {en_note})"
        zh = f"可支付月数 {m} 个月，高于 {thr:g} 个月（{zh_note}）"
    elif rid == "current_deficit":
        en = (f"Current-year deficit: surplus {amt_en(f['surplus'])}, surplus rate {_pct(value)}"
              f" < {_tpct(thr)} ({en_note})")
        zh = (f"当期收不抵支：当期结余 {amt_zh(f['surplus'])}，结余率 {_pct(value)}，"
              f"低于 {_tpct(thr)}（{zh_note}）")
    elif rid == "consecutive_deficits":
        n, first = int(value), int(f["first_year"])
        en = (f"Deficits in {n} consecutive years ({_span(first, year)}) ≥ {thr:g}; this year's surplus"
              f" {amt_en(f['surplus'])} ({en_note})")
        zh = (f"连续 {n} 年收不抵支（{_span(first, year, True)}），达到 {thr:g} 年；本年当期结余"
              f" {amt_zh(f['surplus'])}（{zh_note}）")
    elif rid == "growth_gap":
        n, first = int(value), int(f["first_year"])
        en = (f"Expenditure growth above income growth (收支倒挂) in {n} consecutive years"
              f" ({_span(first, year)}) ≥ {thr:g}: this year expenditure {_pct(f['expenditure_growth'], sign=True)}"
              f" vs income {_pct(f['income_growth'], sign=True)} ({en_note})")
        zh = (f"连续 {n} 年基金支出增速高于收入增速（收支倒挂，{_span(first, year, True)}），达到 {thr:g} 年："
              f"本年支出增长 {_pct(f['expenditure_growth'], sign=True)}，收入增长 "
              f"{_pct(f['income_growth'], sign=True)}（{zh_note}）")
    elif rid == "balance_falling":
        n, first = int(value), int(f["first_year"])
        en = (f"Accumulated balance fell in {n} consecutive year(s) ({_span(first, year)}) ≥ {thr:g}:"
              f" this year {_pct(f['balance_growth'], sign=True)} to {amt_en(f['balance_end'])} ({en_note})")
        zh = (f"累计结存连续 {n} 年下降（{_span(first, year, True)}），达到 {thr:g} 年：本年"
              f" {_pct(f['balance_growth'], sign=True)}，结存 {amt_zh(f['balance_end'])}（{zh_note}）")
    elif rid == "insured_falling":
        ins_en, ins_zh = _persons(f["insured"], False), _persons(f["insured"], True)
        en = (f"Insured persons fell {_pct(value)} year on year to {ins_en}, more than the"
              f" {_tpct(thr)} tolerance ({en_note})")
        zh = f"参保人数同比下降 {_pct(value)}，降至 {ins_zh}，超过容忍度 {_tpct(thr)}（{zh_note}）"
    elif rid == "persons_identity":
        n_en = {k: _persons(f[k], False) for k in ("insured_in_service", "insured_retired", "insured")}
        n_zh = {k: _persons(f[k], True) for k in ("insured_in_service", "insured_retired", "insured")}
        parts = f["insured_in_service"] + f["insured_retired"]
        blank = f.get("support_ratio") is None  # the indicators leave the ratio blank: say so
        en = (f"In service {n_en['insured_in_service']} + retired {n_en['insured_retired']} ="
              f" {_persons(parts, False)}, not the insured {n_en['insured']} (difference"
              f" {_persons(f['persons_gap'], False)}, {_pct(value)} of insured) > {_tpct(thr)}"
              + ("; support ratio not computed" if blank else "") + f" ({en_note})")
        zh = (f"在职 {n_zh['insured_in_service']} + 退休 {n_zh['insured_retired']} = {_persons(parts, True)}，"
              f"与参保人数 {n_zh['insured']} 不符（相差 {_persons(f['persons_gap'], True)}，占 {_pct(value)}），"
              f"超过 {_tpct(thr)}" + ("；在职退休比不予计算" if blank else "") + f"（{zh_note}）")
    else:  # balance_identity
        en = (f"Balance identity broken: balance_end - (previous balance_end + income - expenditure) ="
              f" {amt_en(f['balance_gap'])}, {_pct(value)} of the balance > {_tpct(thr)} ({en_note})")
        zh = (f"累计结存勾稽不平：期末结存 -（上期结存 + 基金收入 - 基金支出）= {amt_zh(f['balance_gap'])}，"
              f"占期末结存 {_pct(value)}，超过 {_tpct(thr)}（{zh_note}）")
    if month is not None and not math.isnan(month):
        en = f"{year}-{int(month):02d}: {en}"
        zh = f"{year}年{int(month)}月：{zh}"
    return en, zh


def _py(v):
    """A JSON-friendly Python scalar (NaN -> None)."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    return v


# --------------------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------------------
def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTPUT_COLUMNS})


def _evaluate_rule(rid: str, rule: Rule, df: pd.DataFrame, unit: str = DEFAULT_UNIT) -> pd.DataFrame | None:
    rows = _rows(rid, rule, df)
    if rows.empty:
        return None
    p = _Params(rid, rule, rows)
    measure, figs = _measure(rid, rows, p)
    level, thr, tix = p.pick(np.asarray(measure, dtype=float), RULE_KINDS[rid])
    fired = level != ""
    if not fired.any():
        return None
    sel = rows[fired]
    fig_frame = pd.DataFrame({k: np.asarray(v)[fired] for k, v in figs.items()})
    figures = [{k: _py(v) for k, v in rec.items()} for rec in fig_frame.to_dict("records")]
    values, thrs, tixs = np.asarray(measure, dtype=float)[fired], thr[fired], tix[fired]
    years, months = sel["year"].to_numpy(), sel["month"].to_numpy()
    msgs = [
        _messages(rid, f, float(v), float(t), p.thresholds[int(i)], int(y), float(m), unit)
        for f, v, t, i, y, m in zip(figures, values, thrs, tixs, years, months, strict=True)
    ]
    return pd.DataFrame({
        "region_code": sel["region_code"].to_numpy(),
        "region_name": sel["region_name"].to_numpy(),
        "year": years.astype(np.int64),
        "month": months,
        "scheme": sel["scheme"].to_numpy(),
        "fund": sel["fund"].to_numpy(),
        "rule": rid,
        "level": level[fired],
        "value": values,
        "threshold": thrs,
        "figures": figures,
        "message_en": [m[0] for m in msgs],
        "message_zh": [m[1] for m in msgs],
        "source": [p.thresholds[int(i)].source for i in tixs],
        "source_zh": [p.thresholds[int(i)].source_in("zh") for i in tixs],
    })


def evaluate(indicators: pd.DataFrame, rules: WarningRules | None = None, *,
             unit: str = DEFAULT_UNIT) -> pd.DataFrame:
    """Warnings for every indicator row that crosses a rule's threshold.

    ``rules`` defaults to :func:`load_rules()` (the shipped defaults). Returns a DataFrame with
    OUTPUT_COLUMNS: the row's keys, ``rule``, ``level`` (red/orange/yellow/blue), ``value`` (the
    measured figure: months, a fraction, or a number of consecutive years), ``threshold`` (the
    level's value it crossed), ``figures`` (a dict of the figures used, money in yuan), ``message_en``,
    ``message_zh`` and ``source`` (of the threshold); sorted by severity, then region, year, month,
    scheme, fund and rule. The messages give money in ``unit`` (yuan | wan | yi; default 万元, the
    report's), to 2 decimals in both languages, and persons as whole numbers.
    """
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; use one of {', '.join(UNITS)}")
    rules = rules if rules is not None else load_rules()
    df = _prepare(indicators, rules)
    parts = [
        part for rid in RULE_IDS if _active(rules.rule(rid))
        if (part := _evaluate_rule(rid, rules.rule(rid), df, unit)) is not None
    ]
    if not parts:
        return _empty()
    out = pd.concat(parts, ignore_index=True)
    out["_sev"] = out["level"].map(SEVERITY)
    out["_rule"] = out["rule"].map({r: i for i, r in enumerate(RULE_IDS)})
    out = out.sort_values(
        ["_sev", "region_code", "year", "month", "scheme", "fund", "_rule"], na_position="first", kind="stable"
    )
    return out.drop(columns=["_sev", "_rule"]).reset_index(drop=True)[OUTPUT_COLUMNS]
