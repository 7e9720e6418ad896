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
    units: {max_gap_days: day}       # unit of each numeric parameter
    case_by: provider                # roll hits up into cases per provider or person
    weight: 0.9                      # prior confidence 0..1; a hit's score = weight x severity
    evidence: ...                    # what the evidence text of a hit says
    amount: ...                      # how the amount at stake is computed
    effective_from: 2021-05-01       # hits only for services on or after (optional)
    effective_to: null               # ... and on or before (optional)
    reference: [{title: ..., href: ...}]
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

RULES_PACKAGE = "mifund.supervision.rules"


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


def _where(err: ValidationError, prefix: str = "") -> str:
    parts = []
    for e in err.errors():
        loc = prefix + ".".join(str(x) for x in e["loc"])
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_rule(data: dict, source: str = "<rule>") -> RuleSpec:
    if not isinstance(data, dict):
        raise RuleFileError(f"{source}: a rule file holds one mapping (id, kind, check, params, ...)")
    try:
        spec = RuleSpec.model_validate(data)
    except ValidationError as e:
        raise RuleFileError(f"{source}: {_where(e)}") from None
    from mifund.supervision.checks import CHECKS

    try:
        spec.parsed = CHECKS[spec.check].params.model_validate(spec.params)
    except ValidationError as e:
        raise RuleFileError(f"{source}: {_where(e, 'params.')}") from None
    spec.source_file = source
    return spec


def load_rule_file(path: Path) -> RuleSpec:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RuleFileError(f"{path}: not valid YAML: {e}") from None
    return parse_rule(data, str(path))


def _yaml_files(path: Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
    if not path.exists():
        raise RuleFileError(f"{path}: no such rule file or directory")
    return [path]


def default_rules() -> list[RuleSpec]:
    out = []
    for entry in sorted(resources.files(RULES_PACKAGE).iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            out.append(parse_rule(yaml.safe_load(entry.read_text(encoding="utf-8")), f"rules/{entry.name}"))
    return out


def load_rules(paths: list[Path] | None = None, *, defaults: bool = True, only: list[str] | None = None) -> list[RuleSpec]:
    """The shipped rules, then the rules in `paths` (files or directories); a rule with the id of an
    earlier one replaces it. `only` keeps the named ids. Disabled rules are dropped."""
    rules: dict[str, RuleSpec] = {r.id: r for r in default_rules()} if defaults else {}
    for p in paths or []:
        for f in _yaml_files(p):
            r = load_rule_file(f)
            rules[r.id] = r
    if only:
        unknown = sorted(set(only) - set(rules))
        if unknown:
            raise RuleFileError(f"unknown rule id(s): {', '.join(unknown)}; known: {', '.join(sorted(rules))}")
        rules = {k: v for k, v in rules.items() if k in only}
    return [r for r in rules.values() if r.enabled]
