"""Match a file's header row to the contract's columns.

A header may be the English column name, the contract's Chinese header, or both: the project's template
writes `基金收入（income_total）`, others write `参保人数 insured` or `参保人数(insured)`. Case, spaces,
underscores and full-width forms do not matter. The English part in brackets is tried first, so a
Chinese header that differs from the contract's (a local variant) still matches by its English name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from mifund.contract import Table

ID_NUMBER = "id_number"  # a raw citizen ID column, hashed into person_id on import
ID_NUMBER_HEADERS = ("id_number", "公民身份号码", "身份证号", "身份证号码", "身份证", "证件号码")

_BRACKETED = re.compile(r"^(?P<outer>.*?)[(\[【](?P<inner>[^()\[\]【】]+)[)\]】]\s*$")


def norm(text: str) -> str:
    """NFKC (full-width to ASCII), lower case, no spaces, underscores or hyphens."""
    t = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s_\-]+", "", t)


def has_person_id(table: Table) -> bool:
    return "person_id" in table.names


def _lookup(table: Table) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in table.columns:
        out.setdefault(norm(c.zh), c.name)
    if has_person_id(table):
        for h in ID_NUMBER_HEADERS:
            out.setdefault(norm(h), ID_NUMBER)
    for c in table.columns:  # English names win over a Chinese header that happens to collide
        out[norm(c.name)] = c.name
    return out


def _candidates(header: str) -> list[str]:
    h = unicodedata.normalize("NFKC", header).strip().lstrip("\ufeff").strip("* ")  # "*" marks required
    out = []
    m = _BRACKETED.match(h)
    if m:
        out += [m["inner"], m["outer"]]
    out.append(h)
    tokens = h.split()
    if len(tokens) > 1:
        out += [t for t in tokens if t.isascii()] + [t for t in tokens if not t.isascii()]
    return [norm(c) for c in out if norm(c)]


def match_header(header: str, table: Table) -> str | None:
    """The contract column (or ID_NUMBER) a header names, or None."""
    lookup = _lookup(table)
    for cand in _candidates(header):
        if cand in lookup:
            return lookup[cand]
    return None


@dataclass
class HeaderMap:
    positions: dict[str, int] = field(default_factory=dict)  # contract column (or id_number) -> position
    headers: dict[str, str] = field(default_factory=dict)  # contract column -> header as written
    extra: list[str] = field(default_factory=list)  # headers that name no column (ignored)
    missing: list[str] = field(default_factory=list)  # required columns not found
    clashes: list[str] = field(default_factory=list)  # human-readable: two headers for one column


def map_headers(header: list[str], table: Table) -> HeaderMap:
    hm = HeaderMap()
    for pos, h in enumerate(header):
        if not h.strip():  # an unnamed column (Excel leaves them) is ignored
            continue
        name = match_header(h, table)
        if name is None:
            hm.extra.append(h)
        elif name in hm.positions:
            hm.clashes.append(f"{hm.headers[name]!r} and {h!r} both name column {name}")
        else:
            hm.positions[name] = pos
            hm.headers[name] = h
    if ID_NUMBER in hm.positions and "person_id" in hm.positions:
        hm.clashes.append(
            f"{hm.headers[ID_NUMBER]!r} and {hm.headers['person_id']!r}: give either raw ID numbers or person_id, not both"
        )
    for c in table.columns:
        if c.required and c.name not in hm.positions:
            if c.name == "person_id" and ID_NUMBER in hm.positions:
                continue
            hm.missing.append(c.name)
    return hm
