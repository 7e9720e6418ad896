"""Case history holds: decided cases are never changed by later screens (new hits open a linked case),
each rule's share of confirmed and recovered money is fixed when the case is confirmed, the amount rules
of the workflow (confirmed needs an amount, recoveries add up to at most the confirmed amount), and a
screen of unchanged data writes nothing."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import pandas as pd
import pytest

from mifund.storage import Warehouse
from mifund.supervision import load_rules, screen
from mifund.supervision.store import (
    CaseError,
    allocate,
    case_history,
    case_hits,
    cases,
    get_case,
    move_case,
    recovered_report,
    store_screen,
)
from test_supervision import claim, frame, line
from test_supervision_cases import _fill

D = dt.date
RULES = ["duplicate_billing", "duplicate_enrolment", "price_above_cap"]


def _fill_more(wh):
    """_fill (H1: C2 duplicates C1, 200; H2: C4 duplicates C3, 300; P1 enrolled twice) plus C5 at H1: a bed
    day at 120 against the cap of 80, 40 at stake. Case P:H1 then has two rules: 200 and 40."""
    _fill(wh)
    with wh.transaction():
        wh.append("claims", frame([claim("C5", vt="outpatient", admit=D(2024, 4, 2), total=120)], "claims"))
        wh.append("claim_lines", frame([line("C5", 1, item="SVB", amount=120, price=120, day=D(2024, 4, 2))],
                                       "lines"))


def _copy_rule(tmp_path, src_id: str, new_id: str):
    """A copy of a shipped rule under another id (a new rule finding the same things anew)."""
    text = resources.files("mifund.supervision").joinpath("rules", f"{src_id}.yaml").read_text(encoding="utf-8")
    d = tmp_path / "rules_new"
    d.mkdir(exist_ok=True)
    (d / f"{new_id}.yaml").write_text(text.replace(f"id: {src_id}", f"id: {new_id}"), encoding="utf-8")
    return d


def _h1_report(wh):
    """The recovered report of region 360102 (H1's), by rule."""
    rep = recovered_report(wh)
    return rep[rep.region_code == "360102"].set_index("rule_id")


def test_allocate_largest_remainder():
    # 100.01 yuan over shares 200 : 40 -> 8334.17 and 1666.83 cents -> floors 8334 + 1666 = 10000; the one
    # cent left goes to the larger remainder (.83)
    assert allocate(10001, [200, 40]) == [8334, 1667]
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]          # ties: the earlier share
    assert allocate(0, [3, 1]) == [0, 0] and allocate(5, []) == []
    assert allocate(7, [0, 0]) == [4, 3]                     # no amounts at all: even


