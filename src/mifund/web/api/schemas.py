"""Response models of the /api/v1 GET endpoints: every field named, typed and described with its unit, so
that /openapi.json (and /docs) tells a bureau's IT staff what each answer holds.

Why these models and not the services' own dicts: the services return plain dicts and DataFrames (shared
with the pages); the API's contract is written here once. The models forbid undeclared fields
(``additionalProperties: false``): a field a service adds without documenting it here fails the tests
(tests/test_web_openapi.py, schemathesis) instead of reaching integrators undocumented. The indicator row is
generated from the indicator catalogue (mifund.ledger.catalog: name, 中文, unit, formula), so a new
indicator is documented where it is defined.

Tabular endpoints (``format=json|csv|xlsx``) answer with a ready Response (money already rounded to the
fen by ``records``): their model documents the JSON; it does not re-serialise it. The types here are the
JSON types the endpoints emit today (a count stored as a float stays ``number``), so that the endpoints
that do go through a model (regions, series, explanation, disparity, pooling) answer byte for byte as
before."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from mifund.ledger.catalog import INDICATORS
from mifund.supervision.store import STATUS_ZH, STATUSES
from mifund.web.export import XLSX

YUAN = "yuan (元), rounded to the fen (0.01)"
RATIO = "ratio, 0–1 (0.942 = 94.2 %)"
PERCENT_RATIO = "ratio (0.942 = 94.2 %; growth may be negative)"
UNIT_TEXT = {"yuan": YUAN, "persons": "persons", "months": "months", "percent-as-ratio": PERCENT_RATIO,
             "ratio": "ratio (x : 1)"}
Level = Literal["red", "orange", "yellow", "blue"]


class Doc(BaseModel):
    """Base of the response models: undeclared fields are refused (see the module docstring)."""
    model_config = ConfigDict(extra="forbid")


def _f(description: str, **kw: Any) -> Any:
    return Field(..., description=description, **kw)


def _indicator_text(name: str) -> str:
    i = _CATALOGUE[name]
    text = f"{i.en[:1].upper()}{i.en[1:]} ({i.zh}); unit: {UNIT_TEXT[i.unit]}; {i.formula}."
    return f"{text} {i.notes}" if i.notes else text


_CATALOGUE = {i.name: i for i in INDICATORS if i.column}


def ind(name: str) -> Any:
    """A required, nullable field described from the indicator catalogue."""
    return Field(..., description=_indicator_text(name))


# -- tabular answers: the downloads beside the JSON ----------------------------------------------------
DOWNLOADS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Rows as JSON (`format=json`, the default; fields below), or a CSV (UTF-8 with BOM) / "
                       "XLSX download of the same rows (`format=csv|xlsx`; bilingual headers with units)",
        "content": {"text/csv": {"schema": {"type": "string"}},
                    XLSX: {"schema": {"type": "string", "format": "binary"}}},
    }
}
COUNT = "Number of rows in `rows`"
UNIT = "Unit of every money field in `rows`: always `yuan` (元), whatever unit the data were imported in"


# -- /indicators -----------------------------------------------------------------------------------------
_JSON_TYPE = {"persons": int, "yuan": float, "months": float, "percent-as-ratio": float, "ratio": float}
_KEYS: dict[str, Any] = {
    "region_code": (str, _f("Region code (行政区划代码, 6 digits)")),
    "region_name": (str | None, _f("Region name (Chinese)")),
    "region_level": (str | None, _f("Region level: province, city or county")),
    "year": (int, _f("Year (calendar year)")),
    "month": (int | None, _f("Month 1–12 for monthly rows; null for annual rows (this endpoint: annual)")),
    "scheme": (str, _f("Scheme: employee (职工), resident (居民) or total (both)")),
    "fund": (str, _f("Fund: pooled (统筹基金), account (个人账户), combined (employee pooled + account) or total")),
    "source": (str, _f("How the row was made: reported (imported ledger), derived (computed from reported rows, "
                       "e.g. employee combined) or aggregated (summed over the regions below)")),
    "n_units": (int, _f("Number of reported ledger units (region × scheme × fund) summed into this row")),
    "units_covered": (int | None, _f("Leaf regions at or below this region that the figures stand for")),
    "units_expected": (int | None, _f("Leaf regions at or below this region")),
    "missing_regions": (str | None, _f("Codes of the leaf regions without figures, comma-separated; null when "
                                       "none (the row then covers only part of the region)")),
}
IndicatorRow = create_model(
    "IndicatorRow", __base__=Doc, __doc__="One fund-indicator row: region × year × scheme × fund (annual). "
    "Measures as in docs/indicators.md; null where not computable.",
    **_KEYS, **{n: (_JSON_TYPE[i.unit] | None, ind(n)) for n, i in _CATALOGUE.items()},
)


class IndicatorTable(Doc):
    unit: str = _f(UNIT)
    count: int = _f(COUNT)
    rows: list[IndicatorRow] = _f("Indicator rows of your regions")  # type: ignore[valid-type]


# -- /warnings -------------------------------------------------------------------------------------------
class WarningRow(Doc):
    """One early warning: a rule whose threshold a region × scheme × fund × year crossed."""
    region_code: str = _f("Region code")
    region_name: str | None = _f("Region name (Chinese)")
    year: int = _f("Year")
    month: int | None = _f("Month 1–12 of a monthly warning; null for annual ones")
    scheme: str = _f("Scheme: employee, resident or total")
    fund: str = _f("Fund: pooled, account, combined or total")
    rule: str = _f("Rule identifier (the warning rules' YAML key)")
    level: Level = _f("Warning level, most severe first: red, orange, yellow, blue")
    value: float | None = _f("The tested figure, in the rule's unit (months for months of payment capacity, "
                             "ratio 0–1 for rates and growth, years for consecutive deficits)")
    threshold: float | None = _f("The threshold the value crossed, in the same unit as `value`")
    figures: dict[str, float | None] = _f("The figures behind the message, by indicator name (each in that "
                                          "indicator's unit: money in yuan, ratios as 0–1, months; years and "
                                          "counts as numbers); keys depend on the rule")
    message_en: str = _f("Why the warning fires (English), with the figures")
    message_zh: str = _f("Why the warning fires (Chinese)")
    source: str = _f("Rationale and source of the threshold (English)")
    source_zh: str = _f("Rationale and source of the threshold (Chinese)")


class WarningTable(Doc):
    count: int = _f(COUNT)
    rows: list[WarningRow] = _f("Warnings of your regions")


# -- /regions, /regions/{code}/series --------------------------------------------------------------------
_POOLED = ("months of payment capacity of the {} pooled fund (统筹基金) in the year: balance ÷ monthly "
           "expenditure; unit: months; null without that fund's ledger")


class WarningCounts(Doc):
    red: int = _f("Red warnings (count)")
    orange: int = _f("Orange warnings (count)")
    yellow: int = _f("Yellow warnings (count)")
    blue: int = _f("Blue warnings (count)")


class RegionNode(Doc):
    """A region of the tree with its headline figures of the year (scheme total unless named)."""
    region_code: str = _f("Region code (行政区划代码)")
    name: str = _f("Region name (Chinese)")
    name_en: str | None = _f("Region name (English)")
    level: str = _f("Region level: province, city or county")
    parent_code: str | None = _f("Code of the region above; null at the top")
    worst: Level | None = _f("Most severe warning level of the region in the year; null without warnings")
    counts: WarningCounts = _f("Warnings of the region in the year, by level")
    insured: float | None = _f("Insured persons, both schemes (persons)")
    payable_months: float | None = _f("Months of payment capacity of all funds together (scheme and fund "
                                      "total, counting the employees' individual accounts); unit: months")
    pooled_months_employee: float | None = _f(_POOLED.format("employee").capitalize())
    pooled_months_resident: float | None = _f(_POOLED.format("resident").capitalize())
    pooled_months_min: float | None = _f("The lower of the two pooled funds' months of payment capacity (the "
                                         "headline, tested against the safety line); unit: months")
    pooled_months_min_scheme: Literal["employee", "resident"] | None = _f("The scheme of `pooled_months_min`")
    balance_end: float | None = _f(f"Accumulated balance at year end, all funds; unit: {YUAN}")
    children: list[RegionNode] = _f("The regions below (same fields)")


class RegionTree(Doc):
    year: int | None = _f("The year of the figures and warnings (the `year` asked for, else the latest)")
    years: list[int] = _f("Years with indicators")
    regions: list[RegionNode] = _f("Top regions you may see, each with its `children`")


class SeriesRow(Doc):
    year: int = _f("Year")
    insured: int | float | None = ind("insured")
    income_total: float | None = ind("income_total")
    expenditure_total: float | None = ind("expenditure_total")
    surplus: float | None = ind("surplus")
    balance_end: float | None = ind("balance_end")
    payable_months: float | None = Field(..., description="Of this scheme × fund. " + _indicator_text("payable_months"))
    income_growth: float | None = ind("income_growth")
    expenditure_growth: float | None = ind("expenditure_growth")
    source: str = _f("reported, derived or aggregated (see /indicators)")
    pooled_months_employee: float | None = _f(_POOLED.format("employee").capitalize())
    pooled_months_resident: float | None = _f(_POOLED.format("resident").capitalize())
    pooled_months_min: float | None = _f("The lower of the two pooled funds' months; unit: months")
    pooled_months_min_scheme: Literal["employee", "resident"] | None = _f("The scheme of `pooled_months_min`")
    pooled_months: float | None = _f("The page's headline: months of the scheme's pooled fund (scheme total: "
                                     "`pooled_months_min`); unit: months")


class RegionSeries(Doc):
    region_code: str = _f("Region code")
    scheme: str = _f("Scheme asked for: total, employee or resident")
    fund: str = _f("Fund of the rows: total (scheme total), pooled (resident) or combined (employee)")
    rows: list[SeriesRow] = _f("One row per year, oldest first")


# -- /projections/runs, /projections ---------------------------------------------------------------------
class ProjectionRun(Doc):
    run_id: str = _f("Run identifier")
    started: str = _f("When the run started (ISO 8601 local time)")
    actor: str = _f("Who ran it")
    scenario_name: str = _f("Scenario name")
    scenario_file: str | None = _f("Scenario file (or `default`)")
    base_year: int = _f("Last year of history; projections start the year after")
    years: int = _f("Projection horizon (years)")
    paths: int = _f("Monte Carlo paths (count)")
    seed: int | None = _f("Random seed")
    units: int = _f("Region × scheme × fund units projected (count)")
    seconds: float | None = _f("Run time (seconds)")


class ProjectionRunTable(Doc):
    count: int = _f(COUNT)
    rows: list[ProjectionRun] = _f("Stored runs, newest first")


_PCT = "Balance at year end, {}th percentile over the Monte Carlo paths; unit: " + YUAN


class ProjectionRow(Doc):
    """One projected year of a region × scheme × fund: the central path and the percentile band."""
    run_id: str = _f("Projection run (see /projections/runs)")
    region_code: str = _f("Region code")
    scheme: str = _f("Scheme: employee or resident")
    fund: str = _f("Fund: pooled or combined")
    year: int = _f("Projected year")
    insured: float | None = _f("Insured persons, central path (persons; a projection, so not whole)")
    insured_in_service: float | None = _f("Insured in service, central path (persons; employee scheme)")
    insured_retired: float | None = _f("Insured retirees, central path (persons; employee scheme)")
    income_total: float | None = _f(f"Fund income, central path; unit: {YUAN}")
    expenditure_total: float | None = _f(f"Fund expenditure, central path; unit: {YUAN}")
    balance_end: float | None = _f(f"Balance at year end, central path; unit: {YUAN}")
    payable_months: float | None = _f("Months of payment capacity, central path; unit: months")
    warning_level: Literal["red", "orange", "yellow", "blue", ""] | None = _f(
        "Warning level of the central path's months of payment capacity; empty text (\"\") when none")
    balance_p5: float | None = _f(_PCT.format(5))
    balance_p25: float | None = _f(_PCT.format(25))
    balance_p50: float | None = _f(_PCT.format(50))
    balance_p75: float | None = _f(_PCT.format(75))
    balance_p95: float | None = _f(_PCT.format(95))
    p_below_safety_line: float | None = _f(f"Share of paths below the safety line (months) that year; {RATIO}")
    p_exhausted: float | None = _f(f"Share of paths whose balance is exhausted (≤ 0) that year; {RATIO}")


class ProjectionTable(Doc):
    count: int = _f(COUNT)
    rows: list[ProjectionRow] = _f("Projected years of your regions, by run, region, scheme, fund, year")


# -- /policies/compare -----------------------------------------------------------------------------------
class PolicyCompareRow(Doc):
    """One standard inpatient bill settled under one policy (region × scheme × category × provider level)."""
    region_code: str = _f("Region whose policy applies")
    scheme: str = _f("Scheme: employee or resident")
    category: str = _f("Insured category of the profile (e.g. in_service, retired, resident_adult)")
    provider_level: int = _f("Provider (hospital) level 1–3")
    bill: float = _f(f"The inpatient bill, all within the policy scope; unit: {YUAN}")
    deductible_applied: float = _f(f"Deductible (起付线) applied; unit: {YUAN}")
    pooled_fund_paid: float = _f(f"Paid by the basic pooled fund; unit: {YUAN}")
    catastrophic_paid: float = _f(f"Paid by catastrophic illness insurance (大病保险); unit: {YUAN}")
    assistance_paid: float = _f(f"Paid by medical assistance (医疗救助); unit: {YUAN}")
    account_paid: float = _f(f"Paid from the individual account (个人账户); unit: {YUAN}")
    out_of_pocket: float = _f(f"Left to the patient; unit: {YUAN}")
    fund_share: float = _f(f"Share of the bill paid by the funds (pooled + catastrophic + assistance); {RATIO}")


class PolicyCompareTable(Doc):
    unit: str = _f(UNIT)
    count: int = _f(COUNT)
    rows: list[PolicyCompareRow] = _f("One row per policy × category × level × bill")


# -- /audit, /imports ------------------------------------------------------------------------------------
class AuditRow(Doc):
    audit_id: int = _f("Entry number (increasing)")
    logged_at: str = _f("When (ISO 8601 local time)")
    actor: str = _f("Who (user name, or the system user of a CLI run)")
    action: str = _f("What was done (e.g. import, token_create, case_move, user_add)")
    table_name: str | None = _f("Warehouse table concerned")
    record_key: str | None = _f("Key of the record concerned (JSON text)")
    old_values: str | None = _f("Values before the change (JSON text); null for an insert")
    new_values: str | None = _f("Values after the change (JSON text)")
    batch_id: str | None = _f("Import batch of the change (see /imports)")
    detail: str | None = _f("Free-text detail")


class AuditTable(Doc):
    total: int = _f("Entries matching the filters (all pages)")
    offset: int = _f("Entries skipped (the `offset` asked for)")
    count: int = _f(COUNT)
    rows: list[AuditRow] = _f("Entries, newest first")


class ImportBatchRow(Doc):
    batch_id: str = _f("Import batch identifier")
    logged_at: str = _f("When (ISO 8601 local time)")
    actor: str = _f("Who imported")
    source_file: str | None = _f("The imported file")
    table_name: str = _f("Data-contract table imported into")
    rows_read: int = _f("Rows read from the file (count)")
    rows_inserted: int = _f("New rows stored (count)")
    rows_replaced: int = _f("Existing rows replaced with other values (count; old values in the audit log)")
    rows_unchanged: int = _f("Rows already stored with the same values (count)")
    unit: str | None = _f("Unit of the file's amounts: yuan, wan (万元) or yi (亿元); stored in yuan")


class ImportBatchTable(Doc):
    count: int = _f(COUNT)
    rows: list[ImportBatchRow] = _f("Recent batches, newest first")


# -- /claims/{id}/explanation ----------------------------------------------------------------------------
class StoredSettlement(Doc):
    """The settlement stored for the claim by the last settlement run (warehouse table `settlement`)."""
    claim_id: str = _f("Claim identifier")
    deductible_applied: float | None = _f(f"Deductible applied; unit: {YUAN}")
    pooled_fund_paid: float | None = _f(f"Paid by the basic pooled fund; unit: {YUAN}")
    catastrophic_paid: float | None = _f(f"Paid by catastrophic illness insurance; unit: {YUAN}")
    assistance_paid: float | None = _f(f"Paid by medical assistance; unit: {YUAN}")
    account_paid: float | None = _f(f"Paid from the individual account; unit: {YUAN}")
    out_of_pocket: float | None = _f(f"Left to the patient; unit: {YUAN}")
    person_id: str | None = _f("Insured person (pseudonymised identifier)")
    year: str | None = _f("Settlement year, as text (e.g. \"2024\")")
    policy_key: str | None = _f("Policy applied: region code / scheme")
    policy_version: str | None = _f("Start of the policy version applied (date-time text)")
    total_amount: float | None = _f(f"Total amount of the claim; unit: {YUAN}")


class ClaimExplanation(Doc):
    """Every step of one claim's settlement, as lines for people, and the stored figures."""
    claim_id: str = _f("Claim identifier")
    region_code: str = _f("Region of the insured person")
    person_id: str = _f("Insured person (pseudonymised identifier)")
    year: int = _f("Settlement year")
    policy: str = _f("Policy applied: region code / scheme")
    lines: list[str] = _f("The explanation, one line per step, in the language asked for (amounts in yuan)")
    stored: StoredSettlement | None = _f("The stored settlement; null when the claim has not been settled yet")
    recomputed: dict[str, float] = _f(f"The claim settled now from its current data and the policies in force "
                                      f"(the figures of `lines`): deductible_applied, pooled_fund_paid, "
                                      f"catastrophic_paid, assistance_paid, account_paid, out_of_pocket; unit: {YUAN}")
    stored_stale: bool = _f("True when the stored settlement differs from `recomputed` (to the fen): the claim, "
                            "its lines, the person's enrolment or the policies changed after the run that "
                            "stored it, and figures built on that run are out of date until it is settled again")
    stored_differs: list[str] = _f("The amounts whose stored value differs from `recomputed` (empty when none)")
    stored_run_id: str | None = _f("The settlement run that stored the settlement (null when none)")
    stored_run_started: str | None = _f("When that run started (local time, YYYY-MM-DD HH:MM:SS)")
    claim_replaced_at: str | None = _f("The latest import after that run that replaced the claim or one of its "
                                       "lines (local time; null when none)")


