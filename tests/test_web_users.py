"""Users, passwords, sessions, tokens and login rate limiting (mifund.users), and `mifund users`."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.storage import Warehouse
from mifund.users import (
    LoginFailed,
    LoginRateLimited,
    RateLimits,
    User,
    UserError,
    add_user,
    authenticate,
    create_session,
    create_token,
    end_session,
    get_user,
    list_users,
    revoke_token,
    session_user,
    set_disabled,
    set_password,
    token_user,
)
from mifund.users.cli import app as users_app
from web_helpers import fast_hashing

PW = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    fast_hashing(monkeypatch)


@pytest.fixture
def uwh(wh):
    wh.append("regions", pd.DataFrame({
        "region_code": ["360100", "360102", "360103"], "name": ["南昌市", "东湖区", "西湖区"],
        "name_en": ["Nanchang", "Donghu", "Xihu"], "level": ["city", "county", "county"],
        "parent_code": [None, "360100", "360100"]}))
    add_user(wh, "boss", PW, role="admin", actor="t")
    add_user(wh, "li", PW, role="analyst", region_code="360102", actor="t")
    return wh


def _audit(wh) -> pd.DataFrame:
    return wh.to_pandas(wh.table("audit_log").order_by("audit_id"))


def test_add_user_validates_role_region_password_and_duplicates(uwh):
    with pytest.raises(UserError, match="role"):
        add_user(uwh, "x1", PW, role="emperor", region_code="360100", actor="t")
    with pytest.raises(UserError, match="needs a region"):
        add_user(uwh, "x2", PW, role="analyst", actor="t")
    with pytest.raises(UserError, match="unknown region"):
        add_user(uwh, "x3", PW, role="viewer", region_code="999999", actor="t")
    with pytest.raises(UserError, match="too short"):
        add_user(uwh, "x4", "short", role="viewer", region_code="360100", actor="t")
    with pytest.raises(UserError, match="exists"):
        add_user(uwh, "li", PW, role="viewer", region_code="360100", actor="t")
    with pytest.raises(UserError, match="username"):
        add_user(uwh, "bad name!", PW, role="viewer", region_code="360100", actor="t")
    assert list(list_users(uwh).username) == ["boss", "li"]


def test_passwords_are_argon2_and_never_in_the_audit_log(uwh):
    p = uwh.to_pandas(uwh.table("user_passwords"))
    assert all(h.startswith("$argon2id$") for h in p.password_hash)
    assert PW not in "".join(p.password_hash)
    set_password(uwh, "li", "another long password", actor="boss")
    u = authenticate(uwh, "li", "another long password")
    assert u.username == "li"
    with pytest.raises(LoginFailed):
        authenticate(uwh, "li", PW)  # the old password no longer works
    log = _audit(uwh).astype(str).to_string()
    assert "$argon2" not in log and PW not in log
    assert {"user_add", "password_set", "login", "login_failed"} <= set(_audit(uwh).action)


def test_authenticate_wrong_password_unknown_user_and_disabled_user_fail_alike(uwh):
    with pytest.raises(LoginFailed):
        authenticate(uwh, "li", "wrong password!")
    with pytest.raises(LoginFailed):
        authenticate(uwh, "nobody", PW)
    set_disabled(uwh, "li", True, actor="boss")
    with pytest.raises(LoginFailed):
        authenticate(uwh, "li", PW)
    attempts = uwh.to_pandas(uwh.table("login_attempts"))
    assert len(attempts) == 3 and not attempts.success.any()


def test_rate_limit_per_user_window_and_reset(uwh):
    limits = RateLimits(per_user=3, per_client=100, window_s=600)
    t0 = dt.datetime(2030, 1, 1, 12, 0, 0)
    for i in range(3):
        with pytest.raises(LoginFailed):
            authenticate(uwh, "li", "wrong password!", client="a", limits=limits, now=t0 + dt.timedelta(seconds=i))
    # the right password is refused too while limited, and says when to come back
    with pytest.raises(LoginRateLimited) as e:
        authenticate(uwh, "li", PW, client="a", limits=limits, now=t0 + dt.timedelta(seconds=10))
    # the oldest of the last 3 failures was at t0; the window ends at t0 + 600 s -> 590 s (+1) to wait
    assert e.value.retry_after == 591
    # another user is not affected
    assert authenticate(uwh, "boss", PW, client="a", limits=limits, now=t0 + dt.timedelta(seconds=11)).role == "admin"
    # after the window: allowed again, and a success resets the count
    later = t0 + dt.timedelta(seconds=601)
    assert authenticate(uwh, "li", PW, client="a", limits=limits, now=later).username == "li"
    with pytest.raises(LoginFailed):
        authenticate(uwh, "li", "wrong password!", client="a", limits=limits, now=later + dt.timedelta(seconds=1))
    assert authenticate(uwh, "li", PW, client="a", limits=limits, now=later + dt.timedelta(seconds=2))


def test_rate_limit_per_client_across_usernames(uwh):
    limits = RateLimits(per_user=100, per_client=4, window_s=600)
    t0 = dt.datetime(2030, 1, 1)
    for i, name in enumerate(["a1", "a2", "a3", "a4"]):
        with pytest.raises(LoginFailed):
            authenticate(uwh, name, "x", client="10.0.0.9", limits=limits, now=t0 + dt.timedelta(seconds=i))
    with pytest.raises(LoginRateLimited):
        authenticate(uwh, "li", PW, client="10.0.0.9", limits=limits, now=t0 + dt.timedelta(seconds=5))
    assert authenticate(uwh, "li", PW, client="10.0.0.10", limits=limits, now=t0 + dt.timedelta(seconds=5))


def test_sessions_end_at_logout_and_when_the_user_is_disabled(uwh):
    li = get_user(uwh, "li")
    sid, csrf = create_session(uwh, li)
    user, token = session_user(uwh, sid)
    assert user == li and token == csrf
    assert session_user(uwh, sid + "x") is None
    end_session(uwh, sid, actor="li")
    assert session_user(uwh, sid) is None
    sid2, _ = create_session(uwh, li)
    set_disabled(uwh, "li", True, actor="boss")
    assert session_user(uwh, sid2) is None
    set_disabled(uwh, "li", False, actor="boss")
    assert session_user(uwh, sid2) is None  # ended, not merely hidden
    stored = uwh.to_pandas(uwh.table("sessions"))
    assert sid not in stored.session_hash.tolist()  # only digests are stored


def test_expired_session_is_refused(uwh):
    sid, _ = create_session(uwh, get_user(uwh, "li"), hours=-1)
    assert session_user(uwh, sid) is None


def test_tokens_work_until_revoked_or_user_disabled(uwh):
    tok = create_token(uwh, "li", name="excel", actor="boss")
    assert token_user(uwh, tok) == User("li", "analyst", "360102", None, False)
    assert token_user(uwh, "mf_wrong") is None
    revoke_token(uwh, tok[:10], actor="boss")
    assert token_user(uwh, tok) is None
    tok2 = create_token(uwh, "li", actor="boss")
    set_disabled(uwh, "li", True, actor="boss")
    assert token_user(uwh, tok2) is None
    assert tok2 not in _audit(uwh).astype(str).to_string()


def test_disable_is_an_audited_replacement_of_the_users_row(uwh):
    set_disabled(uwh, "li", True, actor="boss")
    a = _audit(uwh)
    rep = a[(a.action == "replace") & (a.table_name == "users")].iloc[-1]
    assert '"disabled":false' in rep.old_values.replace(" ", "") and '"disabled":true' in rep.new_values.replace(" ", "")
    assert rep.actor == "boss"
    assert get_user(uwh, "li").disabled
    assert not User("li", "analyst", "360102", disabled=True).can("view_figures")


def test_role_permissions():
    admin, viewer = User("a", "admin"), User("v", "viewer", "360100")
    sup, ana = User("s", "supervisor", "360100"), User("n", "analyst", "360102")
    assert admin.can("import_data") and admin.all_regions
    assert not viewer.can("export") and viewer.can("view_figures") and not viewer.can("explain_claims")
    assert sup.can("work_cases") and not ana.can("work_cases") and not ana.can("read_audit")
    assert not User("a", "admin", "360102").all_regions  # an administrator tied to a region is scoped
    with pytest.raises(KeyError):
        admin.can("fly")


def test_users_cli_add_list_disable(tmp_path):
    db = tmp_path / "u.duckdb"
    with Warehouse(db) as w:
        w.append("regions", pd.DataFrame({"region_code": ["360100"], "name": ["南昌市"], "name_en": ["Nanchang"],
                                          "level": ["city"], "parent_code": [None]}))
    run = CliRunner()
    r = run.invoke(users_app, ["add", "wang", "--role", "viewer", "--region", "360100", "--password", PW, "--db", str(db)])
    assert r.exit_code == 0, r.output
    r = run.invoke(users_app, ["add", "zhao", "--role", "analyst", "--password", PW, "--db", str(db)])
    assert r.exit_code == 1 and "needs a region" in r.output
    r = run.invoke(users_app, ["add", "root", "--role", "admin", "--generate-password", "--db", str(db)])
    assert r.exit_code == 0 and "shown once" in r.output
    r = run.invoke(users_app, ["list", "--format", "json", "--db", str(db)])
    assert r.exit_code == 0 and '"wang"' in r.output and "password" not in r.output
    r = run.invoke(users_app, ["disable", "wang", "--db", str(db)])
    assert r.exit_code == 0 and "disabled" in r.output
    r = run.invoke(users_app, ["token", "root", "--db", str(db)])
    assert r.exit_code == 0
    tok = r.output.strip().splitlines()[-1]
    with Warehouse(db, read_only=True) as w:
        assert get_user(w, "wang").disabled
        assert token_user(w, tok).username == "root"
    r = run.invoke(users_app, ["disable", "nobody", "--db", str(db)])
    assert r.exit_code == 1 and "no user" in r.output


def test_serve_cli_help_and_missing_warehouse(tmp_path):
    from mifund.web.cli import app as web_app

    r = CliRunner().invoke(web_app, ["--help"])
    assert r.exit_code == 0 and "--port" in r.output and "--db" in r.output
    r = CliRunner().invoke(web_app, ["--db", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 2 and "No warehouse" in r.output
