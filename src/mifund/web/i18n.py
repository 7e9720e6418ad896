"""Message catalogues: ``locales/<lang>.yaml``, a flat mapping key -> text (``{name}`` placeholders).
Every label of the pages comes from here; tests check that every language has the same keys and
placeholders, and that every key used in the templates exists."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

LANGS = ("zh", "en")


@lru_cache
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise KeyError(f"no catalogue for {lang!r}")
    text = resources.files("mifund.web").joinpath("locales", f"{lang}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    return {str(k): str(v) for k, v in data.items()}


def translator(lang: str):
    cat = catalogue(lang)

    def t(key: str, _default: str | None = None, **kw) -> str:
        text = cat.get(key)
        if text is None:  # a missing key shows itself rather than failing the page
            return _default if _default is not None else f"⟨{key}⟩"
        return text.format(**kw) if kw else text

    return t


def pick_lang(cookie: str | None, accept: str | None, default: str = "zh") -> str:
    if cookie in LANGS:
        return cookie
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return default if default in LANGS else "zh"
