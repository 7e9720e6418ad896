"""The city-level projection (a city = the sum of its counties path by path), sections without data named
in the report, reports of years the ledger does not cover refused, and the warning rules' sources in
Chinese in the Chinese report."""

from __future__ import annotations

import dataclasses
import re
import textwrap

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from mifund.reports.build import build_report
from mifund.reports.cli import app
from mifund.reports.context import ReportError
from mifund.reports.html import render_html
from mifund.storage import Warehouse
from test_report import add_handmade_city

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def city(wh):
    """City 990100 over counties 990101 (甲县) and 990102 (乙县), both schemes' pooled funds, 2023-2024."""
    add_handmade_city(wh)
    return wh


def _projections(wh, paths=40):
    from mifund.projection.base import base_from_warehouse
    from mifund.projection.engine import project
    from mifund.projection.scenario import load_scenario

    s = load_scenario(None, paths=paths)
    base = base_from_warehouse(wh)
    return project(base, s, paths=0), project(base, s)


# --------------------------------------------------------------------------------------------------
# the city = its counties summed path by path
# --------------------------------------------------------------------------------------------------
def test_city_is_summed_path_by_path_before_percentiles(city):
    from mifund.projection.store import region_groups, with_region_totals
    from mifund.projection.summary import bands

    _, mc = _projections(city, paths=4)
    units = mc.base.units
    assert list(units.region_code) == ["990101", "990101", "990102", "990102"]
    # four paths, one year, by hand: county A's resident balance 1, 2, 3, 4 and county B's 4, 3, 2, 1 (yuan)
    # -> the city holds 5 on every path: its 5th percentile is 5, while the counties' 5th percentiles
    # (numpy's linear interpolation: 1 + 0.15 x 1 = 1.15 each) would add up to 2.30
    bal = np.zeros((4, 4, 1))
    res = (units.scheme == "resident").to_numpy()
    bal[:, np.where(res)[0][0], 0] = [1, 2, 3, 4]
    bal[:, np.where(res)[0][1], 0] = [4, 3, 2, 1]
    toy = dataclasses.replace(mc, years=mc.years[:1], enrolment=mc.enrolment[:, :, :1],
                              cohort_active=mc.cohort_active[:, :1], cohort_retired=mc.cohort_retired[:, :1],
                              contributions=mc.contributions[:, :, :1], interest=mc.interest[:, :, :1],
                              expenditure=mc.expenditure[:, :, :1], balance=bal)
    regions = city.to_pandas(city.table("regions"))
    assert [(a, s, f, ix) for a, s, f, ix in region_groups(units, regions)] == [
        ("990100", "employee", "pooled", [0, 2]), ("990100", "resident", "pooled", [1, 3])]
    out = with_region_totals(toy, regions)
    b = bands(out, "balance").set_index(["region_code", "scheme"])
    assert b.loc[("990100", "resident"), "p5"] == pytest.approx(5.0)
    assert b.loc[("990101", "resident"), "p5"] + b.loc[("990102", "resident"), "p5"] == pytest.approx(2.3)
    # the other arrays add up too, on every path; insured, in service and retired included
    full = with_region_totals(mc, regions)
    for k, scheme in ((4, "employee"), (5, "resident")):
        ix = np.where((units.scheme == scheme).to_numpy())[0]
        for name in ("balance", "expenditure", "contributions", "insured", "in_service", "retired"):
            assert np.allclose(getattr(full, name)[:, k], getattr(mc, name)[:, ix].sum(axis=1)), (scheme, name)
    # a run of part of the city (county A only) is no city: with the ledger's units it gets no total
    ledger_units = units[["region_code", "scheme"]]
    assert len(region_groups(units, regions, ledger_units)) == 2
    assert region_groups(units[units.region_code == "990101"], regions, ledger_units) == []
    assert len(region_groups(units[units.region_code == "990101"], regions)) == 2  # without: any units
    # a region with its own unit keeps it (the rule of the indicators): no total is added over it
    own = pd.concat([units, units.iloc[[1]].assign(region_code="990100")], ignore_index=True)
    assert [g[:3] for g in region_groups(own, regions)] == [("990100", "employee", "pooled")]


