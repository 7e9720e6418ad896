"""Supervision rules (智能审核规则) as data: one YAML file per rule, validated by Pydantic.

A rule names a *check* (a vectorised Ibis template in :mod:`mifund.supervision.checks`) and gives it
parameters; each check declares its own parameter model, so an unknown or mistyped parameter is an
error naming the file and the key. A new rule that reuses a check (another visit type, another window,
another list of items) is a new YAML file in ``rules/`` (or in a directory passed with ``--rules``):
nothing in the engine changes. Schema::

    id: split_admission              # unique, snake_case
    kind: split_admission            # what it finds (the labels' kind when evaluated)
    name_zh: 分解住院
    name_en: Split admission
    description: ...
    check: readmission               # one of checks.CHECKS
    params: {max_gap_days: 15, ...}  # the check's parameters (unknown keys rejected)
    units: {max_gap_days: day}       # unit of a numeric parameter of the check (one of UNITS)
    case_by: provider                # roll hits up into cases per provider or person
    weight: 0.9                      # prior confidence 0..1; a hit's score = weight x severity
    evidence: ...                    # what the evidence text of a hit says
    amount: ...                      # how the amount at stake is computed
    effective_from: 2021-05-01       # hits only for services on or after (optional)
    effective_to: null               # ... and on or before (optional)
    reference: [{title: ..., href: ...}]

A rule file is read with line numbers: a key given twice is refused (YAML would keep the last one
silently), and every problem is reported as ``file:line: key: what``. Two rule files with one id in the
files and directories given are refused, naming both (a given rule still replaces a shipped one).
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mifund.policy.yamlines import YamlError, line_for, loads_with_lines

RULES_PACKAGE = "mifund.supervision.rules"
# units a numeric parameter may be given in (`units:` of a rule file)
UNITS = ("day", "night", "count", "fraction", "factor", "yuan")


class RuleFileError(ValueError):
    """A rule file that cannot be used; the message names the file and the key."""


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    href: str | None = None
    document: str | None = None


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    description: str
    check: str
    params: dict[str, Any] = {}
    units: dict[str, str] = {}
    case_by: Literal["provider", "person"]
    weight: float = Field(ge=0, le=1)
    enabled: bool = True
    evidence: str
    amount: str
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    reference: list[Reference] = Field(min_length=1)
    source_file: str | None = Field(default=None, exclude=True)
    parsed: Any = Field(default=None, exclude=True)

    @field_validator("check")
    @classmethod
    def _known_check(cls, v: str) -> str:
        from mifund.supervision.checks import CHECKS

        if v not in CHECKS:
            raise ValueError(f"unknown check {v!r}; known: {', '.join(sorted(CHECKS))}")
        return v

    @model_validator(mode="after")
    def _dates(self) -> RuleSpec:
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        return self


def _at(source: str, lines: dict | None, loc: tuple) -> str:
    """'file:line' of a key (the file alone where lines are unknown)."""
    line = line_for(lines, loc) if lines else None
    return f"{source}:{line}" if line else source


def _where(err: ValidationError, source: str, lines: dict | None, prefix: tuple = ()) -> str:
    parts = []
    for e in err.errors():
        loc = prefix + tuple(e["loc"])
        name = ".".join(str(x) for x in loc)
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        parts.append(f"{_at(source, lines, loc)}: {name}: {msg}" if name else f"{_at(source, lines, loc)}: {msg}")
    return "; ".join(parts)


def _numeric(annotation: Any) -> bool:
    """A parameter type that holds a number (int or float, optionally None)."""
    args = getattr(annotation, "__args__", None)
    if args:
        return any(_numeric(a) for a in args)
    return annotation in (int, float)


def _check_units(spec: RuleSpec, fields: dict, source: str, lines: dict | None) -> None:
    """Units only for the check's numeric parameters, and only known unit names."""
    problems = []
    for key, unit in spec.units.items():
        at = _at(source, lines, ("units", key))
        if key not in fields:
            problems.append(f"{at}: units.{key}: no parameter {key!r} in check {spec.check} "
                            f"(its parameters: {', '.join(fields)})")
        elif not _numeric(fields[key].annotation):
            problems.append(f"{at}: units.{key}: {key} is not a number; units are for numeric parameters")
        if unit not in UNITS:
            problems.append(f"{at}: units.{key}: unknown unit {unit!r}; one of {', '.join(UNITS)}")
    if problems:
        raise RuleFileError("; ".join(problems))


