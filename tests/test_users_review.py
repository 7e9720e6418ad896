"""Review fixes of mifund.users: token lifetimes are bounded (CLI and store), a password of blanks is
refused, a revocation by prefix touches only the named user's tokens, `users list` fits 80 columns."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mifund.storage import Warehouse
from mifund.users import UserError, add_user, create_token, list_tokens, revoke_token, token_user
from mifund.users.cli import MAX_TOKEN_DAYS as CLI_MAX
from mifund.users.cli import app as users_app
from mifund.users.store import MAX_TOKEN_DAYS
from web_helpers import fast_hashing

PW = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    fast_hashing(monkeypatch)


@pytest.fixture
def uwh(tmp_path):
    with Warehouse(tmp_path / "u.duckdb") as wh:
        add_user(wh, "li", PW, role="admin", actor="test")
        add_user(wh, "wang", PW, role="admin", actor="test")
        yield wh


@pytest.mark.parametrize("days", [-5, 0, MAX_TOKEN_DAYS + 1, 1e9])
def test_token_days_out_of_bounds_are_refused(uwh, days):
    # -5 and 0 would issue a token born expired; 1e9 days overflowed the date (a traceback)
    with pytest.raises(UserError) as e:
        create_token(uwh, "li", days=days, actor="test")
    assert e.value.reason == "bad_days"
    assert list_tokens(uwh, "li").empty


def test_cli_token_days_bounds(tmp_path, uwh):
    assert CLI_MAX == MAX_TOKEN_DAYS  # the CLI's literal copy of the store's bound
    uwh.close()
    db = str(tmp_path / "u.duckdb")
    for days in ("-5", "1e9"):
        r = CliRunner().invoke(users_app, ["token", "li", "--days", days, "--db", db])
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    r = CliRunner().invoke(users_app, ["token", "li", "--days", "30", "--db", db])
    assert r.exit_code == 0 and "mf_" in r.output, r.output


def test_password_of_blanks_is_refused(uwh):
    with pytest.raises(UserError) as e:
        add_user(uwh, "x4", " " * 12, role="admin", actor="test")
    assert e.value.reason == "password_blank"


def test_revoking_a_prefix_for_one_user_leaves_the_other_users_token(uwh, monkeypatch):
    # two tokens with the same 10-character prefix (forced: 64**7 prefixes make it rare, not impossible)
    import mifund.users.store as store

    suffixes = iter(["SAMEPRExA", "SAMEPRExB"])
    monkeypatch.setattr(store.secrets, "token_urlsafe", lambda n: next(suffixes))
    a, b = create_token(uwh, "li", actor="test"), create_token(uwh, "wang", actor="test")
    assert a[:10] == b[:10] and a != b
    assert revoke_token(uwh, a[:10], actor="li", username="li") == 1
    assert token_user(uwh, a) is None and token_user(uwh, b).username == "wang"


def test_users_list_fits_80_columns(tmp_path, monkeypatch, uwh):
    uwh.close()
    monkeypatch.setenv("COLUMNS", "80")
    r = CliRunner().invoke(users_app, ["list", "--db", str(tmp_path / "u.duckdb")])
    assert r.exit_code == 0, r.output
    assert "…" not in r.output  # nothing cut (the timestamps used to read "2…")
    assert "updated_at" not in r.output and "created_at" in r.output
