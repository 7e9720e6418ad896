"""Projection scenarios (情景): assumptions and policy levers as YAML, validated by Pydantic.

A scenario file names a parent (``extends: default`` = the packaged ``data/defaults.yaml``, or a path
relative to the file) and gives only what it changes; mappings are merged key by key (a lever's dated
``values`` replace the parent's from the child's first year on, so ``values: {2026: 0.08}`` changes the
rate from 2026 on and keeps the parent's values before 2026). Every
assumption or lever a file touches must carry its own ``source`` (document number, URL or stated
rationale). Unknown keys, negative rates where none can be, an sd below zero, a correlation matrix
that is not positive semi-definite, an sd so wide that a rate 4 sd below its mean is -100 % or below:
a :class:`ScenarioError` naming the file and line where the key is written (the parent's, for a key a
child inherits) and the dotted key::

    raise_rate.yaml:4: assumptions.wage_growht: unknown key (not part of the scenario schema)

Schema (``data/defaults.yaml`` is the complete example)::

    name, description, extends, years, paths, seed, base_year (opt), safety_line (red|orange),
    expenditure_curve (reference|claims)
    tables (opt): {life_table, age_cost_curve, retirement, age_structure: path}   # your own tables
    assumptions:
      wage_growth / medical_inflation / utilisation_trend: {mean, sd, unit, source}
      enrolment_change: {resident: {mean, sd, ...}, employee: {mean, sd, ...}}
      correlation: {"a|b": rho, ..., source}
      interest_rate, birth_rate, employee_entry_rate, entrant_male_share, pension_to_wage,
      female_worker_share: {value, unit, source};  entry_ages: {value: {band_start: share}, ...}
    levers:
      employee_pooled_rate, retiree_contribution_rate, resident_individual, resident_fiscal,
      financing_growth, expenditure_factor, retirement_age_offset: {values: {year: v}, unit, source}
      retirement_reform: {value: true|false, source}

``tables`` replaces a shipped demographic or cost table by the user's own (a provincial life table, the
city's age-cost profile, local retirement rules): each path is a YAML file in the format of the shipped
``data/<key>.yaml`` (copy it and change the figures and the ``reference``), relative to the scenario file
that names it, inherited through ``extends``. Each is validated on load; a bad one is a ScenarioError
naming the scenario file, the key and the table file::

    city.yaml: tables.life_table: /data/jx_life.yaml: lx.M: survivors must decrease with age ...
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SHOCKS = ("wage_growth", "medical_inflation", "utilisation_trend", "enrolment_change")
SCHEMES = ("employee", "resident")
DEFAULT = "default"


class ScenarioError(ValueError):
    """A scenario that cannot be used; names the file and the dotted path of every bad key.

    ``where``: for each problem, the (file, line) where its key is written (the parent file for a key a
    child inherits through ``extends``), or None where no file says it (a command-line override, a key
    that is missing): the message then reads ``file:line: key: why``."""

    def __init__(self, file: str, problems: list[tuple[str, str]],
                 where: list[tuple[str, int | None] | None] | None = None):
        self.file = file
        self.problems = list(problems)
        self.where = list(where) if where is not None else [None] * len(self.problems)
        lines = []
        for (p, m), w in zip(self.problems, self.where, strict=True):
            at = file
            if w is not None and w[1] is None:          # not in a file: e.g. --years on the command line
                at = f"{file} ({w[0]})"
            elif w is not None:
                at = f"{w[0]}:{w[1]}"
                if w[0] != file:
                    m += f" (read through {file})"
            lines.append(f"{at}: {p}: {m}" if p else f"{at}: {m}")
        super().__init__("\n".join(lines))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


MAX_SD_REACH = 4  # a drawn rate mean + sd * z must stay above -100 % for |z| up to this many sd


class Stochastic(_Strict):
    """A yearly rate drawn as mean + sd * z (z standard normal, correlated across assumptions).

    A rate of -100 % or below (a price index or an enrolment at zero or negative) is impossible, so
    ``mean - 4 sd`` must stay above -1: the sd is at most ``(1 + mean) / 4``. Draws beyond 4 sd are rare
    but not impossible in a large Monte Carlo run; one that still reaches -100 % is a ScenarioError."""

    mean: float = Field(gt=-1, lt=1, description="mean yearly rate, 0.05 = 5 %")
    sd: float = Field(ge=0, lt=1, description="standard deviation of the yearly rate")
    unit: str = "rate"
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _reach(self) -> Stochastic:
        if self.mean - MAX_SD_REACH * self.sd <= -1:
            raise ValueError(
                f"sd {self.sd:g} is too wide for mean {self.mean:g}: a rate {MAX_SD_REACH} sd below the mean "
                f"({self.mean - MAX_SD_REACH * self.sd:.4g}) is -100 % or below; the sd must be below "
                f"(1 + mean) / {MAX_SD_REACH} = {(1 + self.mean) / MAX_SD_REACH:.4g}")
        return self


class Enrolment(_Strict):
    resident: Stochastic
    employee: Stochastic


class Scalar(_Strict):
    value: float
    unit: str | None = None
    source: str = Field(min_length=3)


class NonNegative(Scalar):
    value: float = Field(ge=0)


class Share(Scalar):
    value: float = Field(ge=0, le=1)


class EntryAges(_Strict):
    value: dict[int, float]
    unit: str | None = None
    source: str = Field(min_length=3)

    @field_validator("value")
    @classmethod
    def _shares(cls, v: dict[int, float]) -> dict[int, float]:
        if not v:
            raise ValueError("needs at least one age band")
        for band, s in v.items():
            if band % 5 or not 0 <= band <= 85:
                raise ValueError(f"age band start {band} is not one of 0, 5, ..., 85")
            if s < 0:
                raise ValueError(f"negative share {s} for band {band}")
        if abs(sum(v.values()) - 1) > 1e-6:
            raise ValueError(f"shares must sum to 1, got {sum(v.values()):g}")
        return v


class Correlation(_Strict):
    model_config = ConfigDict(extra="allow")
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _pairs(self) -> Correlation:
        for key, rho in (self.model_extra or {}).items():
            parts = key.split("|")
            if len(parts) != 2 or any(p not in SHOCKS for p in parts) or parts[0] == parts[1]:
                raise ValueError(f"{key!r}: not a pair 'a|b' of {', '.join(SHOCKS)}")
            if not isinstance(rho, int | float) or not -1 <= rho <= 1:
                raise ValueError(f"{key!r}: a correlation must be a number in [-1, 1], got {rho!r}")
        m = self.matrix()
        if np.linalg.eigvalsh(m).min() < -1e-9:
            raise ValueError("the correlation matrix is not positive semi-definite")
        return self

    def matrix(self) -> np.ndarray:
        m = np.eye(len(SHOCKS))
        for key, rho in (self.model_extra or {}).items():
            a, b = (SHOCKS.index(p) for p in key.split("|"))
            m[a, b] = m[b, a] = float(rho)
        return m


class Assumptions(_Strict):
    wage_growth: Stochastic
    medical_inflation: Stochastic
    utilisation_trend: Stochastic
    enrolment_change: Enrolment
    correlation: Correlation
    interest_rate: NonNegative
    birth_rate: NonNegative
    employee_entry_rate: NonNegative
    entry_ages: EntryAges
    birth_male_share: Share
    entrant_male_share: Share
    pension_to_wage: NonNegative
    female_worker_share: Share


class Dated(_Strict):
    """A step function of the year: each value holds from its year until the next."""

    values: dict[int, float]
    unit: str | None = None
    source: str = Field(min_length=3)

    @field_validator("values")
    @classmethod
    def _years(cls, v: dict[int, float]) -> dict[int, float]:
        if not v:
            raise ValueError("needs at least one dated value")
        for y in v:
            if not 1900 <= y <= 2200:
                raise ValueError(f"{y} is not a year")
        return dict(sorted(v.items()))

    def series(self, years: np.ndarray) -> np.ndarray:
        ys = np.array(list(self.values), dtype=np.int64)
        vs = np.array(list(self.values.values()), dtype=np.float64)
        idx = np.clip(np.searchsorted(ys, np.asarray(years), side="right") - 1, 0, None)
        return vs[idx]

    def last_year(self) -> int:
        return max(self.values)


class DatedNonNegative(Dated):
    @field_validator("values")
    @classmethod
    def _non_negative(cls, v: dict[int, float]) -> dict[int, float]:
        for y, x in v.items():
            if x < 0:
                raise ValueError(f"negative value {x:g} in {y}: this cannot be negative")
        return v


class DatedShare(DatedNonNegative):
    @field_validator("values")
    @classmethod
    def _at_most_one(cls, v: dict[int, float]) -> dict[int, float]:
        for y, x in v.items():
            if x > 1:
                raise ValueError(f"{x:g} in {y} is above 1 (a share of the base)")
        return v


class DatedRate(Dated):
    @field_validator("values")
    @classmethod
    def _above_minus_one(cls, v: dict[int, float]) -> dict[int, float]:
        for y, x in v.items():
            if x <= -1:
                raise ValueError(f"a yearly rate must be above -1, got {x:g} in {y}")
        return v


class Switch(_Strict):
    value: bool
    source: str = Field(min_length=3)


class Levers(_Strict):
    employee_pooled_rate: DatedShare
    retiree_contribution_rate: DatedShare
    resident_individual: DatedNonNegative
    resident_fiscal: DatedNonNegative
    financing_growth: DatedRate
    expenditure_factor: DatedNonNegative
    retirement_reform: Switch
    retirement_age_offset: Dated


TABLE_KINDS = ("life_table", "age_cost_curve", "retirement", "age_structure")


class Tables(_Strict):
    """The scenario's own demographic and cost tables, each a YAML file in the format of the shipped one
    (``mifund/projection/data/<kind>.yaml``); a key left out keeps the shipped table.

    Why in the scenario: a city projects with its province's life table or its own claims' age profile
    without editing the installed package, and the run stores which tables it used. Paths are relative
    to the scenario file that names them (resolved when it is read, so a child inherits its parent's
    tables through ``extends``). Each file is read and validated here, so a missing file, a wrong key, a
    life table whose survivors do not decrease or a cost that is not positive is refused before any run.
    """

    life_table: str | None = None
    age_cost_curve: str | None = None
    retirement: str | None = None
    age_structure: str | None = None

    @field_validator(*TABLE_KINDS)
    @classmethod
    def _readable(cls, path: str | None, info) -> str | None:
        from mifund.projection.tables import load_table

        if path is None:
            return path
        try:
            load_table(info.field_name, path)
        except ScenarioError as e:
            raise ValueError("; ".join(f"{path}: {p}: {m}" if p else f"{path}: {m}" for p, m in e.problems)) from None
        return path


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str | None = None
    extends: str | None = None
    years: int = Field(ge=1, le=100)
    paths: int = Field(ge=0, le=1_000_000)
    seed: int = Field(ge=0)
    base_year: int | None = None
    safety_line: Literal["red", "orange"] = "orange"
    expenditure_curve: Literal["reference", "claims"] = "reference"
    tables: Tables = Field(default_factory=Tables)
    assumptions: Assumptions
    levers: Levers
    file: str | None = Field(None, description="where it was read from (set by load_scenario)")


# -- loading -------------------------------------------------------------------------------------
# one file of an ``extends`` chain: its label (as errors name it), its mapping, the line of every key
_Layer = tuple[str, dict, dict[tuple, int]]


def _read(path: Path, label: str) -> tuple[dict, dict[tuple, int]]:
    """(mapping, {key path: 1-based line}) of one scenario file (mifund.policy.yamlines)."""
    from mifund.policy.yamlines import YamlError, loads_with_lines

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ScenarioError(label, [("", f"cannot read: {e.strerror or e}")]) from None
    except UnicodeDecodeError as e:
        raise ScenarioError(label, [("", f"not UTF-8 text ({e.reason} at byte {e.start})")]) from None
    try:
        data, lines = loads_with_lines(text, label)
    except YamlError as e:
        msg = e.message if e.message.startswith("invalid YAML") else f"not valid YAML: {e.message}"
        raise ScenarioError(label, [("", msg)], [(label, e.line)]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(label, [("", "the top level must be a mapping")], [(label, lines.get((), 1))])
    return data, lines


def _locate(layers: list[_Layer], loc: tuple) -> tuple[str, int | None] | None:
    """The file (and line) that wrote the key at ``loc`` of the merged scenario: the one holding the longest
    prefix of ``loc``, the child before its parents where several hold it (the child's value is the one in
    force, and a check over a whole block fails for what the child changed in it)."""
    best, depth = None, 0
    for label, _, lines in layers:                                   # root (defaults) first, the file last
        for k in range(len(loc), 0, -1):
            if tuple(loc[:k]) in lines:
                if k >= depth:
                    best, depth = (label, lines[tuple(loc[:k])]), k
                break
    return best
def default_path() -> Path:
    return Path(str(resources.files("mifund.projection").joinpath("data/defaults.yaml")))


def _merge(base: dict, child: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in child.items():
        if k == "values" and isinstance(v, dict) and v and isinstance(out.get(k), dict):
            # a dated lever: the child's values hold from its first year on; the parent's earlier ones stay
            first = min(v)
            out[k] = {y: x for y, x in out[k].items() if y < first} | copy.deepcopy(v)
        elif k == "value" and isinstance(v, dict):
            # a map-valued assumption (entry_ages shares): the child's map replaces the parent's whole;
            # merged, a child narrowing the bands would keep the parent's others and fail to sum to 1
            out[k] = copy.deepcopy(v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _touched_without_source(child: dict) -> list[str]:
    """Assumptions/levers a child file changes without giving their source."""
    missing = []
    for section in ("assumptions", "levers"):
        block = child.get(section)
        if not isinstance(block, dict):
            continue
        for key, v in block.items():
            if not isinstance(v, dict):
                continue
            if key == "enrolment_change":
                missing += [f"{section}.{key}.{s}.source" for s, sv in v.items()
                            if isinstance(sv, dict) and "source" not in sv]
            elif "source" not in v:
                missing.append(f"{section}.{key}.source")
    return missing


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int) and out and not out.endswith("values"):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _raw_locs(err: ValidationError) -> list[tuple]:
    """Each error's path into the data (Pydantic's internal steps such as ``[key]`` left out)."""
    return [tuple(p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
            for e in err.errors()]


def _problems(err: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e, loc in zip(err.errors(), _raw_locs(err), strict=True):
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not part of the scenario schema)"
        elif e["type"] == "missing":
            msg = "required key missing"
        else:
            msg = e["msg"].removeprefix("Value error, ")
            if e.get("input") is not None and e["type"] in ("greater_than", "greater_than_equal", "less_than",
                                                            "less_than_equal", "literal_error"):
                msg += f" (got {e['input']!r})"
        out.append((_loc(loc), msg))
    return out


def _anchor_tables(data: dict, folder: Path) -> None:
    """Make the file's ``tables`` paths absolute (relative to the file that names them), so that a child
    that extends it inherits the same files wherever the child lives."""
    t = data.get("tables")
    if isinstance(t, dict):
        for k, v in t.items():
            if isinstance(v, str) and v.strip():
                t[k] = str((folder / v.strip()).resolve())


def _resolve(path: Path, label: str, seen: tuple[str, ...]) -> tuple[dict, list[_Layer]]:
    """(the merged mapping, the files of the ``extends`` chain, root first)."""
    data, lines = _read(path, label)
    _anchor_tables(data, path.parent)
    layer = (label, data, lines)
    parent = data.get("extends")
    if parent is None:
        return data, [layer]

    def at(*key):
        return [(label, lines.get(tuple(key)) or lines.get(tuple(key[:-1])))]

    if not isinstance(parent, str):
        raise ScenarioError(label, [("extends", "must be 'default' or a file path")], at("extends"))
    missing = _touched_without_source(data)
    if missing:
        raise ScenarioError(label, [(m, "a changed assumption or lever needs its own source") for m in missing],
                            [at(*m.split(".")[:-1])[0] for m in missing])
    ppath = default_path() if parent == DEFAULT else (path.parent / parent).resolve()
    key = str(ppath)
    if key in seen:
        raise ScenarioError(label, [("extends", f"circular: {parent} extends back to this file")], at("extends"))
    if parent != DEFAULT and not ppath.exists():
        raise ScenarioError(label, [("extends", f"no such file: {ppath}")], at("extends"))
    base, layers = _resolve(ppath, parent if parent == DEFAULT else str(ppath), (*seen, key))
    merged = _merge(base, {k: v for k, v in data.items() if k != "extends"})
    merged["extends"] = parent
    if "description" not in data:
        merged.pop("description", None)
    return merged, [*layers, layer]


def load_scenario(path: str | Path | None = None, **overrides: Any) -> Scenario:
    """Read a scenario file (None = the packaged defaults), resolving ``extends``.

    ``overrides`` (years, paths, seed, base_year) replace the file's values (the CLI's --years ...).
    A bad key is reported at the file and line where it is written: a key a child inherits from its
    parent is the parent's line, named as read through the child."""
    p = default_path() if path is None or str(path) == DEFAULT else Path(path)
    label = DEFAULT if path is None or str(path) == DEFAULT else str(path)
    data, layers = _resolve(p.resolve(), label, (str(p.resolve()),))
    given = {k: v for k, v in overrides.items() if v is not None}
    data.update(given)
    data["file"] = label
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        where = [(f"--{loc[0].replace('_', '-')} on the command line", None) if loc and loc[0] in given
                 else _locate(layers, loc) for loc in _raw_locs(e)]
        raise ScenarioError(label, _problems(e), where) from None


