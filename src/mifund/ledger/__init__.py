"""The fund ledger: indicators over the fund_ledger table, the region tree, indicator definitions."""
