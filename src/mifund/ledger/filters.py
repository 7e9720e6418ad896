"""The filter values of `mifund indicators` / `mifund warnings`, checked before anything is computed.

Why: a filter value that matches nothing (a typo in a scheme, a region code that is not in the
warehouse) would otherwise give an empty table that reads "no data" or "no warnings", which a
supervisor may take as good news. Scheme and fund accept the contract's codes and Chinese names
(居民, 统筹基金 …) as the importer does.
"""

from __future__ import annotations

from mifund.contract import FUNDS, SCHEMES

TOTAL = "total"


class FilterError(ValueError):
    """A filter value that can match nothing; the message names the option and the valid values."""


def _codes(option: str, values: list[str] | None, known: dict[str, tuple[str, ...]]) -> list[str] | None:
    if not values:
        return None
    lookup = {TOTAL: TOTAL, "合计": TOTAL, "总计": TOTAL}
    for code, names in known.items():
        lookup[code] = code
        lookup.update({n: code for n in names})
    out, bad = [], []
    for v in values:
        code = lookup.get(v.strip()) or lookup.get(v.strip().lower())
        (out if code else bad).append(code or v)
    if bad:
        raise FilterError(f"{option} {', '.join(map(repr, bad))}: not one of {', '.join([*known, TOTAL])}")
    return list(dict.fromkeys(out))


def schemes(values: list[str] | None) -> list[str] | None:
    return _codes("--scheme", values, SCHEMES)


def funds(values: list[str] | None) -> list[str] | None:
    return _codes("--fund", values, FUNDS)


def levels(values: list[str] | None, known: tuple[str, ...]) -> list[str] | None:
    if not values:
        return None
    bad = [v for v in values if v.strip().lower() not in known]
    if bad:
        raise FilterError(f"--level {', '.join(map(repr, bad))}: not one of {', '.join(known)}")
    return [v.strip().lower() for v in values]


def regions(wh, values: list[str] | None) -> list[str] | None:
    """The codes, each checked against the warehouse's regions table."""
    if not values:
        return None
    codes = [v.strip() for v in values]
    t = wh.table("regions")
    found = set(wh.to_pandas(t.filter(t.region_code.isin(codes)).select("region_code"))["region_code"])
    bad = [c for c in codes if c not in found]
    if bad:
        hint = "" if wh.count("regions") else " (the warehouse holds no regions: import them first)"
        raise FilterError(f"--region {', '.join(bad)}: not in the regions table{hint}")
    return list(dict.fromkeys(codes))
