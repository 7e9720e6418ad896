"""The navigation bar: page modules register their entries; a user sees those their role allows."""

from __future__ import annotations

from dataclasses import dataclass

from mifund.users import User


@dataclass(frozen=True)
class NavItem:
    key: str            # catalogue key of the label
    path: str
    permission: str     # mifund.users.PERMISSIONS key
    order: int = 50


REGISTRY: list[NavItem] = []


def register(*items: NavItem) -> None:
    for it in items:
        if all(x.path != it.path for x in REGISTRY):
            REGISTRY.append(it)
    REGISTRY.sort(key=lambda x: x.order)


def visible_nav(user: User) -> list[NavItem]:
    return [it for it in REGISTRY if user.can(it.permission)]
