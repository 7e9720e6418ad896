"""The policy YAML schema (version ``mifund.policy/1``) as Pydantic models.

Every value is dated, OpenFisca-style: ``{values: {2025-01-01: 800}, metadata: {unit: yuan,
reference: [{title: 洪医保发〔2025〕27号, href: …}]}}``. A ``null`` value switches a cap off (no cap)
from that date. ``metadata`` may sit on any node; a leaf without its own reference inherits the
nearest one above it (the file's ``metadata.reference`` at the top); a value with no reference at all is
an error (``load._pin_metadata``). A value's unit follows from its key (``UNITS``). Unknown keys are errors.
See ``policies/TEMPLATE.yaml`` for every key with a comment.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

SCHEMA_ID = "mifund.policy/1"
CATEGORIES = ("in_service", "retired", "flexible", "resident_adult", "resident_minor", "student")
EMPLOYEE_CATEGORIES = ("in_service", "retired", "flexible")  # the rest are the resident scheme's
SPECIAL_GROUPS = ("low_income", "extreme_poverty", "relapse_risk", "disabled")
VISIT_GROUPS = ("inpatient", "outpatient", "chronic_outpatient")  # pharmacy claims settle as outpatient
LEVELS = (1, 2, 3)

# The unit of every dated value follows from its key (a deductible is in yuan wherever it sits); a unit written
# in `metadata` must agree with it, and one left out is filled in from here, so every value carries a unit.
UNITS = {
    **dict.fromkeys(("deductible", "annual_cap", "threshold", "cross_region_deductible", "pooled_annual_cap"),
                    "yuan"),
    **dict.fromkeys(("ratio", "rate", "rate_increase", "cross_region_reduction", "cross_region_ratio", "share"),
                    "ratio"),
    "from_admission": "count",
    "deductible_factor": "factor",
    "under": "years",
    "from": "years",
}

VisitGroup = Literal["inpatient", "outpatient", "chronic_outpatient"]
SpecialGroup = Literal["low_income", "extreme_poverty", "relapse_risk", "disabled"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Reference(Strict):
    title: str
    href: str | None = None


class Metadata(Strict):
    unit: Literal["yuan", "ratio", "count", "factor", "years"] | None = None
    label: str | None = None
    reference: list[Reference] = []
    note: str | None = None
    # a modelling assumption, not a figure of any document: the values at and under this node cite no
    # document (the file's reference is not inherited) and carry the `note`, which says what is assumed
    assumption: bool = False


class Param(Strict):
    """A dated value: {values: {date: number or null}, metadata: {...}}."""

    values: dict[dt.date, Decimal | None]
    metadata: Metadata | None = None

    @field_validator("values")
    @classmethod
    def _non_empty(cls, v):
        if not v:
            raise ValueError("values needs at least one dated value")
        for d, x in v.items():
            if x is not None and x < 0:
                raise ValueError(f"negative value {x} at {d}")
        return dict(sorted(v.items()))

    def at(self, day: dt.date) -> Decimal | None:
        """The value in force on `day`; KeyError when `day` is before the first date."""
        best = None
        found = False
        for d, x in self.values.items():
            if d <= day:
                best, found = x, True
        if not found:
            raise KeyError(day)
        return best


class ByLevel(Strict):
    """One value per provider level (一级/二级/三级)."""

    level_1: Param
    level_2: Param
    level_3: Param
    metadata: Metadata | None = None

    def for_level(self, level: int) -> Param:
        return getattr(self, f"level_{level}")


def _leveled_tag(v: Any) -> str:
    if isinstance(v, dict):
        return "param" if "values" in v else "levels"
    return "param" if isinstance(v, Param) else "levels"


Leveled = Annotated[
    Annotated[Param, Tag("param")] | Annotated[ByLevel, Tag("levels")], Discriminator(_leveled_tag)
]


def level_param(x: Param | ByLevel, level: int) -> Param:
    return x if isinstance(x, Param) else x.for_level(level)


def _cap_tag(v: Any) -> str:
    if isinstance(v, dict):
        return "param" if "values" in v else "categories"
    return "param" if isinstance(v, Param) else "categories"


ByCategory = Annotated[
    Annotated[Param, Tag("param")] | Annotated[dict[str, Param], Tag("categories")], Discriminator(_cap_tag)
]


def category_param(x: Param | dict[str, Param] | None, category: str, special_group: str | None) -> Param | None:
    """A value given once, or per category / special group with an optional 'default'."""
    if x is None or isinstance(x, Param):
        return x
    for k in (special_group, category, "default"):
        if k is not None and k in x:
            return x[k]
    return None


class Bracket(Strict):
    threshold: Param
    rate: Param


class Scale(Strict):
    """Tiered bands (a scale): bracket k covers [threshold_k, threshold_k+1) of the base amount."""

    brackets: list[Bracket] = Field(min_length=1)
    metadata: Metadata | None = None


class RepeatAgeCondition(Strict):
    """Who the repeat-admission rule is for, by age in whole years on the discharge date: those under
    ``under`` or aged ``from`` and over (either may be left out). E.g. Nanchang's residents: children
    under 6 and people aged 70+. An insured person whose birth date is not known does not qualify."""

    under: Param | None = None
    from_: Param | None = Field(None, alias="from")
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _one_bound(self):
        if self.under is None and self.from_ is None:
            raise ValueError("give 'under', 'from' or both")
        return self


class RepeatAdmission(Strict):
    """Deductible for the n-th and later admissions of a year: deductible × factor (0 = waived),
    optionally only for some ages."""

    from_admission: Param
    deductible_factor: Param
    ages: RepeatAgeCondition | None = None
    metadata: Metadata | None = None


class VisitRules(Strict):
    deductible: Leveled
    repeat_admission: RepeatAdmission | None = None
    ratio: dict[str, Leveled]
    bands: Scale | None = None
    annual_cap: ByCategory | None = None
    cross_region_reduction: Param | None = None
    # 异地就医 with its own terms: a flat deductible per admission (replaces the level's, and the repeat-admission
    # rule) and a flat ratio (replaces the level's and category's; bands still add on top).
    cross_region_deductible: Param | None = None
    cross_region_ratio: Param | None = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _one_cross_rule(self):
        if self.cross_region_ratio is not None and self.cross_region_reduction is not None:
            raise ValueError("give cross_region_ratio or cross_region_reduction, not both")
        return self

    @field_validator("ratio")
    @classmethod
    def _ratio_keys(cls, v):
        allowed = set(CATEGORIES) | set(SPECIAL_GROUPS) | {"default"}
        bad = [k for k in v if k not in allowed]
        if bad:
            raise ValueError(f"unknown ratio key(s) {bad}; use a category {CATEGORIES}, a special group "
                             f"{SPECIAL_GROUPS} or 'default'")
        return v


class SpecialCatastrophic(Strict):
    threshold: Param | None = None
    rate_increase: Param | None = None
    annual_cap: Param | None = None
    metadata: Metadata | None = None


class Catastrophic(Strict):
    visit_types: list[VisitGroup] = ["inpatient", "chronic_outpatient"]
    threshold: Param
    scale: Scale
    annual_cap: Param | None = None
    special_groups: dict[SpecialGroup, SpecialCatastrophic] = {}
    metadata: Metadata | None = None


class AssistanceGroup(Strict):
    ratio: Param
    annual_cap: Param | None = None
    metadata: Metadata | None = None


class Assistance(Strict):
    visit_types: list[VisitGroup] = list(VISIT_GROUPS)
    groups: dict[SpecialGroup, AssistanceGroup]
    metadata: Metadata | None = None


class Account(Strict):
    share: Param
    annual_cap: Param | None = None
    covers_self_pay: bool = False
    categories: list[Literal["in_service", "retired", "flexible"]] = ["in_service", "retired", "flexible"]
    metadata: Metadata | None = None


class PolicyTest(Strict):
    """A YAML test case: one person, claims in order, expected outputs (yuan)."""

    name: str
    person: dict[str, Any]
    claims: list[dict[str, Any]]
    expect: list[dict[str, Any]]


class PolicyFile(Strict):
    schema_: Literal["mifund.policy/1"] = Field(alias="schema")
    region_code: str
    scheme: Literal["employee", "resident"]
    name: str
    inherits: str | None = None
    metadata: Metadata | None = None
    inpatient: VisitRules | None = None
    outpatient: VisitRules | None = None
    chronic_outpatient: VisitRules | None = None
    pooled_annual_cap: Param | None = None
    catastrophic: Catastrophic | None = None
    assistance: Assistance | None = None
    account: Account | None = None
    tests: list[PolicyTest] = []

    @field_validator("region_code", "inherits")
    @classmethod
    def _code(cls, v):
        if v is not None and not (isinstance(v, str) and len(v) == 6 and v.isdigit()):
            raise ValueError("a region code is 6 digits, quoted as a string")
        return v

    @model_validator(mode="after")
    def _something(self):
        if not (self.inpatient or self.outpatient or self.chronic_outpatient):
            raise ValueError("a policy needs at least one of inpatient, outpatient, chronic_outpatient")
        return self
