"""Commercial cover (社商合作 / 惠民保): what a product would collect and pay on the warehouse's members.

A product file (schema ``mifund.cover/1``, YAML, unknown keys rejected) defines one or more products --
premium (by age band if the product does so), the visit types and the parts of the patient's burden it
covers (policy-scope remainder, category-B co-pay, fully self-paid items: what the three layers leave),
a yearly deductible, a ratio and a cap -- and take-up scenarios: who buys (everyone eligible, account
holders whose balance pays the premium, or the elderly and chronically ill), what share of them, and
whether the premium comes from the individual account (allowed by the new rules) or from cash.

For each product × scenario: buyers, premiums collected (of which from accounts), claims paid, loss ratio
(claims ÷ premiums), and the out-of-pocket reduction by group. The product pays first on the burden it
covers (the patient's burden before the individual account) and the accounts pay what is left: its
payment lowers the member's cash out of pocket, and where it exceeds that cash (the account paid the rest
of the burden) the account spending it saves stays in the accounts (``account_relief``). So claims paid
always equal the cash saved plus the account relief; ``oop_reduction_share`` is the cash part alone.
Which parts of the burden the account paid is not tracked, so the saving is taken as limited by the
burden left, not by the account's eligible items. Buyers are chosen reproducibly: a member
buys when a hash of (person_id, scenario seed) falls below the take-up share.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, field_validator

from mifund.accounts.analysis import age_band
from mifund.accounts.engine import Simulation, burden_components
from mifund.accounts.rules import AccountRules
from mifund.policy.schema import Metadata, Strict
from mifund.policy.yamlines import YamlError, load_with_lines

VisitType = Literal["inpatient", "outpatient", "chronic_outpatient", "pharmacy"]
Part = Literal["policy_scope", "copay_first", "self_pay"]
PART_COLUMN = {"policy_scope": "scope_part", "copay_first": "copay_part", "self_pay": "self_part"}


class CoverError(ValueError):
    pass


class PremiumBand(Strict):
    from_age: int = Field(ge=0)
    premium: Decimal = Field(ge=0)


class Product(Strict):
    name: str
    insurer: str | None = None
    premium: Decimal | list[PremiumBand]  # yuan a year, or by age band
    schemes: list[Literal["employee", "resident"]] = ["employee", "resident"]
    visit_types: list[VisitType] = ["inpatient", "outpatient", "chronic_outpatient", "pharmacy"]
    covers: list[Part] = ["policy_scope", "copay_first", "self_pay"]
    deductible: Decimal = Field(ge=0)
    ratio: Decimal = Field(ge=0, le=1)
    cap: Decimal | None = Field(default=None, ge=0)
    metadata: Metadata | None = None

    @field_validator("premium")
    @classmethod
    def _bands(cls, v):
        if isinstance(v, list):
            ages = [b.from_age for b in v]
            if not ages or ages[0] != 0 or ages != sorted(set(ages)):
                raise ValueError("premium bands start at from_age 0 and increase")
        return v

    def premium_for(self, age: pd.Series) -> pd.Series:
        if not isinstance(self.premium, list):
            return pd.Series(float(self.premium), index=age.index)
        out = pd.Series(0.0, index=age.index)
        for b in self.premium:
            out[age >= b.from_age] = float(b.premium)
        return out


class Scenario(Strict):
    name: str
    who: Literal["everyone", "account_holders", "elderly_or_chronic"] = "everyone"
    take_up: float = Field(default=1.0, ge=0, le=1)
    paid_from: Literal["cash", "account"] = "cash"
    seed: int = 1


class CoverFile(Strict):
    schema_: Literal["mifund.cover/1"] = Field(alias="schema")
    name: str
    metadata: Metadata | None = None
    products: list[Product] = Field(min_length=1)
    scenarios: list[Scenario] = [Scenario(name="everyone")]


def load_cover(path: str | Path | None = None) -> CoverFile:
    p = Path(path) if path else Path(__file__).resolve().parent / "policies" / "cover_example.yaml"
    if not p.is_file():
        raise CoverError(f"{p}: no such file")
    try:
        data, lines = load_with_lines(p)
    except YamlError as e:
        raise CoverError(str(e)) from None
    try:
        return CoverFile.model_validate(data)
    except ValidationError as e:
        msgs = []
        for err in e.errors():
            loc = tuple(err["loc"])
            line = next((lines[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in lines), 1)
            msgs.append(f"{p}:{line}: {'.'.join(map(str, loc))}: {err['msg']}")
        raise CoverError("\n".join(msgs)) from None


def _draw(person_id: pd.Series, seed: int) -> pd.Series:
    """A reproducible uniform number in [0, 1) per person (independent of row order and engine)."""
    return person_id.map(lambda p: int.from_bytes(hashlib.sha256(f"{seed}:{p}".encode()).digest()[:8], "big")
                         / 2**64)


def covered_amounts(components: pd.DataFrame, product: Product) -> pd.Series:
    """Per person: the part of the patient's burden the product covers, before deductible and ratio."""
    c = components[components.visit_type.isin(product.visit_types)]
    cols = [PART_COLUMN[p] for p in product.covers]
    return c[cols].sum(axis=1).groupby(c.person_id).sum()


def product_payment(covered: pd.Series, product: Product) -> pd.Series:
    """ratio × (covered − deductible)⁺, capped, to the fen (half up)."""
    above = (covered - float(product.deductible)).clip(lower=0)
    paid = np.floor(above * float(product.ratio) * 100 + 0.5) / 100
    if product.cap is not None:
        paid = paid.clip(upper=float(product.cap))
    return paid


