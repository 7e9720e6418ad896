"""Intelligent supervision (智能监管): rule screening, provider profiling, duplicate enrolment, cases.

- :mod:`.spec` — rule files (``rules/*.yaml``) and their schema
- :mod:`.checks` — the vectorised Ibis check templates the rules parameterise
- :mod:`.engine` — ``screen(wh, rules)``: all rules, failures reported, hits ranked
- :mod:`.store` — hits, cases and case events in the warehouse (migration 0004)
- :mod:`.profiling` — provider profiles, robust z-scores, Isolation Forest
- :mod:`.enrolment` — duplicate enrolment and its effect on insured rates
- :mod:`.evaluate` — recall / precision / ROC AUC / AUPRC against a labels file
"""

from mifund.supervision.checks import CHECKS, Tables
from mifund.supervision.engine import HIT_SCHEMA, ScreenResult, SupervisionInputError, screen
from mifund.supervision.spec import RuleFileError, RuleSpec, load_rules

__all__ = ["CHECKS", "HIT_SCHEMA", "RuleFileError", "RuleSpec", "ScreenResult", "SupervisionInputError", "Tables",
           "load_rules", "screen"]