def scenario_from_dict(data: dict, label: str = "<dict>") -> Scenario:
    """Validate a mapping (a whole scenario, or {extends: default, ...} with changes)."""
    data = copy.deepcopy(data)
    _anchor_tables(data, Path.cwd())
    if data.get("extends") == DEFAULT:
        missing = _touched_without_source(data)
        if missing:
            raise ScenarioError(label, [(m, "a changed assumption or lever needs its own source") for m in missing])
        base, _ = _read(default_path(), DEFAULT)
        data = _merge(base, {k: v for k, v in data.items() if k != "extends"}) | {"extends": DEFAULT}
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(label, _problems(e)) from None


def flatten(s: Scenario) -> dict[str, Any]:
    """Every assumption and lever as a dotted key -> value (for diffs between scenarios)."""
    out: dict[str, Any] = {}
    d = s.model_dump(exclude={"file", "description", "extends", "name"})

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k in ("source", "unit"):
                    continue
                walk(f"{prefix}.{k}" if prefix else str(k), x)
        else:
            out[prefix] = v

    walk("", d)
    return out


def labels(a: Scenario, b: Scenario) -> tuple[str, str]:
    """Names that tell two scenarios apart in a comparison's columns and titles: their ``name``s, or where
    both share one, the name with its file's stem ('default (hicost)'), or with A / B where that is the
    same too."""
    if a.name != b.name:
        return a.name, b.name

    def stem(s: Scenario) -> str:
        return DEFAULT if s.file in (None, DEFAULT) else Path(s.file).stem

    la, lb = f"{a.name} ({stem(a)})", f"{b.name} ({stem(b)})"
    return (la, lb) if la != lb else (f"{a.name} (A)", f"{b.name} (B)")


