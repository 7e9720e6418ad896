"""Roles and what each may do. The region scope is separate: every user with a ``region_code`` sees only
the subtree under it (the service layer filters every query by it); an administrator with a region
administers that subtree only (its users, imports of its rows, its part of the audit log:
mifund.web.services.admin). Only an administrator without a region (the city administrator) sees all."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"            # 市级管理员 city administrator: everything, users, imports, audit log (of its subtree)
    analyst = "analyst"        # 分析员 analyst, scoped to a region subtree: figures, claims, exports
    supervisor = "supervisor"  # 监管员 supervisor: figures, claims, supervision cases
    viewer = "viewer"          # 只读 read-only viewer: figures and warnings only


ROLES = tuple(r.value for r in Role)

# permission -> roles that have it
PERMISSIONS: dict[str, frozenset[str]] = {
    "view_figures": frozenset(ROLES),
    "export": frozenset({"admin", "analyst", "supervisor"}),
    "compare_policies": frozenset(ROLES),
    "explain_claims": frozenset({"admin", "analyst", "supervisor"}),
    "work_cases": frozenset({"admin", "supervisor"}),
    "import_data": frozenset({"admin"}),
    "read_audit": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
}

ROLE_NAMES = {
    "admin": ("City administrator", "市级管理员"),
    "analyst": ("Analyst", "分析员"),
    "supervisor": ("Supervisor", "监管员"),
    "viewer": ("Read-only viewer", "只读用户"),
}


@dataclass(frozen=True)
class User:
    username: str
    role: str
    region_code: str | None = None
    display_name: str | None = None
    disabled: bool = False

    def can(self, permission: str) -> bool:
        if permission not in PERMISSIONS:
            raise KeyError(f"unknown permission {permission!r}")
        return not self.disabled and self.role in PERMISSIONS[permission]

    @property
    def all_regions(self) -> bool:
        """True for a city administrator without a region (sees every region)."""
        return self.role == Role.admin and not self.region_code
