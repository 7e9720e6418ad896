"""Generated parts of the README: the indicator table and the default warning rules.

`python -m mifund.docs` rewrites the blocks between the `<!-- NAME:begin -->` / `<!-- NAME:end -->`
markers in README.md; tests/test_docs.py fails when the README is behind the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

OPS = {"payable_months_low": "<", "payable_months_high": ">", "current_deficit": "surplus rate <",
       "insured_falling": "fall >", "balance_identity": "abs(gap) / abs(balance) >",
       "persons_identity": "abs(in service + retired - insured) / insured >"}


def warnings_markdown() -> str:
    from mifund.ledger.warnings import RULE_TITLES, load_rules

    rules = load_rules().rules
    out = ["| rule | 中文 | default levels | source of each threshold |", "|---|---|---|---|"]
    for rid, (en, zh) in RULE_TITLES.items():
        rule = getattr(rules, rid)
        op = OPS.get(rid, "run of years ≥")
        levels, sources = [], []
        for name in ("red", "orange", "yellow", "blue"):
            th = rule.levels.get(name)
            if th is None:
                continue
            levels.append(f"{name}: {op} {th.value:g}")
            sources.append(th.source.replace("|", "/"))
        for extra in ("min_gap", "min_fall"):
            th = getattr(rule, extra, None)
            if th is not None:
                levels.append(f"{extra} {th.value:g}")
                sources.append(th.source.replace("|", "/"))
        out.append(f"| `{rid}` — {en} | {zh} | {'; '.join(levels)} | {'<br>'.join(dict.fromkeys(sources))} |")
    return "\n".join(out)


def blocks() -> dict[str, str]:
    from mifund.ledger.catalog import indicators_markdown

    return {"indicators": indicators_markdown().strip(), "warnings": warnings_markdown().strip()}


def render_readme(text: str) -> str:
    for name, body in blocks().items():
        pattern = re.compile(rf"(<!-- {name}:begin[^>]*-->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README has no {name} block")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main(path: str = "README.md") -> None:
    p = Path(path)
    p.write_text(render_readme(p.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {p}")


if __name__ == "__main__":
    main(*sys.argv[1:])
