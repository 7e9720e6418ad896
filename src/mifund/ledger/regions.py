"""The region tree (GB/T 2260 codes) as a closure table, built from the ``regions`` table.

A closure table has one row per (ancestor, descendant) pair with the number of steps between them:
``depth`` 0 is the region itself, 1 its parent, and so on. Aggregation up the tree, "this region and
everything below it" filters and "which regions are above this one" all become plain joins on it.

The closure is an Ibis expression (no query runs until the caller executes it), so it can be joined
into a larger expression and executed once. It follows ``parent_code`` at most ``max_depth`` steps
(the contract has four levels, country → province → city → county, so depth 3 at most; the default
leaves room for odd trees). A cycle in ``parent_code`` cannot loop forever: it is cut at
``max_depth`` and a region is never listed as its own strict ancestor.
"""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import ibis.expr.types as ir

MAX_DEPTH = 8


def _regions_table(source) -> ir.Table:
    """Accept a Warehouse (anything with .table()) or an Ibis regions table."""
    return source.table("regions") if hasattr(source, "table") else source


def closure(source, *, max_depth: int = MAX_DEPTH) -> ir.Table:
    """Ibis table ``ancestor, descendant, depth`` (int64), depth 0 = the region itself.

    ``source`` is a Warehouse or an Ibis table with the columns ``region_code, parent_code``.
    Every region in the table appears once at depth 0; each strict ancestor once, at its
    shortest distance.
    """
    r = _regions_table(source)
    edges = r.select(
        child=r.region_code,
        parent=ibis.ifelse(r.parent_code.strip() == "", ibis.null("string"), r.parent_code),
    ).distinct()
    # walk up one level at a time: a wide table d, a0 (= d), a1, a2, ... (a_k = ancestor k steps up)
    wide = edges.select(d=edges.child, a0=edges.child, a1=edges.parent)
    for k in range(2, max_depth + 1):
        step = edges.select(**{f"_c{k}": edges.child, f"a{k}": edges.parent})
        wide = wide.left_join(step, wide[f"a{k - 1}"] == step[f"_c{k}"]).drop(f"_c{k}")
    # ... then one row per (descendant, ancestor) pair
    long = wide.pivot_longer([f"a{k}" for k in range(max_depth + 1)], names_to="_level", values_to="ancestor")
    depth = long._level.substr(1).cast("int64")
    long = long.filter(long.ancestor.notnull(), (depth == 0) | (long.ancestor != long.d))
    long = long.select(ancestor=long.ancestor, descendant=long.d, depth=depth)
    return long.group_by(["ancestor", "descendant"]).aggregate(depth=long.depth.min())


def strict_closure(source, *, max_depth: int = MAX_DEPTH) -> ir.Table:
    """The closure without the depth-0 self pairs."""
    c = closure(source, max_depth=max_depth)
    return c.filter(c.depth > 0)


def leaf_units(source, *, closure_table: ir.Table | None = None) -> ir.Table:
    """``region_code, unit``: the leaf regions (regions nobody names as parent) at or below each region
    (a leaf is its own unit). A total stands for the whole of a region when it covers all its units.
    ``closure_table``: the closure already at hand (``closure(source)``, depth 0 included)."""
    r = _regions_table(source)
    parents = r.filter(r.parent_code.notnull()).select(k_parent=r.parent_code.strip()).distinct()
    leaves = r.anti_join(parents, r.region_code == parents.k_parent).select(unit=r.region_code)
    c = closure(source) if closure_table is None else closure_table
    return c.join(leaves, c.descendant == leaves.unit).select(region_code=c.ancestor, unit=leaves.unit)


def descendants(wh, codes: Iterable[str], *, include_self: bool = True) -> list[str]:
    """Codes of every region below any of ``codes`` (and the codes themselves), sorted.

    A code absent from the regions table is kept as itself when include_self is set.
    """
    codes = sorted(set(codes))
    c = closure(wh)
    e = c.filter(c.ancestor.isin(codes))
    if not include_self:
        e = e.filter(e.depth > 0)
    found = set(wh.to_pandas(e.select("descendant"))["descendant"])
    if include_self:
        found |= set(codes)
    return sorted(found)


def ancestors(wh, code: str, *, include_self: bool = False) -> list[str]:
    """Codes above ``code``, nearest first (the parent, then the grandparent, ...)."""
    c = closure(wh)
    e = c.filter(c.descendant == code)
    if not include_self:
        e = e.filter(e.depth > 0)
    df = wh.to_pandas(e.order_by("depth").select("ancestor"))
    return list(df["ancestor"])


def region_names(wh) -> dict[str, str]:
    """region_code → name, for messages."""
    df = wh.to_pandas(wh.table("regions").select("region_code", "name"))
    return dict(zip(df["region_code"], df["name"], strict=True))
