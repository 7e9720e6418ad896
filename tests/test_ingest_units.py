"""Import building blocks without a warehouse: citizen IDs, the key, value conversion, header matching."""

from __future__ import annotations

import datetime as dt
import os
import stat
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mifund import contract as C
from mifund.config import Settings
from mifund.ingest import idnumber, load_or_create_id_key
from mifund.ingest.convert import clean, enum_words, parse_amount, parse_date, parse_int
from mifund.ingest.headers import ID_NUMBER, map_headers, match_header

TODAY = dt.date(2025, 6, 1)


# -- citizen ID numbers ------------------------------------------------------------------------------
def reference_reason(s: str, today: dt.date = TODAY) -> str | None:
    """Slow, obviously correct GB 11643 validator, written straight from the standard."""
    if len(s) != 18 or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        return "shape"
    if not all("0" <= ch <= "9" for ch in s[:17]):
        return "shape"
    try:
        born = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return "date"
    if not (dt.date(1850, 1, 1) <= born <= today):
        return "date"
    total = sum(int(s[i]) * (2 ** (17 - i) % 11) for i in range(17))
    check = (12 - total % 11) % 11
    if s[17] != ("X" if check == 10 else str(check)):
        return "check"
    return None


def with_check(body17: str) -> str:
    total = sum(int(body17[i]) * (2 ** (17 - i) % 11) for i in range(17))
    check = (12 - total % 11) % 11
    return body17 + ("X" if check == 10 else str(check))


def kind(reason: str | None) -> str | None:
    if reason is None:
        return None
    return "shape" if "18-character" in reason else "date" if "birth date" in reason else "check"


digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
plausible_ids = st.builds(
    lambda region, y, m, d, seq, last: f"{region}{y:04d}{m:02d}{d:02d}{seq}{last}",
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.integers(1840, 2030),
    st.integers(0, 13),
    st.integers(0, 32),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
    st.sampled_from("0123456789X"),
)
odd_ids = st.text(alphabet="0123456789Xx -", min_size=0, max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(plausible_ids, plausible_ids.map(lambda s: with_check(s[:17])), odd_ids), max_size=30))
def test_id_validator_matches_reference(ids):
    got = idnumber.invalid_reasons(pa.array(ids, type=pa.string()), today=TODAY)
    assert [kind(r) for r in got] == [reference_reason(s) for s in ids]


def test_id_validator_known_cases():
    good = with_check("11010519491231002")
    assert good == "11010519491231002X"  # the standard's own example
    ids = [good, "110105194912310021", "110105194902300025", "11010519491231002", "1101051949123100XX"]
    reasons = idnumber.invalid_reasons(pa.array(ids), today=TODAY)
    assert [kind(r) for r in reasons] == [None, "check", "date", "shape", "shape"]


def test_hash_is_keyed_and_stable():
    a = idnumber.hash_ids(b"key-one", ["11010519491231002X"])[0]
    assert a == idnumber.hash_ids(b"key-one", ["11010519491231002X"])[0]
    assert a != idnumber.hash_ids(b"key-two", ["11010519491231002X"])[0]
    assert len(a) == 64 and int(a, 16) >= 0


def test_mask_hides_the_middle():
    assert idnumber.mask("11010519491231002X") == "1101**********002X"


def test_key_file_created_0600_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("MIFUND_ID_KEY", raising=False)
    monkeypatch.delenv("MIFUND_ID_KEY_FILE", raising=False)
    s = Settings(db=tmp_path / "w.duckdb")
    key = load_or_create_id_key(s)
    path = tmp_path / "w.duckdb.idkey"
    assert len(key) == 32 and path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_id_key(s) == key  # read back, not regenerated
    # the file's text pasted into MIFUND_ID_KEY gives the same key
    assert load_or_create_id_key(Settings(db=tmp_path / "w.duckdb", id_key=path.read_text())) == key


def test_env_key_wins(tmp_path):
    s = Settings(db=tmp_path / "w.duckdb", id_key="a secret phrase")
    assert load_or_create_id_key(s) == b"a secret phrase"
    assert not (tmp_path / "w.duckdb.idkey").exists()


# -- values --------------------------------------------------------------------------------------------
AMOUNT = C.FUND_LEDGER.column("income_total")


def amounts(texts, unit_exp=0):
    values, problems = parse_amount(clean(pa.array(texts, type=pa.string())), AMOUNT, unit_exp)
    bad = np.zeros(len(texts), dtype=bool)
    for p in problems:
        bad |= p.mask
    return values.to_pylist(), bad.tolist()


