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
    """The codes of regions given by code or by name (Chinese or English, any case), each checked against
    the warehouse's regions table, as `mifund report --region` takes them; a name several regions share
    is an error naming their codes."""
    if not values:
        return None
    t = wh.to_pandas(wh.table("regions").select("region_code", "name", "name_en"))
    out, bad = [], []
    for v in (v.strip() for v in values):
        hit = []
        for col in ("region_code", "name", "name_en"):
            hit = sorted(set(t.loc[t[col].fillna("").astype(str).str.strip().str.casefold() == v.casefold(),
                                   "region_code"]))
            if hit:
                break
        if len(hit) > 1:
            raise FilterError(f"--region {v!r} names several regions: {', '.join(hit)}; give the code")
        (out if hit else bad).append(hit[0] if hit else v)
    if bad:
        hint = "" if len(t) else " (the warehouse holds no regions: import them first)"
        raise FilterError(f"--region {', '.join(bad)}: not in the regions table (as a code or a name){hint}")
    return list(dict.fromkeys(out))