def parse_rule(data: dict, source: str = "<rule>", lines: dict | None = None) -> RuleSpec:
    """A rule from its mapping; `lines` ({key path: line}, as `loads_with_lines` gives) puts the line of
    each problem in the message."""
    if not isinstance(data, dict):
        raise RuleFileError(f"{_at(source, lines, ())}: a rule file holds one mapping (id, kind, check, params, ...)")
    try:
        spec = RuleSpec.model_validate(data)
    except ValidationError as e:
        raise RuleFileError(_where(e, source, lines)) from None
    from mifund.supervision.checks import CHECKS

    model = CHECKS[spec.check].params
    try:
        spec.parsed = model.model_validate(spec.params)
    except ValidationError as e:
        raise RuleFileError(_where(e, source, lines, ("params",))) from None
    _check_units(spec, model.model_fields, source, lines)
    spec.source_file = source
    return spec


def parse_rule_text(text: str, source: str) -> RuleSpec:
    """A rule from the text of its YAML file (keys given twice refused; problems named with their line)."""
    try:
        data, lines = loads_with_lines(text, source)
    except YamlError as e:
        raise RuleFileError(str(e)) from None
    return parse_rule(data, source, lines)


def load_rule_file(path: Path) -> RuleSpec:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RuleFileError(f"{path}:1: not UTF-8 text ({e.reason} at byte {e.start})") from None
    return parse_rule_text(text, str(path))


def _yaml_files(path: Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
    if not path.exists():
        raise RuleFileError(f"{path}: no such rule file or directory")
    return [path]


def _add(rules: dict[str, RuleSpec], r: RuleSpec) -> None:
    """Add `r`, refusing a second rule of the same id among the files read together."""
    if r.id in rules:
        raise RuleFileError(f"{r.source_file}: rule id {r.id!r} is also the id of {rules[r.id].source_file}; "
                            "give each rule its own id")
    rules[r.id] = r


def default_rules() -> list[RuleSpec]:
    out: dict[str, RuleSpec] = {}
    for entry in sorted(resources.files(RULES_PACKAGE).iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            _add(out, parse_rule_text(entry.read_text(encoding="utf-8"), f"rules/{entry.name}"))
    return list(out.values())


def load_rules(paths: list[Path] | None = None, *, defaults: bool = True, only: list[str] | None = None) -> list[RuleSpec]:
    """The shipped rules, then the rules in `paths` (files or directories); a given rule with the id of a
    shipped one replaces it, two given rules with one id are refused (naming both files). `only` keeps
    the named ids. Disabled rules are dropped."""
    rules: dict[str, RuleSpec] = {r.id: r for r in default_rules()} if defaults else {}
    given: dict[str, RuleSpec] = {}
    for p in paths or []:
        for f in _yaml_files(p):
            r = load_rule_file(f)
            if r.id in given and Path(given[r.id].source_file).resolve() == Path(f).resolve():
                continue  # the same file named twice (a directory and a file in it)
            _add(given, r)
            rules[r.id] = r
    if only:
        unknown = sorted(set(only) - set(rules))
        if unknown:
            raise RuleFileError(f"unknown rule id(s): {', '.join(unknown)}; known: {', '.join(sorted(rules))}")
        rules = {k: v for k, v in rules.items() if k in only}
    return [r for r in rules.values() if r.enabled]
