"""Regional disparity (地区差异): population-weighted inequality measures, and fiscal transfer rules."""

from mifund.disparity.measures import lorenz, measures, theil_decomposition

__all__ = ["lorenz", "measures", "theil_decomposition"]
