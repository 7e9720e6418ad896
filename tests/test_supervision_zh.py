"""Supervision texts in Chinese beside English: every rule's evidence (evidence_zh), the notes a screen
writes in a case's history (note_zh) and the workflow's refusals (CaseError.zh), shown in the reader's
language on the case page and by `mifund supervise case --lang zh`; rows stored before the Chinese texts
were kept (evidence_zh / note_zh NULL) show the English ones."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from typer.testing import CliRunner

from mifund.storage import Warehouse
from mifund.supervision import load_rules, screen
from mifund.supervision.cli import app
from mifund.supervision.store import CaseError, case_history, case_hits, move_case, store_screen
from test_supervision import claim, enrol, hits_of, line, stay, tables
from test_supervision_cases import _fill

D = dt.date
CJK = re.compile(r"[\u4e00-\u9fff]")


# -- evidence: one positive per rule (the inputs of test_supervision), both sentences, the same figures ----
def _one(rule_id, t):
    h = hits_of(rule_id, t)
    assert len(h) and h.evidence_zh.notna().all(), rule_id
    return h


def test_duplicate_billing_in_chinese():
    a, b = claim("C1", vt="outpatient", total=200), claim("C2", vt="outpatient", total=200)
    h = _one("duplicate_billing", tables([a, b], [line("C1", 1, amount=200), line("C2", 1, amount=200)]))
    zh = h.evidence_zh[0]
    assert zh.startswith("与 C1 的") and "参保人" in zh and "定点医疗机构" in zh
    assert "（同一服务2 张结算单），总金额 200.0 元" in zh


def test_readmission_both_parts_in_chinese():
    h = _one("split_admission", tables([stay("C1", D(2024, 3, 1), 5, dx="I63.9"),
                                        stay("C2", D(2024, 3, 7), 4, dx="I63.9")])).set_index("claim_id")
    # C1 discharged 3-06, C2 admitted 3-07: 1 day
    assert h.evidence_zh["C2"] == "C1 出院后 1 天再次入院（同一机构、同一诊断 I63.9）"
    assert h.evidence_zh["C1"] == "前段：本次出院后 1 天以 C2 再次入院"


def test_overlap_stay_and_use_during_stay_in_chinese():
    h = _one("overlapping_stay", tables([stay("C1", D(2024, 3, 1), 10), stay("C2", D(2024, 3, 5), 4, prov="H2")]))
    assert h.evidence_zh.tolist() == ["与 H1 的住院 C1 重叠 4 晚"]
    h = _one("phantom_stay_elsewhere", tables([stay("C1", D(2024, 3, 1), 10),
                                               claim("C2", vt="outpatient", prov="H2", admit=D(2024, 3, 5))]))
    # the visit type is named in Chinese (门诊), the date as it is
    assert h.evidence_zh.tolist() == ["住院 10 天期间在其他机构结算 1 次，首次 C2（门诊）于 2024-03-05"]


def test_restricted_items_in_chinese():
    c = [claim("C1", pid="P1", vt="outpatient")]
    h = _one("sex_restricted", tables(c, [line("C1", 1, item="XDF", amount=40)]))
    assert h.evidence_zh.tolist() == ["XDF 黄体酮注射液 限女性使用，结算给男性参保人"]
    h = _one("age_restricted", tables(c, [line("C1", 1, item="XDK", amount=20)]))
    assert h.evidence_zh.tolist() == ["XDK 小儿布洛芬混悬液 限 0-12 岁使用，结算给 44 岁的参保人"]


def test_quantity_price_and_stay_rules_in_chinese():
    c = [claim("C1", vt="outpatient")]
    h = _one("over_quantity", tables(c, [line("C1", 1, qty=2, amount=20), line("C1", 2, qty=2, amount=20)]))
    assert set(h.evidence_zh) == {"XD1 于 2024-03-01 用量 4.0，超过日最大用量 3.0"}
    c = [claim("C1", admit=D(2024, 3, 1), discharge=D(2024, 3, 2))]
    h = _one("price_above_cap", tables(c, [line("C1", 1, item="SVB", qty=2, amount=180, price=90)]))
    assert h.evidence_zh.tolist() == ["SVB 单价 90.0 元，超过限价 80.0 元"]
    peers = [stay(f"N{i}", D(2024, 1, 1) + dt.timedelta(days=20 * i), 5, pid=f"Q{i}") for i in range(20)]
    h = _one("long_stay", tables([*peers, stay("L1", D(2024, 9, 1), 40, pid="P1")]))
    assert h.evidence_zh[0].startswith("住院 40 天；同类 21 次住院（按诊断编码") and h.evidence_zh[0].endswith(
        "的中位数为 5.0 天")
    days = [D(2024, 5, 1) + dt.timedelta(days=i) for i in range(8)]
    ln = [line("C1", i + 1, item="SVB", amount=80, day=d) for i, d in enumerate(days)]
    h = _one("phantom_stay", tables([stay("C1", D(2024, 5, 1), 7, total=640.0)], ln))
    assert h.evidence_zh.tolist() == ["住院 7 天，8 条明细，100.0% 的金额仅为床位费、护理费，无治疗"]


def test_frequency_and_enrolment_rules_in_chinese():
    c = [claim(f"V{i:02d}", vt="outpatient", admit=D(2024, 3, 1 + i)) for i in range(14)]
    h = _one("excessive_frequency", tables(c)).sort_values("claim_id")
    assert h.evidence_zh.iloc[0].startswith("自 2024-03-01 起的一月内结算 14 次（上限 ")
    assert h.evidence_zh.iloc[0].endswith("），本单为第 13 次")
    assert h.evidence.iloc[0].startswith("14 claims in the month from 2024-03-01 (limit ")   # a day, no time
    h = _one("outside_enrolment", tables([claim("C1", admit=D(2025, 2, 1))]))
    assert h.evidence_zh.tolist() == ["参保人 2025 年无参保记录（出院日期 2025-02-01）"]
    en = [enrol("P1", "M", D(1980, 5, 1), scheme="employee", cat="in_service"),
          enrol("P1", "M", D(1980, 5, 1), region="360103")]
    h = _one("duplicate_enrolment", tables([claim("C1")], enrollment=en))
    assert h.evidence_zh.tolist() == ["2024 年参保 2 次：360102/employee/in_service；360103/resident/resident_adult"]


def test_every_shipped_rule_writes_chinese_evidence():
    """A rule file whose check built no Chinese sentence would leave evidence_zh NULL: every check must."""
    from mifund.supervision.checks import CHECKS

    used = {r.check for r in load_rules()}
    assert used <= set(CHECKS)
    # the positives above cover each check the shipped rules use
    covered = {"duplicate_claims", "readmission", "overlapping_stays", "use_during_stay", "hollow_stay",
               "item_restriction", "daily_quantity", "price_cap", "long_stay", "frequency", "outside_enrolment",
               "duplicate_enrolment"}
    assert used <= covered, used - covered


# -- stored: hits and history in both languages; old rows fall back to English --------------------------
def test_stored_hits_and_history_notes_in_both_languages(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill(wh)   # H1: C2 duplicates C1; H2: C4 duplicates C3; P1 enrolled twice
        store_screen(wh, screen(wh, load_rules(only=["duplicate_billing"])), actor="alice")
        hits = case_hits(wh, "P:H1")
        assert hits.evidence.str.startswith("same ").all() and hits.evidence_zh.str.startswith("与 C1 的").all()
        ev = case_history(wh, "P:H1")
        assert ev.note.tolist() == ["1 hit(s)"] and ev.note_zh.tolist() == ["疑点 1 条"]
        move_case(wh, "P:H1", "dismissed", actor="bob", note="核查无误")
        # new data for H1 after the decision: a follow-up case, noted in both languages on both cases
        with wh.transaction():
            from test_supervision import frame

            wh.append("claims", frame([claim("C9", prov="H1", vt="outpatient", admit=D(2024, 5, 1), total=200),
                                       claim("C8", prov="H1", vt="outpatient", admit=D(2024, 5, 1), total=200)],
                                      "claims"))
            wh.append("claim_lines", frame([line("C9", 1, amount=200, day=D(2024, 5, 1)),
                                            line("C8", 1, amount=200, day=D(2024, 5, 1))], "lines"))
        store_screen(wh, screen(wh, load_rules(only=["duplicate_billing"])), actor="alice")
        old = case_history(wh, "P:H1")
        assert old.note.tolist()[-1] == "1 new hit(s) after the decision: opened case P:H1#2"
        assert old.note_zh.tolist()[-1] == "办结后新增疑点 1 条：已立案 P:H1#2"
        assert old.note_zh.isna().tolist()[1] and old.note.tolist()[1] == "核查无误"   # a person's note: as written
        new = case_history(wh, "P:H1#2")
        assert new.note_zh.tolist() == ["疑点 1 条；接续案件 P:H1（已排除）"]


# -- refusals: both languages ---------------------------------------------------------------------------
def test_refusals_carry_chinese_and_english(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _fill(wh)
        store_screen(wh, screen(wh, load_rules(only=["duplicate_billing"])), actor="alice")
        with pytest.raises(CaseError) as e:
            move_case(wh, "P:H1", "recovered", actor="bob", amount=5)
        assert str(e.value) == e.value.en == "case P:H1 is open; it can move to: in_review, dismissed"
        assert e.value.zh == "案件 P:H1 当前为“待处理”，只能转为：核查中、已排除"
        assert e.value.text("zh") == e.value.zh and e.value.text("en") == e.value.en
        move_case(wh, "P:H1", "in_review", actor="bob")
        with pytest.raises(CaseError) as e:
            move_case(wh, "P:H1", "confirmed", actor="bob", amount=500)    # suspected 200
        assert "高于案件疑点金额（200.00 元）" in e.value.zh and "(200.00)" in e.value.en
        move_case(wh, "P:H1", "confirmed", actor="bob", amount=200)
        move_case(wh, "P:H1", "recovered", actor="bob", amount=150)
        with pytest.raises(CaseError) as e:
            move_case(wh, "P:H1", "recovered", actor="bob", amount=100)
        assert e.value.zh == "案件 P:H1：确认金额 200.00 元中已追回 150.00 元；最多还可追回 50.00 元，不能追回 100.00 元"
        with pytest.raises(CaseError) as e:
            move_case(wh, "P:NOPE", "in_review", actor="bob")
        assert e.value.zh.startswith("没有案件 'P:NOPE'")
        with pytest.raises(CaseError) as e:
            move_case(wh, "P:H2", "dismissed", actor="bob", amount=3)
        assert e.value.zh == "转为“已排除”不填金额（金额只用于确认和追回）"


def test_cli_case_lang(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        _fill(wh)
    r = CliRunner()
    assert r.invoke(app, ["screen", "--db", str(path), "--rule", "duplicate_billing"]).exit_code == 0
    res = r.invoke(app, ["case", "P:H1", "--db", str(path), "--lang", "zh"])
    assert res.exit_code == 0, res.output
    assert "与 C1" in res.output and "疑点 1 条" in res.output and "same person_id" not in res.output
    res = r.invoke(app, ["case", "P:H1", "--db", str(path)])
    assert "same " in res.output and "1 hit(s)" in res.output and not CJK.search(res.output.split("hits")[-1])
    res = r.invoke(app, ["case", "P:H1", "move", "recovered", "--amount", "5", "--db", str(path), "--lang", "zh"])
    assert res.exit_code == 1 and "只能转为：核查中、已排除" in res.output
    assert r.invoke(app, ["case", "P:H1", "move", "in_review", "--db", str(path)]).exit_code == 0
    res = r.invoke(app, ["case", "P:H1", "move", "confirmed", "--db", str(path), "--lang", "zh"])
    assert res.exit_code == 1 and "须填写确认金额" in res.output and "--amount" in res.output
    res = r.invoke(app, ["case", "P:H1", "--db", str(path), "--lang", "fr"])
    assert res.exit_code != 0 and "--lang" in res.output
    doc = json.loads(r.invoke(app, ["case", "P:H1", "--db", str(path), "-f", "json"]).stdout)
    assert doc["hits"][0]["evidence_zh"].startswith("与 C1") and doc["history"][0]["note_zh"] == "疑点 1 条"


def test_rows_stored_before_chinese_show_english(tmp_path):
    """A warehouse screened before migration 0007: its hits and notes have no Chinese (NULL); the CLI in zh
    shows the English ones rather than nothing."""
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        _fill(wh)
        store_screen(wh, screen(wh, load_rules(only=["duplicate_billing"])), actor="alice")
        wh._raw.execute("UPDATE supervision_hits SET evidence_zh = NULL")
        wh._raw.execute("UPDATE supervision_case_events SET note_zh = NULL")
    res = CliRunner().invoke(app, ["case", "P:H1", "--db", str(path), "--lang", "zh"])
    assert res.exit_code == 0 and "same " in res.output and "1 hit(s)" in res.output


def test_migration_gives_earlier_screen_notes_chinese(tmp_path):
    """A warehouse from before 0007: its screens' notes (a fixed wording) get their Chinese; a person's
    note and the hits' evidence stay as stored (evidence_zh NULL until a screen rewrites them)."""
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        _fill(wh)
        store_screen(wh, screen(wh, load_rules(only=["duplicate_billing"])), actor="alice")
        move_case(wh, "P:H1", "dismissed", actor="bob", note="5 hit(s)")      # a person's words, kept as written
        wh._raw.execute("INSERT INTO supervision_case_events (case_id, event_at, actor, action, note, run_id) VALUES "
                        "('P:H1', now(), 'alice', 'note', '2 new hit(s) after the decision: opened case P:H1#2', 'V1'),"
                        "('P:H1#2', now(), 'alice', 'opened', '2 hit(s); follows case P:H1, already dismissed', 'V1'),"
                        "('P:H2', now(), 'alice', 'hits', '3 new hit(s)', 'V1')")
        wh._raw.execute("ALTER TABLE supervision_hits DROP COLUMN evidence_zh")
        wh._raw.execute("ALTER TABLE supervision_case_events DROP COLUMN note_zh")
        wh._raw.execute("DELETE FROM schema_migrations WHERE version = 7")
    with Warehouse(path) as wh:   # opening migrates
        ev = wh.to_pandas(wh.table("supervision_case_events").order_by("event_id"))
        assert case_hits(wh, "P:H1").evidence_zh.isna().all()
    assert {n: (z if isinstance(z, str) else None) for n, z in zip(ev.note, ev.note_zh, strict=True)} == {
        "1 hit(s)": "疑点 1 条", "5 hit(s)": None,
        "2 new hit(s) after the decision: opened case P:H1#2": "办结后新增疑点 2 条：已立案 P:H1#2",
        "2 hit(s); follows case P:H1, already dismissed": "疑点 2 条；接续案件 P:H1（已排除）",
        "3 new hit(s)": "新增疑点 3 条"}
