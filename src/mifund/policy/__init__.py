"""Benefit policies as data: YAML files per region × scheme, dated values with references, validated.

    from mifund.policy import load_policies
    policies = load_policies("policies/")
    policies.policy_for("360102", "resident")   # a county falls back to its city's policy
"""

from mifund.policy.load import Policy, PolicyError, PolicySet, load_policies

__all__ = ["Policy", "PolicyError", "PolicySet", "load_policies"]