def test_stored_run_holds_the_city_and_the_report_shows_it(city, tmp_path):
    from mifund.projection.store import store_projection
    from mifund.projection.summary import safety_line

    central, mc = _projections(city)
    run_id = store_projection(city, central, mc, actor="t")
    t = city.table("projection_results")
    got = city.to_pandas(t.filter(t.run_id == run_id, t.region_code == "990100").order_by(["scheme", "year"]))
    assert set(got.scheme) == {"employee", "resident"} and len(got) == 2 * len(mc.years)
    # independently of the store's code: sum the two counties' paths, then take the statistics
    res = np.where((mc.base.units.scheme == "resident").to_numpy())[0]
    paths = mc.balance[:, res].sum(axis=1)                              # (P, T)
    months = paths / (mc.expenditure[:, res].sum(axis=1) / 12)
    r = got[got.scheme == "resident"]
    assert r.balance_p5.to_numpy() == pytest.approx(np.percentile(paths, 5, axis=0))
    assert r.balance_p95.to_numpy() == pytest.approx(np.percentile(paths, 95, axis=0))
    assert r.p_exhausted.to_numpy() == pytest.approx((paths < 0).mean(axis=0))
    line = safety_line(mc.scenario.safety_line)
    assert r.p_below_safety_line.to_numpy() == pytest.approx((months < line).mean(axis=0))
    assert r.balance_end.to_numpy() == pytest.approx(central.balance[0, res].sum(axis=0))
    runs = city.to_pandas(city.table("projection_runs"))
    assert int(runs.units.iloc[0]) == 4  # the modelled units; the city is their sum
    dep = city.to_pandas(city.table("projection_depletion"))
    assert dep[(dep.region_code == "990100") & (dep.scheme == "resident")].paths.sum() == mc.balance.shape[0]
    # the city's report has the section, its figures the stored city rows (万元)
    rep = build_report(city, "990100", 2024, "zh")
    assert rep.section("projection") is not None and "projection" not in rep.omitted
    # a run of county A alone stores county A, not a "city" of one county
    from mifund.projection.base import base_from_warehouse
    from mifund.projection.engine import project

    part = base_from_warehouse(city, region_codes=["990101"])
    one = store_projection(city, project(part, mc.scenario, paths=0), project(part, mc.scenario, paths=5), actor="t")
    stored = city.to_pandas(t.filter(t.run_id == one))
    assert set(stored.region_code) == {"990101"}
    tab = rep.table("projection_resident_pooled").data
    assert list(tab.year) == [str(y) for y in r.year]
    assert tab.balance_end.iloc[0] == pytest.approx(round(r.balance_end.iloc[0] / 1e4, 2), abs=0.006)
    assert "按默认情景预测" in "".join(rep.section("projection").paragraphs)


# --------------------------------------------------------------------------------------------------
# a section without data is named, with the reason
# --------------------------------------------------------------------------------------------------
def test_runs_of_the_counties_only_are_named_not_dropped(city):
    from mifund.projection.store import results_frame

    central, mc = _projections(city)
    # a run stored the old way: the counties' rows only (their percentiles cannot make the city's)
    city.append("projection_runs", pd.DataFrame([dict(
        run_id="OLD", started=pd.Timestamp("2025-01-02"), actor="t", scenario_name="default", scenario_json="{}",
        base_year=2024, years=30, paths=40, seed=1, units=4, seconds=0.1)]))
    city.append("projection_results", results_frame(central, mc).assign(run_id="OLD").replace({np.nan: None}))
    rep = build_report(city, "990100", 2024, "zh")
    assert rep.section("projection") is None
    assert rep.omitted["projection"].startswith("已保存的预测只含样例市所辖地区")
    assert rep.omitted["settlement"] and rep.omitted["supervision"]  # not in this warehouse: said so too
    line = rep.meta_lines[-1]
    assert line.startswith("本报告未包含：") and "基金收支预测（已保存的预测只含样例市所辖地区" in line
    assert line in render_html(rep)
    en = build_report(city, "990100", 2024, "en")
    assert "Projection of income and expenditure (the stored projections hold only the regions below" \
        in en.meta_lines[-1]
    with pytest.raises(ReportError, match="hold only the regions below"):
        build_report(city, "990100", 2024, sections=["projection"])
    # the county itself has its rows: its report has the section
    assert build_report(city, "990101", 2024, "zh").section("projection") is not None
    # a report of a year before the runs' base year
    assert build_report(city, "990101", 2023, "en").omitted["projection"] == \
        "no stored projection with a base year up to 2023"


