"""Cases: screen -> hits -> cases, the workflow, history surviving a restart, the recovered report;
profiling and duplicate-enrolment golden cases; the CLI."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.storage import Warehouse
from mifund.supervision import load_rules, screen
from mifund.supervision.cli import app
from mifund.supervision.enrolment import insured_rate_effect
from mifund.supervision.profiling import robust_z
from mifund.supervision.store import (
    CaseError,
    case_history,
    cases,
    get_case,
    move_case,
    recovered_report,
    store_screen,
)
from test_supervision import CATALOG, PROVIDERS, claim, enrol, frame, line

D = dt.date


def _fill(wh):
    """Two duplicate claims at H1 (one provider case) and a person enrolled twice (one person case)."""
    claims = [claim("C1", vt="outpatient", total=200), claim("C2", vt="outpatient", total=200),
              claim("C3", vt="outpatient", total=300, prov="H2", pid="P2"),
              claim("C4", vt="outpatient", total=300, prov="H2", pid="P2")]
    lines = [line(c, 1, amount=a) for c, a in (("C1", 200), ("C2", 200), ("C3", 300), ("C4", 300))]
    en = [enrol("P1", "M", D(1980, 5, 1), scheme="employee", cat="in_service"),
          enrol("P1", "M", D(1980, 5, 1), region="360103"), enrol("P2", "F", D(1994, 1, 1))]
    with wh.transaction():
        wh.append("claims", frame(claims, "claims"))
        wh.append("claim_lines", frame(lines, "lines"))
        wh.append("enrollment", frame(en, "enrollment"))
        wh.append("providers", frame(PROVIDERS, "providers"))
        wh.append("catalog", frame(CATALOG, "catalog"))
        wh.append("population", pd.DataFrame({"region_code": ["360102", "360103"], "year": [2024, 2024],
                                              "persons": [2, 4]}))


def test_screen_cases_workflow_and_history_survive_restart(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        _fill(wh)
        rules = load_rules(only=["duplicate_billing", "duplicate_enrolment"])
        run = store_screen(wh, screen(wh, rules), actor="ann")
        c = cases(wh)
        # H1: C2 (200) and H2: C4 (300) are duplicates; P1 enrolled twice (amount 0)
        assert c[["case_id", "suspected_amount", "status"]].values.tolist() == [
            ["P:H2", 300.0, "open"], ["P:H1", 200.0, "open"], ["R:P1", 0.0, "open"]]
        # a person's region: the latest year's enrolment, the employee one first (P1: 360102)
        assert c.region_code.tolist() == ["360103", "360102", "360102"]
        move_case(wh, "P:H1", "in_review", actor="bob", note="records requested")
        with pytest.raises(CaseError, match="can move to: confirmed, dismissed, open"):
            move_case(wh, "P:H1", "recovered", actor="bob", amount=1)
        move_case(wh, "P:H1", "confirmed", actor="bob", amount=200)
        with pytest.raises(CaseError, match="needs the amount recovered"):
            move_case(wh, "P:H1", "recovered", actor="bob")
        move_case(wh, "P:H1", "recovered", actor="cat", amount=150.5)
        # a second screen finds the same hits: no new case, status kept, no new event
        store_screen(wh, screen(wh, rules), actor="ann")
    with Warehouse(path) as wh:                       # a restart
        case = get_case(wh, "P:H1")
        assert case["status"] == "recovered" and case["recovered_amount"] == 150.5
        h = case_history(wh, "P:H1")
        assert h[["actor", "action", "from_status", "to_status"]].fillna("").values.tolist() == [
            ["ann", "opened", "", "open"], ["bob", "move", "open", "in_review"],
            ["bob", "move", "in_review", "confirmed"], ["cat", "move", "confirmed", "recovered"]]
        assert h.note[1] == "records requested" and h.run_id[0] == run
        rep = recovered_report(wh)
        r = rep[(rep.region_code == "360102") & (rep.rule_id == "duplicate_billing")].iloc[0]
        assert (r.cases, r.suspected_amount, r.confirmed_amount, r.recovered_amount) == (1, 200.0, 200.0, 150.5)
        audit = wh.to_pandas(wh.table("audit_log"))
        assert (audit.action == "case_move").sum() == 3 and (audit.action == "supervise").sum() == 2


def test_robust_z_golden():
    # group a: 1, 2, 3, 4, 100 -> median 3, |dev| 2,1,0,1,97 -> MAD 1 -> scale 1.4826
    x = pd.Series([1.0, 2, 3, 4, 100, 5, 5, 5])
    g = pd.Series(list("aaaaabbb"))
    z = robust_z(x, g)
    assert z[4] == pytest.approx(97 / 1.4826)
    assert z[0] == pytest.approx(-2 / 1.4826)
    assert z[5:].tolist() == [0.0, 0.0, 0.0]      # no spread and at the median


def test_insured_rate_effect_golden(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill(wh)
        df = insured_rate_effect(wh).set_index("region_code")
    # 360102: P1 (employee, kept) and P2 -> 2 rows, 2 kept, population 2 -> 100% both ways
    # 360103: P1's resident row, dropped when deduplicated -> 1 row, 0 kept, population 4 -> 25% -> 0%
    assert df.loc["360102", ["enrolled", "kept", "duplicated"]].tolist() == [2, 2, 1]
    assert df.loc["360103", "insured_rate"] == 0.25 and df.loc["360103", "insured_rate_dedup"] == 0.0


def test_cli(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        _fill(wh)
    r = CliRunner()
    res = r.invoke(app, ["screen", "--db", str(path), "--rule", "duplicate_billing", "--rule", "duplicate_enrolment"])
    assert res.exit_code == 0, res.output
    assert "duplicate_billing" in res.output
    res = r.invoke(app, ["cases", "--db", str(path), "--format", "json"])
    assert [c["case_id"] for c in json.loads(res.output)] == ["P:H2", "P:H1", "R:P1"]
    res = r.invoke(app, ["case", "P:H2", "move", "dismissed", "--db", str(path), "--user", "dan", "--note", "ok"])
    assert res.exit_code == 0, res.output
    res = r.invoke(app, ["case", "P:H2", "move", "recovered", "--amount", "5", "--db", str(path)])
    assert res.exit_code == 1 and "is dismissed; it can move to: open" in res.output
    res = r.invoke(app, ["case", "P:NOPE", "--db", str(path)])
    assert res.exit_code == 1 and "no case 'P:NOPE'" in res.output
    res = r.invoke(app, ["recovered", "--db", str(path), "--format", "csv"])
    assert res.exit_code == 0 and "region_code,rule_id" in res.output
    res = r.invoke(app, ["enrolment", "--db", str(path), "--format", "csv"])
    assert res.exit_code == 0 and "insured_rate_dedup" in res.output
    res = r.invoke(app, ["rules", "--format", "csv"])
    assert "split_admission" in res.output
    res = r.invoke(app, ["screen", "--db", str(path), "--rules", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 1 and "no such rule file" in res.output
    labels = tmp_path / "labels.csv"
    labels.write_text("claim_id,provider_id,person_id,year,kind,is_abuse\n"
                      "C2,,,,duplicate_billing,true\n"       # found
                      "C3,,,,duplicate_billing,true\n"       # the original C4 copied: not found (recall 1/2)
                      "C1,,,,near_miss_original,false\n"
                      ",,P1,2024,duplicate_enrolment,true\n", encoding="utf-8")
    res = r.invoke(app, ["evaluate", "--db", str(path), "--labels", str(labels), "--format", "json",
                         "--rule", "duplicate_billing", "--rule", "duplicate_enrolment"])
    assert res.exit_code == 0, res.output
    kinds = {(k["level"], k["kind"]): k for k in json.loads(res.output) if k["table"] == "kinds"}
    db_ = kinds[("claim", "duplicate_billing")]
    # flagged C2 and C4; C2 is labelled, C4 is not: precision 1/2; recall 1/2 (C3 is the original, not flagged)
    assert (db_["labelled"], db_["found"], db_["recall"], db_["flagged"], db_["precision"]) == (2, 1, 0.5, 2, 0.5)
    assert kinds[("claim", "near_miss_original")]["near_miss_flagged"] == 0
    de = kinds[("person", "duplicate_enrolment")]
    assert (de["recall"], de["precision"]) == (1.0, 1.0)
    res = r.invoke(app, ["evaluate", "--db", str(path), "--labels", str(tmp_path / "none.csv")])
    assert res.exit_code == 1 and "no such labels file" in res.output
    for cmd in ("screen", "cases", "case", "evaluate", "providers", "enrolment", "recovered", "rules"):
        assert r.invoke(app, [cmd, "--help"]).exit_code == 0


@pytest.mark.slow
def test_demo_planted_abuse_found(demo_small, tmp_path):
    """Every planted kind found with recall >= 0.95; every judged rule kind precision >= 0.9; no rule of a
    judged kind flags a near miss; the upcoding providers lead the profile ranking."""
    from mifund.supervision.evaluate import evaluate_warehouse

    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_small.db, db)
    wal = demo_small.db.with_name(demo_small.db.name + ".wal")
    if wal.exists():
        shutil.copy(wal, db.with_name(db.name + ".wal"))
    with Warehouse(db) as wh:
        rep = evaluate_warehouse(wh, demo_small.data_dir / "truth" / "labels.csv")
    k = rep.kinds
    planted = k[(k.labelled > 0) & ~k.kind.str.startswith("near_miss")]
    assert set(planted.kind) >= {"duplicate_billing", "split_admission", "phantom_stay", "sex_restricted_item",
                                 "age_restricted_item", "over_quantity", "duplicate_enrolment", "upcoding_provider"}
    assert (planted.recall >= 0.95).all(), planted
    judged = k[k.judged.fillna(False).astype(bool)]
    assert (judged.precision >= 0.9).all(), judged
    assert (judged.near_miss_flagged.fillna(0) == 0).all()
    m = rep.metrics.set_index("metric").value
    assert m["overall_precision (rule kinds in the labels)"] >= 0.9
    assert m["roc_auc (score)"] > 0.89                  # the published provider-level bar is 0.77-0.89
    assert np.isfinite(m["auprc"])


def test_evaluate_names_labels_that_match_nothing(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        _fill(wh)
    r = CliRunner()
    only = ["--rule", "duplicate_billing", "--rule", "duplicate_enrolment"]
    lab1 = tmp_path / "lab1.csv"   # two unknown claims (lines 2, 3) and a known one
    lab1.write_text("claim_id,kind\nNOPE1,duplicate_billing\nNOPE2,split_admission\nC2,duplicate_billing\n",
                    encoding="utf-8")
    res = r.invoke(app, ["evaluate", "--db", str(path), "--labels", str(lab1), "-f", "csv", *only])
    assert res.exit_code == 0
    assert "2 claim label(s) whose claim_id is not in the warehouse (lab1.csv line 2: NOPE1; lab1.csv line 3: " \
           "NOPE2)" in res.stderr
    lab4 = tmp_path / "lab4.csv"   # a misspelled kind
    lab4.write_text("claim_id,kind\nC2,duplicte_billing\n", encoding="utf-8")
    res = r.invoke(app, ["evaluate", "--db", str(path), "--labels", str(lab4), "--strict", *only])
    assert res.exit_code == 1
    assert "duplicte_billing: no rule of this kind (lab4.csv line 2); known kinds: " in res.stderr
    assert "duplicate_billing" in res.stderr.split("known kinds: ")[1]
    lab2 = tmp_path / "lab2.csv"
    lab2.write_text("provider_id,kind\nNOPEPROV,upcoding_provider\nH1,upcoding_provider\n", encoding="utf-8")
    res = r.invoke(app, ["evaluate", "--db", str(path), "--labels", str(lab2), "--strict", *only])
    assert res.exit_code == 1 and "(lab2.csv line 2: NOPEPROV)" in res.stderr


def test_evaluate_hash_person_ids_uses_the_warehouse_key_only(tmp_path, monkeypatch):
    from mifund.ingest.idnumber import check_id_key

    monkeypatch.delenv("MIFUND_ID_KEY", raising=False)
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        _fill(wh)
    labels = tmp_path / "labels.csv"
    labels.write_text("person_id,year,kind\nP1,2024,duplicate_enrolment\n", encoding="utf-8")
    args = ["evaluate", "--db", str(path), "--labels", str(labels), "--hash-person-ids",
            "--rule", "duplicate_enrolment"]
    r = CliRunner()
    # no key anywhere: refused, and no key file written beside the warehouse by a read-only evaluation
    res = r.invoke(app, args)
    assert res.exit_code == 1 and "no ID-hash key" in res.stderr
    assert not (tmp_path / "w.duckdb.idkey").exists()
    # a key, but the warehouse's ids were never hashed: hashed labels would match nobody
    monkeypatch.setenv("MIFUND_ID_KEY", "aa" * 32)
    res = r.invoke(app, args)
    assert res.exit_code == 1 and "records no ID-hash key" in res.stderr
    # the warehouse was hashed with another key
    with Warehouse(path) as wh:
        check_id_key(wh, bytes.fromhex("bb" * 32), actor="ann")
    res = r.invoke(app, args)
    assert res.exit_code == 1 and "not the key this warehouse" in res.stderr


def test_anomaly_score_is_one_sided():
    """Of 40 providers at their peers' median (z 0 on every feature), one 4 robust SD below on cost and
    one 4 SD above: only the one above is unusual. Fit on signed z both would be isolated alike."""
    from mifund.supervision.profiling import FEATURES, anomaly_score, drivers

    Z = np.zeros((42, len(FEATURES)))
    Z[40, 0], Z[41, 0] = -4.0, 4.0          # FEATURES[0] is cost_index
    score = anomaly_score(Z)
    assert score[41] > score[40]
    assert score[40] == score[0]            # below the peers scores like the median
    d = drivers(Z)
    assert d[41] == "cost_index z=+4.0" and d[40] == ""


def test_evaluation_says_what_rests_on_the_hand_set_weights():
    """Claim A (labelled duplicate billing) hit at severity 1.0 x weight 0.95, 100 at stake; claim B (no
    label) hit by long_stay at severity 1.0 x weight 0.4, 900 at stake; C and D not hit."""
    from mifund.supervision.evaluate import evaluate

    labels = pd.DataFrame({"claim_id": ["A", None, None], "provider_id": [None, "H1", "H2"],
                           "person_id": None, "year": None, "line_no": None, "is_abuse": True,
                           "kind": ["duplicate_billing", "upcoding_provider", "upcoding_provider"],
                           "level": ["claim", "provider", "provider"]})
    hits = pd.DataFrame({"claim_id": ["A", "B"], "kind": ["duplicate_billing", "long_stay"],
                         "rule_id": ["duplicate_billing", "long_stay"], "score": [0.95, 0.4],
                         "severity": [1.0, 1.0], "amount_at_stake": [100.0, 900.0], "person_id": ["P1", "P2"],
                         "line_no": [None, None], "service_date": [D(2024, 1, 1)] * 2})
    profiles = pd.DataFrame({"provider_id": [f"H{i}" for i in range(1, 11)],
                             "score": np.linspace(1, 0.1, 10), "max_z_above": np.linspace(9, 0, 10)})
    rep = evaluate(labels, hits, pd.Series(["A", "B", "C", "D"]), profiles)
    m = rep.metrics.set_index("metric")
    assert m.value["precision, all rules"] == 0.5                                 # A of A, B
    assert m.value["share of amount at stake on abuse-labelled claims"] == 0.1    # 100 of 1000
    assert m.value["rule weight, lowest of the kinds with planted abuse"] == 0.95
    assert m.value["rule weight, highest of the kinds without"] == 0.4
    assert m.value["roc_auc"] == 1.0 and "hand-set rule weight" in m.note["roc_auc"]
    # by severity alone A and B tie: A beats C and D, ties B -> (1 + 1 + 0.5) / 3
    assert m.value["roc_auc (severity, no rule weights)"] == pytest.approx(2.5 / 3)
    # 2 labelled providers ranked first: AUC 1, Wilson interval with n = 2: low = 2 / (2 + 1.96^2)
    assert m.value["roc_auc (score)"] == 1.0 and m.note["roc_auc (score)"].startswith("2 labelled provider(s) of 10")
    assert m.value["roc_auc 95% interval low (score)"] == pytest.approx(2 / (2 + 1.96 ** 2))
    assert m.value["roc_auc 95% interval high (score)"] == 1.0