# -- /disparity ------------------------------------------------------------------------------------------
_IN_UNIT = "in the indicator's unit (see `indicators`)"


class DisparityYear(Doc):
    """Weighted disparity measures of one year across the counties."""
    year: int = _f("Year")
    n: int = _f("Counties compared (count)")
    n_zero_weight_left_out: int | None = Field(None, description="Counties left out of every measure because "
                                               "their weight is 0 (count)")
    weighted_mean: float | None = _f(f"Weighted mean of the indicator, {_IN_UNIT}")
    min: float | None = _f(f"Lowest county value, {_IN_UNIT}")
    max: float | None = _f(f"Highest county value, {_IN_UNIT}")
    max_min_ratio: float | None = _f("Highest ÷ lowest value (ratio, ≥ 1)")
    williamson_cv: float | None = _f("Williamson (weighted) coefficient of variation (ratio, ≥ 0)")
    gini: float | None = _f(f"Weighted Gini coefficient; {RATIO}, 0 = equal")
    theil_t: float | None = _f("Theil T index (≥ 0, 0 = equal)")
    theil_l: float | None = _f("Theil L index (mean log deviation, ≥ 0)")
    theil_t_between: float | None = Field(None, description="Theil T between the cities (groups); present with "
                                          "more than one city")
    theil_t_within: float | None = Field(None, description="Theil T within the cities (groups)")
    theil_l_between: float | None = Field(None, description="Theil L between the cities (groups)")
    theil_l_within: float | None = Field(None, description="Theil L within the cities (groups)")