def diff(a: Scenario, b: Scenario, names: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Keys whose values differ between two scenarios, with b's source for the change; the value columns
    are named by ``names`` (default :func:`labels`: the scenarios' names, told apart where they are the
    same)."""
    na, nb = names or labels(a, b)
    fa, fb = flatten(a), flatten(b)
    rows = []
    for k in sorted(set(fa) | set(fb)):
        va = fa[k] if k in fa else _in_force(a, k)
        vb = fb[k] if k in fb else _in_force(b, k)
        if va != vb:
            rows.append({"key": k, na: va, nb: vb, "source": _source_of(b, k)})
    return rows


def _in_force(s: Scenario, dotted: str) -> Any:
    """The value a scenario resolves for a dated key it does not list (``levers.x.values.2026`` where it
    lists 2024 only: the 2024 value still holds in 2026, as the engine reads it); None otherwise."""
    head, _, year = dotted.rpartition(".values.")
    if not head or not year.isdigit():
        return None
    node: Any = s
    for part in head.split("."):
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        if node is None:
            return None
    if not isinstance(node, Dated):
        return None
    return float(node.series(np.array([int(year)]))[0])


def _source_of(s: Scenario, dotted: str) -> str | None:
    node: Any = s
    for part in dotted.split("."):
        nxt = getattr(node, part, None) if not isinstance(node, dict) else node.get(part)
        if nxt is None:
            break
        node = nxt
        src = getattr(node, "source", None)
        if isinstance(src, str):
            return src
    return None
