"""The case page in the reader's language: each hit's evidence and the system-written history notes in
Chinese on the zh page and in English on the en page (a row stored before the Chinese texts were kept
shows its English text), and the workflow's refusals in the language asked of the web service."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from mifund.storage import Warehouse
from mifund.users import get_user
from mifund.web.app import create_app
from mifund.web.errors import WebError
from mifund.web.services import Services
from mifund.web.services import cases as case_service
from mifund.web.settings import WebSettings
from web_helpers import ensure_cases, fast_hashing, login, web_warehouse

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def web(demo_small, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        fast_hashing(mp)
        db = web_warehouse(demo_small.db, tmp_path_factory.mktemp("web_zh"))
        assert ensure_cases(db, demo_small.data_dir, db.parent / "supervision") > 0
        with Warehouse(db) as wh:   # rescreen: the demo's hits get their Chinese evidence (as after 0007)
            from mifund.supervision import screen
            from mifund.supervision.store import store_screen

            store_screen(wh, screen(wh), actor="test")
            cid = wh.to_pandas(wh.table("supervision_cases").order_by("case_id").limit(1)).case_id.iloc[0]
        settings = WebSettings(db=db)
        services = Services(settings)
        yield create_app(settings, services), services, db, cid
        services.close()


def _cells(html: str, table_heading: str) -> list[str]:
    part = html[html.index(table_heading):]
    part = part[: part.index("</table>")]
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r'<td class="small">(.*?)</td>', part, re.S)]


def test_case_page_evidence_and_notes_follow_the_language(web):
    app, services, _, cid = web
    client = TestClient(app)
    login(client, "supervisor")
    client.get("/lang/zh")
    page = client.get(f"/cases/{cid}").text
    zh = _cells(page, "疑点明细")
    assert zh and all(CJK.search(c) for c in zh), zh
    history = page[page.index('id="history-table"'):]
    assert re.search(r"疑点 \d+ 条", history[: history.index("</table>")])
    client.get("/lang/en")
    page = client.get(f"/cases/{cid}").text
    en = _cells(page, "Evidence")
    assert en and en != zh and all(re.search(r"[A-Za-z]{3}", c) for c in en), en
    assert re.search(r"\d+ hit\(s\)", page)
    # a row stored before the Chinese texts were kept (evidence_zh NULL) shows its English text in zh
    with services.locked() as wh:
        wh._raw.execute("UPDATE supervision_hits SET evidence_zh = NULL WHERE case_id = ?", [cid])
        wh._raw.execute("UPDATE supervision_case_events SET note_zh = NULL WHERE case_id = ?", [cid])
    client.get("/lang/zh")
    page = client.get(f"/cases/{cid}").text
    assert _cells(page, "疑点明细") == en and re.search(r"\d+ hit\(s\)", page)


def test_refusals_in_the_language_asked(web):
    _, services, _, cid = web
    with services.locked() as wh:
        user = get_user(wh, "supervisor")
    for lang, words in (("zh", "只能转为"), ("en", "it can move to")):
        with pytest.raises(WebError) as e:
            case_service.move(services, user, cid, "recovered", amount=1, lang=lang)
        assert e.value.status == 422 and e.value.code == "case_invalid" and words in e.value.message
        assert [d["lang"] for d in e.value.details] == ["en", "zh"]
        assert "只能转为" in e.value.details[1]["message"] and "can move to" in e.value.details[0]["message"]