class DisparityRegion(Doc):
    region_code: str = _f("County code")
    region_name: str | None = _f("County name (Chinese)")
    parent_code: str | None = _f("City above the county (the decomposition's group)")
    year: int = _f("Year")
    value: float | None = _f(f"The indicator's value, {_IN_UNIT}")
    weight: float | None = _f("Weight: resident population or insured persons (persons), or 1 (equal)")


class Disparity(Doc):
    """Disparity of an indicator among the counties you may see; only `enough: false` when fewer than two."""
    enough: bool = _f("Whether at least two counties could be compared (false: no other field)")
    year: int | None = Field(None, description="Year of `regions` and `lorenz`")
    years: list[int] | None = Field(None, description="Years with values")
    by_year: list[DisparityYear] | None = Field(None, description="Measures by year, oldest first")
    regions: list[DisparityRegion] | None = Field(None, description="County values of `year`, lowest first")
    lorenz: list[tuple[float, float]] | None = Field(
        None, description="Lorenz curve of `year`: [cumulative weight share, cumulative value share] points, "
        "both ratios 0–1, from [0, 0] to [1, 1]")
    indicators: dict[str, tuple[str, str]] | None = Field(
        None, description="Indicators that may be asked for: code → [中文 name, English name with its unit]")


# -- /pooling --------------------------------------------------------------------------------------------
_MEAN = "total over the years, mean over the paths; unit: " + YUAN


