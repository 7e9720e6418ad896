"""Definitions of the fund-ledger indicators: one place for the name, the Chinese term, the formula.

``INDICATORS`` lists every measure column of ``compute_indicators`` (in output order) plus the
compound annual growth rate of ``cagr()``. docs/indicators.md is generated from it
(``python -m mifund.ledger.catalog > docs/indicators.md``) and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

UNITS = ("persons", "yuan", "ratio", "months", "percent-as-ratio")


@dataclass(frozen=True)
class Indicator:
    name: str  # the identifier: a column of compute_indicators (or the function, for cagr)
    zh: str
    en: str
    unit: str  # one of UNITS; 'percent-as-ratio' is stored as 0.942 and shown as 94.2 %
    formula: str
    formula_zh: str = ""
    notes: str = ""
    column: bool = True  # False: not a column of compute_indicators (see notes)

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"{self.name}: unit {self.unit!r} is not one of {UNITS}")


_SUMMED = "Aggregated rows: summed over the leaf-most reported rows below."
_RECOMPUTED = "Aggregated and total rows: recomputed from the sums, never an average of ratios."
_GROWTH = (
    "Monthly rows: against the same month a year earlier. NULL when that period is absent "
    "(never growth against an older period) or the base is 0. Aggregated rows: against the "
    "aggregated previous period, and NULL unless both periods cover every region below."
)

INDICATORS: list[Indicator] = [
    Indicator("insured", "参保人数", "insured persons", "persons",
              "reported, at period end",
              notes="Derived employee combined: taken once (pooled and account rows carry the same "
                    "persons). Total rows and aggregated rows: summed (different persons)."),
    Indicator("insured_in_service", "在职参保人数", "insured persons in service", "persons",
              "reported (employee scheme)",
              notes="Total rows: NULL (the resident scheme has no in-service/retired split)."),
    Indicator("insured_retired", "退休参保人数", "insured retirees", "persons",
              "reported (employee scheme)", notes="As insured_in_service."),
    Indicator("population", "常住人口", "resident population", "persons",
              "sum of the population rows of the region-year (over sex and age bands)",
              "地区年度常住人口（各性别、年龄组合计）",
              notes="Aggregated rows: summed over the same regions as the ledger figures, so numerator "
                    "and denominator cover one territory. Total rows: the employee and resident rows' "
                    "population where they agree, NULL where they differ (summed over different regions)."),
    Indicator("insured_rate", "参保率", "insured (coverage) rate", "percent-as-ratio",
              "insured ÷ population", "参保人数 ÷ 常住人口",
              notes="Not clipped: above 100 % signals duplicate enrolment (重复参保) or a stale "
                    "population. For one scheme it is that scheme's coverage; the total row gives "
                    "overall coverage (national 2024: 94.20 %). " + _RECOMPUTED),
    Indicator("support_ratio", "在职退休比", "in-service to retired ratio (support ratio)", "ratio",
              "insured_in_service ÷ insured_retired", "在职参保人数 ÷ 退休参保人数",
              notes="Employee scheme (published: 2.76 in 2022). Blank where in service + retired miss "
                    "insured by more than 0.05% (warning persons_identity). " + _RECOMPUTED),
    Indicator("income_total", "基金收入", "fund income", "yuan", "reported", notes=_SUMMED),
    Indicator("income_individual", "个人缴费收入", "individual contribution income", "yuan",
              "reported (part of income_total)",
              notes="A sum over rows of which any lacks the part is NULL, not a partial sum."),
    Indicator("income_employer", "单位缴费收入", "employer contribution income", "yuan",
              "reported (part of income_total)",
              notes="As income_individual, but in a total row a resident row's blank counts as 0 (residents "
                    "have no employer)."),
    Indicator("income_fiscal_subsidy", "财政补助收入", "fiscal subsidy income", "yuan",
              "reported (part of income_total)",
              notes="As income_individual, but in a derived combined or total row an employee row's blank "
                    "counts as 0 (the employee scheme gets no fiscal subsidy)."),
    Indicator("income_interest", "利息收入", "interest income", "yuan",
              "reported (part of income_total)", notes="As income_individual."),
    Indicator("income_other", "其他收入", "other income", "yuan",
              "reported (part of income_total)", notes="As income_individual."),
    Indicator("expenditure_total", "基金支出", "fund expenditure", "yuan", "reported", notes=_SUMMED),
    Indicator("expenditure_inpatient", "住院支出", "inpatient expenditure", "yuan",
              "reported (part of expenditure_total)",
              notes="As income_individual, but in a derived combined row the individual account's blank "
                    "counts as 0 (accounts pay no inpatient care)."),
    Indicator("expenditure_outpatient", "门诊支出", "outpatient expenditure", "yuan",
              "reported (part of expenditure_total)", notes="As income_individual."),
    Indicator("expenditure_other", "其他支出", "other expenditure", "yuan",
              "reported (part of expenditure_total)", notes="As income_individual."),
    Indicator("surplus", "当期结余", "current-period surplus", "yuan",
              "income_total − expenditure_total", "基金收入 − 基金支出"),
    Indicator("surplus_rate", "当期结余率", "surplus rate", "percent-as-ratio",
              "surplus ÷ income_total", "当期结余 ÷ 基金收入", notes=_RECOMPUTED),
    Indicator("balance_start", "期初结存", "balance at period start", "yuan",
              "balance_end of the previous period (year, or month for monthly rows)",
              "上期累计结存",
              notes="NULL when the previous period is absent, or when either period misses a region "
                    "below (units_covered < units_expected). Aggregated rows: the aggregated previous period."),
    Indicator("balance_end", "累计结存（累计结余）", "accumulated balance", "yuan",
              "reported, at period end", notes=_SUMMED),
    Indicator("balance_gap", "结存勾稽差额", "balance identity residual", "yuan",
              "balance_end − (balance_start + income_total − expenditure_total)",
              "期末累计结存 − (期初结存 + 基金收入 − 基金支出)",
              notes="0 when the series closes; NULL without a comparable previous period. Published national "
                    "resident 2021: +23,859 million yuan (3.55 % of the balance)."),
    Indicator("payable_months", "可支付月数", "months of payment capacity", "months",
              "balance_end ÷ (expenditure_total ÷ 12); monthly rows: balance_end ÷ average monthly "
              "expenditure_total over the trailing 12 months available, that month included",
              "累计结存 ÷ 月均基金支出",
              notes="Safety line: 6–9 months is the usual norm, above 15 too much, below 3 too little. "
                    "NULL when expenditure is 0."),
    Indicator("income_growth", "基金收入同比增长", "income growth (year on year)", "percent-as-ratio",
              "income_total(t) ÷ income_total(t−1) − 1", "本期基金收入 ÷ 上年同期 − 1", notes=_GROWTH),
    Indicator("expenditure_growth", "基金支出同比增长", "expenditure growth (year on year)",
              "percent-as-ratio", "expenditure_total(t) ÷ expenditure_total(t−1) − 1",
              "本期基金支出 ÷ 上年同期 − 1", notes=_GROWTH),
    Indicator("insured_growth", "参保人数同比增长", "insured growth (year on year)", "percent-as-ratio",
              "insured(t) ÷ insured(t−1) − 1", "本期参保人数 ÷ 上年同期 − 1", notes=_GROWTH),
    Indicator("balance_growth", "累计结存同比增长", "balance growth (year on year)", "percent-as-ratio",
              "balance_end(t) ÷ balance_end(t−1) − 1", "本期累计结存 ÷ 上年同期 − 1", notes=_GROWTH),
    Indicator("growth_gap", "收支增长差（收支倒挂）", "expenditure growth minus income growth",
              "percent-as-ratio", "expenditure_growth − income_growth", "基金支出增速 − 基金收入增速",
              notes="Positive = expenditure growing faster than income (收支倒挂); a difference of rates "
                    "(0.0667 = 6.67 points)."),
    Indicator("income_per_capita", "人均筹资", "income per insured person", "yuan",
              "income_total ÷ insured", "基金收入 ÷ 参保人数",
              notes="Monthly rows: the month's income per person. " + _RECOMPUTED),
    Indicator("expenditure_per_capita", "人均支出", "expenditure per insured person", "yuan",
              "expenditure_total ÷ insured", "基金支出 ÷ 参保人数",
              notes="Monthly rows: the month's expenditure per person. " + _RECOMPUTED),
    Indicator("fiscal_subsidy_share", "财政补助占比", "fiscal subsidy share of income", "percent-as-ratio",
              "income_fiscal_subsidy ÷ income_total", "财政补助收入 ÷ 基金收入",
              notes="NULL where the fiscal subsidy is not reported; total rows count the employee "
                    "side's blank as 0. " + _RECOMPUTED),
    Indicator("cagr", "年均复合增长率", "compound annual growth rate", "percent-as-ratio",
              "(x_end ÷ x_start) ^ (1 ÷ (end − start)) − 1", "(期末值 ÷ 期初值)^(1 ÷ 年数) − 1",
              notes="Function cagr(df, measure, start, end), per region × scheme × fund; NaN when "
                    "either value is missing, the start is not positive or the end is negative.",
              column=False),
]  # fmt: skip

BY_NAME: dict[str, Indicator] = {i.name: i for i in INDICATORS}

_PREAMBLE = """\
# Fund-ledger indicators (基金运行指标)

