"""Benefit policies as data: YAML files per region × scheme, dated values with references, validated.

    from mifund.policy import load_policies
    policies = load_policies("policies/")
    policies.policy_for("360102", "resident")   # a county falls back to its city's policy
"""

import os
from pathlib import Path

from mifund.policy.load import Policy, PolicyError, PolicySet, load_policies

__all__ = ["Policy", "PolicyError", "PolicySet", "default_policy_dir", "load_policies"]


def default_policy_dir() -> Path:
    """$MIFUND_POLICIES, else ./policies, else the policies/ shipped beside the source tree."""
    env = os.environ.get("MIFUND_POLICIES")
    if env:
        return Path(env)
    here = Path("policies")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "policies"