class PoolingRow(Doc):
    """One pooling mode on the city's historic ledgers (figures: the period's totals, mean over paths)."""
    mode: str = _f("Mode identifier (the pooling modes YAML key)")
    label: str = _f("Mode name (Chinese)")
    kind: Literal["county", "adjustment_fund", "unified"] = _f(
        "county (县级统筹), adjustment_fund (市级调剂金) or unified (统收统支)")
    management: Literal["tiered", "vertical"] = _f("Management: tiered (分级管理) or vertical (垂直管理)")
    paths: int = _f("Paths simulated (1 on the historic ledgers)")
    deficit: float = _f("Expenditure above income, summed over counties and years (the same in every mode); " + _MEAN)
    contributions_to_pot: float | None = _f("Contributions paid into the adjustment fund; adjustment_fund "
                                            "modes only, else null; " + _MEAN)
    paid_from_pot: float | None = _f("Paid out of the adjustment fund to counties; adjustment_fund only; " + _MEAN)
    contribution_beyond_surplus: float | None = _f("Part of the contributions above a county's surplus (taken "
                                                   "from its balance or a top-up); adjustment_fund only; " + _MEAN)
    to_cover: float = _f("What the modes' covered_* columns add up to: the deficit plus contribution_beyond_surplus "
                         "(covered_own_balance + covered_pool + covered_county_treasury + covered_city_treasury "
                         "= to_cover); " + _MEAN)
    covered_own_balance: float = _f("Deficits and contributions covered from the counties' own balances; " + _MEAN)
    covered_pool: float = _f("Deficits covered by the adjustment fund or the city fund; " + _MEAN)
    covered_county_treasury: float = _f("Deficits covered by county treasuries (top-ups); " + _MEAN)
    covered_city_treasury: float = _f("Deficits covered by the city treasury (top-ups); " + _MEAN)
    treasury_topups: float = _f("County and city treasury top-ups together; " + _MEAN)
    p_any_topup: float = _f(f"Share of paths with any treasury top-up; {RATIO}")
    p_any_county_fund_below: float | None = _f(f"Share of paths with a year in which some county's fund is "
                                               f"below the safety line; {RATIO}; null where counties keep no fund")
    share_years_any_county_fund_below: float | None = _f(f"Share of path-years with some county fund below "
                                                         f"the safety line; {RATIO}")
    p_city_fund_below: float | None = _f(f"Share of paths with a year in which the city fund is below the "
                                         f"safety line; {RATIO}; null where there is no city fund")
    share_years_city_fund_below: float | None = _f(f"Share of path-years with the city fund below the line; {RATIO}")
    p_all_funds_below: float | None = _f(f"Share of paths with a year in which all funds together are below "
                                         f"the safety line; {RATIO}")
    share_years_all_funds_below: float | None = _f(f"Share of path-years with all funds together below the "
                                                   f"line; {RATIO}")
    p_below_safety_line: float = _f(f"Share of paths with a year in which a paying fund is below the safety "
                                    f"line; {RATIO}")
    share_years_below_safety_line: float = _f(f"Share of path-years with a paying fund below the line; {RATIO}")
    reserve_city_q95: float = _f(f"City treasury reserve covering its top-ups in 95 % of paths; unit: {YUAN}")
    reserve_total_q95: float = _f(f"Treasury reserve (county and city) covering the top-ups in 95 % of paths; "
                                  f"unit: {YUAN}")
    money_end: float = _f(f"Money in all funds at the end of the period, mean over paths; unit: {YUAN}")
    all_funds_months_end: float | None = _f("All funds' money at the end in months of the last year's "
                                            "expenditure; unit: months")
    pool_end: float = _f(f"Adjustment fund or city fund at the end, mean over paths; unit: {YUAN}")
    pool_months_end: float | None = _f("That fund in months of the whole city's last-year expenditure; unit: "
                                       "months; null in county pooling")
    topups_removed_vs_county: float | None = _f(f"Share of county pooling's treasury top-ups this mode "
                                                f"removes; {RATIO} (negative: more top-ups); null when county "
                                                f"pooling needs none")


