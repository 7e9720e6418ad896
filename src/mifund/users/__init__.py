"""Users, roles, sessions and API tokens of the web application (issue #9).

    from mifund.users import add_user, authenticate, Role
    add_user(wh, "li", "a long passphrase", role="analyst", region_code="360102", actor="admin")

Passwords are hashed with Argon2id (argon2-cffi); session ids and bearer tokens are random and only
their SHA-256 digests are stored. Every write is one transaction with an audit-log entry.
"""

from mifund.users.model import PERMISSIONS, ROLES, Role, User
from mifund.users.store import (
    LoginFailed,
    LoginRateLimited,
    RateLimits,
    UserError,
    add_user,
    authenticate,
    create_demo_users,
    create_session,
    create_token,
    end_session,
    get_user,
    list_tokens,
    list_users,
    revoke_token,
    session_user,
    set_disabled,
    set_password,
    token_user,
)

__all__ = [
    "PERMISSIONS", "ROLES", "LoginFailed", "LoginRateLimited", "RateLimits", "Role", "User", "UserError",
    "add_user", "authenticate", "create_demo_users", "create_session", "create_token", "end_session",
    "get_user", "list_tokens", "list_users", "revoke_token", "session_user", "set_disabled", "set_password",
    "token_user",
]