def buyers(members: pd.DataFrame, product: Product, scenario: Scenario, *, account_may_pay: bool) -> pd.DataFrame:
    """The members who buy, with the premium and the part of it paid from the account.

    The premium is bought at the start of the year, so whether the account can pay it is decided on what
    the account holds for the year before any spending: the opening balance plus the year's credits (not
    the closing balance, which a member who spent the account on hospital bills has emptied: those are
    the members the cover is for). A premium from the account comes off it first: the closing balance is
    that much lower, and where the year's spending then finds the account empty (the closing balance was
    below the premium) the difference, ``account_shortfall``, is paid in cash.

    ``account_may_pay`` is the account rules' ``uses.commercial_premiums`` for the year: where it is false
    a scenario's ``paid_from: account`` cannot be followed and every premium is paid in cash (the same
    members still buy: who buys is the scenario's choice, what pays is the rules')."""
    m = members[members.scheme.isin(product.schemes)].copy()
    m["premium"] = product.premium_for(m.age)
    can_pay = m.account_holder & (m.opening + m.credit >= m.premium)
    if scenario.who == "account_holders":
        m = m[can_pay]
    elif scenario.who == "elderly_or_chronic":
        m = m[(m.age >= 60) | m.chronic | (m.category == "retired")]
    m = m[_draw(m.person_id, scenario.seed) < scenario.take_up].copy()
    from_account = (scenario.paid_from == "account") & account_may_pay & can_pay.reindex(m.index)
    m["premium_from_account"] = np.where(from_account, m.premium, 0.0)
    m["account_shortfall"] = (m.premium_from_account - m.closing).clip(lower=0)
    m["closing_after_premium"] = (m.closing - m.premium_from_account).clip(lower=0)
    return m


def evaluate(sim: Simulation, cover: CoverFile, source, rules: AccountRules, *, by: str = "age_band",
             year: int | None = None, components: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary: one row per product × scenario, by_group: the same by `by`) for `year` (default: last).
    Whether a premium may come from the account is the rules' ``uses.commercial_premiums`` under the new
    rules of `year` (``rules`` is needed for that wherever a scenario pays from the account)."""
    year = year or sim.years[-1]
    if rules is not None:
        account_may_pay = rules.resolve(year, "new").uses["commercial_premiums"]
    elif any(sc.paid_from == "account" for sc in cover.scenarios):
        raise ValueError("the account rules are needed to know whether the account may pay premiums")
    else:
        account_may_pay = False
    members = sim.regime("new")
    members = members[members.year == year].copy()
    members["age_band"] = age_band(members.age)
    comp = components if components is not None else burden_components(source, rules, year, "new")
    rows, groups = [], []
    for product in cover.products:
        covered = covered_amounts(comp, product)
        for sc in cover.scenarios:
            b = buyers(members, product, sc, account_may_pay=account_may_pay)
            b["covered"] = covered.reindex(b.person_id).fillna(0).to_numpy()
            b["paid"] = product_payment(b.covered, product).to_numpy()
            b["oop_with_premium"] = b.out_of_pocket + b.account_shortfall
            # the product pays first and the accounts pay what is left: its payment lowers the cash paid,
            # and beyond that the account spending (a member whose account paid the whole burden keeps that
            # much in the accounts), so claims paid = cash saved + account spending saved (see _ACCOUNT_NOTE)
            b["oop_after"] = (b.oop_with_premium - b.paid).clip(lower=0)
            b["account_relief"] = b.paid - (b.oop_with_premium - b.oop_after)
            premiums = b.premium.sum()
            rows.append({
                "product": product.name, "insurer": product.insurer or "", "scenario": sc.name, "year": year,
                "eligible": int(members.scheme.isin(product.schemes).sum()), "buyers": len(b),
                "premiums": premiums, "premiums_from_accounts": b.premium_from_account.sum(),
                "account_may_pay_premiums": bool(account_may_pay),
                "account_shortfall_in_cash": b.account_shortfall.sum(),
                "buyers_closing_balance": b.closing.sum(),
                "buyers_closing_balance_after_premium": b.closing_after_premium.sum(),
                "claims_paid": b.paid.sum(), "loss_ratio": b.paid.sum() / premiums if premiums else np.nan,
                "beneficiaries": int((b.paid > 0).sum()),
                "paid_per_beneficiary": b.paid[b.paid > 0].mean() if (b.paid > 0).any() else 0.0,
                "buyers_out_of_pocket": b.out_of_pocket.sum(),
                "buyers_out_of_pocket_after": b.oop_after.sum(),  # with the shortfall, less the claims paid
                "buyers_account_relief": b.account_relief.sum(),  # claims paid beyond the cash paid
            })
            g = b.groupby(by, observed=True)
            t = pd.DataFrame({"buyers": g.size(), "premiums": g.premium.sum(), "claims_paid": g.paid.sum(),
                              "out_of_pocket_mean": g.out_of_pocket.mean(),
                              "out_of_pocket_after_mean": g.oop_after.mean(),
                              "account_relief": g.account_relief.sum()}).reset_index()
            t["loss_ratio"] = t.claims_paid / t.premiums.replace(0, np.nan)
            t["oop_reduction_share"] = 1 - t.out_of_pocket_after_mean / t.out_of_pocket_mean.replace(0, np.nan)
            t.insert(0, "scenario", sc.name)
            t.insert(0, "product", product.name)
            t = t.rename(columns={by: "group"})
            t["group"] = t.group.astype(str)
            groups.append(t)
    return pd.DataFrame(rows), pd.concat(groups, ignore_index=True)