class PoolingComparison(Doc):
    cities: list[str] = _f("Cities you may compare (codes); empty for a county user")
    city: str | None = _f("City compared (null: none you may see)")
    scheme: Literal["resident", "employee"] = _f("Scheme compared")
    rows: list[PoolingRow] = _f("One row per pooling mode")


# -- /cases, /cases/{case_id} ---------------------------------------------------------------------------
CaseStatus = Literal[STATUSES]  # the store's tuple: Literal["open", "in_review", …] (one enum in the OpenAPI)
_CASE_STATUS = ("Workflow status: " + ", ".join(f"{s} ({STATUS_ZH[s]})" for s in STATUSES[:-1])
                + f" or {STATUSES[-1]} ({STATUS_ZH[STATUSES[-1]]})")
_WHOLE = "a whole number; written 3.0 where the column has nulls"


class CaseRow(Doc):
    """A supervision case: the hits of one provider or person rolled up (warehouse table supervision_cases)."""
    case_id: str = _f("Case identifier: P:<provider_id> or R:<person_id>, with #2, #3 … for a case opened after "
                      "an earlier one of the same provider or person was decided")
    entity_type: Literal["provider", "person"] = _f("Whom the case is about: provider (定点医药机构) or person (参保人)")
    entity_id: str = _f("Provider identifier or insured person (pseudonymised identifier)")
    region_code: str | None = _f("Region of the provider or person (行政区划代码)")
    status: CaseStatus = _f(_CASE_STATUS)
    hits: int = _f("Hits (疑点) in the case (count)")
    claims: int = _f("Distinct claims among its hits (count)")
    rules: str | None = _f('Rule identifiers among its hits: a JSON list as text, e.g. '
                           '["long_stay", "split_admission"]')
    suspected_amount: float | None = _f(f"Amount at stake (涉嫌金额): each claim line or claim counted once, at the largest amount of the rules that hit it; unit: {YUAN}")
    score: float | None = _f(f"Case score: 1 − ∏(1 − best hit score of each rule); {RATIO}")
    confirmed_amount: float | None = _f(f"Amount confirmed on review; unit: {YUAN}; null until confirmed")
    recovered_amount: float | None = _f(f"Amount recovered so far (all recoveries); unit: {YUAN}; null until the "
                                        "first recovery")
    opened_at: str | None = _f("When the case was opened (ISO 8601 local time)")
    updated_at: str | None = _f("When the case last changed (ISO 8601 local time)")
    previous_case_id: str | None = _f("The earlier, decided case of the same provider or person that this one "
                                      "follows; null for a first case")


