"""Individual-account rules as dated policy data (schema ``mifund.accounts/1``).

One YAML file per city (``src/mifund/accounts/policies/<region_code>_accounts.yaml``), in the house
format of the benefit policies: every value is ``{values: {date: number}, metadata: {unit, reference}}``
and unknown keys are errors. Two parts:

- ``levels``: amounts that are the same under both regimes and are taken as in force on 1 January of
  the simulated year (the local average pension, the resident individual contribution).
- ``rules``: what the 2021 reform (国办发〔2021〕14号) changed -- crediting, what the account may pay,
  the outpatient mutual-aid benefit. The *old* regime is every rule as in force the day before
  ``transition_date``; the *new* regime is every rule as in force on 1 January of the simulated year
  (never earlier than ``transition_date``).

``AccountRules.resolve(year, regime)`` turns the tree into plain integers (fen, basis points) and small
parameter tables (crediting by category × age band, mutual aid by category × provider level) that the
Ibis engine joins. Policy numbers live only in the YAML files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from mifund.policy.schema import (
    LEVELS,
    ByCategory,
    Leveled,
    Metadata,
    Param,
    Strict,
    category_param,
    level_param,
)
from mifund.policy.yamlines import YamlError, load_with_lines

SCHEMA_ID = "mifund.accounts/1"
REGIMES = ("old", "new")
ACCOUNT_CATEGORIES = ("in_service", "flexible", "retired")
USE_KEYS = ("outpatient", "pharmacy", "chronic_outpatient", "inpatient", "self_pay", "family_members",
            "family_resident_contributions", "commercial_premiums")
MAX_AGE = 200


class AccountRulesError(ValueError):
    """Invalid account-rule files; each problem names the file, line and key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class DatedFlag(Strict):
    """A dated yes/no: {values: {date: true/false}}."""

    values: dict[dt.date, bool]
    metadata: Metadata | None = None

    @field_validator("values")
    @classmethod
    def _non_empty(cls, v):
        if not v:
            raise ValueError("values needs at least one dated value")
        return dict(sorted(v.items()))

    def at(self, day: dt.date) -> bool:
        found = [x for d, x in self.values.items() if d <= day]
        if not found:
            raise KeyError(day)
        return found[-1]


class AgeBand(Strict):
    from_age: int = Field(ge=0, lt=MAX_AGE)
    value: Param


class AgeBanded(Strict):
    """Values by age band: band k covers ages [from_age_k, from_age_k+1); the first starts at 0."""

    bands: list[AgeBand] = Field(min_length=1)
    metadata: Metadata | None = None

    @field_validator("bands")
    @classmethod
    def _ordered(cls, v):
        ages = [b.from_age for b in v]
        if ages[0] != 0:
            raise ValueError("the first age band starts at from_age 0")
        if ages != sorted(set(ages)):
            raise ValueError(f"age bands must be strictly increasing, got {ages}")
        return v


def _aged_tag(v: Any) -> str:
    if isinstance(v, dict):
        return "param" if "values" in v else "bands"
    return "param" if isinstance(v, Param) else "bands"


ByAge = Annotated[Annotated[Param, Tag("param")] | Annotated[AgeBanded, Tag("bands")], Discriminator(_aged_tag)]


def age_bands(x: Param | AgeBanded) -> list[tuple[int, int, Param]]:
    """[(from_age, to_age exclusive, Param)]."""
    if isinstance(x, Param):
        return [(0, MAX_AGE, x)]
    out = []
    for i, b in enumerate(x.bands):
        to = x.bands[i + 1].from_age if i + 1 < len(x.bands) else MAX_AGE
        out.append((b.from_age, to, b.value))
    return out


class WageCrediting(Strict):
    """In-service (and flexible) members: shares of the monthly wage base credited to the account."""

    from_employee: ByAge  # from the member's own contribution (e.g. 0.02 = the whole 2%)
    from_employer: ByAge  # from the employer's contribution (flexible workers: their own pooled part)
    metadata: Metadata | None = None


class RetiredCrediting(Strict):
    """Retirees: a fixed monthly amount plus a share of the pension (the local average pension stands
    for the member's own, which the warehouse does not hold)."""

    fixed_amount: ByAge
    pension_share: ByAge
    metadata: Metadata | None = None


class Crediting(Strict):
    in_service: WageCrediting
    flexible: WageCrediting | None = None  # absent: flexible workers have no account
    retired: RetiredCrediting
    metadata: Metadata | None = None


class Uses(Strict):
    """What the account may pay (each a dated flag)."""

    outpatient: DatedFlag
    pharmacy: DatedFlag
    chronic_outpatient: DatedFlag
    inpatient: DatedFlag  # the inpatient out-of-pocket part within policy scope and the category-B co-pay
    self_pay: DatedFlag  # fully self-paid (class C) items
    family_members: DatedFlag  # family sharing (家庭共济): relatives' medical expenses
    family_resident_contributions: DatedFlag  # relatives' resident individual contributions
    commercial_premiums: DatedFlag  # premiums of commercial health insurance
    metadata: Metadata | None = None


