"""Employee individual accounts (个人账户): the 2021 reform, family sharing and commercial cover.

API::

    from mifund.accounts import load_account_rules, simulate
    from mifund.accounts.analysis import member_changes, gains_losses, pooled_summary, idle_balance
    rules = load_account_rules(region_code="360100")     # src/mifund/accounts/policies/360100_accounts.yaml
    sim = simulate(wh, rules)                            # every member, old and new rules, yuan
    pooled_summary(sim)                                  # the pooled fund's extra income and spending
    gains_losses(member_changes(sim))                    # who gains and who loses, by group
    idle_balance(sim, years=3)
    from mifund.accounts.reconcile import reconcile, largest_gap
    largest_gap(reconcile(sim, wh))                      # simulator vs ledger vs stored settlement

Rules are dated policy data (schema ``mifund.accounts/1``, see ``rules``); the simulator is one Ibis pass
per year and regime (``engine``), checked against a slow reference (``reference``); commercial products
and take-up scenarios are in ``cover`` (schema ``mifund.cover/1``); member segments in ``analysis``.
"""

from mifund.accounts.engine import Simulation, simulate
from mifund.accounts.rules import AccountRules, AccountRulesError, load_account_rules

__all__ = ["AccountRules", "AccountRulesError", "Simulation", "load_account_rules", "simulate"]