class CaseQueueRow(CaseRow):
    """A case in the queue, with its rank by expected amount."""
    rank: int = _f("Rank in the queue, 1 = highest expected amount (then score, then case id)")
    priority: float | None = _f(f"Expected amount: score × suspected amount; unit: {YUAN}")


class CaseTable(Doc):
    total: int = _f("Cases matching the filters before `limit` (count)")
    count: int = _f(COUNT)
    rows: list[CaseQueueRow] = _f("Cases of your regions, highest expected amount first")


class CaseHit(Doc):
    """One hit (疑点) of a rule on a claim, claim line or person (warehouse table supervision_hits)."""
    hit_id: str = _f("Hit identifier: rule : claim or person : line (`-` for a whole claim)")
    rule_id: str = _f("Rule identifier (the rule file's `id`)")
    kind: str = _f("What the rule finds (the rule file's `kind`, e.g. duplicate_billing, split_admission)")
    claim_id: str | None = _f("Claim hit; null for a hit on a person")
    line_no: int | float | None = _f(f"Claim line hit ({_WHOLE}); null for a whole claim")
    person_id: str | None = _f("Insured person (pseudonymised identifier)")
    provider_id: str | None = _f("Provider (定点医药机构) identifier")
    related_claim_id: str | None = _f("The other claim of the finding (the duplicate, the stay before or after); "
                                      "null when none")
    service_date: str | None = _f("Date of the service (ISO 8601; the time part is always 00:00:00)")
    amount_at_stake: float | None = _f(f"Amount at stake of the hit (涉嫌金额), as the rule computes it; unit: {YUAN}")
    severity: float | None = _f(f"Strength of the finding as the rule's check measures it; {RATIO}")
    score: float | None = _f(f"Hit score: the rule's weight (prior confidence) × severity; {RATIO}")
    evidence: str | None = _f("Why the hit was found, with the figures (English)")
    run_id: str | None = _f("The screen (supervision run) that last found the hit")
    evidence_zh: str | None = _f("Why the hit was found (Chinese); null for hits stored before Chinese evidence "
                                 "was kept (read `evidence`)")


