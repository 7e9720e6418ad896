"""Message catalogues of the report: one YAML file per language in ``messages/`` (zh.yaml, en.yaml).

Every label, heading and sentence of the report comes from here; the code only formats numbers and
fills placeholders. Nested keys are addressed with dots (``col.income_total``). A missing key or a
missing placeholder raises at once rather than printing a half-translated report.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGS = ("zh", "en")


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


@cache
def load_messages(lang: str) -> dict[str, Any]:
    """The flat catalogue of a language: dotted key -> string (or list of strings)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    text = resources.files("mifund.reports").joinpath("messages", f"{lang}.yaml").read_text(encoding="utf-8")
    return _flatten(yaml.safe_load(text))


def placeholders(text: str) -> set[str]:
    """The {names} a message uses."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


class Catalog:
    """``t = Catalog('zh'); t('col.income_total')``; ``t('finding.overall', year=2024, ...)``."""

    def __init__(self, lang: str):
        self.lang = lang
        self.messages = load_messages(lang)

    def __call__(self, key: str, **kwargs: Any) -> str:
        try:
            msg = self.messages[key]
        except KeyError:
            raise KeyError(f"message {key!r} is missing from the {self.lang} catalogue") from None
        if not isinstance(msg, str):
            raise TypeError(f"message {key!r} is a {type(msg).__name__}, not a string")
        return msg.format(**kwargs) if kwargs or placeholders(msg) else msg

    def get(self, key: str, default: str | None = None) -> str | None:
        v = self.messages.get(key)
        return v if isinstance(v, str) else default

    def list(self, key: str) -> list[str]:
        v = self.messages[key]
        if not isinstance(v, list):
            raise TypeError(f"message {key!r} is not a list")
        return [str(x) for x in v]

    def label(self, group: str, value: str) -> str:
        """A code's label (``scheme``, ``fund``, ``visit_type``, ``level``, ``rule``); the code itself if
        the catalogue has none (a new visit type in the data should show, not crash the report)."""
        return self.get(f"{group}.{value}", value)

    def section_number(self, i: int) -> str:
        nums = self.list("meta.numerals")
        n = nums[i] if i < len(nums) else str(i + 1)
        return self("meta.section_number", n=n)
