"""Loading policies: YAML with line numbers, city → county inheritance, validation, versions, resolution.

A *policy* is one region × scheme (``policies/360100_employee.yaml``). A county file names its city in
``inherits:`` and gives only what differs; every other value is the city's. ``PolicySet.policy_for``
finds the policy of a person's insured region: the region's own file, else its city's (``XXYY00``),
else its province's (``XX0000``).

``Policy.resolve(day, …)`` turns the tree into the plain integers the settlement works with (fen,
basis points) for one discharge date, insured category, special group, provider level and visit
group. The Ibis engine joins a table of these (``Policy.parameter_rows``); the reference settler calls
``resolve`` per claim. Policy numbers live only in the YAML files, never in code.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mifund.policy.schema import (
    CATEGORIES,
    EMPLOYEE_CATEGORIES,
    LEVELS,
    SPECIAL_GROUPS,
    UNITS,
    VISIT_GROUPS,
    Param,
    PolicyFile,
    category_param,
    level_param,
)
from mifund.policy.yamlines import YamlError, load_with_lines

BIG = 10**13  # "no cap" / "no upper bound", in fen (100 billion yuan)
NBANDS = 6  # brackets per scale the engine evaluates (padded); more is a validation error
NCAT = 6


class PolicyError(ValueError):
    """Invalid policy files; each problem names the file, line and key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _ValueProblem(Exception):
    """A value that cannot be used; `also`: the other value it conflicts with (named with its line too)."""

    def __init__(self, path: tuple, msg: str, also: tuple | None = None):
        self.path, self.msg, self.also = path, msg, also
        super().__init__(msg)


def _is_param(node: Any) -> bool:
    return isinstance(node, dict) and "values" in node


def _merge_dated(base: dict, over: dict) -> dict:
    """A dated value a county (`over`) overrides: the inherited values before the county's first date, the
    county's from it on (a county that sets a deductible from 2025-07-01 keeps the city's before, and its
    own after, even where the city changes it later). The value cites both documents, the county's first."""
    first = min(str(d) for d in over["values"])
    values = {d: v for d, v in base["values"].items() if str(d) < first}
    values.update(over["values"])
    out = {**copy.deepcopy(over), "values": values}
    md_over, md_base = over.get("metadata"), base.get("metadata")
    if isinstance(md_over, dict) and isinstance(md_base, dict) and values.keys() - over["values"].keys():
        refs = list(md_over.get("reference") or [])
        refs += [r for r in md_base.get("reference") or [] if r not in refs]
        out["metadata"] = {**md_over, "reference": copy.deepcopy(refs)}
    return out


def _dated(node: Any) -> bool:
    return _is_param(node) and isinstance(node["values"], dict) and bool(node["values"])


def _keyed(node: Any) -> bool:
    """A value given per level (``level_1``…) or per category / special group: a mapping of dated values."""
    kids = [v for k, v in node.items() if k != "metadata"] if isinstance(node, dict) and not _is_param(node) else []
    return bool(kids) and all(_dated(v) for v in kids)


def _merge_shapes(base: dict, over: dict, base_origin: dict, over_origin: dict, here: tuple,
                  out_origin: dict) -> dict:
    """A county's value of another shape than the city's: one dated value over per-level (or per-category)
    ones, or per-level over one. The single value is spread to every key and merged by date key by key, so
    before the county's date each level keeps the city's value (replacing the node would leave the levels
    without any value before it, and the layer would silently switch off)."""
    if _is_param(over):  # one county value over the city's per-key ones
        out = {k: v for k, v in base.items() if k == "metadata"}
        for k, v in base.items():
            if k != "metadata":
                out[k] = _merge_dated(v, over)
                _copy_origin(base_origin, here + (k,), out_origin)
                _move_origin(over_origin, here, here + (k,), out_origin)
        if "level_1" not in base and "default" not in base:  # per category: the others get the county's too
            first = min(str(d) for v in base.values() if _dated(v) for d in v["values"])
            out["default"] = _merge_dated({"values": {dt.date.fromisoformat(first): None}}, over)
            _move_origin(over_origin, here, here + ("default",), out_origin)
        return out
    # per-key county values over one city value: a key the county leaves out keeps the city's
    keys = ["level_1", "level_2", "level_3"] if "level_1" in over or "level_2" in over or "level_3" in over \
        else [*(k for k in over if k != "metadata"), *(["default"] if "default" not in over else [])]
    out = {k: v for k, v in over.items() if k == "metadata"}
    for k in keys:
        if k in over:
            out[k] = _merge_dated(base, over[k])
            _copy_origin(over_origin, here + (k,), out_origin)
        else:
            out[k] = copy.deepcopy(base)
            _move_origin(base_origin, here, here + (k,), out_origin)
    return out


