"""The pooling simulator: one vectorised pass per year over paths x counties (NumPy).

Input (``PoolingInput``): for P paths (1 for the historical ledger), N counties and T years, each
county's fund income and expenditure, its collection target and spending budget (optional; without
them no deficit is anyone's fault), and the opening balances. ``simulate(inp, mode)`` runs one mode
(``mifund.pooling.params.Mode``) and returns a ``PoolingResult`` of arrays (P, N, T), plus the pool's
balance (P, T). The same arithmetic, one county-year at a time in plain Python, is in
``mifund.pooling.reference`` (tests compare the two).

Per county-year, all modes:

* ``deficit`` D: the current-year shortfall of the county's fund, expenditure above income (the same
  figure in every mode, so that modes compare); split into the part explained by income below its
  target (``deficit_collection`` = min(D, target - income)), then by expenditure above budget
  (``deficit_spending``), then the rest (``deficit_other``). ``county_responsibility`` R = the mode's
  county shares of those parts.
* ``contribution_beyond_surplus`` K (adjustment fund only): the part of the year's contribution to the
  pot that the year's surplus could not pay, max(0, expenditure + contribution - income) - D. It is a
  transfer the mode imposes, not a deficit, and never the county's responsibility; it is reported apart
  so that a county in surplus does not read as in deficit.
* who covered D + K: ``covered_own_balance`` (the county's accumulated balance), ``covered_pool`` (the
  adjustment pot's draw as far as D + K needed it, or the city fund), ``covered_county_treasury`` and
  ``covered_city_treasury`` (fiscal top-ups, 财政兜底); they sum to D + K.

county / adjustment_fund: balance B(t) = B(t-1) + interest + income - contribution - expenditure + draw; what B
cannot pay (U = max(0, -B)) is topped up: the county treasury pays min(U, R), the rest is split by
``fiscal_topup_split``. The adjustment pot gets contribution_rate x income from every county; a
county's draw is draw_share x its eligible deficit (the objective part: D - R for trigger
current_deficit; U - R for balance_shortfall; for safety_line, what the balance would lack to hold
``safety_line`` months of the year's expenditure, less R), at most cap; when the pot cannot pay every
draw it pays them pro rata. A draw beyond D + K (safety_line trigger) tops up the county's balance.

unified: one city fund F (the opening balances are transferred into it); F(t) = F(t-1) + interest + sum(income -
expenditure) + top-ups. The county's responsible part R is paid into F by its treasury (always, or
only as far as F would fall short: when_short, or never); what F still lacks is split by
``fiscal_topup_split``, the counties' part (and, for the claim accounts, the city's) allotted in
proportion to the deficits not yet charged. ``balance_end`` is the county's claim on the city fund
(opening balance + its share of F's interest + income - expenditure + top-ups paid for it): a memo
figure; the claims sum to F.

Interest (``interest_rate`` r > 0: paths from the projection, whose income is contributions only; 0 on the
ledger, whose income already holds the interest it earned): every fund the mode keeps earns r x max(its
balance at the start of the year, 0) in the year, as the projection's own funds do: each county fund
(``interest``), the adjustment pot and the city fund (``pool_interest``). So a mode is credited with the
interest on the balances it actually holds, not on the counties' stand-alone balances. Interest is not
income for the deficit (D is the same in every mode) nor for the adjustment contribution; it adds to the
balance that covers D + K (``covered_own_balance``), the pot's money for draws, and F before its shortfall
is judged. Under unified the city fund's interest is allotted to the counties' claims in proportion to
their positive claims at the start of the year (a county whose claim is negative earns none), so that the
claims still sum to F.

Money is conserved: for every path, sum of county balances (or F) + pot at the end = opening
balances + income - expenditure + interest + top-ups, in every mode (no administration costs are
modelled); the interest term differs between modes, the rest does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mifund.pooling.params import Mode, value_at

COUNTY_FIELDS = (
    "income", "expenditure", "interest", "income_target", "expenditure_budget", "contribution",
    "paid_to_pool", "received_from_pool", "deficit", "contribution_beyond_surplus", "deficit_collection", "deficit_spending", "deficit_other",
    "county_responsibility", "covered_own_balance", "covered_pool", "covered_county_treasury",
    "covered_city_treasury", "balance_end", "fund_months",
)  # fmt: skip


@dataclass
class PoolingInput:
    regions: list[str]
    years: list[int]
    income: np.ndarray  # (P, N, T) or (N, T)
    expenditure: np.ndarray
    opening_balance: np.ndarray  # (P, N) or (N,)
    income_target: np.ndarray | None = None  # None: no collection shortfall
    expenditure_budget: np.ndarray | None = None  # None: no spending overrun
    weights: np.ndarray | None = None  # (N, T) fallback for allotting a shared top-up (e.g. insured)
    names: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what building the input left out, for people to read
    # yearly rate on each fund's positive opening balance (see the module docstring); 0: income holds it
    interest_rate: float = 0.0

    def arrays(self):
        n, t = len(self.regions), len(self.years)
        inc = np.asarray(self.income, dtype=float)
        inc = inc[None] if inc.ndim == 2 else inc
        p = inc.shape[0]
        shape = (p, n, t)

        def full(a, default):
            if a is None:
                return np.broadcast_to(default, shape).astype(float)
            a = np.asarray(a, dtype=float)
            return np.broadcast_to(a[None] if a.ndim == 2 else a, shape).astype(float)

        exp = full(self.expenditure, 0.0)
        inc = full(inc, 0.0)
        tgt = full(self.income_target, -np.inf) if self.income_target is not None else np.full(shape, -np.inf)
        bud = full(self.expenditure_budget, np.inf) if self.expenditure_budget is not None else np.full(
            shape, np.inf)
        b0 = np.asarray(self.opening_balance, dtype=float)
        b0 = np.broadcast_to(b0[None] if b0.ndim == 1 else b0, (p, n)).astype(float)
        w = np.ones((n, t)) if self.weights is None else np.asarray(self.weights, dtype=float)
        if inc.shape != shape or exp.shape != shape:
            raise ValueError(f"income/expenditure must be (paths, {n} regions, {t} years)")
        return inc, exp, tgt, bud, b0, w


@dataclass
class PoolingResult:
    mode_name: str
    mode: Mode
    regions: list[str]
    years: list[int]
    opening_balance: np.ndarray  # (P, N)
    county: dict[str, np.ndarray]  # name -> (P, N, T)
    pool_balance: np.ndarray  # (P, T): the adjustment pot, or the city fund (unified); 0 for county
    pool_months: np.ndarray  # (P, T): months of payment capacity of the city fund (unified) else NaN
    pool_interest: np.ndarray | None = None  # (P, T): interest earned by the pot or the city fund; 0 for county
    interest_rate: float = 0.0  # the input's

    @property
    def n_paths(self) -> int:
        return self.opening_balance.shape[0]

    def total_topups(self) -> np.ndarray:
        """(P,) treasury top-ups over the period."""
        c = self.county
        return (c["covered_county_treasury"] + c["covered_city_treasury"]).sum(axis=(1, 2))

    def total_interest(self) -> np.ndarray:
        """(P,) interest earned over the period by the funds this mode keeps (under unified the counties'
        ``interest`` is the city fund's, allotted to their claims: counted once)."""
        pool = np.zeros(self.n_paths) if self.pool_interest is None else self.pool_interest.sum(axis=1)
        if self.mode.kind == "unified":
            return pool
        return self.county["interest"].sum(axis=(1, 2)) + pool

    def money_by_year(self) -> np.ndarray:
        """(P, T) all money in the funds at each year's end: county balances (claims in unified) + pot."""
        if self.mode.kind == "unified":
            return self.pool_balance
        return self.county["balance_end"].sum(axis=1) + self.pool_balance

    def money_end(self) -> np.ndarray:
        """(P,) all money left in the funds at the end: county balances (claims in unified) + pot."""
        if self.mode.kind == "unified":
            return self.pool_balance[:, -1]
        return self.county["balance_end"][:, :, -1].sum(axis=1) + self.pool_balance[:, -1]


def _shares(mode: Mode, year: int):
    ds = mode.deficit_sharing
    cs, sp = ds.county_share, ds.fiscal_topup_split
    a = [value_at(cs.collection_shortfall, year), value_at(cs.spending_overrun, year), value_at(cs.other, year)]
    fc, fk = value_at(sp.city, year), value_at(sp.county, year)
    if any(not 0 <= x <= 1 for x in a) or abs(fc + fk - 1) > 1e-9:
        raise ValueError(f"{year}: county shares must lie in [0, 1] and the top-up split must sum to 1")
    return a, fc, fk


def _split_deficit(d, gap_collection, gap_spending, shares):
    d_col = np.minimum(d, gap_collection)
    d_sp = np.minimum(d - d_col, gap_spending)
    d_oth = d - d_col - d_sp
    resp = shares[0] * d_col + shares[1] * d_sp + shares[2] * d_oth
    return d_col, d_sp, d_oth, resp


def _allot(total, basis, fallback):
    """Allot total (P,) over counties in proportion to basis (P, N); fallback (N,) where basis sums to 0."""
    s = basis.sum(axis=1, keepdims=True)
    fb = fallback / fallback.sum() if fallback.sum() > 0 else np.full(fallback.shape, 1 / fallback.size)
    w = np.where(s > 0, basis / np.where(s > 0, s, 1), fb[None, :])
    return total[:, None] * w


def simulate(inp: PoolingInput, mode: Mode, name: str = "", *,
             safety_line: float | np.ndarray | None = None) -> PoolingResult:
    """Run `mode` on `inp`; `safety_line` (months; one number, or one per county) is needed by the
    adjustment fund's safety_line trigger."""
    inc, exp, tgt, bud, b0, weights = inp.arrays()
    adj = mode.adjustment_fund
    if adj is not None and adj.draw_trigger == "safety_line" and safety_line is None:
        raise ValueError(f"mode {name or mode.label_en!r}: draw_trigger safety_line needs the safety line (months)")
    p, n, t_n = inc.shape
    gap_c = np.maximum(tgt - inc, 0.0)
    gap_s = np.maximum(exp - bud, 0.0)
    out = {k: np.zeros((p, n, t_n)) for k in COUNTY_FIELDS}
    out["income"], out["expenditure"] = inc, exp
    out["income_target"] = np.where(np.isfinite(tgt), tgt, np.nan)
    out["expenditure_budget"] = np.where(np.isfinite(bud), bud, np.nan)
    ir = float(inp.interest_rate)
    pool = np.zeros((p, t_n))
    pool_int = np.zeros((p, t_n))
    pool_months = np.full((p, t_n), np.nan)
    bal = b0.copy()
    fund = b0.sum(axis=1)  # unified: the city fund
    pot = np.zeros(p)  # adjustment fund
    for t, year in enumerate(inp.years):
        shares, fc, fk = _shares(mode, year)
        i_t, e_t = inc[:, :, t], exp[:, :, t]
        if mode.kind in ("county", "adjustment_fund"):
            int_t = ir * np.maximum(bal, 0.0)  # on the county fund's opening balance
            c_t = value_at(adj.contribution_rate, year) * np.maximum(i_t, 0.0) if adj else np.zeros_like(i_t)
            d = np.maximum(e_t - i_t, 0.0)
            need = np.maximum(e_t + c_t - i_t, 0.0)  # D + K
            d_col, d_sp, d_oth, resp = _split_deficit(d, gap_c[:, :, t], gap_s[:, :, t], shares)
            draw = np.zeros_like(d)
            if adj:
                pool_int[:, t] = ir * np.maximum(pot, 0.0)
                avail = pot + pool_int[:, t] + c_t.sum(axis=1)
                after_own = bal + int_t + i_t - c_t - e_t
                if adj.draw_trigger == "current_deficit":
                    eligible = d - resp
                elif adj.draw_trigger == "balance_shortfall":
                    eligible = np.maximum(np.maximum(-after_own, 0.0) - resp, 0.0)
                else:  # safety_line
                    floor = np.asarray(safety_line, dtype=float) * np.maximum(e_t, 0.0) / 12
                    eligible = np.maximum(np.maximum(floor - after_own, 0.0) - resp, 0.0)
                req = value_at(adj.draw_share, year) * eligible
                if adj.cap.basis != "none":
                    k = value_at(adj.cap.value, year)
                    basis = {"contribution": c_t, "deficit": d, "pot": np.broadcast_to(avail[:, None], d.shape)}
                    req = np.minimum(req, k * basis[adj.cap.basis])
                total = req.sum(axis=1)
                scale = np.where(total > avail, avail / np.where(total > 0, total, 1), 1.0)
                draw = req * scale[:, None]
                pot = avail - draw.sum(axis=1)
            b_t = bal + int_t + i_t - c_t - e_t + draw
            u = np.maximum(-b_t, 0.0)
            own_part = np.minimum(u, resp)
            county_tr = own_part + fk * (u - own_part)
            city_tr = fc * (u - own_part)
            bal = b_t + u
            out["interest"][:, :, t] = int_t
            out["contribution"][:, :, t] = c_t
            out["paid_to_pool"][:, :, t] = c_t
            out["received_from_pool"][:, :, t] = draw
            out["contribution_beyond_surplus"][:, :, t] = need - d
            out["covered_pool"][:, :, t] = np.minimum(draw, need - u)
            out["covered_own_balance"][:, :, t] = need - out["covered_pool"][:, :, t] - u
            out["balance_end"][:, :, t] = bal
            pool[:, t] = pot
            with np.errstate(divide="ignore", invalid="ignore"):
                out["fund_months"][:, :, t] = np.where(e_t > 0, bal / (e_t / 12), np.nan)
        else:  # unified
            d = np.maximum(e_t - i_t, 0.0)
            d_col, d_sp, d_oth, resp = _split_deficit(d, gap_c[:, :, t], gap_s[:, :, t], shares)
            pool_int[:, t] = ir * np.maximum(fund, 0.0)
            int_t = _allot(pool_int[:, t], np.maximum(bal, 0.0), weights[:, t])  # the claims' shares of it
            f_t = fund + pool_int[:, t] + (i_t - e_t).sum(axis=1)
            charge = mode.deficit_sharing.responsibility_charge
            if charge == "always":
                k_i = resp
            elif charge == "when_short":
                short0 = np.maximum(-f_t, 0.0)
                r_sum = resp.sum(axis=1)
                k_i = resp * np.minimum(1.0, short0 / np.where(r_sum > 0, r_sum, 1))[:, None]
            else:
                k_i = np.zeros_like(resp)
            f_t = f_t + k_i.sum(axis=1)
            u = np.maximum(-f_t, 0.0)
            u_i = _allot(u, d - k_i, weights[:, t])
            county_tr = k_i + fk * u_i
            city_tr = fc * u_i
            fund = f_t + u
            bal = bal + int_t + i_t - e_t + county_tr + city_tr
            out["interest"][:, :, t] = int_t
            out["paid_to_pool"][:, :, t] = np.maximum(i_t - e_t, 0.0) + (b0 if t == 0 else 0.0)
            out["covered_pool"][:, :, t] = d - county_tr - city_tr
            out["received_from_pool"][:, :, t] = d - county_tr - city_tr
            out["balance_end"][:, :, t] = bal
            pool[:, t] = fund
            e_sum = e_t.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                pool_months[:, t] = np.where(e_sum > 0, fund / (e_sum / 12), np.nan)
            out["fund_months"][:, :, t] = pool_months[:, t][:, None]
        out["deficit"][:, :, t] = d
        out["deficit_collection"][:, :, t] = d_col
        out["deficit_spending"][:, :, t] = d_sp
        out["deficit_other"][:, :, t] = d_oth
        out["county_responsibility"][:, :, t] = resp
        out["covered_county_treasury"][:, :, t] = county_tr
        out["covered_city_treasury"][:, :, t] = city_tr
    return PoolingResult(name, mode, list(inp.regions), list(inp.years), b0, out, pool, pool_months, pool_int,
                         ir)