class MutualAid(Strict):
    """Outpatient mutual aid (门诊共济): the pooled fund pays ordinary outpatient costs."""

    visit_types: list[Literal["outpatient", "pharmacy"]] = ["outpatient", "pharmacy"]
    deductible: ByCategory  # per year
    ratio: dict[str, Leveled]
    annual_cap: ByCategory
    metadata: Metadata | None = None

    @field_validator("ratio")
    @classmethod
    def _keys(cls, v):
        bad = [k for k in v if k not in (*ACCOUNT_CATEGORIES, "default")]
        if bad:
            raise ValueError(f"unknown ratio key(s) {bad}; use {ACCOUNT_CATEGORIES} or 'default'")
        return v


class Rules(Strict):
    crediting: Crediting
    uses: Uses
    outpatient_mutual_aid: MutualAid
    metadata: Metadata | None = None


class Levels(Strict):
    average_pension: Param  # yuan per month
    resident_contribution: Param  # yuan per year, the resident scheme's individual contribution
    metadata: Metadata | None = None


class AccountRulesFile(Strict):
    schema_: Literal["mifund.accounts/1"] = Field(alias="schema")
    region_code: str
    name: str
    transition_date: dt.date
    metadata: Metadata | None = None
    levels: Levels
    rules: Rules

    @field_validator("region_code")
    @classmethod
    def _code(cls, v):
        if not (isinstance(v, str) and len(v) == 6 and v.isdigit()):
            raise ValueError("a region code is 6 digits, quoted as a string")
        return v

    @model_validator(mode="after")
    def _references(self):
        if not (self.metadata and self.metadata.reference):
            raise ValueError("metadata.reference is required (title and href or document number)")
        return self


def _fen(x: Decimal | None) -> int:
    if x is None:
        return 0
    f = x * 100
    if f != f.to_integral_value():
        raise ValueError(f"amount {x} has more than 2 decimals")
    return int(f)


def _bp(x: Decimal | None) -> int:
    """Basis points of a ratio; a share of the wage base may need 1/100 of a basis point, so use 1e-6."""
    if x is None:
        return 0
    if x > 1:
        raise ValueError(f"ratio {x} is above 1")
    b = x * 1_000_000
    if b != b.to_integral_value():
        raise ValueError(f"ratio {x} has more than 6 decimals")
    return int(b)


PPM = 1_000_000  # ratios are carried as parts per million


@dataclass
class Resolved:
    """One regime in one year, as integers: fen for amounts, parts per million (PPM) for ratios."""

    year: int
    regime: str
    day: dt.date  # the day the rules were read at
    uses: dict[str, bool]
    average_pension: int  # fen per month
    resident_contribution: int  # fen per year
    # category, from_age, to_age, employee_ppm (of wage base), employer_ppm, fixed (fen/month), pension_ppm
    crediting: list[dict] = field(default_factory=list)
    # category, level, deductible (fen), ratio_ppm, cap (fen)
    mutual_aid: list[dict] = field(default_factory=list)
    mutual_aid_visit_types: list[str] = field(default_factory=list)


