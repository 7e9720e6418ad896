"""Demographic and cost tables shipped as data (``data/*.yaml``), validated on load.

- :func:`load_life_table` — survivors l(x) by 5-year band and sex; annual survival per band.
- :func:`load_age_curve` — relative fund expenditure per insured by band and sex (reference shape).
- :func:`load_age_structure` — reference population shares by band and male share.
- :func:`retirement_ages` — statutory retirement age by sex and calendar year, with the 2025 delay.

Bands are 0-4, 5-9, ..., 80-84, 85+ (``BANDS``), the same as the population table of the data
contract. A bad file raises :class:`~mifund.projection.scenario.ScenarioError` naming the key.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mifund.projection.scenario import ScenarioError, _problems

AGES = tuple(range(0, 90, 5))
BANDS = tuple(f"{a}-{a + 4}" for a in AGES[:-1]) + ("85+",)
N_BANDS = len(BANDS)
SEXES = ("M", "F")
WIDTH = 5


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Ref(_Strict):
    title: str
    href: str | None = None


class _Table(_Strict):
    name: str
    reference: list[Ref] = Field(min_length=1)
    verify: bool = False
    ages: list[int]

    @model_validator(mode="after")
    def _ages(self):
        if tuple(self.ages) != AGES:
            raise ValueError(f"ages must be {list(AGES)}")
        return self


class LifeTable(_Table):
    radix: float = Field(gt=0)
    lx: dict[str, list[float]]
    e85: dict[str, float]

    @model_validator(mode="after")
    def _decreasing(self):
        for s in SEXES:
            if s not in self.lx:
                raise ValueError(f"lx.{s}: required key missing")
            if s not in self.e85 or self.e85[s] <= 0:
                raise ValueError(f"e85.{s}: must be a positive number of years")
        for s, lx in self.lx.items():
            if s not in SEXES:
                raise ValueError(f"lx.{s}: unknown sex (M or F)")
            if len(lx) != N_BANDS:
                raise ValueError(f"lx.{s}: needs {N_BANDS} values, got {len(lx)}")
            if lx[0] != self.radix:
                raise ValueError(f"lx.{s}: must start at the radix {self.radix:g}, got {lx[0]:g}")
            for i in range(1, len(lx)):
                if not 0 < lx[i] < lx[i - 1]:
                    raise ValueError(
                        f"lx.{s}: survivors must decrease with age and stay positive; "
                        f"l({AGES[i]}) = {lx[i]:g} is not below l({AGES[i - 1]}) = {lx[i - 1]:g}")
        return self

    def annual_survival(self) -> np.ndarray:
        """(bands, sexes): probability of surviving one year within each band.

        Within a closed band the 5-year survival l(x+5)/l(x) is spread evenly over the years
        (its fifth root); in the open band 85+ the yearly death rate is 1/e85 (stationary population).
        """
        out = np.empty((N_BANDS, len(SEXES)))
        for j, s in enumerate(SEXES):
            lx = np.asarray(self.lx[s], dtype=float)
            out[:-1, j] = (lx[1:] / lx[:-1]) ** (1 / WIDTH)
            out[-1, j] = 1 - 1 / max(self.e85[s], 1.0)
        return out


class AgeCurve(_Table):
    relative: dict[str, list[float]]

    @model_validator(mode="after")
    def _positive(self):
        for s in SEXES:
            v = self.relative.get(s)
            if v is None:
                raise ValueError(f"relative.{s}: required key missing")
            if len(v) != N_BANDS:
                raise ValueError(f"relative.{s}: needs {N_BANDS} values (bands {BANDS[0]} .. {BANDS[-1]}), got {len(v)}")
            bad = [f"{BANDS[i]} = {x:g}" for i, x in enumerate(v) if not x > 0]
            if bad:
                raise ValueError(f"relative.{s}: a relative cost must be positive; {', '.join(bad)}")
        return self

    def array(self) -> np.ndarray:
        return np.array([self.relative[s] for s in SEXES], dtype=float).T  # (bands, sexes)


class AgeStructure(_Table):
    percent: list[float]
    male_share: list[float]

    @model_validator(mode="after")
    def _shares(self):
        if len(self.percent) != N_BANDS or min(self.percent) < 0:
            raise ValueError(f"percent: needs {N_BANDS} non-negative values")
        if len(self.male_share) != N_BANDS or not all(0 <= m <= 1 for m in self.male_share):
            raise ValueError(f"male_share: needs {N_BANDS} values in [0, 1]")
        return self

    def array(self) -> np.ndarray:
        """(bands, sexes): population shares summing to 1."""
        p = np.asarray(self.percent, dtype=float) / sum(self.percent)
        m = np.asarray(self.male_share, dtype=float)
        return np.stack([p * m, p * (1 - m)], axis=1)


class RetirementGroup(_Strict):
    base_age: float = Field(gt=0, lt=100)
    target_age: float = Field(gt=0, lt=100)
    months_per_step: int = Field(gt=0)


class RetirementRules(_Strict):
    name: str
    reference: list[Ref] = Field(min_length=1)
    reform_start: int
    groups: dict[str, RetirementGroup]

    @model_validator(mode="after")
    def _groups(self):
        for g in ("male", "female_cadre", "female_worker"):
            if g not in self.groups:
                raise ValueError(f"groups.{g}: required key missing")
        for g, v in self.groups.items():
            if v.target_age < v.base_age:
                raise ValueError(f"groups.{g}: target_age {v.target_age:g} is below base_age {v.base_age:g}")
        return self


def _load(model, name: str, path: str | Path | None):
    label = str(path) if path else f"mifund/projection/data/{name}"
    try:
        text = (Path(path).read_text(encoding="utf-8-sig") if path
                else resources.files("mifund.projection").joinpath(f"data/{name}").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        why = "no such file" if isinstance(e, FileNotFoundError) else f"cannot read: {getattr(e, 'strerror', None) or e}"
        raise ScenarioError(label, [("", why)]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ScenarioError(label, [("", f"not valid YAML: {e}")]) from None
    if not isinstance(data, dict):
        raise ScenarioError(label, [("", f"the top level must be a mapping in the format of data/{name}")])
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(label, _problems(e)) from None


def load_life_table(path: str | Path | None = None) -> LifeTable:
    return _load(LifeTable, "life_table.yaml", path)


def load_age_curve(path: str | Path | None = None) -> AgeCurve:
    return _load(AgeCurve, "age_cost_curve.yaml", path)


def load_age_structure(path: str | Path | None = None) -> AgeStructure:
    return _load(AgeStructure, "age_structure.yaml", path)


def load_retirement(path: str | Path | None = None) -> RetirementRules:
    return _load(RetirementRules, "retirement.yaml", path)


LOADERS = {"life_table": load_life_table, "age_cost_curve": load_age_curve, "retirement": load_retirement,
           "age_structure": load_age_structure}


def load_table(kind: str, path: str | Path | None = None):
    """One of the tables a scenario may replace (``tables.<kind>``); None = the shipped one."""
    return LOADERS[kind](path)


def _group_age(g: RetirementGroup, years: np.ndarray, start: int, reform: bool) -> np.ndarray:
    """Retirement age of the people retiring in each calendar year.

    Under the 2025 decision a cohort born k steps (of ``months_per_step`` months) after the first one
    retires k+1 months later; so the retirement age rises by one month per (months_per_step + 1)
    calendar months, until the target (men: 12/5 = 2.4 months a year, 60 -> 63 in 15 years).
    The age of a year is the one reached at its end.
    """
    if not reform:
        return np.full(years.shape, g.base_age, dtype=float)
    elapsed_months = np.clip((years - start + 1) * 12, 0, None)
    delay = elapsed_months / (g.months_per_step + 1) / 12
    return g.base_age + np.minimum(delay, g.target_age - g.base_age)


def retirement_ages(years, *, reform: bool = True, female_worker_share: float = 0.5,
                    offset: np.ndarray | float = 0.0, rules: RetirementRules | None = None) -> np.ndarray:
    """(years, sexes): statutory retirement age by calendar year, men and women (cadre/worker mix)."""
    rules = rules or load_retirement()
    y = np.asarray(years, dtype=float)
    g = rules.groups
    men = _group_age(g["male"], y, rules.reform_start, reform)
    women = (female_worker_share * _group_age(g["female_worker"], y, rules.reform_start, reform)
             + (1 - female_worker_share) * _group_age(g["female_cadre"], y, rules.reform_start, reform))
    return np.stack([men, women], axis=1) + np.asarray(offset, dtype=float).reshape(-1, 1)


def retirement_fractions(ages: np.ndarray) -> np.ndarray:
    """(years, bands, sexes): share of a band's in-service insured who retire in the year.

    Applied after the year's ageing step, which has already moved 1/5 of every band (in service or
    not) up one band. Bands entirely below the retirement age R retire nobody; a band at or above R
    retires everyone still in service (including those just aged into it). The band containing R
    (d = R - lo in (0, 5)) must hold, with ages spread evenly and a steady inflow F a year, F * d
    persons in service: it keeps (1 - f) of (n - n/5 + F), so n = F * d needs
    f = (1 - d/5) / (1 + (1 - 1/5) * d). Using 1/d here would retire that band's members twice (once
    when a fifth ages out into a band that retires everyone, once more by 1/d), so a delay of the
    retirement age would buy about half what it should, and nothing while d <= 1.
    """
    lo = np.asarray(AGES, dtype=float)[None, :, None]
    r = ages[:, None, :]
    d = r - lo
    f = (1 - d / WIDTH) / (1 + (1 - 1 / WIDTH) * np.clip(d, 0, None))
    return np.where(lo + WIDTH <= r, 0.0, np.where(d <= 0, 1.0, f))
