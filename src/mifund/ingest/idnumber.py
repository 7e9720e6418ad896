"""Citizen ID numbers (公民身份号码, GB 11643-1999): validation, keyed hashing, masking, and the key.

A raw ID number is personal data the warehouse never holds: the importer validates it here, replaces it
with `person_id = HMAC-SHA256(key, id)` and shows it only masked in messages. The key is what makes the
hash irreversible (an unkeyed hash of 18 mostly predictable digits could be brute-forced), so it lives
outside the warehouse: in MIFUND_ID_KEY or a 0600 key file beside the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# ISO 7064 MOD 11-2: weight of position i (0-based, 17 body digits) is 2**(17-i) mod 11
WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
CHECK_CHARS = "10X98765432"  # check character for (weighted sum mod 11) = 0..10
EARLIEST_BIRTH = dt.date(1850, 1, 1)

_SHAPE = r"^\d{17}[\dX]$"
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def normalise(value: str) -> str:
    return value.strip().upper()


def check_char(body17: str) -> str:
    """The check character for the first 17 digits."""
    s = sum(int(c) * int(w) for c, w in zip(body17, WEIGHTS, strict=True))
    return CHECK_CHARS[s % 11]


def _ascii_matrix(arr: pa.Array, width: int) -> np.ndarray:
    """The bytes of a string array whose values all have `width` ASCII characters, as an (n, width) matrix."""
    arr = arr.cast(pa.string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return data.reshape(-1, width)


def invalid_reasons(ids: pa.Array, today: dt.date | None = None) -> np.ndarray:
    """For each normalised, non-null ID: None when valid, else why not (numpy over the whole array)."""
    today = today or dt.date.today()
    out = np.full(len(ids), None, dtype=object)
    shaped = pc.match_substring_regex(ids, _SHAPE).to_numpy(zero_copy_only=False)
    out[~shaped] = "not an 18-character citizen ID number (17 digits and a check character 0-9 or X)"
    idx = np.flatnonzero(shaped)
    if not len(idx):
        return out
    raw = _ascii_matrix(pc.filter(ids, pa.array(shaped)), 18)
    digits = raw[:, :17].astype(np.int64) - ord("0")
    expected = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)[(digits @ WEIGHTS) % 11]
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10:12] @ np.array([10, 1])
    day = digits[:, 12:14] @ np.array([10, 1])
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    dim = _DAYS[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
    ymd = year * 10000 + month * 100 + day
    earliest = EARLIEST_BIRTH.year * 10000 + EARLIEST_BIRTH.month * 100 + EARLIEST_BIRTH.day
    latest = today.year * 10000 + today.month * 100 + today.day
    date_ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= dim) & (ymd >= earliest) & (ymd <= latest)
    check_ok = raw[:, 17] == expected
    out[idx[~date_ok]] = "birth date in positions 7-14 is not a valid date"
    out[idx[date_ok & ~check_ok]] = "check character does not match (ISO 7064 MOD 11-2)"
    return out


def hash_ids(key: bytes, ids: list[str]) -> list[str]:
    """person_id for each normalised ID: hex HMAC-SHA256 under the installation's key."""
    return [hmac.digest(key, s.encode("ascii"), hashlib.sha256).hex() for s in ids]


def mask(value: str | None) -> str | None:
    """1101**********123X: enough to find the record in the source, not enough to identify a person."""
    if value is None:
        return None
    s = value.strip()
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


# -- the key ---------------------------------------------------------------------------------------
def _decode_key(text: str) -> bytes:
    """Hex text (what the key file holds) decodes to bytes; any other text is used as UTF-8, so a
    key file's content pasted into MIFUND_ID_KEY gives the same hashes."""
    t = text.strip()
    if not t:
        raise ValueError("the ID-hash key is empty")
    if len(t) % 2 == 0 and re.fullmatch(r"[0-9a-fA-F]+", t):
        return bytes.fromhex(t)
    return t.encode("utf-8")


def load_or_create_id_key(settings) -> bytes:
    """MIFUND_ID_KEY wins; else the key file; else 32 random bytes, written (hex, mode 0600) to the
    key file and returned. Losing the key means new imports hash the same person differently."""
    if settings.id_key:
        return _decode_key(settings.id_key)
    path = Path(settings.key_file())
    if path.exists():
        return _decode_key(path.read_text(encoding="ascii"))
    key = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (key.hex() + "\n").encode("ascii"))
    finally:
        os.close(fd)
    os.chmod(path, 0o600)
    return key


# -- the key's fingerprint in the warehouse --------------------------------------------------------
# person_id values are comparable only when made with one key: a warehouse copied without its key file,
# or opened with another MIFUND_ID_KEY, would store the same person under a second person_id without a
# word. So the first import that hashes IDs records a fingerprint of the key (an HMAC of a fixed text:
# it says nothing of the key or of any ID) in table warehouse_meta (migration 0008), and every later one
# must bring a key with the same.
META_TABLE = "warehouse_meta"
FINGERPRINT_NAME = "id_key_fingerprint"
_FINGERPRINT_TEXT = b"mifund id-key fingerprint v1"


class IdKeyMismatch(ValueError):
    """The ID-hash key is not the one the warehouse's person_id values were made with."""


def key_fingerprint(key: bytes) -> str:
    return hmac.digest(key, _FINGERPRINT_TEXT, hashlib.sha256).hex()


def _meta_table(wh):
    """The warehouse's name/value settings table (migration 0008), or None in a warehouse opened read-only
    before that migration ran."""
    return wh.table(META_TABLE) if META_TABLE in wh.con.list_tables() else None


def recorded_fingerprint(wh) -> tuple[str, str | None, str | None] | None:
    """(fingerprint, when, by whom) recorded in the warehouse, or None."""
    t = _meta_table(wh)
    if t is None:
        return None
    df = wh.to_pandas(t.filter(t.name == FINGERPRINT_NAME).order_by(t.set_at.desc()).limit(1))
    if df.empty:
        return None
    r = df.iloc[0]
    return str(r.value), None if r.set_at is None else str(r.set_at)[:19], r.set_by


def check_id_key(wh, key: bytes, *, actor: str | None = None, record: bool = True) -> None:
    """Raise IdKeyMismatch when the warehouse records another key's fingerprint; record this key's when
    it records none (``record``; the caller's transaction makes that part of the import)."""
    mine = key_fingerprint(key)
    found = recorded_fingerprint(wh)
    if found is None:
        if record:
            import datetime as _dt

            import pandas as pd

            wh.append(META_TABLE, pd.DataFrame([{"name": FINGERPRINT_NAME, "value": mine,
                                                 "set_at": _dt.datetime.now(), "set_by": actor}]))
        return
    value, when, who = found
    if hmac.compare_digest(value, mine):
        return
    since = f" (recorded {when}" + (f" by {who}" if who else "") + ")" if when else ""
    raise IdKeyMismatch(
        "the ID-hash key is not the key this warehouse's person_id values were made with" + since + ": "
        "hashed with it, every person already here would be stored again under a new person_id. Use the "
        "warehouse's own key: its key file (<database>.idkey, kept beside the original database; copy it "
        "along with a copied warehouse) or the MIFUND_ID_KEY it was imported with")