@dataclass
class AccountRules:
    model: AccountRulesFile
    file: str

    @property
    def region_code(self) -> str:
        return self.model.region_code

    @property
    def transition_date(self) -> dt.date:
        return self.model.transition_date

    def rule_day(self, year: int, regime: str) -> dt.date:
        if regime == "old":
            return self.transition_date - dt.timedelta(days=1)
        if regime == "new":
            return max(dt.date(year, 1, 1), self.transition_date)
        raise ValueError(f"regime is one of {REGIMES}, not {regime!r}")

    def references(self) -> list[dict]:
        return [r.model_dump() for r in self.model.metadata.reference]

    def resolve(self, year: int, regime: str) -> Resolved:
        day = self.rule_day(year, regime)
        jan1 = dt.date(year, 1, 1)
        m = self.model
        problems: list[str] = []

        def at(p, what: str, on: dt.date):
            try:
                return p.at(on)
            except KeyError:
                problems.append(f"{self.file}: {what}: no value in force on {on}")
                return None

        out = Resolved(year=year, regime=regime, day=day,
                       uses={k: bool(at(getattr(m.rules.uses, k), f"rules.uses.{k}", day)) for k in USE_KEYS},
                       average_pension=_fen(at(m.levels.average_pension, "levels.average_pension", jan1)),
                       resident_contribution=_fen(at(m.levels.resident_contribution,
                                                     "levels.resident_contribution", jan1)))
        cr = m.rules.crediting
        for cat in ("in_service", "flexible"):
            w: WageCrediting | None = getattr(cr, cat)
            if w is None:
                continue
            for lo, hi, emp, er in _merge_bands(age_bands(w.from_employee), age_bands(w.from_employer)):
                out.crediting.append({
                    "category": cat, "from_age": lo, "to_age": hi,
                    "employee_ppm": _bp(at(emp, f"rules.crediting.{cat}.from_employee", day)),
                    "employer_ppm": _bp(at(er, f"rules.crediting.{cat}.from_employer", day)),
                    "fixed": 0, "pension_ppm": 0})
        r = cr.retired
        for lo, hi, fixed, share in _merge_bands(age_bands(r.fixed_amount), age_bands(r.pension_share)):
            out.crediting.append({
                "category": "retired", "from_age": lo, "to_age": hi, "employee_ppm": 0, "employer_ppm": 0,
                "fixed": _fen(at(fixed, "rules.crediting.retired.fixed_amount", day)),
                "pension_ppm": _bp(at(share, "rules.crediting.retired.pension_share", day))})
        ma = m.rules.outpatient_mutual_aid
        out.mutual_aid_visit_types = list(ma.visit_types)
        for cat in ACCOUNT_CATEGORIES:
            ratio = ma.ratio.get(cat, ma.ratio.get("default"))
            if ratio is None:
                continue
            ded = category_param(ma.deductible, cat, None)
            cap = category_param(ma.annual_cap, cat, None)
            for level in LEVELS:
                rv = at(level_param(ratio, level), f"rules.outpatient_mutual_aid.ratio.{cat}", day)
                capv = at(cap, f"rules.outpatient_mutual_aid.annual_cap.{cat}", day) if cap else None
                out.mutual_aid.append({
                    "category": cat, "level": level,
                    "deductible": _fen(at(ded, f"rules.outpatient_mutual_aid.deductible.{cat}", day) if ded else 0),
                    "ratio_ppm": _bp(rv), "cap": _fen(capv) if capv is not None else 10**13})
        if problems:
            raise AccountRulesError(problems)
        return out


def _merge_bands(a: list[tuple[int, int, Any]], b: list[tuple[int, int, Any]]):
    """Common refinement of two age-band lists: [(lo, hi, value_a, value_b)]."""
    cuts = sorted({lo for lo, _, _ in a} | {lo for lo, _, _ in b} | {MAX_AGE})
    out = []
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        va = next(v for x, y, v in a if x <= lo < y)
        vb = next(v for x, y, v in b if x <= lo < y)
        out.append((lo, hi, va, vb))
    return out


def default_rules_dir() -> Path:
    return Path(__file__).resolve().parent / "policies"


def _loc(lines: dict, loc: tuple) -> str:
    for i in range(len(loc), 0, -1):
        for key in (tuple(loc[:i]), tuple(_date_or(x) for x in loc[:i])):
            if key in lines:
                return str(lines[key])
    return "1"


def _date_or(x):
    try:
        return dt.date.fromisoformat(x) if isinstance(x, str) else x
    except ValueError:
        return x


def load_account_rules(path: str | Path | None = None, region_code: str | None = None) -> AccountRules:
    """Load one city's rules: a YAML file, or a directory holding ``<region_code>_accounts.yaml``
    (default: the files shipped under mifund/accounts/policies). A county code finds its city's file."""
    p = Path(path) if path is not None else default_rules_dir()
    if p.is_dir():
        files = sorted(p.glob("*_accounts.yaml"))
        if region_code:
            want = [f"{region_code}_accounts.yaml", f"{region_code[:4]}00_accounts.yaml",
                    f"{region_code[:2]}0000_accounts.yaml"]
            files = [f for w in want for f in files if f.name == w][:1]
        if len(files) != 1:
            raise AccountRulesError([f"{p}: expected one *_accounts.yaml"
                                     + (f" for region {region_code}" if region_code else "")
                                     + f", found {[f.name for f in files]}"])
        p = files[0]
    if not p.is_file():
        raise AccountRulesError([f"{p}: no such file or directory"])
    try:
        data, lines = load_with_lines(p)
    except YamlError as e:
        raise AccountRulesError([str(e)]) from None
    try:
        model = AccountRulesFile.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc: tuple = ()
            for part in err["loc"]:  # drop the union tags pydantic adds, keep real keys
                if part in ("param", "bands", "levels") and loc + (part,) not in lines:
                    continue
                loc = loc + (part,)
            problems.append(f"{p}:{_loc(lines, loc)}: {'.'.join(map(str, loc)) or '(top)'}: {err['msg']}")
        raise AccountRulesError(problems) from None
    rules = AccountRules(model=model, file=str(p))
    try:  # every regime of the transition year resolves, or the file is rejected now
        for regime in REGIMES:
            rules.resolve(model.transition_date.year, regime)
    except ValueError as e:
        raise AccountRulesError([f"{p}: {e}"]) from None
    return rules
