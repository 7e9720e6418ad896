"""Static checks of the dashboard's templates and locales (no warehouse, no browser)."""

from __future__ import annotations

import re
from importlib import resources

TEMPLATES = resources.files("mifund.web").joinpath("templates")


def test_no_inline_event_handlers_or_scripts():
    """The Content-Security-Policy (script-src 'self', web/app.py) blocks inline handlers such as
    onchange="this.form.submit()" and inline scripts: they would silently do nothing. Behaviour goes in
    static/app.js (e.g. <select data-autosubmit>); a <script> element only carries JSON data or a src."""
    bad = []
    for t in TEMPLATES.iterdir():
        if not t.name.endswith(".html"):
            continue
        text = t.read_text(encoding="utf-8")
        bad += [f"{t.name}: {m.group(0)}" for m in re.finditer(r"\son[a-z]+\s*=", text)]
        bad += [f"{t.name}: javascript: URL" for _ in re.finditer(r"javascript:", text, re.I)]
        for m in re.finditer(r"<script([^>]*)>", text):
            attrs = m.group(1)
            if "src=" not in attrs and 'type="application/json"' not in attrs:
                bad.append(f"{t.name}: inline <script{attrs}>")
    assert not bad, bad

