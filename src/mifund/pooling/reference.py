"""Slow, obviously-correct pooling simulator: one path, one year, one county at a time, plain floats.

Used only by the tests, which compare it with the vectorised ``mifund.pooling.engine.simulate``. It
follows the rules as a person would apply them with a ledger and a pencil (see engine's docstring).
"""

from __future__ import annotations

import math

from mifund.pooling.engine import PoolingInput
from mifund.pooling.params import Mode, value_at


def _responsibility(d, income, target, expenditure, budget, shares):
    left = d
    col = min(left, max(target - income, 0.0)) if target is not None else 0.0
    left -= col
    sp = min(left, max(expenditure - budget, 0.0)) if budget is not None else 0.0
    left -= sp
    return col, sp, left, shares[0] * col + shares[1] * sp + shares[2] * left


def simulate_reference(inp: PoolingInput, mode: Mode, safety_line=None) -> list[list[list[dict]]]:
    """rows[path][county][year] = dict of the engine's county fields (only the money ones) + pool_balance and
    pool_interest (the pot's or the city fund's)."""
    inc, exp, tgt, bud, b0, weights = inp.arrays()
    n_paths, n, n_years = inc.shape
    rate = float(inp.interest_rate)
    result = []
    for p in range(n_paths):
        rows = [[{} for _ in range(n_years)] for _ in range(n)]
        bal = [float(b0[p, i]) for i in range(n)]
        fund = sum(bal)
        pot = 0.0
        for t, year in enumerate(inp.years):
            cs = mode.deficit_sharing.county_share
            shares = [value_at(cs.collection_shortfall, year), value_at(cs.spending_overrun, year),
                      value_at(cs.other, year)]
            fc = value_at(mode.deficit_sharing.fiscal_topup_split.city, year)
            fk = value_at(mode.deficit_sharing.fiscal_topup_split.county, year)
            recs = []
            for i in range(n):
                income, expenditure = float(inc[p, i, t]), float(exp[p, i, t])
                target = None if math.isinf(tgt[p, i, t]) else float(tgt[p, i, t])
                budget = None if math.isinf(bud[p, i, t]) else float(bud[p, i, t])
                contribution = 0.0
                if mode.kind == "adjustment_fund":
                    contribution = value_at(mode.adjustment_fund.contribution_rate, year) * max(income, 0.0)
                d = max(expenditure - income, 0.0)  # the contribution is not a deficit: reported apart
                beyond = max(expenditure + contribution - income, 0.0) - d
                col, sp, oth, resp = _responsibility(d, income, target, expenditure, budget, shares)
                recs.append(dict(income=income, expenditure=expenditure, contribution=contribution, deficit=d,
                                 contribution_beyond_surplus=beyond,
                                 deficit_collection=col, deficit_spending=sp, deficit_other=oth,
                                 county_responsibility=resp))
            if mode.kind in ("county", "adjustment_fund"):
                for i, r in enumerate(recs):  # each fund earns interest on what it holds at the start of the year
                    r["interest"] = rate * max(bal[i], 0.0)
                pot_interest = rate * max(pot, 0.0)
                draws = [0.0] * n
                if mode.kind == "adjustment_fund":
                    af = mode.adjustment_fund
                    pot += pot_interest + sum(r["contribution"] for r in recs)
                    requests = []
                    for i, r in enumerate(recs):
                        after_own = bal[i] + r["interest"] + r["income"] - r["contribution"] - r["expenditure"]
                        if af.draw_trigger == "current_deficit":
                            eligible = r["deficit"] - r["county_responsibility"]
                        elif af.draw_trigger == "balance_shortfall":
                            eligible = max(max(-after_own, 0.0) - r["county_responsibility"], 0.0)
                        else:  # safety_line: keep `safety_line` months of this year's expenditure
                            line = safety_line[i] if hasattr(safety_line, "__len__") else safety_line
                            floor = line * max(r["expenditure"], 0.0) / 12
                            eligible = max(max(floor - after_own, 0.0) - r["county_responsibility"], 0.0)
                        want = value_at(af.draw_share, year) * eligible
                        if af.cap.basis == "contribution":
                            want = min(want, value_at(af.cap.value, year) * r["contribution"])
                        elif af.cap.basis == "deficit":
                            want = min(want, value_at(af.cap.value, year) * r["deficit"])
                        elif af.cap.basis == "pot":
                            want = min(want, value_at(af.cap.value, year) * pot)
                        requests.append(want)
                    asked = sum(requests)
                    factor = pot / asked if asked > pot and asked > 0 else 1.0
                    draws = [q * factor for q in requests]
                    pot -= sum(draws)
                for i, r in enumerate(recs):
                    b = bal[i] + r["interest"] + r["income"] - r["contribution"] - r["expenditure"] + draws[i]
                    uncovered = -b if b < 0 else 0.0
                    own = min(uncovered, r["county_responsibility"])
                    r["covered_county_treasury"] = own + fk * (uncovered - own)
                    r["covered_city_treasury"] = fc * (uncovered - own)
                    need = r["deficit"] + r["contribution_beyond_surplus"]
                    r["covered_pool"] = min(draws[i], need - uncovered)  # a draw beyond the need tops up
                    r["received_from_pool"] = draws[i]
                    r["paid_to_pool"] = r["contribution"]
                    r["covered_own_balance"] = need - r["covered_pool"] - uncovered
                    bal[i] = b + uncovered
                    r["balance_end"] = bal[i]
                    r["pool_balance"] = pot
                    r["pool_interest"] = pot_interest if mode.kind == "adjustment_fund" else 0.0
            else:
                fund_interest = rate * max(fund, 0.0)
                positive = sum(max(b, 0.0) for b in bal)
                for i, r in enumerate(recs):  # the city fund's interest, shared by the positive claims
                    r["interest"] = fund_interest * max(bal[i], 0.0) / positive if positive > 0 else 0.0
                fund_before = fund + fund_interest + sum(r["income"] - r["expenditure"] for r in recs)
                charge = mode.deficit_sharing.responsibility_charge
                resp_total = sum(r["county_responsibility"] for r in recs)
                if charge == "always":
                    charged = [r["county_responsibility"] for r in recs]
                elif charge == "when_short" and fund_before < 0 and resp_total > 0:
                    f = min(1.0, -fund_before / resp_total)
                    charged = [r["county_responsibility"] * f for r in recs]
                else:
                    charged = [0.0] * n
                fund_after_charge = fund_before + sum(charged)
                short = -fund_after_charge if fund_after_charge < 0 else 0.0
                basis = [r["deficit"] - k for r, k in zip(recs, charged, strict=True)]
                if sum(basis) <= 0:
                    basis = [float(w) for w in weights[:, t]]
                    if sum(basis) <= 0:
                        basis = [1.0] * n
                for i, r in enumerate(recs):
                    share_of_short = short * basis[i] / sum(basis)
                    r["covered_county_treasury"] = charged[i] + fk * share_of_short
                    r["covered_city_treasury"] = fc * share_of_short
                    r["covered_pool"] = r["deficit"] - r["covered_county_treasury"] - r["covered_city_treasury"]
                    r["received_from_pool"] = r["covered_pool"]
                    r["paid_to_pool"] = max(r["income"] - r["expenditure"], 0.0) + (float(b0[p, i]) if t == 0 else 0.0)
                    r["covered_own_balance"] = 0.0
                    bal[i] += r["interest"] + r["income"] - r["expenditure"] + r["covered_county_treasury"] + r["covered_city_treasury"]
                    r["balance_end"] = bal[i]
                fund = fund_after_charge + short
                for r in recs:
                    r["pool_balance"] = fund
                    r["pool_interest"] = fund_interest
            for i in range(n):
                rows[i][t] = recs[i]
        result.append(rows)
    return result
