"""Fund sustainability projection (基金可持续性预测): cohort model, Monte Carlo, scenarios, baselines.

    from mifund.projection import load_scenario, base_from_warehouse, project
    s = load_scenario("scenarios/baseline.yaml")
    base = base_from_warehouse(wh)
    central = project(base, s, paths=0)          # deterministic
    mc = project(base, s)                          # s.paths Monte Carlo paths, seed s.seed
"""

from mifund.projection.base import base_from_warehouse, build_base, national_base
from mifund.projection.engine import Base, Projection, project
from mifund.projection.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["Base", "Projection", "Scenario", "ScenarioError", "base_from_warehouse", "build_base",
           "load_scenario", "national_base", "project"]