class CaseEvent(Doc):
    """One entry of a case's history: opened, new hits, a move or a note (table supervision_case_events)."""
    event_id: int = _f("Event number (increasing)")
    case_id: str = _f("Case identifier")
    event_at: str = _f("When (ISO 8601 local time)")
    actor: str = _f("Who (user name, or the system user of a screen)")
    action: str = _f("What happened: opened, hits (new hits by a screen), move (status change) or note")
    from_status: CaseStatus | None = _f("Status before a move; null for other events")
    to_status: CaseStatus | None = _f("Status after a move (open for `opened`); null for other events")
    amount: float | None = _f(f"Amount confirmed or recovered by the move; unit: {YUAN}; null for other events")
    note: str | None = _f("Note (a person's note as written; a screen's note in English)")
    run_id: str | None = _f("The screen that wrote the event; null for a person's move or note")
    note_zh: str | None = _f("A screen's note in Chinese; null for a person's note (read `note`)")


class CaseDetail(Doc):
    """One case with its evidence and history, and the moves the workflow allows from its status."""
    case: CaseRow = _f("The case")
    hits: list[CaseHit] = _f("Its hits (evidence), highest score first, then amount at stake")
    history: list[CaseEvent] = _f("Its history, oldest first")
    moves: list[CaseStatus] = _f("Statuses the case may move to now (POST …/move); empty when none")


# -- /me -------------------------------------------------------------------------------------------------
class Me(Doc):
    username: str = _f("User name")
    role: str = _f("Role (admin, analyst, supervisor, viewer …)")
    region_code: str | None = _f("Region the user is limited to (and the regions below); null: all regions")
    display_name: str | None = _f("Name shown on the pages")
    permissions: list[str] = _f("What the user may do (permission names), sorted")


RegionNode.model_rebuild()