def test_decided_cases_keep_their_hits_and_money(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill_more(wh)
        store_screen(wh, screen(wh, load_rules(only=RULES)), actor="ann")
        c = cases(wh).set_index("case_id")
        assert c.loc["P:H1", "suspected_amount"] == 240.0 and c.loc["P:H2", "suspected_amount"] == 300.0
        move_case(wh, "P:H2", "dismissed", actor="bob", note="explained")
        move_case(wh, "P:H1", "in_review", actor="bob")
        move_case(wh, "P:H1", "confirmed", actor="bob", amount=100.01)
        move_case(wh, "P:H1", "recovered", actor="cat", amount=50)
        before = _h1_report(wh)
        # shares fixed at confirmation: 200/240 and 40/240 of 100.01 -> 83.34 and 16.67 (see allocate);
        # the recovery of 50 -> 41.67 and 8.33
        assert before.loc["duplicate_billing", ["confirmed_amount", "recovered_amount"]].tolist() == [83.34, 41.67]
        assert before.loc["price_above_cap", ["confirmed_amount", "recovered_amount"]].tolist() == [16.67, 8.33]

        # a later screen with a new rule finding the same claims again
        new_dir = _copy_rule(tmp_path, "duplicate_billing", "duplicate_billing2")
        store_screen(wh, screen(wh, load_rules([new_dir], only=[*RULES, "duplicate_billing2"])), actor="ann")
        for cid, status, suspected in (("P:H2", "dismissed", 300.0), ("P:H1", "recovered", 240.0)):
            row = get_case(wh, cid)
            assert (row["status"], row["suspected_amount"]) == (status, suspected)
            assert "duplicate_billing2" not in set(case_hits(wh, cid).rule_id)
        # the new hits opened new cases, linked to the decided ones, open and in the queue
        open_ = cases(wh, status=["open"]).set_index("case_id")
        assert open_.loc["P:H2#2", "previous_case_id"] == "P:H2" and open_.loc["P:H2#2", "suspected_amount"] == 300.0
        assert open_.loc["P:H1#2", "previous_case_id"] == "P:H1" and open_.loc["P:H1#2", "suspected_amount"] == 200.0
        assert set(case_hits(wh, "P:H1#2").rule_id) == {"duplicate_billing2"}
        h = case_history(wh, "P:H2")
        assert h.action.tolist() == ["opened", "move", "note"] and "P:H2#2" in h.note.iloc[-1]
        assert "follows case P:H2, already dismissed" in case_history(wh, "P:H2#2").note.iloc[0]
        # money already confirmed and recovered is not re-split over the new rule
        after = _h1_report(wh)
        for rule in ("duplicate_billing", "price_above_cap"):
            assert after.loc[rule, ["confirmed_amount", "recovered_amount"]].tolist() == \
                before.loc[rule, ["confirmed_amount", "recovered_amount"]].tolist()
        assert after.loc["duplicate_billing2", ["confirmed_amount", "recovered_amount"]].tolist() == [0.0, 0.0]

        # and a third screen: the open follow-up cases take the hits, no further case
        store_screen(wh, screen(wh, load_rules([new_dir], only=[*RULES, "duplicate_billing2"])), actor="ann")
        assert sorted(cases(wh).case_id) == ["P:H1", "P:H1#2", "P:H2", "P:H2#2", "R:P1"]


def test_unchanged_screen_writes_nothing(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill_more(wh)
        rules = load_rules(only=RULES)
        store_screen(wh, screen(wh, rules), actor="ann")
        n_events = len(wh.to_pandas(wh.table("supervision_case_events")))
        store_screen(wh, screen(wh, rules), actor="ann")
        audit = wh.to_pandas(wh.table("audit_log"))
        assert (audit.action == "replace").sum() == 0          # run_id / updated_at alone are no change
        assert len(wh.to_pandas(wh.table("supervision_case_events"))) == n_events
        assert wh.count("supervision_hits") == 4               # C2, C4, C5 line 1, P1 2024


def test_amount_rules(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill_more(wh)
        store_screen(wh, screen(wh, load_rules(only=RULES)), actor="ann")
        with pytest.raises(CaseError, match="a move to in_review takes no amount"):
            move_case(wh, "P:H1", "in_review", actor="bob", amount=5)
        move_case(wh, "P:H1", "in_review", actor="bob")
        with pytest.raises(CaseError, match="needs the amount confirmed") as e:
            move_case(wh, "P:H1", "confirmed", actor="bob")
        assert e.value.hint == "amount"                     # what the move lacks, for the CLI's hint
        with pytest.raises(CaseError, match="must not be negative") as e:
            move_case(wh, "P:H1", "confirmed", actor="bob", amount=-1)
        assert e.value.hint is None
        with pytest.raises(CaseError, match=r"above the case's suspected amount \(240.00\)") as e:
            move_case(wh, "P:H1", "confirmed", actor="bob", amount=9000)
        assert e.value.hint == "over_suspected"
        with pytest.raises(CaseError, match="needs a note") as e:
            move_case(wh, "P:H1", "confirmed", actor="bob", amount=9000, over_suspected=True)
        assert e.value.hint is None
        move_case(wh, "P:H1", "confirmed", actor="bob", amount=300, over_suspected=True,
                  note="two more duplicates found in the records")
        # confirmed 300: 120,000 cannot be recovered; recoveries add up
        with pytest.raises(CaseError, match="at most 300.00 more can be recovered, not 120,000.00"):
            move_case(wh, "P:H1", "recovered", actor="cat", amount=120_000)
        with pytest.raises(CaseError, match="more than 0") as e:
            move_case(wh, "P:H1", "recovered", actor="cat", amount=0)
        assert e.value.hint is None                         # an amount was given: the hint would not help
        move_case(wh, "P:H1", "recovered", actor="cat", amount=100)
        move_case(wh, "P:H1", "recovered", actor="cat", amount=150.5)
        with pytest.raises(CaseError, match="250.50 of the 300.00 confirmed is already recovered; at most 49.50"):
            move_case(wh, "P:H1", "recovered", actor="cat", amount=50)
        move_case(wh, "P:H1", "recovered", actor="cat", amount=49.5)
        row = get_case(wh, "P:H1")
        assert (row["status"], row["confirmed_amount"], row["recovered_amount"]) == ("recovered", 300.0, 300.0)
        h = case_history(wh, "P:H1")
        assert h[h.to_status == "recovered"].amount.tolist() == [100.0, 150.5, 49.5]
        rep = recovered_report(wh)
        assert rep.recovered_amount.sum() == pytest.approx(300.0) and rep.confirmed_amount.sum() == pytest.approx(300)
        # dismissed takes no amount; confirmed -> in_review clears the confirmed amount
        with pytest.raises(CaseError, match="takes no amount"):
            move_case(wh, "P:H2", "dismissed", actor="bob", amount=10)
        move_case(wh, "P:H2", "in_review", actor="bob")
        move_case(wh, "P:H2", "confirmed", actor="bob", amount=0)       # an irregularity without money lost
        move_case(wh, "P:H2", "in_review", actor="bob", note="reopened")
        assert pd.isna(get_case(wh, "P:H2")["confirmed_amount"])
        assert recovered_report(wh).set_index(["region_code", "rule_id"]).loc[("360103", "duplicate_billing"),
                                                                              "cases_confirmed"] == 0


def test_cli_case_export_and_moves(tmp_path):
    import json

    import openpyxl
    from typer.testing import CliRunner

    from mifund.supervision.cli import app

    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        _fill_more(wh)
    r = CliRunner()
    res = r.invoke(app, ["screen", "--db", str(db), *sum((["--rule", x] for x in RULES), []), "-f", "json"])
    assert res.exit_code == 0, res.output
    hit = next(h for h in json.loads(res.stdout) if h["rule_id"] == "price_above_cap")
    assert hit["line_no"] == 1 and hit["service_date"] == "2024-04-02"     # an integer and a date
    for args in (["in_review"], ["confirmed", "--amount", "200"], ["recovered", "--amount", "50", "--note", "1st"]):
        res = r.invoke(app, ["case", "P:H1", "move", *args, "--db", str(db)])
        assert res.exit_code == 0, res.output
    res = r.invoke(app, ["case", "P:H2", "move", "dismissed", "--amount", "3", "--db", str(db)])
    assert res.exit_code == 1 and "takes no amount" in res.output and "--amount)" not in res.output
    assert r.invoke(app, ["case", "P:H2", "move", "in_review", "--db", str(db)]).exit_code == 0
    res = r.invoke(app, ["case", "P:H2", "move", "confirmed", "--amount", "99999", "--db", str(db)])
    assert res.exit_code == 1 and "(--over-suspected --note ...)" in " ".join(res.output.split())
    res = r.invoke(app, ["case", "P:H1", "move", "recovered", "--db", str(db)])
    assert res.exit_code == 1 and "needs the amount recovered" in res.output and "--amount" in res.output
    res = r.invoke(app, ["case", "P:H1", "-f", "json", "--db", str(db)])
    doc = json.loads(res.stdout)
    assert set(doc) == {"case", "hits", "history"}
    assert (doc["case"]["status"], doc["case"]["recovered_amount"], doc["case"]["hits"]) == ("recovered", 50.0, 2)
    assert [h["line_no"] for h in doc["hits"]] == [None, 1]
    assert [e["action"] for e in doc["history"]] == ["opened", "move", "move", "move"]
    res = r.invoke(app, ["case", "P:H1", "-f", "csv", "--db", str(db)])
    csv = pd.read_csv(__import__("io").StringIO(res.stdout))
    assert csv.table.value_counts().to_dict() == {"history": 4, "hits": 2, "case": 1}
    res = r.invoke(app, ["case", "P:H1", "-f", "xlsx", "-o", str(tmp_path / "c.xlsx"), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert openpyxl.load_workbook(tmp_path / "c.xlsx").sheetnames == ["case", "hits", "history"]


def _tolerant_cap(tmp_path):
    """price_above_cap with a tolerance of 100%: C5's 120 against the cap of 80 is within 160, no hit."""
    text = resources.files("mifund.supervision").joinpath("rules", "price_above_cap.yaml").read_text(encoding="utf-8")
    d = tmp_path / "rules_tolerant"
    d.mkdir(exist_ok=True)
    (d / "price_above_cap.yaml").write_text(text.replace("tolerance: 0.0", "tolerance: 1.0"), encoding="utf-8")
    return d


def test_a_rescreen_takes_hits_no_longer_found_out_of_open_cases(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill_more(wh)
        store_screen(wh, screen(wh, load_rules(only=RULES)), actor="ann")
        assert get_case(wh, "P:H1")["suspected_amount"] == 240.0     # 200 duplicate + 40 above the cap
        # the same rules, the cap rule now tolerant: C5's hit is no longer found
        run = store_screen(wh, screen(wh, load_rules([_tolerant_cap(tmp_path)], only=RULES)), actor="ann")
        row = get_case(wh, "P:H1")
        assert (row["hits"], row["suspected_amount"], row["rules"]) == (1, 200.0, '["duplicate_billing"]')
        assert set(case_hits(wh, "P:H1").rule_id) == {"duplicate_billing"}
        h = case_history(wh, "P:H1")
        assert h.action.iloc[-1] == "hits" and h.run_id.iloc[-1] == run
        assert h.note.iloc[-1] == "1 hit(s) no longer found (taken out of the case)"
        # the recovered report no longer counts the 40 (region 360102 is H1's)
        assert "price_above_cap" not in set(_h1_report(wh).index)
        # the audit trail keeps the hit as it was, in its case
        audit = wh.to_pandas(wh.table("audit_log"))
        gone = audit[audit.detail.fillna("").str.contains("no longer found")]
        assert len(gone) == 1
        assert json.loads(gone.old_values.iloc[0])["case_id"] == "P:H1"
        assert json.loads(gone.new_values.iloc[0])["case_id"] is None
        # found again (the shipped rule): back in the case, as a new hit
        store_screen(wh, screen(wh, load_rules(only=RULES)), actor="ann")
        assert get_case(wh, "P:H1")["suspected_amount"] == 240.0
        assert case_history(wh, "P:H1").note.iloc[-1] == "1 new hit(s)"


def test_a_rescreen_leaves_decided_cases_but_notes_evidence_gone(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill_more(wh)
        store_screen(wh, screen(wh, load_rules(only=RULES)), actor="ann")
        move_case(wh, "P:H1", "in_review", actor="bob")
        move_case(wh, "P:H1", "confirmed", actor="bob", amount=240)
        tolerant = load_rules([_tolerant_cap(tmp_path)], only=RULES)
        run = store_screen(wh, screen(wh, tolerant), actor="ann")
        row = get_case(wh, "P:H1")                                   # the record of the decision stands
        assert (row["status"], row["hits"], row["suspected_amount"], row["confirmed_amount"]) == \
            ("confirmed", 2, 240.0, 240.0)
        h = case_history(wh, "P:H1")
        assert h.action.iloc[-1] == "note" and h.note.iloc[-1].startswith(
            f"1 hit(s) this case was decided on no longer found by screen {run}")
        n = len(h)
        store_screen(wh, screen(wh, tolerant), actor="ann")          # the same again: no second note
        assert len(case_history(wh, "P:H1")) == n


def test_a_recovery_is_corrected_by_a_reversal_with_a_note(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill(wh)
        store_screen(wh, screen(wh, load_rules(only=RULES)), actor="ann")
        move_case(wh, "P:H2", "in_review", actor="bob")
        move_case(wh, "P:H2", "confirmed", actor="bob", amount=300)
        with pytest.raises(CaseError, match="no recovery recorded to reverse"):
            move_case(wh, "P:H2", "recovered", actor="cat", amount=-5, note="x")
        move_case(wh, "P:H2", "recovered", actor="cat", amount=300)   # mistyped: 30 came in
        with pytest.raises(CaseError, match="needs a note"):
            move_case(wh, "P:H2", "recovered", actor="cat", amount=-270)
        with pytest.raises(CaseError, match="at most that can be reversed"):
            move_case(wh, "P:H2", "recovered", actor="cat", amount=-300.01, note="typo")
        move_case(wh, "P:H2", "recovered", actor="cat", amount=-270, note="typed 300, 30 came in")
        # 300 - 270 = 30 recovered, in the case and the report (H2 is in region 360103, one rule)
        assert get_case(wh, "P:H2")["recovered_amount"] == 30.0
        rep = recovered_report(wh).set_index(["region_code", "rule_id"])
        assert rep.loc[("360103", "duplicate_billing"), "recovered_amount"] == 30.0
        h = case_history(wh, "P:H2")
        assert h.amount.tolist()[-2:] == [300.0, -270.0] and h.note.iloc[-1] == "typed 300, 30 came in"
        audit = wh.to_pandas(wh.table("audit_log"))
        assert (audit.action == "case_move").sum() == 4
        # the rest reversed too (the payment bounced): confirmed again, nothing recovered, further recoveries open
        move_case(wh, "P:H2", "recovered", actor="cat", amount=-30, note="bounced")
        row = get_case(wh, "P:H2")
        assert row["status"] == "confirmed" and pd.isna(row["recovered_amount"])
        assert case_history(wh, "P:H2").to_status.iloc[-1] == "confirmed"
        move_case(wh, "P:H2", "recovered", actor="cat", amount=300)
        assert get_case(wh, "P:H2")["recovered_amount"] == 300.0
