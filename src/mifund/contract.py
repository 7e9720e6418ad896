"""The data contract (../shared/DATA_CONTRACT.md) as code: tables, columns, types, keys, Chinese headers.

This module is the single description of every input table. The importer, the warehouse schema check,
the Excel template and the documentation all read it, so a column is named, typed and translated once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Logical column types. The storage layer maps them to engine types.
CODE6 = "code6"  # 6-digit GB/T 2260 region code, kept as a string
STR = "str"
INT = "int"
AMOUNT = "amount"  # yuan, two decimals, stored exactly (DECIMAL(18,2))
NUMBER = "number"  # a quantity or price that is not money in yuan
DATE = "date"
BOOL = "bool"
ENUM = "enum"

SQL_TYPES = {
    CODE6: "VARCHAR",
    STR: "VARCHAR",
    INT: "BIGINT",
    AMOUNT: "DECIMAL(18,2)",
    NUMBER: "DOUBLE",
    DATE: "DATE",
    BOOL: "BOOLEAN",
    ENUM: "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    zh: str
    required: bool = True
    description: str = ""
    # enum: code -> Chinese aliases accepted on import (the first is the display label)
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    default: object = None  # used when an optional column is absent or empty
    # a text column's values must match this (after the importer's normalisation); pattern_hint says how
    pattern: str | None = None
    pattern_hint: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    def label(self, code: str) -> str:
        """'employee 职工医保' style label for drop-downs."""
        aliases = self.values.get(code, ())
        return f"{code} {aliases[0]}" if aliases else code


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    depends_on: tuple[str, ...] = ()
    # file-name stems (besides the table name) that identify this table on import
    aliases: tuple[str, ...] = ()
    description: str = ""

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def amount_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.type == AMOUNT]


SCHEMES = {"employee": ("职工医保", "职工", "职工基本医疗保险"), "resident": ("居民医保", "居民", "城乡居民基本医疗保险", "城乡居民医保")}
FUNDS = {
    "pooled": ("统筹基金", "统筹"),
    "account": ("个人账户", "账户"),
    "combined": ("统筹基金+个人账户", "合计", "统账合计"),
}
LEVELS = {"country": ("全国",), "province": ("省级", "省"), "city": ("市级", "地市", "市"), "county": ("县级", "区县", "县")}
SEX = {"M": ("男",), "F": ("女",)}
VISIT_TYPES = {
    "inpatient": ("住院",),
    "outpatient": ("门诊", "普通门诊"),
    "chronic_outpatient": ("门诊慢特病", "慢特病"),
    "pharmacy": ("药店", "定点药店购药"),
}
CATEGORIES = {
    "in_service": ("在职",),
    "retired": ("退休",),
    "flexible": ("灵活就业",),
    "resident_adult": ("成年居民",),
    "resident_minor": ("未成年居民",),
    "student": ("学生",),
}
SPECIAL_GROUPS = {
    "none": ("无", "一般人群"),
    "low_income": ("低保",),
    "extreme_poverty": ("特困",),
    "relapse_risk": ("返贫致贫", "防返贫监测"),
    "disabled": ("重度残疾", "残疾"),
}
PROVIDER_TYPES = {"hospital": ("医院",), "clinic": ("诊所", "基层医疗机构"), "pharmacy": ("药店", "定点药店")}
ITEM_CATEGORIES = {"drug": ("药品",), "service": ("诊疗项目", "服务"), "material": ("医用耗材", "耗材")}
CATALOG_CLASSES = {"A": ("甲类", "甲"), "B": ("乙类", "乙"), "C": ("丙类", "丙")}

# An age band: LOW-HIGH (both inclusive, LOW <= HIGH) or LOW+ (LOW and above), whole years. One spelling
# per band: "5-9岁" or "5～9" is read as 5-9 on import, "5-9y" is refused (not a second band beside 5-9).
AGE_BAND_PATTERN = r"^(?:\d{1,3}-\d{1,3}|\d{1,3}\+)$"

_AMT_MAX = 1e16  # DECIMAL(18,2) holds up to 1e16 yuan


def _amount(name: str, zh: str, required: bool = True, description: str = "", min: float | None = 0) -> Column:
    return Column(name, AMOUNT, zh, required=required, description=description, min=min, max=_AMT_MAX)


REGIONS = Table(
    "regions",
    "行政区划",
    (
        Column("region_code", CODE6, "行政区划代码", description="6-digit GB/T 2260 code; 000000 = whole country"),
        Column("name", STR, "名称"),
        Column("name_en", STR, "英文名称", required=False),
        Column("level", ENUM, "层级", values=LEVELS),
        Column("parent_code", CODE6, "上级行政区划代码", required=False),
    ),
    key=("region_code",),
    aliases=("region", "行政区划"),
)

POPULATION = Table(
    "population",
    "常住人口",
    (
        Column("region_code", CODE6, "行政区划代码"),
        Column("year", INT, "年度", min=1949, max=2200),
        Column("sex", ENUM, "性别", required=False, values=SEX),
        Column("age_band", STR, "年龄组", required=False, pattern=AGE_BAND_PATTERN,
               description="whole years: LOW-HIGH or LOW+ (open-ended), e.g. 0-4 … 85+",
               pattern_hint="an age band of whole years, LOW-HIGH or LOW+ (e.g. 0-4, 5-9, 85+)"),
        Column("persons", INT, "常住人口数", min=0),
        Column("source", STR, "数据来源", required=False),
    ),
    key=("region_code", "year", "sex", "age_band"),
    depends_on=("regions",),
    aliases=("常住人口", "人口"),
)

FUND_LEDGER = Table(
    "fund_ledger",
    "基金收支台账",
    (
        Column("region_code", CODE6, "行政区划代码"),
        Column("year", INT, "年度", min=1990, max=2200),
        Column("month", INT, "月份", required=False, min=1, max=12, description="absent = the whole year"),
        Column("scheme", ENUM, "险种", values=SCHEMES),
        Column("fund", ENUM, "基金", values=FUNDS),
        Column("insured", INT, "参保人数", min=0),
        Column("insured_in_service", INT, "在职参保人数", required=False, min=0),
        Column("insured_retired", INT, "退休参保人数", required=False, min=0),
        _amount("income_total", "基金收入"),
        _amount("income_individual", "个人缴费收入", required=False),
        _amount("income_employer", "单位缴费收入", required=False),
        _amount("income_fiscal_subsidy", "财政补助收入", required=False),
        _amount("income_interest", "利息收入", required=False, min=None),
        _amount("income_other", "其他收入", required=False, min=None),
        _amount("expenditure_total", "基金支出"),
        _amount("expenditure_inpatient", "住院支出", required=False),
        _amount("expenditure_outpatient", "门诊支出", required=False),
        _amount("expenditure_other", "其他支出", required=False),
        _amount("balance_end", "累计结存", min=None, description="accumulated balance at period end (may be negative)"),
        Column("source", STR, "数据来源", required=False, description="where the figures were published (kept for traceability)"),
    ),
    key=("region_code", "year", "month", "scheme", "fund"),
    depends_on=("regions",),
    aliases=("ledger", "fund_ledgers", "基金收支", "基金台账"),
)

INCOME_PARTS = ("income_individual", "income_employer", "income_fiscal_subsidy", "income_interest", "income_other")
EXPENDITURE_PARTS = ("expenditure_inpatient", "expenditure_outpatient", "expenditure_other")

ENROLLMENT = Table(
    "enrollment",
    "参保登记",
    (
        Column("person_id", STR, "人员标识", description="keyed hash of the citizen ID; a raw id_number column is hashed on import"),
        Column("year", INT, "年度", min=1990, max=2200),
        Column("region_code", CODE6, "参保地行政区划代码"),
        Column("scheme", ENUM, "险种", values=SCHEMES),
        Column("category", ENUM, "人员类别", values=CATEGORIES),
        Column("special_group", ENUM, "特殊人群", required=False, values=SPECIAL_GROUPS, default="none"),
        Column("sex", ENUM, "性别", values=SEX),
        Column("birth_date", DATE, "出生日期"),
        Column("family_id", STR, "家庭标识", required=False),
        _amount("wage_base", "缴费基数", required=False, description="monthly yuan, employees"),
    ),
    key=("person_id", "year", "region_code", "scheme"),
    depends_on=("regions",),
    aliases=("enrolment", "enrollments", "参保"),
)

PROVIDERS = Table(
    "providers",
    "定点医药机构",
    (
        Column("provider_id", STR, "机构编码"),
        Column("name", STR, "机构名称"),
        Column("region_code", CODE6, "行政区划代码"),
        Column("level", INT, "医院等级", min=1, max=3, description="1 primary, 2 secondary, 3 tertiary"),
        Column("type", ENUM, "机构类型", values=PROVIDER_TYPES),
        Column("specialty", STR, "专科", required=False),
    ),
    key=("provider_id",),
    depends_on=("regions",),
    aliases=("provider", "定点机构"),
)

CATALOG = Table(
    "catalog",
    "医保目录",
    (
        Column("item_code", STR, "项目编码"),
        Column("name", STR, "项目名称"),
        Column("item_category", ENUM, "项目类别", values=ITEM_CATEGORIES),
        Column("catalog_class", ENUM, "甲乙类", values=CATALOG_CLASSES),
        Column("sex_restriction", ENUM, "限性别", required=False, values=SEX),
        Column("min_age", INT, "最小年龄", required=False, min=0, max=150),
        Column("max_age", INT, "最大年龄", required=False, min=0, max=150),
        Column("max_daily_quantity", NUMBER, "日最大数量", required=False, min=0),
        _amount("price_cap", "最高限价", required=False),
    ),
    key=("item_code",),
    aliases=("catalogue", "目录"),
)

CLAIMS = Table(
    "claims",
    "结算记录",
    (
        Column("claim_id", STR, "结算编号"),
        Column("person_id", STR, "人员标识"),
        Column("provider_id", STR, "机构编码"),
        Column("visit_type", ENUM, "就诊类型", values=VISIT_TYPES),
        Column("admit_date", DATE, "入院日期"),
        Column("discharge_date", DATE, "出院日期"),
        Column("diagnosis_code", STR, "诊断编码"),
        _amount("total_amount", "医疗总费用"),
        _amount("self_pay_amount", "全自费金额"),
        _amount("copay_first_amount", "乙类先行自付"),
        _amount("policy_scope_amount", "政策范围内费用", required=False),
        Column("cross_region", BOOL, "异地就医", required=False, default=False),
    ),
    key=("claim_id",),
    depends_on=("providers",),
    aliases=("claim", "结算"),
)

CLAIM_LINES = Table(
    "claim_lines",
    "费用明细",
    (
        Column("claim_id", STR, "结算编号"),
        Column("line_no", INT, "明细序号", min=0),
        Column("item_code", STR, "项目编码"),
        Column("item_name", STR, "项目名称", required=False),
        Column("item_category", ENUM, "项目类别", values=ITEM_CATEGORIES),
        Column("catalog_class", ENUM, "甲乙类", values=CATALOG_CLASSES),
        Column("quantity", NUMBER, "数量", min=0),
        Column("unit_price", NUMBER, "单价", min=0),
        _amount("amount", "金额"),
        Column("service_date", DATE, "服务日期"),
    ),
    key=("claim_id", "line_no"),
    depends_on=("claims",),
    aliases=("lines", "claim_line", "明细"),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (REGIONS, POPULATION, CATALOG, PROVIDERS, FUND_LEDGER, ENROLLMENT, CLAIMS, CLAIM_LINES)
}


def import_order(names) -> list[str]:
    """Tables in dependency order (parents before children)."""
    names = set(names)
    order: list[str] = []

    def visit(n: str) -> None:
        if n in order:
            return
        for d in TABLES[n].depends_on:
            if d in names:
                visit(d)
        order.append(n)

    for n in TABLES:  # stable: declaration order
        if n in names:
            visit(n)
    return order


def table_for_stem(stem: str) -> Table | None:
    """Recognise a table from a file name stem.

    The name may carry a prefix or suffix ('national_fund_ledger', 'claim_lines_2024', '基金收支台账'):
    a table name or alias matching at word boundaries counts, and the longest match wins, so
    'claim_lines_2024' is claim_lines, not claims.
    """
    s = stem.lower().strip()
    best: tuple[int, Table] | None = None
    for t in TABLES.values():
        for alias in (t.name, *t.aliases, t.zh):
            a = re.escape(alias.lower())
            if re.search(rf"(^|[_\-. ]){a}($|[_\-. ]|\d)", s) and (best is None or len(alias) > best[0]):
                best = (len(alias), t)
    return best[1] if best else None