# --------------------------------------------------------------------------------------------------
# a year the ledger does not cover is refused
# --------------------------------------------------------------------------------------------------
def test_a_year_without_ledger_rows_is_refused(city):
    # 2025: the ledger ends in 2024; the trend (2023-2024) would otherwise fill a "2025" report
    with pytest.raises(ReportError, match=r"no annual rows for that year \(the ledger covers 2023–2024\)"):
        build_report(city, "990100", 2025)
    with pytest.raises(ReportError, match="no annual rows"):
        build_report(city, "990101", 2022, sections=["trend"])
    assert build_report(city, "990100", 2023).year == 2023


@pytest.mark.slow
def test_cli_refuses_a_later_year_and_writes_nothing(demo_small, tmp_path):
    out = tmp_path / "x.xlsx"
    r = CliRunner().invoke(app, ["--db", str(demo_small.db), "-r", "360100", "-y", "2030", "-o", str(out)])
    text = " ".join(r.output.split())  # Rich wraps long lines
    assert r.exit_code == 2 and "no annual rows for that year (the ledger covers 2015–2024)" in text
    assert "nothing written" in text
    assert not out.exists()


# --------------------------------------------------------------------------------------------------
# warning sources in the report's language
# --------------------------------------------------------------------------------------------------
def _thresholds(rules):
    from pydantic import BaseModel

    from mifund.ledger.warning_rules import Threshold

    out = []

    def walk(x, path):
        if isinstance(x, Threshold):
            out.append((path, x))
        elif isinstance(x, BaseModel):
            for k in type(x).model_fields:
                walk(getattr(x, k), f"{path}.{k}")
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{path}.{k}")
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{path}[{i}]")

    walk(rules, "rules")
    return out


def test_every_shipped_threshold_has_a_chinese_source():
    from mifund.ledger.warnings import load_rules

    found = _thresholds(load_rules())
    assert len(found) >= 15
    for path, t in found:
        assert t.source_zh and CJK.search(t.source_zh), path
        assert "Rationale" not in t.source_zh, path
        for ref in re.findall(r"[\u4e00-\u9fff]{2}发〔\d{4}〕\d+号", t.source):  # document numbers kept
            assert ref in t.source_zh, (path, ref)
        assert t.source_in("zh") == t.source_zh and t.source_in("en") == t.source


def test_source_zh_must_be_chinese(tmp_path):
    from mifund.ledger.warning_rules import WarningRulesError, load_rules

    p = tmp_path / "r.yaml"
    p.write_text(textwrap.dedent("""\
        version: 1
        rules:
          current_deficit:
            levels:
              yellow: {value: 0, source: "city document 12", source_zh: "city document 12"}
    """), encoding="utf-8")
    with pytest.raises(WarningRulesError, match=r"current_deficit\.levels\.yellow\.source_zh"):
        load_rules(p)