def _merge(base: Any, over: Any, base_origin: dict, over_origin: dict, here: tuple, out_origin: dict) -> Any:
    """Deep-merge `over` onto `base`; a dated value (a mapping with `values`) is merged by date
    (``_merge_dated``), also where one side gives it per level or category and the other once
    (``_merge_shapes``)."""
    if _dated(base) and _dated(over):
        _copy_origin(over_origin, here, out_origin)
        return _merge_dated(base, over)
    if (_dated(over) and _keyed(base)) or (_dated(base) and _keyed(over)):
        if here in over_origin:
            out_origin[here] = over_origin[here]
        return _merge_shapes(base, over, base_origin, over_origin, here, out_origin)
    if isinstance(base, dict) and isinstance(over, dict) and not _is_param(over) and not _is_param(base):
        res = {}
        for k in base:
            if k not in over:
                res[k] = base[k]
                _copy_origin(base_origin, here + (k,), out_origin)
        for k, v in over.items():
            if k in base:
                res[k] = _merge(base[k], v, base_origin, over_origin, here + (k,), out_origin)
            else:
                res[k] = v
                _copy_origin(over_origin, here + (k,), out_origin)
        if here in over_origin:
            out_origin[here] = over_origin[here]
        return res
    _copy_origin(over_origin, here, out_origin)
    return copy.deepcopy(over)


