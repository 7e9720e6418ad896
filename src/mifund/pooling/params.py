"""Pooling modes as data: the YAML schema (``mifund.pooling/1``) and its loader.

A mode file lists named modes. Each has a ``kind`` (``county`` 县级统筹, ``adjustment_fund`` 调剂金,
``unified`` 统收统支), a ``management`` label (``tiered`` 分级管理 / ``vertical`` 垂直管理) and a
deficit-sharing rule (缺口分担): which part of a county's current-year deficit is the county's own
responsibility (the part explained by collection below target, by spending above budget, and by
anything else) and how the treasuries split the top-up that no fund can pay. Every number is a dated
``Param`` (house style of ``mifund.policy``: ``{values: {2024-01-01: 0.03}, metadata: {unit, reference}}``);
the simulator takes the value in force on 1 January of each simulated year. Unknown keys are errors.

User-defined variants (mode d) are simply more modes in a user file (``--modes my.yaml``): a mode
with the name of a shipped one replaces it as a whole; others are added.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from mifund.policy.schema import Metadata, Param

SCHEMA_ID = "mifund.pooling/1"
KINDS = ("county", "adjustment_fund", "unified")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def value_at(p: Param, year: int) -> float:
    """The value in force on 1 January of `year` (the first dated value for earlier years)."""
    try:
        v = p.at(dt.date(year, 1, 1))
    except KeyError:
        v = next(iter(p.values.values()))
    if v is None:
        raise ValueError(f"no value in force in {year}")
    return float(v)


def _at_most_one(p: Param | None, what: str) -> None:
    """A share or rate is a fraction: every dated value in [0, 1] (Param already refuses negatives)."""
    for d, x in (p.values.items() if p is not None else ()):
        if x is not None and x > 1:
            raise ValueError(f"{what}: {x} at {d} is above 1 (a share: 0..1)")


class CountyShare(Strict):
    """Share (0..1) of each part of a deficit that the county bears itself (the rest is the city's)."""

    collection_shortfall: Param  # 征缴不力: income below the collection target
    spending_overrun: Param  # 支出超预算: expenditure above budget
    other: Param  # objective causes (ageing, epidemics, policy changes)
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _fractions(self):
        for k in ("collection_shortfall", "spending_overrun", "other"):
            _at_most_one(getattr(self, k), k)
        return self


class TopupSplit(Strict):
    """How the treasuries split a top-up that is not the county's own responsibility (shares sum to 1)."""

    city: Param
    county: Param
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _sums_to_one(self):
        # check at every date either share changes: the pair in force then must sum to 1
        for d in sorted(set(self.city.values) | set(self.county.values)):
            day = dt.date(d.year, d.month, d.day)
            c, k = _in_force(self.city, day), _in_force(self.county, day)
            if c is not None and k is not None and abs(float(c) + float(k) - 1) > 1e-9:
                raise ValueError(f"from {d}: city {c} + county {k} = {float(c) + float(k):g}, must sum to 1")
        return self


def _in_force(p: Param, day: dt.date):
    try:
        return p.at(day)
    except KeyError:
        return next(iter(p.values.values()))


class DeficitSharing(Strict):
    county_share: CountyShare
    fiscal_topup_split: TopupSplit
    # unified mode only: when the county's responsible part is charged to its treasury
    responsibility_charge: Literal["always", "when_short", "never"] = "always"
    metadata: Metadata | None = None


class Cap(Strict):
    """Upper bound of one county's draw in a year: value x basis (basis none = no cap)."""

    basis: Literal["none", "contribution", "deficit", "pot"] = "none"
    value: Param | None = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _value_needed(self):
        if self.basis != "none" and self.value is None:
            raise ValueError("a cap with a basis needs a value")
        return self


class AdjustmentFund(Strict):
    contribution_rate: Param  # share of the county's fund income paid into the city pot (上解比例)
    contribution_base: Literal["income_total"] = "income_total"
    # current_deficit: the year's objective deficit; balance_shortfall: what the balance would lack to stay
    # >= 0; safety_line: what it would lack to hold the file's safety line (months of the year's expenditure)
    draw_trigger: Literal["current_deficit", "balance_shortfall", "safety_line"] = "balance_shortfall"
    draw_share: Param  # share of the eligible (objective) deficit the pot pays
    cap: Cap = Cap()
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _fractions(self):
        _at_most_one(self.contribution_rate, "contribution_rate")
        _at_most_one(self.draw_share, "draw_share")
        return self


class Mode(Strict):
    kind: Literal["county", "adjustment_fund", "unified"]
    label_zh: str
    label_en: str
    management: Literal["tiered", "vertical"] = "tiered"
    description: str | None = None
    deficit_sharing: DeficitSharing
    adjustment_fund: AdjustmentFund | None = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _kind_fields(self):
        if self.kind == "adjustment_fund" and self.adjustment_fund is None:
            raise ValueError("an adjustment_fund mode needs its adjustment_fund: block")
        if self.kind != "adjustment_fund" and self.adjustment_fund is not None:
            raise ValueError(f"adjustment_fund: block given for a {self.kind} mode")
        return self


class SafetyLine(Strict):
    """The safety line is read from the early-warning rules, not repeated here."""

    rule: str = "payable_months_low"
    level: str = "red"


class Target(Strict):
    """How a county's collection target (or spending budget) is set from the ledger.

    city_per_capita: the city's income (expenditure) per insured person that year x the county's insured;
    own_trend: the county's previous year x (1 + the city's growth that year); none: no target. The
    tolerance widens it: a shortfall counts below target x (1 - tolerance), an overrun above budget x
    (1 + tolerance)."""

    basis: Literal["city_per_capita", "own_trend", "none"] = "none"
    tolerance: Param | None = None
    metadata: Metadata | None = None


class Targets(Strict):
    income: Target = Target()
    expenditure: Target = Target()
    metadata: Metadata | None = None


class ModeFile(Strict):
    schema_: Literal["mifund.pooling/1"] | None = None
    metadata: Metadata | None = None
    safety_line: SafetyLine | None = None
    targets: Targets | None = None
    modes: dict[str, Mode]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _schema_key(cls, v):
        if isinstance(v, dict) and "schema" in v:
            v = dict(v)
            v["schema_"] = v.pop("schema")
        return v


class ModesError(ValueError):
    """A mode file that cannot be used: names the file and the key path of each problem."""

    def __init__(self, file: str, problems: list[str]):
        self.file, self.problems = file, problems
        super().__init__("\n".join(f"{file}: {p}" for p in problems))


def _read(path) -> ModeFile:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ModesError(name, [f"cannot read: {getattr(e, 'strerror', None) or e}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ModesError(name, [f"{where}not valid YAML ({getattr(e, 'problem', None) or e})"]) from None
    if not isinstance(data, dict):
        raise ModesError(name, ["expected a mapping with a modes: key"])
    try:
        return ModeFile.model_validate(data)
    except ValidationError as e:
        problems = []
        for x in e.errors():
            loc = ".".join(str(p) for p in x["loc"] if p not in ("function-after", "function-before"))
            loc = loc.replace("schema_", "schema")
            msg = x["msg"].removeprefix("Value error, ")
            problems.append(f"{loc}: {msg}" if loc else msg)
        raise ModesError(name, problems) from None


def default_modes_file():
    return resources.files("mifund.pooling").joinpath("modes.yaml")


def load_modes(path: str | Path | None = None) -> ModeFile:
    """The shipped modes, with the modes of a user file (if given) laid over them by name."""
    base = _read(default_modes_file())
    if path is None:
        return base
    user = _read(Path(path))  # ModesError (a ValueError) naming the file and the key path
    merged = dict(base.modes)
    merged.update(user.modes)
    return ModeFile(metadata=base.metadata, safety_line=user.safety_line or base.safety_line,
                    targets=user.targets or base.targets, modes=merged)


def safety_line_months(mf: ModeFile, rules: str | Path | None = None) -> float:
    """Months of payment capacity below which a fund breaches the safety line: the base level of the
    warning rules (`rules` laid over the shipped ones), before any per-region or per-scheme override.
    Commands that know their regions use ``safety_line_for`` instead."""
    from mifund.ledger.warning_rules import load_rules

    sl = mf.safety_line or SafetyLine()
    return float(load_rules(rules).rule(sl.rule).levels[sl.level].value)


def safety_line_for(mf: ModeFile, region_codes: list[str], scheme: str, fund: str, rules: str | Path | None = None):
    """``mifund.pooling.safety.SafetyLine`` of the mode file's rule and level for these regions (one line
    each, after the rules' per-region / per-scheme / per-fund overrides)."""
    import pandas as pd

    from mifund.pooling.safety import resolve

    sl = mf.safety_line or SafetyLine()
    rows = pd.DataFrame({"region_code": region_codes, "scheme": scheme, "fund": fund})
    return resolve(rows, level=sl.level, rules=rules, rule=sl.rule)
