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
from pydantic import BaseModel, ConfigDict, model_validator

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


class CountyShare(Strict):
    """Share (0..1) of each part of a deficit that the county bears itself (the rest is the city's)."""

    collection_shortfall: Param  # 征缴不力: income below the collection target
    spending_overrun: Param  # 支出超预算: expenditure above budget
    other: Param  # objective causes (ageing, epidemics, policy changes)
    metadata: Metadata | None = None


class TopupSplit(Strict):
    """How the treasuries split a top-up that is not the county's own responsibility (shares sum to 1)."""

    city: Param
    county: Param
    metadata: Metadata | None = None


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
    draw_trigger: Literal["current_deficit", "balance_shortfall"] = "balance_shortfall"
    draw_share: Param  # share of the eligible (objective) deficit the pot pays
    cap: Cap = Cap()
    metadata: Metadata | None = None


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


def _read(path) -> ModeFile:
    text = Path(path).read_text(encoding="utf-8") if not hasattr(path, "read_text") else path.read_text(
        encoding="utf-8")
    return ModeFile.model_validate(yaml.safe_load(text))


def default_modes_file():
    return resources.files("mifund.pooling").joinpath("modes.yaml")


def load_modes(path: str | Path | None = None) -> ModeFile:
    """The shipped modes, with the modes of a user file (if given) laid over them by name."""
    base = _read(default_modes_file())
    if path is None:
        return base
    user = _read(Path(path))
    merged = dict(base.modes)
    merged.update(user.modes)
    return ModeFile(metadata=base.metadata, safety_line=user.safety_line or base.safety_line,
                    targets=user.targets or base.targets, modes=merged)


def safety_line_months(mf: ModeFile) -> float:
    """Months of payment capacity below which a fund breaches the safety line (from the warning rules)."""
    from mifund.ledger.warning_rules import load_rules

    sl = mf.safety_line or SafetyLine()
    return float(load_rules().rule(sl.rule).levels[sl.level].value)
