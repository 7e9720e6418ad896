"""Text columns to the contract's types, vectorised with pyarrow, with a reason for every bad cell.

Amounts are parsed exactly: the text is split into sign, integer and fraction digits, the decimal point is
moved by the unit (万元 = 4 places, 亿元 = 8) as text, and only then cast to a decimal. An amount finer than
the fen (more than 2 decimals in yuan, 6 in 万元, 10 in 亿元) is refused, not rounded in silence. No amount
passes through a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mifund import contract as C
from mifund.ingest import idnumber
from mifund.ingest.headers import ID_NUMBER, HeaderMap, norm
from mifund.ingest.readers import Chunk
from mifund.ingest.report import ImportIssue

UNITS = {"yuan": 0, "元": 0, "wan": 4, "万元": 4, "万": 4, "yi": 8, "亿元": 8, "亿": 8}
AMOUNT_TYPE = pa.decimal128(18, 2)
_WORK = 12  # fraction digits kept while scaling, before rounding to 2 (enough for exact half-up rounding)
_WORK_TYPE = pa.decimal128(38, _WORK)
TRUE_WORDS = ("true", "1", "yes", "y", "t", "是", "真", "对")
FALSE_WORDS = ("false", "0", "no", "n", "f", "否", "假", "错")
EARLIEST_DATE, LATEST_DATE = "1850-01-01", "2200-12-31"

_THOUSANDS = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
_INT_RE = rf"^[+-]?{_THOUSANDS}(?:\.0*)?$"
_DECIMAL_RE = rf"^[+-]?(?:{_THOUSANDS}(?:\.\d*)?|\.\d+)$"
_NUMBER_RE = rf"^[+-]?(?:{_THOUSANDS}(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_EXPONENT_RE = r"^[+-]?[\d.,]+[eE][+-]?\d+$"
_DATE_RE = r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"


def unit_exponent(unit: str) -> int:
    try:
        return UNITS[unit.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown unit {unit!r}: use yuan, wan (万元) or yi (亿元)") from None


@dataclass
class Problem:
    """Cells of one column that fail for one reason."""

    mask: np.ndarray  # bool, per row of the chunk
    reason: str


# -- cleaning --------------------------------------------------------------------------------------
def clean(raw: pa.Array) -> pa.Array:
    """Trimmed text; empty cells become null."""
    t = pc.utf8_trim(pc.utf8_trim_whitespace(raw), "\ufeff")
    return pc.if_else(pc.equal(t, ""), pa.scalar(None, pa.string()), t)


def _numeric_text(t: pa.Array, *, money: bool = False) -> pa.Array:
    """Full-width digits and commas to ASCII, inner spaces and (for money) currency signs removed."""
    t = pc.utf8_normalize(t, form="NFKC")
    t = pc.replace_substring_regex(t, r"\s+", "")
    if money:
        t = pc.replace_substring_regex(t, r"^([+-]?)[¥$]|元$", r"\1")
    return t


def _np(mask: pa.Array) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _bad(t: pa.Array, ok: pa.Array) -> np.ndarray:
    """Present but not ok."""
    return _np(pc.and_(pc.is_valid(t), pc.invert(pc.fill_null(ok, False))))


def _null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    if not mask.any():
        return values
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


# -- parsers: text -> (typed values, problems) -----------------------------------------------------
def parse_code6(t: pa.Array, col: C.Column, unit_exp: int):
    # a drop-down label "110000 北京市" (the ledger template's) carries the code before the first space
    s = _numeric_text(pc.replace_substring_regex(t, r"^(\d{6})\s+\S.*$", r"\1"))
    s = pc.replace_substring_regex(s, r"\.0+$", "")  # 360100.0: a code Excel or a float column wrote
    # six digits, nothing else: 3601 is not 003601 (no GB/T 2260 code starts with 00 but the country's,
    # 000000, which a number cell shows as 0 and is the one short form taken)
    s = pc.replace_substring_regex(s, r"^0+$", "000000")
    ok = pc.match_substring_regex(s, r"^\d{6}$")
    bad = _bad(t, ok)
    return _null_where(s, bad), [Problem(bad, "not a 6-digit administrative division code (GB/T 2260)")]


def parse_str(t: pa.Array, col: C.Column, unit_exp: int):
    if col.pattern is None:
        return t, []
    if col.name == "age_band":
        t = _age_band_text(t)
    bad = _bad(t, pc.match_substring_regex(t, col.pattern))
    if col.name == "age_band":  # 10-4 is no band
        parts = pc.extract_regex(_null_where(t, bad), r"^(?P<lo>\d+)-(?P<hi>\d+)$")
        lo, hi = (pc.cast(pc.struct_field(parts, k), pa.int64()) for k in ("lo", "hi"))
        bad |= _np(pc.greater(lo, hi))
    return _null_where(t, bad), [Problem(bad, f"not {col.pattern_hint or 'in the expected form'}")]


def _age_band_text(t: pa.Array) -> pa.Array:
    """The spellings of a band that mean the same band, as the contract writes it: 5-9岁, 5～9, 05-09 and
    5 - 9 are 5-9; 85岁及以上 and 85以上 are 85+."""
    t = pc.replace_substring_regex(pc.utf8_normalize(t, form="NFKC"), r"\s+", "")
    t = pc.replace_substring_regex(t, r"岁?(?:及以上|以上)$", "+")
    t = pc.replace_substring_regex(t, r"[~—–至]", "-")
    t = pc.replace_substring_regex(t, r"岁", "")
    return pc.replace_substring_regex(t, r"(^|-)0+(\d)", r"\1\2")


def parse_int(t: pa.Array, col: C.Column, unit_exp: int):
    s = _numeric_text(t)
    ok = pc.match_substring_regex(s, _INT_RE)
    digits = pc.replace_substring_regex(pc.replace_substring(s, ",", ""), r"\.0*$", "")
    long = _np(pc.greater(pc.utf8_length(pc.replace_substring_regex(digits, r"^[+-]?0*", "")), 18))
    bad = _bad(t, ok)
    too_big = long & ~bad
    v = pc.cast(_null_where(digits, bad | too_big), pa.int64())
    return v, [Problem(bad, "not a whole number"), Problem(too_big, "number too large")]


def parse_number(t: pa.Array, col: C.Column, unit_exp: int):
    s = _numeric_text(t)
    ok = pc.match_substring_regex(s, _NUMBER_RE)
    bad = _bad(t, ok)
    v = pc.cast(_null_where(pc.replace_substring(s, ",", ""), bad), pa.float64())
    inf = _np(pc.invert(pc.is_finite(v)))
    return _null_where(v, inf), [Problem(bad, "not a number"), Problem(inf & ~bad, "number too large")]


def parse_amount(t: pa.Array, col: C.Column, unit_exp: int):
    s = _numeric_text(t, money=True)
    ok = pc.match_substring_regex(s, _DECIMAL_RE)
    expo = _bad(t, ok) & _np(pc.match_substring_regex(s, _EXPONENT_RE))
    bad = _bad(t, ok) & ~expo
    parts = pc.extract_regex(
        pc.replace_substring(_null_where(s, bad | expo), ",", ""),
        r"^(?P<sign>[+-]?)0*(?P<int>\d*)(?:\.(?P<frac>\d*))?$",
    )
    sign, whole, frac = (pc.struct_field(parts, k) for k in ("sign", "int", "frac"))
    # the contract keeps amounts to the fen: 2 decimals in yuan (6 in 万元, 10 in 亿元); more digits are
    # refused, never rounded away in silence (trailing zeros are no digits: 12.500 is 12.50)
    places = 2 + unit_exp
    fine = _np(pc.greater(pc.utf8_length(pc.replace_substring_regex(frac, r"0+$", "")), places))
    # an amount has at most 16 integer digits in yuan (DECIMAL(18,2)); more cannot be stored
    too_long = _np(pc.greater(pc.add(pc.utf8_length(whole), unit_exp), 16))
    width = unit_exp + _WORK
    frac = pc.utf8_slice_codeunits(pc.utf8_rpad(frac, width=width, padding="0"), 0, width)
    whole = pc.binary_join_element_wise(whole, pc.utf8_slice_codeunits(frac, 0, unit_exp), "")
    text = pc.binary_join_element_wise(sign, whole, ".", pc.utf8_slice_codeunits(frac, unit_exp, width), "")
    text = pc.if_else(pa.array(too_long), pa.scalar(None, pa.string()), text)
    v = pc.round(pc.cast(text, _WORK_TYPE), ndigits=2, round_mode="half_towards_infinity")
    over = too_long & ~bad & ~expo
    over |= _np(pc.greater_equal(pc.abs(v), pa.scalar(Decimal("1e16"), _WORK_TYPE)))
    fine &= ~over
    v = pc.cast(_null_where(v, over | fine), AMOUNT_TYPE)
    unit = {0: "yuan", 4: "万元", 8: "亿元"}.get(unit_exp, f"units of 10^{unit_exp} yuan")
    return v, [
        Problem(bad, "not an amount"),
        Problem(fine, f"more than {places} decimals: amounts are kept to the fen (0.01 yuan), at most "
                      f"{places} decimals in {unit}; round the figure in the file"),
        Problem(
            expo,
            "amount in exponent notation (Excel writes long numbers so and drops digits); "
            "format the column as a number and save again",
        ),
        Problem(over, "amount too large for the warehouse (at most 16 integer digits in yuan)"),
    ]


def parse_date(t: pa.Array, col: C.Column, unit_exp: int):
    s = pc.utf8_normalize(t, form="NFKC")
    s = pc.replace_substring_regex(s, r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3")
    parts = pc.extract_regex(s, _DATE_RE)
    y, m, d = (pc.struct_field(parts, k) for k in ("y", "m", "d"))
    iso = pc.binary_join_element_wise(
        y, pc.utf8_lpad(m, width=2, padding="0"), pc.utf8_lpad(d, width=2, padding="0"), "-"
    )
    ts = pc.strptime(iso, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2021-02-30 over to March; a round trip catches impossible dates
    ok = pc.and_(
        pc.equal(pc.strftime(ts, format="%Y-%m-%d"), iso),
        pc.and_(pc.greater_equal(iso, EARLIEST_DATE), pc.less_equal(iso, LATEST_DATE)),
    )
    bad = _bad(t, ok)
    v = _null_where(pc.cast(ts, pa.date32()), bad)
    return v, [Problem(bad, "not a date (YYYY-MM-DD)")]


def _words(pairs: dict[str, object]) -> tuple[pa.Array, pa.Array]:
    return pa.array(list(pairs)), pa.array(list(pairs.values()))


def parse_bool(t: pa.Array, col: C.Column, unit_exp: int):
    keys, vals = _words({**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}})
    idx = pc.index_in(pc.utf8_lower(pc.utf8_normalize(t, form="NFKC")), value_set=keys)
    bad = _bad(t, pc.is_valid(idx))
    return pc.take(vals, idx), [Problem(bad, "not true/false (accepted: true false 1 0 yes no 是 否 Y N)")]


def enum_words(col: C.Column) -> dict[str, str]:
    """Every accepted spelling (normalised) -> code: the code, each Chinese alias, 'code alias' labels."""
    out: dict[str, str] = {}
    for code, aliases in col.values.items():
        out.setdefault(norm(code), code)
        for a in aliases:
            for form in (a, f"{code} {a}", f"{code}({a})", f"{a}({code})"):
                out.setdefault(norm(form), code)
    return out


def parse_enum(t: pa.Array, col: C.Column, unit_exp: int):
    keys, vals = _words(enum_words(col))
    low = pc.utf8_lower(pc.utf8_normalize(t, form="NFKC"))
    idx = pc.index_in(pc.replace_substring_regex(low, r"[\s_\-]+", ""), value_set=keys)
    # a label "employee 职工医保" with a Chinese part we do not know still names its code first
    first = pc.replace_substring_regex(pc.replace_substring_regex(low, r"\s.*$", ""), r"[_\-]+", "")
    idx = pc.coalesce(idx, pc.index_in(first, value_set=keys))
    bad = _bad(t, pc.is_valid(idx))
    allowed = ", ".join(col.label(c) for c in col.values)
    return pc.take(vals, idx), [Problem(bad, f"not one of: {allowed}")]


PARSERS = {
    C.CODE6: parse_code6,
    C.STR: parse_str,
    C.INT: parse_int,
    C.NUMBER: parse_number,
    C.AMOUNT: parse_amount,
    C.DATE: parse_date,
    C.BOOL: parse_bool,
    C.ENUM: parse_enum,
}
ARROW_TYPES = {
    C.CODE6: pa.string(),
    C.STR: pa.string(),
    C.INT: pa.int64(),
    C.NUMBER: pa.float64(),
    C.AMOUNT: AMOUNT_TYPE,
    C.DATE: pa.date32(),
    C.BOOL: pa.bool_(),
    C.ENUM: pa.string(),
}


def parse(t: pa.Array, col: C.Column, unit_exp: int):
    """PARSERS[col.type], run on the distinct values only when they are few (dates, codes and enums
    repeat a lot in claims files), then spread back to the rows."""
    parser = PARSERS[col.type]
    if col.type == C.STR or len(t) < 1000:
        return parser(t, col, unit_exp)
    d = pc.dictionary_encode(t)
    if len(d.dictionary) * 4 > len(t):
        return parser(t, col, unit_exp)
    values, problems = parser(d.dictionary, col, unit_exp)
    return pc.take(values, d.indices), [Problem(_np(pc.take(pa.array(p.mask), d.indices)), p.reason) for p in problems]


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,}"


def range_problems(v: pa.Array, col: C.Column) -> list[Problem]:
    out = []
    if col.type not in (C.INT, C.NUMBER, C.AMOUNT):
        return out
    for bound, fn, word in ((col.min, pc.less, "at least"), (col.max, pc.greater, "at most")):
        if bound is None:
            continue
        scalar = pa.scalar(Decimal(str(bound)), pa.decimal128(38, 2)) if col.type == C.AMOUNT else bound
        if col.type == C.AMOUNT and abs(bound) >= 1e16:
            continue  # the parser already refuses what DECIMAL(18,2) cannot hold
        out.append(Problem(_np(fn(v, scalar)), f"must be {word} {_fmt(bound)}"))
    return out


# -- a whole chunk ---------------------------------------------------------------------------------
@dataclass
class Converted:
    data: pa.Table  # typed columns the file provides or that have defaults, plus _row
    issues: list[ImportIssue]
    found: int  # issues found (more than len(issues) when `room` ran out)


class _Collector:
    def __init__(self, file: str, rows: np.ndarray, room: int):
        self.file, self.rows, self.room = file, rows, room
        self.issues: list[ImportIssue] = []
        self.found = 0

    def add(self, mask: np.ndarray, column: str, reason: str, raw: pa.Array | None, hide=None) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        self.found += len(idx)
        take = idx[: max(self.room - len(self.issues), 0)]
        if not len(take):
            return
        values = raw.take(pa.array(take)).to_pylist() if raw is not None else [None] * len(take)
        for r, v in zip(self.rows[take].tolist(), values, strict=True):
            if v is not None and not v.strip():
                v = None
            elif v is not None:
                v = hide(v) if hide else (v if len(v) <= 80 else v[:77] + "...")
            self.issues.append(ImportIssue(self.file, r, column, reason, v))


def convert_chunk(
    table: C.Table, chunk: Chunk, hm: HeaderMap, *, file: str, unit_exp: int, id_key: bytes, room: int
) -> Converted:
    n = len(chunk.rows)
    log = _Collector(file, chunk.rows, room)
    out: dict[str, pa.Array] = {}
    id_facts: dict[str, pa.Array] = {}
    for col in table.columns:
        pos = hm.positions.get(col.name)
        if pos is None:
            if col.name == "person_id" and ID_NUMBER in hm.positions:
                raw = chunk.columns[hm.positions[ID_NUMBER]]
                out["person_id"], id_facts = _hash_ids(raw, log, id_key)
            elif col.default is not None:
                out[col.name] = pa.repeat(pa.scalar(col.default, ARROW_TYPES[col.type]), n)
            continue
        raw = chunk.columns[pos]
        text = clean(raw)
        values, problems = parse(text, col, unit_exp if col.type == C.AMOUNT else 0)
        if col.required:
            problems.append(Problem(_np(pc.is_null(text)), "required value missing"))
        problems += range_problems(values, col)
        for p in problems:
            log.add(p.mask, col.name, p.reason, raw)
        if col.name == "person_id":
            _refuse_raw_ids(text, log)
        if col.default is not None:
            values = pc.fill_null(values, pa.scalar(col.default, ARROW_TYPES[col.type]))
        out[col.name] = values.cast(ARROW_TYPES[col.type])
    if table.name == "claims":
        _fill_policy_scope(out)
    _check_against_id(out, id_facts, chunk, hm, log)
    out["_row"] = pa.array(chunk.rows, type=pa.int64())
    return Converted(pa.table(out), log.issues, log.found)


def _refuse_raw_ids(text: pa.Array, log: _Collector) -> None:
    """A person_id that is a valid citizen ID number would be stored raw (and the same person hashed to
    another person_id wherever the ID came under its own header): refused, shown masked, with the way to
    give it so it is hashed. Only a value passing every test of a real ID (shape, birth date, check
    character) is taken for one: an internal person number seldom does."""
    d = pc.dictionary_encode(pc.utf8_upper(pc.utf8_normalize(text, form="NFKC")))  # each distinct value once
    distinct = np.equal(idnumber.invalid_reasons(d.dictionary.drop_null()), None)
    if not distinct.any():
        return
    looks = _np(pc.fill_null(pc.take(pa.array(distinct), d.indices), False))
    log.add(looks, "person_id", f"a citizen ID number (公民身份号码) is never stored: give it under the header "
            f"{ID_NUMBER} (or 公民身份号码) and it is replaced by its keyed hash", text, hide=idnumber.mask)


def _hash_ids(raw: pa.Array, log: _Collector, id_key: bytes) -> tuple[pa.Array, dict[str, pa.Array]]:
    """Validate raw citizen IDs and return their keyed hashes; bad ones are logged masked, never raw.
    Also returns what a valid ID says of its holder: ``birth_date`` (positions 7-14) and ``sex`` (the
    17th digit: odd = M, even = F), NULL where the ID is missing or invalid.

    Each distinct ID is validated and hashed once (a person has many claims)."""
    text = pc.utf8_upper(pc.utf8_normalize(clean(raw), form="NFKC"))
    missing = _np(pc.is_null(text))
    log.add(missing, ID_NUMBER, "required value missing", None)
    d = pc.dictionary_encode(text)
    ids = d.dictionary
    reasons = idnumber.invalid_reasons(ids)
    for reason in sorted({r for r in reasons if r is not None}):
        rows = _np(pc.take(pa.array(reasons == reason), d.indices))
        log.add(rows, ID_NUMBER, reason, raw, hide=idnumber.mask)
    ok = np.equal(reasons, None)
    hashed = np.full(len(ids), None, dtype=object)
    hashed[ok] = idnumber.hash_ids(id_key, pc.filter(ids, pa.array(ok)).to_pylist())
    valid = pc.filter(ids, pa.array(ok))
    born = np.full(len(ids), None, dtype=object)
    sex = np.full(len(ids), None, dtype=object)
    if len(valid):
        ymd = pc.strptime(pc.utf8_slice_codeunits(valid, 6, 14), format="%Y%m%d", unit="s")
        born[ok] = ymd.cast(pa.date32()).to_pylist()
        odd = pc.equal(pc.bit_wise_and(pc.utf8_slice_codeunits(valid, 16, 17).cast(pa.int8()), 1), 1)
        sex[ok] = pc.if_else(odd, "M", "F").to_pylist()
    facts = {"birth_date": pc.take(pa.array(born, type=pa.date32()), d.indices),
             "sex": pc.take(pa.array(sex, type=pa.string()), d.indices)}
    return pc.take(pa.array(hashed, type=pa.string()), d.indices), facts


def _check_against_id(out: dict[str, pa.Array], facts: dict[str, pa.Array], chunk: Chunk, hm: HeaderMap,
                      log: _Collector) -> None:
    """A row's birth_date and sex must agree with its citizen ID number (a row pasted beside the wrong
    person's ID would otherwise be stored under that person). The message never shows the ID."""
    for col, where in (("birth_date", "its birth date (positions 7-14)"),
                       ("sex", "its sex (17th digit: odd = M, even = F)")):
        if col not in facts or col not in out or col not in hm.positions:
            continue
        differs = _np(pc.not_equal(out[col], facts[col].cast(out[col].type)))
        log.add(differs, col, f"does not match the row's citizen ID number ({where})",
                chunk.columns[hm.positions[col]])


def _fill_policy_scope(out: dict[str, pa.Array]) -> None:
    """policy_scope_amount = total - self_pay - copay_first where the file leaves it out."""
    parts = [out.get(k) for k in ("total_amount", "self_pay_amount", "copay_first_amount")]
    if any(p is None for p in parts):
        return
    derived = pc.subtract(pc.subtract(parts[0], parts[1]), parts[2])
    # negative (or, from negative parts, too large to store: those parts are errors already): no figure
    unfit = pc.or_(pc.less(derived, 0), pc.greater_equal(derived, pa.scalar(Decimal("1e16"), derived.type)))
    derived = pc.if_else(unfit, pa.scalar(None, derived.type), derived).cast(AMOUNT_TYPE)
    given = out.get("policy_scope_amount")
    out["policy_scope_amount"] = derived if given is None else pc.coalesce(given, derived)
