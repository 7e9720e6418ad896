"""The README documents every indicator (formula, Chinese name) and every default warning threshold."""

from pathlib import Path

from mifund.docs import render_readme
from mifund.ledger.catalog import INDICATORS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_blocks_are_current():
    text = README.read_text(encoding="utf-8")
    assert render_readme(text) == text, "README is behind the code: run `.venv/bin/python -m mifund.docs`"


def test_readme_names_every_indicator_with_chinese_name():
    text = README.read_text(encoding="utf-8")
    for ind in INDICATORS:
        assert (f"`{ind.name}`" in text or f"`{ind.name}()`" in text) and ind.zh in text, ind.name


def test_readme_opens_with_the_two_commands():
    head = README.read_text(encoding="utf-8")[:400]
    assert "make demo" in head and "make test" in head