<!-- Generated from src/mifund/ledger/catalog.py (indicators_markdown); do not edit by hand:
     python -m mifund.ledger.catalog > docs/indicators.md -->

`mifund.ledger.indicators.compute_indicators(wh, ...)` returns one row per region × year (× month with
`monthly=True`; annual rows have `month` NULL) × scheme × fund, sorted by region_code, scheme, fund,
year, month. Key and provenance columns:

- `region_code`, `region_name`, `region_level`, `year`, `month`, `scheme`, `fund`.
- `source`: `reported` (the region's own ledger row), `derived` (an employee `combined` row built from
  reported `pooled` + `account` rows, or a `total` row), `aggregated` (summed from the regions below).
- `n_units`: how many regional rows stand behind the figures (1 for reported and derived rows; the
  number of rows summed for aggregated rows; for total rows the larger of the two schemes' counts).
- `units_expected`, `units_covered`, `missing_regions`: coverage. The units are the leaf regions of the
  tree (regions no other region names as parent: counties, usually) at or below the row's region. A
  reported or derived row covers all of them; an aggregated row only those below the rows it summed (a
  city summed from 8 of its 9 counties: 8 of 9, `missing_regions` = the ninth county's code; codes
  comma-separated, NULL when none is missing); a total row misses what either scheme misses.

Rules that hold for every indicator:

- **Employee pooled + account.** Where a region-period has employee `pooled` and `account` rows and no
  `combined` row, a `combined` row is derived: flows and balances summed, insured taken once.
- **Overall rows** (`scheme` = `fund` = `total`): employee `combined` (reported, derived or aggregated)
  + resident `pooled`, only where both exist for the region-period. Insured, flows and balances summed;
  every ratio recomputed.
- **Aggregation up the region tree.** A region with its own row for a year/month/scheme/fund keeps it;
  otherwise its row is the sum of the leaf-most rows below it (rows of regions with no descendant
  holding a row for the same key). Flows, balances, insured and population are all summed and every
  ratio is recomputed from the sums, never averaged. A sum over rows of which any lacks the value is
  NULL, not a partial sum.
- **Only whole periods are compared.** Year-on-year growth, `balance_start` and `balance_gap` need both
  periods to cover every unit (`units_covered` = `units_expected`): a total short of a county is not
  compared with a whole one, nor with another short one. The trailing window of monthly
  `payable_months` averages only months of the same coverage.
- **NULL, not errors.** A division by zero or a missing part gives NULL (NaN), never inf or an exception.
- Units: `percent-as-ratio` is stored as a fraction (0.942) and shown as a percentage (94.2 %).

"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def indicators_markdown() -> str:
    """docs/indicators.md: the preamble and one table row per indicator."""
    lines = [
        "| identifier | 中文 | English | formula | unit | notes |",
        "|---|---|---|---|---|---|",
    ]
    for i in INDICATORS:
        formula = f"{i.formula}<br>{i.formula_zh}" if i.formula_zh else i.formula
        ident = f"`{i.name}`" if i.column else f"`{i.name}()`"
        lines.append(
            "| " + " | ".join(_cell(x) for x in (ident, i.zh, i.en, formula, i.unit, i.notes)) + " |"
        )
    return _PREAMBLE + "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(indicators_markdown())
