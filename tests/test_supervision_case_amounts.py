"""A case's suspected amount counts each claim line and claim once; recoveries are judged to the fen;
`supervise cases`: every case in machine formats, invalid filters refused."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.storage import Warehouse
from mifund.supervision import load_rules, screen
from mifund.supervision.cli import app
from mifund.supervision.store import (
    CaseError,
    case_history,
    get_case,
    move_case,
    recovered_report,
    store_screen,
)
from test_supervision import CATALOG, PERSONS, PROVIDERS, claim, enrol, frame, line

D = dt.date
RULES = ["duplicate_billing", "sex_restricted", "age_restricted"]


def _fill(wh, claims, lines, providers=PROVIDERS):
    with wh.transaction():
        wh.append("claims", frame(claims, "claims"))
        wh.append("claim_lines", frame(lines, "lines"))
        wh.append("enrollment", frame([enrol(p, s, b) for p, s, b in PERSONS], "enrollment"))
        wh.append("providers", frame(providers, "providers"))
        wh.append("catalog", frame(CATALOG, "catalog"))
        wh.append("population", pd.DataFrame({"region_code": ["360102"], "year": [2024], "persons": [4]}))


def test_a_line_hit_by_two_rules_counts_once(tmp_path):
    # P4, a boy of 12, billed 30.00 of XDF (女性, 14-55 岁) on C1; C2 bills the same visit again: the
    # duplicate claim (30.00) and, on each claim, the line hit by the sex and the age restriction (30.00
    # each). Money in doubt: 30.00 per claim, 60.00 in all (not 150.00, the sum of the hits).
    claims = [claim("C1", pid="P4", vt="outpatient", total=30), claim("C2", pid="P4", vt="outpatient", total=30)]
    lines = [line("C1", 1, item="XDF", amount=30), line("C2", 1, item="XDF", amount=30)]
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill(wh, claims, lines)
        res = screen(wh, load_rules(only=RULES))
        assert res.hits.num_rows == 5 and sum(res.hits["amount_at_stake"].to_pylist()) == 150.0
        store_screen(wh, res, actor="ann")
        case = get_case(wh, "P:H1")
        assert (case["hits"], case["claims"], case["suspected_amount"]) == (5, 2, 60.0)
        # each rule's part of the suspected amount; the parts add up to the case's
        rep = recovered_report(wh).set_index("rule_id")
        assert rep.suspected_amount.to_dict() == {"age_restricted": 22.5, "duplicate_billing": 15.0,
                                                  "sex_restricted": 22.5}
        assert rep.suspected_amount.sum() == case["suspected_amount"]
        # the suspected amount caps confirming without over_suspected
        move_case(wh, "P:H1", "in_review", actor="bob")
        with pytest.raises(CaseError, match=r"above the case's suspected amount \(60\.00\)"):
            move_case(wh, "P:H1", "confirmed", actor="bob", amount=60.01)
        move_case(wh, "P:H1", "confirmed", actor="bob", amount=60)
        rep = recovered_report(wh).set_index("rule_id")
        assert rep.confirmed_amount.to_dict() == {"age_restricted": 22.5, "duplicate_billing": 15.0,
                                                  "sex_restricted": 22.5}


def test_a_recovery_is_rounded_to_the_fen_before_it_is_judged(tmp_path):
    claims = [claim("C1", pid="P4", vt="outpatient", total=30), claim("C2", pid="P4", vt="outpatient", total=30)]
    lines = [line("C1", 1, amount=30), line("C2", 1, amount=30)]
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill(wh, claims, lines)
        store_screen(wh, screen(wh, load_rules(only=RULES)), actor="ann")
        move_case(wh, "P:H1", "in_review", actor="bob")
        move_case(wh, "P:H1", "confirmed", actor="bob", amount=30)
        for tiny in (0.001, 0.004):
            with pytest.raises(CaseError, match="at least 0.01"):
                move_case(wh, "P:H1", "recovered", actor="bob", amount=tiny)
        move_case(wh, "P:H1", "recovered", actor="bob", amount=29.995)       # 30.00 to the fen: all of it
        assert get_case(wh, "P:H1")["recovered_amount"] == 30.0
        with pytest.raises(CaseError, match="at least 0.01"):                  # fully recovered: 0.00 more
            move_case(wh, "P:H1", "recovered", actor="bob", amount=0.001)
        with pytest.raises(CaseError, match="at most 0.00 more"):
            move_case(wh, "P:H1", "recovered", actor="bob", amount=0.005)     # 0.01: one fen too many
        moves = case_history(wh, "P:H1").query("action == 'move'")
        assert moves.amount.tolist()[-1] == 30.0 and len(moves) == 3
        res = CliRunner().invoke(app, ["case", "P:H1", "move", "recovered", "--amount", "0.001", "--db",
                                       str(tmp_path / "w.duckdb")])
    assert res.exit_code == 1 and "at least 0.01" in res.output


def test_cases_machine_formats_get_every_case(tmp_path):
    n = 35  # more than the table's 30: one duplicate claim at each of 35 providers
    provs = [{**PROVIDERS[0], "provider_id": f"H{i:02d}", "name": f"H{i:02d}"} for i in range(n)]
    claims, lines = [], []
    for i in range(n):
        for k in (1, 2):
            cid = f"C{i:02d}{k}"
            claims.append(claim(cid, prov=f"H{i:02d}", vt="outpatient", total=100 + i))
            lines.append(line(cid, 1, amount=100 + i))
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        _fill(wh, claims, lines, provs)
        store_screen(wh, screen(wh, load_rules(only=["duplicate_billing"])), actor="ann")
    r = CliRunner()
    res = r.invoke(app, ["cases", "--db", str(path), "-f", "json"])
    assert res.exit_code == 0 and len(json.loads(res.output)) == n
    res = r.invoke(app, ["cases", "--db", str(path), "-f", "csv"])
    assert res.exit_code == 0 and len(pd.read_csv(io.StringIO(res.output))) == n
    out = tmp_path / "cases.xlsx"
    res = r.invoke(app, ["cases", "--db", str(path), "-f", "xlsx", "-o", str(out)])
    assert res.exit_code == 0 and len(pd.read_excel(out, engine="openpyxl")) == n
    res = r.invoke(app, ["cases", "--db", str(path), "-f", "csv", "--top", "5"])
    assert len(pd.read_csv(io.StringIO(res.output))) == 5
    res = r.invoke(app, ["cases", "--db", str(path)], terminal_width=200)
    assert res.exit_code == 0 and f"30 of {n} shown" in res.output
    res = r.invoke(app, ["cases", "--db", str(path), "--top", "0"], terminal_width=200)
    assert res.exit_code == 0 and " shown" not in res.output


def test_cases_invalid_filters_are_refused(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        _fill(wh, [claim("C1")], [line("C1", 1)])
    r = CliRunner()
    res = r.invoke(app, ["cases", "--db", str(path), "--status", "open", "--status", "clsoed"], terminal_width=200)
    assert res.exit_code == 2
    assert "unknown status 'clsoed'" in res.output and "open, in_review, confirmed, dismissed, recovered" in res.output
    res = r.invoke(app, ["cases", "--db", str(path), "--entity", "providers"], terminal_width=200)
    assert res.exit_code == 2 and "unknown entity 'providers'" in res.output and "provider, person" in res.output
    res = r.invoke(app, ["cases", "--db", str(path), "--status", "open", "--entity", "person", "-f", "json"])
    assert res.exit_code == 0 and json.loads(res.output) == []
