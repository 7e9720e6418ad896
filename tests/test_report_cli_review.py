"""`mifund report` in one language: the omitted-sections line and a scheme without rows in the report year."""

from __future__ import annotations

from test_warnings_cli import ANNUAL_A, load, run

# the employee fund of County A reported for 2023 only; the resident fund for 2023 and 2024
EMPLOYEE_2023 = "990101,2023,,employee,pooled,500,2000000.00,1500000.00,6000000.00\n"


def test_zh_report_says_what_is_missing_in_chinese(env, tmp_path):
    load(env, ANNUAL_A + EMPLOYEE_2023)
    out = run("report", "-r", "990100", "-y", "2024", "-o", tmp_path / "r.html").output
    # the employee scheme is not dropped in silence: 2024 has no employee row, 2023 has one
    assert "职工医保：台账没有样例市2024年的数据（此前年度：2023—2023年），本报告不含该险种，也不含两险合计。" in out
    # the sections left out, in the report's language (no English prefix before Chinese reasons)
    assert "Not included" not in out and "本报告未包含：" in out
    assert "结算" in out.split("本报告未包含：")[1]
    en = run("report", "-r", "990100", "-y", "2024", "-l", "en").output
    assert "Not in this report: " in en and "the ledger has no 2024 figures for Sample City (earlier years: 2023–2023)" in en
    # a year with both schemes says nothing of the kind
    assert "台账没有" not in run("report", "-r", "990100", "-y", "2023").output