def _pin_metadata(node: Any, here: tuple, refs: list, unit: str | None, field: str | None, origin: dict,
                  file: str, problems: list[str], assumed: str | None = None) -> Any:
    """A copy of one file's data in which every dated value carries its own reference and unit.

    The reference is the value's own, else the nearest node's above it, else the file's; pinned before
    inheritance, so a value a county inherits keeps citing the city's document, and a value the county
    sets must cite one of the county's. A value with none is a problem. The unit is the one its key
    implies (``schema.UNITS``); a written unit (on the value or a node above) that disagrees is a problem.

    Under ``metadata: {assumption: true, note: …}`` the fallback stops: those values are not figures of
    the file's document, so they carry the note (`assumed`) and no document, and ``settle explain``
    shows them as assumptions rather than under a government document number."""
    if isinstance(node, list):
        return [_pin_metadata(v, here + (i,), refs, unit, field, origin, file, problems, assumed)
                for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    md = node.get("metadata")
    md = md if isinstance(md, dict) else None  # not a mapping: the schema reports it
    if md is not None and md.get("assumption") is True:
        refs, assumed = md.get("reference") or [], md.get("note")
        if not assumed:
            problems.append(f"{_where(origin, here + ('metadata', 'assumption'), file)}: an assumption needs a "
                            "`note` saying what is assumed")
            assumed = "(no note)"
    elif md is not None and md.get("reference"):
        refs, assumed = md["reference"], None
    if md is not None and md.get("unit") is not None:
        unit = md["unit"]
    if not _is_param(node):
        return {k: v if k in ("metadata", "tests") else
                _pin_metadata(v, here + (k,), refs, unit, k if k in UNITS else field, origin, file, problems, assumed)
                for k, v in node.items()}
    where = f"{_where(origin, here, file)}"
    if not refs and assumed is None:
        problems.append(f"{where}: no reference: give `metadata: {{reference: [{{title: …, href: …}}]}}` on this "
                        f"value, on a key above it or at the top of {Path(file).name}")
    want = UNITS.get(field or "")
    if want is not None and unit is not None and unit != want:
        problems.append(f"{where}: unit {unit!r}, but a {field} is in {want!r}")
    if "metadata" in node and md is None:  # metadata that is not a mapping: the schema reports it
        return node
    pinned = dict(md or {})
    if not pinned.get("reference"):
        pinned["reference"] = copy.deepcopy(refs)
    if assumed is not None:
        pinned["assumption"], pinned["note"] = True, pinned.get("note") or assumed
    if pinned.get("unit") is None and want is not None:
        pinned["unit"] = want
    return {**node, "metadata": pinned}


def _copy_origin(src: dict, prefix: tuple, dst: dict) -> None:
    n = len(prefix)
    for k, v in src.items():
        if k[:n] == prefix:
            dst[k] = v


def _move_origin(src: dict, prefix: tuple, to: tuple, dst: dict) -> None:
    """The lines of the keys under `prefix`, as if under `to` (a value spread to each level)."""
    n = len(prefix)
    for k, v in src.items():
        if k[:n] == prefix and k[n:n + 1] != ("metadata",):
            dst.setdefault(to + k[n:], v)


def _where(origin: dict, loc: Iterable, fallback: str) -> str:
    """'file:line: dotted.path' for a Pydantic / resolution location."""
    known: tuple = ()
    shown = []
    for part in loc:
        day = _as_date(part)
        for cand in (part, day):
            if cand is not None and known + (cand,) in origin:
                known = known + (cand,)
                shown.append(str(day or part))  # a date as written in the file, not a Python repr
                break
        else:
            if isinstance(part, str) and part in ("param", "levels"):
                continue
            shown.append(str(day or part))
    file, line = origin.get(known, origin.get((), (fallback, 1)))
    return f"{file}:{line}: {'.'.join(shown) or '(top)'}"


def _as_date(part: Any):
    """A location part that is a date: ISO text, or Pydantic's repr of a date key ('datetime.date(2024, 1, 1)')."""
    if isinstance(part, dt.date):
        return part
    if isinstance(part, str):
        m = re.fullmatch(r"datetime\.date\((\d+), (\d+), (\d+)\)", part)
        try:
            return dt.date(*map(int, m.groups())) if m else dt.date.fromisoformat(part)
        except ValueError:
            return None
    return None


def _message(err: dict) -> str:
    """Pydantic's message, or for a number written as text ('17,000') what to write instead."""
    x = err.get("input")
    if err.get("type") in ("decimal_parsing", "decimal_type", "float_parsing") and isinstance(x, str):
        plain = re.sub(r"[,，\s]", "", x)
        try:
            Decimal(plain)
        except ArithmeticError:
            return f"{x!r} is not a number"
        return f"{x!r} is not a number (write {plain})"
    return err["msg"]


def _fen(x: Decimal, path: tuple) -> int:
    f = x * 100
    if f != f.to_integral_value():
        raise _ValueProblem(path, f"amount {x} has more than 2 decimals (yuan to the fen)")
    return int(f)


def _bp(x: Decimal, path: tuple) -> int:
    if x > 1:
        raise _ValueProblem(path, f"ratio {x} is above 1")
    b = x * 10000
    if b != b.to_integral_value():
        raise _ValueProblem(path, f"ratio {x} has more than 4 decimals")
    return int(b)


@dataclass
class Policy:
    region_code: str
    scheme: str
    name: str
    model: PolicyFile
    files: list[str]
    origin: dict = field(repr=False, default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.region_code}/{self.scheme}"

    # -- dates ---------------------------------------------------------------------------------
    @property
    def versions(self) -> list[dt.date]:
        """Every date on which some value changes, in order: each starts a policy version."""
        dates: set[dt.date] = set()

        def walk(o):
            if isinstance(o, Param):
                dates.update(o.values)
            elif hasattr(o, "__pydantic_fields__"):
                for name in type(o).model_fields:
                    walk(getattr(o, name))
            elif isinstance(o, dict):
                for v in o.values():
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)

        walk(self.model)
        return sorted(dates)

    def version_at(self, day: dt.date) -> dt.date | None:
        vs = [v for v in self.versions if v <= day]
        return vs[-1] if vs else None

    def reference_for(self, *path: str) -> list[dict]:
        """References of the node at `path`, else of the nearest node above that has any."""
        node: Any = self.model
        refs = list(self.model.metadata.reference) if self.model.metadata else []
        for p in path:
            node = getattr(node, p, None) if not isinstance(node, dict) else node.get(p)
            if node is None:
                break
            md = getattr(node, "metadata", None)
            if md is not None and md.reference:
                refs = list(md.reference)
        return [r.model_dump() for r in refs]

    # -- resolution -------------------------------------------------------------------------------
    def resolve(self, day: dt.date, *, category: str, special_group: str | None, level: int,
                visit_group: str) -> dict[str, int]:
        """All parameters in force on `day` for one kind of claim, as integers (fen, basis points)."""
        m = self.model
        sg = special_group if special_group in SPECIAL_GROUPS else None

        def val(p: Param | None, path: tuple, *, required: bool = True) -> Decimal | None:
            if p is None:
                if required:
                    raise _ValueProblem(path, f"no value (needed on {day})")
                return None
            try:
                v = p.at(day)
            except KeyError:
                raise _ValueProblem(path, f"no value in force on {day} (first date {min(p.values)})") from None
            if v is None and required:
                raise _ValueProblem(path, f"switched off (null) on {day} but needed")
            return v

        def started(p: Param | None) -> bool:
            """A layer is in force from the first date of its principal value."""
            return p is not None and min(p.values) <= day

        r: dict[str, int] = {}
        rules = getattr(m, visit_group)
        # a visit group's layer is in force from the first date of its deductible at *any* level: a level
        # without a value then is an error (``check``), never a layer silently switched off for that level
        if rules is not None and not any(started(level_param(rules.deductible, k)) for k in LEVELS):
            rules = None
        base = (visit_group,)
        if rules is None:
            # the visit group's layer is not in force (absent, or starting later): it pays nothing, its cap
            # is 0 (no cap "in force" that a claim before the layer's start could carry into the year:
            # caps run as the largest in force so far), and its claims do not count towards its annual
            # deductible (vg_on)
            r.update(ded=0, ded_rep=0, rep_from=0, rep_aged=0, rep_lt=0, rep_ge=0, xred=0, xded=-1, tcap=0,
                     vg_on=0)
            bands = [(0, 0)]
        else:
            r["vg_on"] = 1
            dp = base + ("deductible",) + (() if isinstance(rules.deductible, Param) else (f"level_{level}",))
            r["ded"] = _fen(val(level_param(rules.deductible, level), dp), dp)
            r["ded_rep"], r["rep_from"] = r["ded"], 0
            r["rep_aged"], r["rep_lt"], r["rep_ge"] = 0, 0, 0  # no age condition: everyone
            if rules.repeat_admission is not None and visit_group == "inpatient":
                ra = rules.repeat_admission
                p = base + ("repeat_admission",)
                n = val(ra.from_admission, p + ("from_admission",))
                f = val(ra.deductible_factor, p + ("deductible_factor",))
                if f > 1:
                    raise _ValueProblem(p + ("deductible_factor",), f"factor {f} is above 1")
                r["rep_from"] = int(n)
                r["ded_rep"] = int((Decimal(r["ded"]) * f).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
                if ra.ages is not None:
                    ap = p + ("ages",)
                    lt = val(ra.ages.under, ap + ("under",), required=False)
                    ge = val(ra.ages.from_, ap + ("from",), required=False)
                    # age < rep_lt or age >= rep_ge qualifies; a bound left out never does
                    r["rep_aged"], r["rep_lt"], r["rep_ge"] = 1, int(lt or 0), int(ge) if ge is not None else 1000
            key = sg if sg in rules.ratio else category if category in rules.ratio else "default"
            if key not in rules.ratio:
                raise _ValueProblem(base + ("ratio",), f"no ratio for category {category!r} and no 'default'")
            rp = base + ("ratio", key) + (() if isinstance(rules.ratio[key], Param) else (f"level_{level}",))
            ratio = _bp(val(level_param(rules.ratio[key], level), rp), rp)
            bands = [(0, ratio)]
            if rules.bands is not None:
                bands = _scale(rules.bands, day, base + ("bands",), val, offset=ratio, lead=ratio)
            xr = val(rules.cross_region_reduction, base + ("cross_region_reduction",), required=False)
            r["xred"] = _bp(xr, base + ("cross_region_reduction",)) if xr is not None else 0
            xp = base + ("cross_region_ratio",)
            xratio = val(rules.cross_region_ratio, xp, required=False)
            if xratio is not None:  # a flat cross-region ratio, as a reduction from this level's own ratio
                r["xred"] = ratio - _bp(xratio, xp)
                # a flat ratio above this level's own is a negative reduction: the bands' increases then add
                # to it, and together they must not pay more than the amount
                for t, rate in bands:
                    if rate - r["xred"] > 10000:
                        raise _ValueProblem(xp, f"cross-region ratio {xratio} plus the band increase "
                                            f"{Decimal(rate - ratio) / 10000} from {t / 100:,.2f} is above 1 "
                                            f"(the fund would pay more than the amount)", also=base + ("bands",))
            xp = base + ("cross_region_deductible",)
            xd = val(rules.cross_region_deductible, xp, required=False)
            r["xded"] = _fen(xd, xp) if xd is not None else -1
            cap = val(category_param(rules.annual_cap, category, sg), base + ("annual_cap",), required=False)
            r["tcap"] = _fen(cap, base + ("annual_cap",)) if cap is not None else BIG
        _put_bands(r, "b", bands, NBANDS, base + ("bands",))
        cap = val(m.pooled_annual_cap, ("pooled_annual_cap",), required=False)
        r["pcap"] = _fen(cap, ("pooled_annual_cap",)) if cap is not None else BIG

        # catastrophic illness insurance
        c = m.catastrophic if m.catastrophic is not None and started(m.catastrophic.threshold) else None
        r["cat_el"] = int(c is not None and visit_group in c.visit_types)
        if c is None:
            r.update(cth=0, ccap=0)
            _put_bands(r, "c", [(0, 0)], NCAT, ("catastrophic",))
        else:
            sp = c.special_groups.get(sg) if sg else None
            spath = ("catastrophic", "special_groups", sg)
            th = val(sp.threshold, spath + ("threshold",)) if sp and sp.threshold else val(c.threshold, ("catastrophic", "threshold"))
            r["cth"] = _fen(th, ("catastrophic", "threshold"))
            ip = spath + ("rate_increase",)
            inc = _bp(val(sp.rate_increase, ip), ip) if sp and sp.rate_increase else 0
            _put_bands(r, "c", _scale(c.scale, day, ("catastrophic", "scale"), val, offset=inc, lead=0,
                                      offset_path=ip if inc else None),
                       NCAT, ("catastrophic", "scale"))
            if sp is not None and sp.annual_cap is not None:
                cap = val(sp.annual_cap, spath + ("annual_cap",), required=False)
            else:
                cap = val(c.annual_cap, ("catastrophic", "annual_cap"), required=False)
            r["ccap"] = _fen(cap, ("catastrophic", "annual_cap")) if cap is not None else BIG

        # medical assistance
        a = m.assistance
        g = a.groups.get(sg) if (a is not None and sg) else None
        g = g if g is not None and started(g.ratio) else None
        if g is None:
            r.update(a_bp=0, a_cap=0, a_el=0)
        else:
            gp = ("assistance", "groups", sg)
            r["a_bp"] = _bp(val(g.ratio, gp + ("ratio",)), gp + ("ratio",))
            cap = val(g.annual_cap, gp + ("annual_cap",), required=False)
            r["a_cap"] = _fen(cap, gp + ("annual_cap",)) if cap is not None else BIG
            r["a_el"] = int(visit_group in a.visit_types)

        # individual account
        ac = m.account
        if ac is None or category not in ac.categories or not started(ac.share):
            r.update(acct_bp=0, acct_cap=0, acct_sp=0)
        else:
            r["acct_bp"] = _bp(val(ac.share, ("account", "share")), ("account", "share"))
            cap = val(ac.annual_cap, ("account", "annual_cap"), required=False)
            r["acct_cap"] = _fen(cap, ("account", "annual_cap")) if cap is not None else BIG
            r["acct_sp"] = int(ac.covers_self_pay)
        return r

    @property
    def categories(self) -> list[str]:
        """The insured categories of this policy's scheme (the others never settle under it)."""
        return [c for c in CATEGORIES if (c in EMPLOYEE_CATEGORIES) == (self.scheme == "employee")]

    def _foreign_keys(self) -> Iterable[tuple[tuple, str]]:
        """(path, message) for every per-category key that names the other scheme's category: such a
        value would never be resolved (nor checked), so it is an error rather than silently unused."""
        for vg in VISIT_GROUPS:
            rules = getattr(self.model, vg)
            if rules is None:
                continue
            keyed = [("ratio", rules.ratio)]
            if isinstance(rules.annual_cap, dict):
                keyed.append(("annual_cap", rules.annual_cap))
            for name, d in keyed:
                for k in d:
                    if k in CATEGORIES and k not in self.categories:
                        yield (vg, name, k), (f"{k!r} is not a category of the {self.scheme} scheme "
                                              f"(its categories: {', '.join(self.categories)})")

    def combos(self) -> Iterable[tuple[str, str | None, int, str]]:
        for cat in self.categories:
            for sg in (None, *SPECIAL_GROUPS):
                for lvl in LEVELS:
                    for vg in VISIT_GROUPS:
                        yield cat, sg, lvl, vg

    def parameter_rows(self) -> list[dict]:
        """One row per version × category × special group × level × visit group (the engine's table)."""
        vs = self.versions
        rows = []
        for i, v in enumerate(vs):
            until = vs[i + 1] if i + 1 < len(vs) else dt.date(9999, 12, 31)
            for cat, sg, lvl, vg in self.combos():
                row = {"policy_key": self.key, "valid_from": v, "valid_to": until, "category": cat,
                       "special_group": sg or "none", "provider_level": lvl, "visit_group": vg}
                row.update(self.resolve(v, category=cat, special_group=sg, level=lvl, visit_group=vg))
                rows.append(row)
        return rows

    def check(self) -> None:
        """Resolve every version and combination once; errors name the YAML line."""
        problems = [f"{_where(self.origin, path, self.files[-1])}: {msg}" for path, msg in self._foreign_keys()]
        seen: set[str] = set()
        for v in self.versions:
            for cat, sg, lvl, vg in self.combos():
                try:
                    self.resolve(v, category=cat, special_group=sg, level=lvl, visit_group=vg)
                except _ValueProblem as e:
                    msg = f"{_where(self.origin, e.path, self.files[-1])}: {e.msg}"
                    if e.also is not None:
                        msg += f" (with {_where(self.origin, e.also, self.files[-1])})"
                    if msg not in seen:  # once, with the first version and kind of claim it shows in
                        seen.add(msg)
                        problems.append(f"{msg} [version {v}: {cat}{'/' + sg if sg else ''}, level {lvl}]")
        if problems:
            raise PolicyError(problems)


def _scale(scale, day, path, val, *, offset: int, lead: int, offset_path: tuple | None = None,
           ) -> list[tuple[int, int]]:
    """[(threshold fen, rate bp)] of a scale in force on `day`; rates get `offset` added.

    Amounts below the first threshold take rate `lead`. A sum above 1 is reported at `offset_path` (a
    special group's increase, the value that makes it too high) where given, else at the bracket's rate."""
    out = []
    for i, b in enumerate(scale.brackets):
        bp = path + ("brackets", i)
        t = _fen(val(b.threshold, bp + ("threshold",)), bp + ("threshold",))
        own = _bp(val(b.rate, bp + ("rate",)), bp + ("rate",))
        rate = own + offset
        if rate > 10000:
            total = f"{Decimal(own) / 10000} + {Decimal(offset) / 10000} = {Decimal(rate) / 10000}"
            if offset_path is not None:
                raise _ValueProblem(offset_path, f"increase {Decimal(offset) / 10000} on the scale's rate "
                                    f"{Decimal(own) / 10000}: {total} is above 1", also=bp + ("rate",))
            raise _ValueProblem(bp + ("rate",), f"band rate plus the base ratio: {total} is above 1")
        if out and t <= out[-1][0]:
            raise _ValueProblem(bp + ("threshold",), f"overlapping bands: threshold {t / 100:.2f} is not above "
                                                      f"the previous band's {out[-1][0] / 100:.2f}")
        out.append((t, rate))
    if out[0][0] > 0:
        out.insert(0, (0, lead))
    return out


def _put_bands(r: dict, prefix: str, bands: list[tuple[int, int]], n: int, path: tuple) -> None:
    if len(bands) > n:
        raise _ValueProblem(path, f"at most {n} bands are supported")
    for k in range(n):
        if k < len(bands):
            t, rate = bands[k]
            w = bands[k + 1][0] - t if k + 1 < len(bands) else BIG
        else:
            t, rate, w = BIG, 0, 0
        r[f"{prefix}t{k}"], r[f"{prefix}w{k}"], r[f"{prefix}r{k}"] = t, w, rate


@dataclass
class PolicySet:
    policies: dict[tuple[str, str], Policy]

    def policy_for(self, region_code: str, scheme: str) -> Policy | None:
        for code in (region_code, region_code[:4] + "00", region_code[:2] + "0000", "000000"):
            p = self.policies.get((code, scheme))
            if p is not None:
                return p
        return None

    def __iter__(self):
        return iter(self.policies.values())

    def __len__(self):
        return len(self.policies)


def _read(path: Path) -> tuple[dict, dict]:
    try:
        data, lines = load_with_lines(path)
    except YamlError as e:
        raise PolicyError([str(e)]) from None
    if not isinstance(data, dict):
        raise PolicyError([f"{path}:1: a policy file is a mapping"])
    return data, {k: (str(path), v) for k, v in lines.items()}


def load_policies(paths: str | Path | Iterable[str | Path]) -> PolicySet:
    """Load every ``*.yaml`` policy in a directory (TEMPLATE.yaml and files starting with '_' skipped),
    or the given files. Raises PolicyError naming file and line for every problem found."""
    if isinstance(paths, str | Path):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files += sorted(f for f in p.glob("*.yaml") if f.name != "TEMPLATE.yaml" and not f.name.startswith("_"))
        elif p.exists():
            files.append(p)
        else:
            raise PolicyError([f"{p}: no such policy file or directory"])
    raw: dict[tuple[str, str], tuple[dict, dict, Path]] = {}
    problems: list[str] = []
    for f in files:
        try:
            data, origin = _read(f)
        except PolicyError as e:  # every unreadable file is named before giving up
            problems += e.problems
            continue
        key = (str(data.get("region_code")), str(data.get("scheme")))
        if key in raw:
            problems.append(f"{f}:1: second policy for region {key[0]} scheme {key[1]} (first: {raw[key][2]})")
        raw[key] = (data, origin, f)
    if problems:
        raise PolicyError(problems)
    out: dict[tuple[str, str], Policy] = {}
    merged: dict[tuple[str, str], dict] = {}  # each policy's data after inheritance: what its children merge onto

    def build(key, stack=()):
        if key in out:
            return out[key]
        data, origin, f = raw[key]
        files_ = [str(f)]
        found: list[str] = []  # this file's problems: all of them, not only the first kind
        data = _pin_metadata(data, (), [], None, None, origin, str(f), found)
        parent = data.get("inherits")
        if parent is not None:
            pk = (str(parent), key[1])
            if pk not in raw:
                raise PolicyError([f"{_where(origin, ('inherits',), str(f))}: no {key[1]} policy for region {parent} to inherit from"])
            if pk in stack or pk == key:
                chain = " → ".join(k[0] for k in (*stack, key, pk))
                raise PolicyError([f"{_where(origin, ('inherits',), str(f))}: inheritance cycle ({chain})"])
            pol = build(pk, stack + (key,))
            # the parent's *merged* data, so a grandparent's values reach a grandchild (any depth)
            base = {k: v for k, v in merged[pk].items() if k not in ("tests", "inherits")}
            merged_origin: dict = {}
            data = _merge(base, data, pol.origin, origin, (), merged_origin)
            origin = merged_origin
            files_ = pol.files + files_
        try:
            model = PolicyFile.model_validate(data)
        except ValidationError as e:
            found += [f"{_where(origin, err['loc'], str(f))}: {_message(err)}" for err in e.errors()]
        if found:
            raise PolicyError(found)
        pol = Policy(region_code=model.region_code, scheme=model.scheme, name=model.name, model=model,
                     files=files_, origin=origin)
        pol.check()
        out[key], merged[key] = pol, data
        return pol

    for key in raw:
        try:
            build(key)
        except PolicyError as e:
            problems += [p for p in e.problems if p not in problems]
    if problems:
        raise PolicyError(problems)
    return PolicySet(out)