def test_zh_report_gives_the_sources_in_chinese(city, tmp_path):
    from mifund.ledger.warnings import load_rules

    rep = build_report(city, "990100", 2024, "zh")
    assert rep.omitted["projection"] == "没有已保存的预测结果（mifund project run --store）"  # no run at all
    src = rep.table("warning_list").data.source
    assert len(src) and not src.str.contains("Rationale").any()
    assert src.map(lambda s: bool(CJK.search(s))).all()
    assert "Rationale" not in render_html(rep)
    en = build_report(city, "990100", 2024, "en").table("warning_list").data.source
    assert en.str.startswith(("Rationale", "人社部发")).all()
    # a user's threshold without source_zh shows its own source, whatever its language
    p = tmp_path / "r.yaml"
    p.write_text(textwrap.dedent("""\
        version: 1
        rules:
          current_deficit:
            levels:
              yellow: {value: 0, source: "市医保局〔2024〕5号"}
    """), encoding="utf-8")
    rep = build_report(city, "990100", 2024, "zh", rules=load_rules(p))
    w = rep.table("warning_list").data
    assert set(w[w.rule == "current_deficit"].source) == {"市医保局〔2024〕5号"}


# --------------------------------------------------------------------------------------------------
# the demo municipality: the city in the report, the API and the dashboard
# --------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_city_projection_in_report_api_and_dashboard(demo_small, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from mifund.web.app import create_app
    from mifund.web.services import Services
    from mifund.web.settings import WebSettings
    from web_helpers import PASSWORD, fast_hashing, login, web_warehouse

    with Warehouse(demo_small.db, read_only=True) as wh:
        res = wh.to_pandas(wh.table("projection_results"))
        rep = {lang: build_report(wh, "360100", 2024, lang) for lang in ("zh", "en")}
    counties = res[res.region_code != "360100"].groupby(["run_id", "scheme", "year"]).balance_end.sum()
    cityrows = res[res.region_code == "360100"].set_index(["run_id", "scheme", "year"]).balance_end
    assert len(cityrows) == len(counties) > 0
    assert cityrows.to_numpy() == pytest.approx(counties.loc[cityrows.index].to_numpy())  # central path adds up
    for lang, r in rep.items():
        assert r.section("projection") is not None and "projection" not in r.omitted, lang
    assert "南昌市居民医保统筹基金累计结存预测" in render_html(rep["zh"])
    wb = openpyxl.load_workbook(demo_small.out_dir / "annual_report_zh.xlsx")
    assert "收支预测" in wb.sheetnames

    fast_hashing(monkeypatch)
    db = web_warehouse(demo_small.db, tmp_path)
    settings = WebSettings(db=db)
    services = Services(settings)
    try:
        with TestClient(create_app(settings, services)) as c:
            tok = c.post("/api/v1/auth/token", json={"username": "analyst", "password": PASSWORD, "name": "t"})
            h = {"Authorization": f"Bearer {tok.json()['token']}"}
            body = c.get("/api/v1/projections", params={"region": "360100"}, headers=h).json()
            assert body["count"] > 0 and {r["region_code"] for r in body["rows"]} == {"360100"}
            login(c, "analyst")
            page = c.get("/projection", params={"region": "360100"})
            assert page.status_code == 200 and 'id="chart-fan"' in page.text and "南昌市" in page.text
            assert c.get("/projection").status_code == 200  # the city is the first choice
    finally:
        services.close()


@pytest.mark.slow
def test_dashboard_names_the_cause_for_runs_of_the_counties_only(demo_small, tmp_path):
    """A warehouse whose run predates the city totals: the page's 404 says what to do."""
    from mifund.users.store import get_user
    from mifund.web.errors import NotFound
    from mifund.web.services import Services
    from mifund.web.services import projection as proj
    from mifund.web.settings import WebSettings
    from web_helpers import web_warehouse

    db = web_warehouse(demo_small.db, tmp_path)
    with Warehouse(db) as wh:
        wh.con.raw_sql("delete from projection_results where region_code = '360100'")
        analyst = get_user(wh, "analyst")
    services = Services(WebSettings(db=db))
    try:
        with pytest.raises(NotFound, match="hold only the regions below it"):
            proj.fan(services, analyst, "360100", "resident")
        assert proj.fan(services, analyst, "360102", "resident")["rows"]  # the counties are still there
    finally:
        services.close()