def test_amount_separators_and_units_exact():
    vals, bad = amounts(["1,234,567.89", "1，234.5", "¥1,000", " 12 345.67 ", "-0.01", "0.010", "", ".5"])
    assert vals == [Decimal("1234567.89"), Decimal("1234.50"), Decimal("1000.00"), Decimal("12345.67"),
                    Decimal("-0.01"), Decimal("0.01"), None, Decimal("0.50")]
    assert not any(bad)
    assert amounts(["1,234.56"], 4)[0] == [Decimal("12345600.00")]
    assert amounts(["1,234.56"], 8)[0] == [Decimal("123456000000.00")]
    assert amounts(["0.00000001", "0.000000005", "3.1415926536"], 8)[0] == [
        Decimal("1.00"), Decimal("0.50"), Decimal("314159265.36")]


def test_amount_finer_than_the_fen_is_refused_not_rounded():
    """The contract keeps amounts to the fen: a third decimal in yuan is an error naming the cell, never
    rounded away (1234.567 used to become 1234.57 without a word). In 万元 the fen is the 6th decimal."""
    vals, bad = amounts(["1234.567", "-0.005", "12.500", "1234.5600"])
    assert bad == [True, True, False, False] and vals == [None, None, Decimal("12.50"), Decimal("1234.56")]
    _, problems = parse_amount(clean(pa.array(["1234.567"])), AMOUNT, 0)
    assert any(p.mask[0] and "more than 2 decimals" in p.reason for p in problems)
    assert amounts(["1.234567", "1.2345678"], 4) == ([Decimal("12345.67"), None], [False, True])
    assert amounts(["1.0000000001", "1.00000000001"], 8) == ([Decimal("100000000.01"), None], [False, True])


def test_amount_rejects_bad_text():
    vals, bad = amounts(["1,23", "12a", "1.5E+11", "1..2", "99999999999999999", "1,234,56"])
    assert bad == [True] * 6 and vals == [None] * 6


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-10**11, max_value=10**11, places=6, allow_nan=False), st.sampled_from([0, 4]),
       st.booleans())
def test_amount_parsing_is_exact(value, unit_exp, grouped):
    text = f"{value:,f}" if grouped else f"{value:f}"
    (got,), (bad,) = amounts([text], unit_exp)
    exact = value * 10**unit_exp
    if exact != exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):  # finer than the fen: refused
        assert bad and got is None
    elif abs(exact) < Decimal("1e16"):
        assert got == exact and not bad


def test_int_and_code6_and_date():
    vals, _ = parse_int(clean(pa.array(["1,412,120,000", "12.0", "x"])), C.POPULATION.column("persons"), 0)
    assert vals.to_pylist() == [1412120000, 12, None]
    d, problems = parse_date(clean(pa.array(["2021-03-05", "2021/3/5", "20210305", "2021-02-30", "2021-03-05 00:00:00"])),
                             C.CLAIMS.column("admit_date"), 0)
    assert d.to_pylist() == [dt.date(2021, 3, 5)] * 3 + [None, dt.date(2021, 3, 5)]
    assert problems[0].mask.tolist() == [False, False, False, True, False]


def test_enum_accepts_codes_aliases_and_labels():
    words = enum_words(C.FUND_LEDGER.column("scheme"))
    for text in ("employee", "Employee", "职工医保", "employee 职工医保", "employee（职工医保）", "城乡居民医保"):
        key = text.lower().replace(" ", "").replace("（", "(").replace("）", ")")
        assert key in words, text


# -- headers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", ["insured", "INSURED", " insured ", "参保人数", "参保人数（insured）",
                                    "参保人数(insured)", "参保人数 insured", "在册人数（insured）",
                                    "*参保人数（insured）", "ＩＮＳＵＲＥＤ"])
def test_header_forms(header):
    assert match_header(header, C.FUND_LEDGER) == "insured"


def test_header_map_missing_extra_and_id_number():
    hm = map_headers(["公民身份号码", "年度", "备注", "参保地行政区划代码（region_code）"], C.ENROLLMENT)
    assert hm.positions[ID_NUMBER] == 0 and hm.positions["region_code"] == 3
    assert hm.extra == ["备注"]
    assert "person_id" not in hm.missing and set(hm.missing) == {"scheme", "category", "sex", "birth_date"}
    both = map_headers(["person_id", "id_number"], C.CLAIMS)
    assert both.clashes
