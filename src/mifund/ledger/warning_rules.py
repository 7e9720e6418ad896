"""Early-warning rules (风险预警规则): the YAML schema as Pydantic models, and loading with overrides.

The shipped defaults live in ``rules/warnings.yaml`` beside this module. A user file has the same
schema and is laid over the defaults (see :func:`load_rules`). Every model rejects unknown keys, and
every error names the file and the dotted path of the bad key, e.g.::

    my_rules.yaml: rules.growth_gap.min_gapp: unknown key

Schema (version 1)::

    version: 1
    rules:
      <rule id>:                      # one of RULE_IDS, all present in the defaults
        enabled: true
        applies_to: {employee: [pooled, combined], resident: [pooled]}   # scheme -> funds
        combined_when_split: false    # judge 'combined' beside a 'pooled' row of the same key too
        monthly: latest               # payable_months_* only: off | latest | all
        levels:                       # level -> threshold; the most severe level that fires wins
          red:    {value: 3, source: "人社部发〔2009〕67号 …", source_zh: "…", ref: "…", ref_zh: "…",
                   label_en: "…", label_zh: "…"}
          orange: {value: 6, source: "…"}
        min_gap:  {value: 0, source: "…"}      # growth_gap only
        min_fall: {value: 0, source: "…"}      # balance_falling only
        overrides:                    # per scheme / fund / region; see Override
          - {scheme: resident, levels: {...}}
          - {region_code: "360100", include_descendants: true, levels: {...}}

What ``value`` means depends on the rule (the comparison is fixed by the rule, see RULE_KINDS):

=====================  ========================================================  ==================
rule                   fires when                                                value unit
=====================  ========================================================  ==================
payable_months_low     payable_months < value                                    months
payable_months_high    payable_months > value                                    months
current_deficit        surplus_rate < value (value <= 0; 0 = any deficit)        fraction
consecutive_deficits   surplus < 0 in >= value consecutive years                 years
growth_gap             expenditure_growth - income_growth > min_gap in >= value  years
                       consecutive years (收支倒挂)
balance_falling        balance_growth < -min_fall in >= value consecutive years  years
insured_falling        insured fell by more than value (-insured_growth > value) fraction
balance_identity       abs(balance_gap) / abs(balance_end) > value               fraction
persons_identity       abs(in_service + retired - insured) / insured > value     fraction
=====================  ========================================================  ==================
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Level = Literal["red", "orange", "yellow", "blue"]
LEVELS: tuple[str, ...] = ("red", "orange", "yellow", "blue")  # most severe first
SEVERITY: dict[str, int] = {lvl: i for i, lvl in enumerate(LEVELS)}
Scheme = Literal["employee", "resident", "total"]
Fund = Literal["pooled", "account", "combined", "total"]
MonthlyMode = Literal["off", "latest", "all"]

RULE_IDS: tuple[str, ...] = (
    "payable_months_low",
    "payable_months_high",
    "current_deficit",
    "consecutive_deficits",
    "growth_gap",
    "balance_falling",
    "insured_falling",
    "balance_identity",
    "persons_identity",
)

# How each rule compares its measure with a level's value, and what values make sense.
#   below: measure < value, a more severe level has a smaller value
#   above: measure > value, a more severe level has a larger value
#   run:   consecutive years >= value (a whole number >= 1), a more severe level has a larger value
RULE_KINDS: dict[str, str] = {
    "payable_months_low": "below",
    "payable_months_high": "above",
    "current_deficit": "below",
    "consecutive_deficits": "run",
    "growth_gap": "run",
    "balance_falling": "run",
    "insured_falling": "above",
    "balance_identity": "above",
    "persons_identity": "above",
}
# allowed range of a level's value per rule (inclusive)
_VALUE_RANGE: dict[str, tuple[float, float]] = {
    "payable_months_low": (0, 1200),
    "payable_months_high": (0, 1200),
    "current_deficit": (-1e6, 0),
    "consecutive_deficits": (1, 100),
    "growth_gap": (1, 100),
    "balance_falling": (1, 100),
    "insured_falling": (0, 1),
    "balance_identity": (0, 1e6),
    "persons_identity": (0, 1e6),
}

DEFAULT_RULES_FILE = "rules/warnings.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Threshold(_Strict):
    """A number with its source: a document number / URL, or a stated rationale."""

    value: float
    source: str = Field(min_length=3, description="document number, URL or stated rationale")
    source_zh: str | None = Field(None, min_length=3, description="同上，中文（中文报告用；文号、网址照录）")
    ref: str | None = Field(None, description="short citation shown in messages (default: source)")
    ref_zh: str | None = Field(None, description="同上，中文消息用（默认 ref）")
    label_en: str | None = Field(None, description="what crossing it means, e.g. 'too little'")
    label_zh: str | None = Field(None, description="同上，中文，如 结余不足")

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @field_validator("source_zh")
    @classmethod
    def _chinese(cls, v: str | None) -> str | None:
        if v is not None and not any("\u4e00" <= ch <= "\u9fff" for ch in v):
            raise ValueError("must be Chinese text (the source in Chinese; leave it out where there is none)")
        return v

    def source_in(self, lang: str) -> str:
        """The source in ``lang`` (zh | en): ``source_zh`` for zh where given, else ``source``."""
        return (self.source_zh or self.source) if lang == "zh" else self.source

    @property
    def cite(self) -> str:
        return self.ref or self.source

    @property
    def cite_zh(self) -> str:
        return self.ref_zh or self.cite


Levels = dict[Level, Threshold]


class Override(_Strict):
    """Different settings for some rows of a rule.

    Selectors (all given ones must match): ``scheme``, ``fund``, ``region_code`` (a 6-digit code or a
    list of them) with ``include_descendants`` (the region's whole subtree, by GB/T 2260 code prefix:
    360000 covers 36xxxx, 360100 covers 3601xx, 000000 covers everything).
    Settings: ``enabled`` and ``levels`` (the complete level set for the matched rows: levels absent
    here are off there), plus ``min_gap`` / ``min_fall`` on the rules that have them.

    Precedence where several overrides match one row (the last applied wins, field by field):
    overrides without a region first, then region overrides from the shallowest code (country,
    province, city, county) to the deepest, an exact region after ``include_descendants`` of the same
    code; within that, more scheme/fund selectors later; then file order (the user's file after the
    defaults).
    """

    region_code: list[str] | None = None
    include_descendants: bool = False
    scheme: Scheme | None = None
    fund: Fund | None = None
    note: str | None = None
    enabled: bool | None = None
    levels: Levels | None = None

    @field_validator("region_code", mode="before")
    @classmethod
    def _codes(cls, v: Any) -> Any:
        if isinstance(v, (str, int)):
            v = [v]
        if isinstance(v, list):
            out = []
            for c in v:
                c = str(c)
                if not (len(c) == 6 and c.isdigit()):
                    raise ValueError(f"region_code must be a 6-digit GB/T 2260 code, got {c!r}")
                out.append(c)
            return out
        return v

    @model_validator(mode="after")
    def _sane(self) -> Override:
        if self.include_descendants and not self.region_code:
            raise ValueError("include_descendants needs region_code")
        if self.region_code is None and self.scheme is None and self.fund is None:
            raise ValueError("an override needs at least one of region_code, scheme, fund")
        settings = self.model_dump(exclude={"region_code", "include_descendants", "scheme", "fund", "note"})
        if all(v is None for v in settings.values()):
            raise ValueError("an override must set something: enabled, levels" + self._extra_names())
        return self

    def _extra_names(self) -> str:
        return ""

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        """Sort key: larger = applied later = wins."""
        n_sel = (self.scheme is not None) + (self.fund is not None)
        if not self.region_code:
            return (0, 0, 0, n_sel)
        depth = max(len(region_prefix(c)) for c in self.region_code)
        return (1, depth, 0 if self.include_descendants else 1, n_sel)


class GapOverride(Override):
    min_gap: Threshold | None = None

    def _extra_names(self) -> str:
        return ", min_gap"


class FallOverride(Override):
    min_fall: Threshold | None = None

    def _extra_names(self) -> str:
        return ", min_fall"


class Rule(_Strict):
    enabled: bool = True
    applies_to: dict[Scheme, list[Fund]] = Field(
        description="scheme -> funds evaluated; scheme 'total' and fund 'total' only if listed"
    )
    combined_when_split: bool = Field(
        False,
        description="also judge an employee 'combined' row where the same region-period has a 'pooled' "
        "row (the indicator module derives combined = pooled + account there); by default the pooled "
        "row speaks for the fund and the combined row is judged only where the fund is not reported split",
    )
    levels: Levels = Field(min_length=1)
    overrides: list[Override] = Field(default_factory=list)

    def applies(self) -> list[tuple[str, str]]:
        return [(s, f) for s, funds in self.applies_to.items() for f in funds]


class MonthlyRule(Rule):
    """payable_months_*: may also look at monthly ledger rows.

    ``monthly``: ``off`` = annual rows only; ``latest`` (default) = annual rows, plus the latest month
    of any region × scheme × fund × year that has monthly rows but no annual row yet (the year in
    progress); ``all`` = every monthly row as well.
    """

    monthly: MonthlyMode = "latest"


class GapRule(Rule):
    min_gap: Threshold
    overrides: list[GapOverride] = Field(default_factory=list)


class FallRule(Rule):
    min_fall: Threshold
    overrides: list[FallOverride] = Field(default_factory=list)


def _check_levels(rule_id: str, levels: Levels, where: str) -> None:
    kind = RULE_KINDS[rule_id]
    lo, hi = _VALUE_RANGE[rule_id]
    for lvl, t in levels.items():
        if not lo <= t.value <= hi:
            raise ValueError(f"{where}.{lvl}.value: {t.value:g} is outside [{lo:g}, {hi:g}] for {rule_id}")
        if kind == "run" and t.value != int(t.value):
            raise ValueError(f"{where}.{lvl}.value: a number of years must be whole, got {t.value:g}")
    ordered = [lvl for lvl in LEVELS if lvl in levels]  # most severe first
    for a, b in zip(ordered, ordered[1:], strict=False):
        va, vb = levels[a].value, levels[b].value
        bad = va >= vb if kind == "below" else va <= vb
        if bad:
            rel = "<" if kind == "below" else ">"
            raise ValueError(
                f"{where}: level {a} ({va:g}) must be more extreme than {b} ({vb:g}): expected {a} {rel} {b}"
            )


class RuleSet(_Strict):
    payable_months_low: MonthlyRule
    payable_months_high: MonthlyRule
    current_deficit: Rule
    consecutive_deficits: Rule
    growth_gap: GapRule
    balance_falling: FallRule
    insured_falling: Rule
    balance_identity: Rule
    persons_identity: Rule

    @field_validator("*")
    @classmethod
    def _levels(cls, rule: Rule, info) -> Rule:
        rid = info.field_name
        _check_levels(rid, rule.levels, "levels")
        for i, o in enumerate(rule.overrides):
            if o.levels is not None:
                _check_levels(rid, o.levels, f"overrides[{i}].levels")
        return rule


class WarningRules(_Strict):
    version: Literal[1] = 1
    rules: RuleSet

    def rule(self, rule_id: str) -> Rule:
        return getattr(self.rules, rule_id)


# --------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------
class WarningRulesError(ValueError):
    """A rules file that cannot be used; names the file and the path of every bad key."""

    def __init__(self, file: str, problems: Iterable[tuple[str, str]]):
        self.file = file
        self.problems = list(problems)
        lines = [f"{file}: {path}: {msg}" if path else f"{file}: {msg}" for path, msg in self.problems]
        super().__init__("\n".join(lines))


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(text: str, file: str) -> dict:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        raise WarningRulesError(file, [("", f"not valid YAML: {e}")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise WarningRulesError(file, [("", f"the top level must be a mapping, got {type(data).__name__}")])
    return data


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _problems(err: ValidationError, offsets: dict[str, int] | None = None) -> list[tuple[str, str]]:
    out = []
    for e in err.errors():
        loc = list(e["loc"])
        # the user's overrides were appended after the defaults': report their own index
        if offsets and len(loc) >= 4 and loc[0] == "rules" and loc[2] == "overrides" and isinstance(loc[3], int):
            loc[3] -= offsets.get(str(loc[1]), 0)
        # drop pydantic's internal markers ("[key]", function-after wrappers)
        loc = [p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not part of the warning-rules schema)"
        elif e["type"] == "missing":
            msg = "required key missing"
        else:
            msg = e["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            if e["type"] == "literal_error" and e.get("input") is not None:
                msg += f" (got {e['input']!r})"
        out.append((_loc(tuple(loc)), msg))
    return out


def _merge(defaults: dict, user: dict) -> tuple[dict, dict[str, int]]:
    """Lay the user's file over the defaults.

    Top-level keys and every setting of a rule are replaced as a whole (so ``levels`` and
    ``applies_to`` in the user's file are the complete sets); a rule's ``overrides`` are appended
    after the defaults' ones. Returns the merged mapping and, per rule, how many default overrides
    precede the user's (to report the user's own list index in errors).
    """
    merged = {k: v for k, v in defaults.items()}
    offsets: dict[str, int] = {}
    for key, value in user.items():
        if key != "rules" or not isinstance(value, dict) or not isinstance(defaults.get("rules"), dict):
            merged[key] = value
            continue
        rules = dict(defaults["rules"])
        for rid, urule in value.items():
            base = rules.get(rid)
            if not isinstance(base, dict) or not isinstance(urule, dict):
                rules[rid] = urule
                continue
            new = dict(base)
            for field, v in urule.items():
                if field == "overrides" and isinstance(v, list) and isinstance(base.get("overrides"), list):
                    offsets[rid] = len(base["overrides"])
                    new["overrides"] = list(base["overrides"]) + v
                else:
                    new[field] = v
            rules[rid] = new
        merged["rules"] = rules
    return merged, offsets


def default_rules_text() -> str:
    return resources.files("mifund.ledger").joinpath(DEFAULT_RULES_FILE).read_text(encoding="utf-8")


def default_rules_path() -> str:
    return str(resources.files("mifund.ledger").joinpath(DEFAULT_RULES_FILE))


def load_rules(path: str | Path | None = None) -> WarningRules:
    """The shipped default rules, with the user's YAML file (same schema) laid over them.

    Raises WarningRulesError (a ValueError) naming the file and the path of each bad key.
    """
    dfile = default_rules_path()
    defaults = _read_yaml(default_rules_text(), dfile)
    try:
        base = WarningRules.model_validate(defaults)
    except ValidationError as e:
        raise WarningRulesError(dfile, _problems(e)) from None
    if path is None:
        return base
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise WarningRulesError(str(p), [("", f"cannot read: {e.strerror or e}")]) from None
    user = _read_yaml(text, str(p))
    merged, offsets = _merge(defaults, user)
    try:
        return WarningRules.model_validate(merged)
    except ValidationError as e:
        raise WarningRulesError(str(p), _problems(e, offsets)) from None


def region_prefix(code: str) -> str:
    """The significant prefix of a GB/T 2260 code: 360000 -> '36', 360100 -> '3601', 000000 -> ''."""
    code = str(code)
    while code.endswith("00") and code:
        code = code[:-2]
    return code
