"""Readers: CSV, Excel and Parquet files as a header plus chunks of text columns.

Every cell is read as text, whatever its type in the file, so that the converter can say which row and
column a bad value is in (a typed reader would fail on the first bad cell, or guess types). Each chunk
carries the row numbers the user sees: CSV line number (header = 1), the Excel row number, or the 1-based
record index in a Parquet file. Wholly empty rows (Excel leaves them) are dropped here.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CHUNK_ROWS = 200_000  # rows per chunk; tests lower it to exercise chunk boundaries
CSV_EXTS = {".csv"}
EXCEL_EXTS = {".xlsx", ".xlsm", ".xls"}
PARQUET_EXTS = {".parquet", ".pq"}
DATA_EXTS = CSV_EXTS | EXCEL_EXTS | PARQUET_EXTS  # what a directory import picks up
SNIFF_BLOCK = 1 << 20


class ReadError(Exception):
    """The file cannot be read at all (not a value problem); the message is for the user."""

    def __init__(self, message: str, row: int | None = None):
        super().__init__(message)
        self.row = row


@dataclass
class Chunk:
    rows: np.ndarray  # int64 row numbers as the user sees them
    columns: list[pa.Array]  # one string array per header position


class Source:
    header: list[str]
    header_row: int | None = 1  # where the header is, for messages about it
    total_rows: int | None = None  # when known up front (for the progress bar)
    encoding: str | None = None

    def chunks(self, size: int) -> Iterator[Chunk]:
        raise NotImplementedError


def open_source(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> Source:
    ext = path.suffix.lower()
    if ext in CSV_EXTS:
        return CsvSource(path, encoding)
    if ext in EXCEL_EXTS:
        return ExcelSource(path, sheet)
    if ext in PARQUET_EXTS:
        return ParquetSource(path)
    raise ReadError(f"unsupported file type {ext!r} (use .csv, .xlsx, .xls or .parquet)")


def _drop_blank(rows: np.ndarray, cols: list[pa.Array]) -> Chunk:
    if not cols or not len(rows):
        return Chunk(rows, cols)
    blank = None
    for c in cols:
        b = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(c), ""), True)
        blank = b if blank is None else pc.and_(blank, b)
    if not pc.any(blank).as_py():
        return Chunk(rows, cols)
    keep = pc.invert(blank)
    return Chunk(rows[keep.to_numpy(zero_copy_only=False)], [pc.filter(c, keep) for c in cols])


# -- CSV -------------------------------------------------------------------------------------------
def detect_encoding(path: Path) -> str:
    """utf-8-sig when the whole file decodes as UTF-8 (BOM or not), else gb18030 when that decodes.

    The whole file is decoded (in blocks, in C) because a GB18030 file can start with an ASCII header and
    reveal itself only at the first Chinese value; a later decode failure would come mid-import.
    """
    for enc in ("utf-8-sig", "gb18030"):
        dec = codecs.getincrementaldecoder(enc)()
        try:
            with open(path, "rb") as f:
                while block := f.read(SNIFF_BLOCK):
                    dec.decode(block)
                dec.decode(b"", final=True)
            return enc
        except UnicodeDecodeError:
            continue
    raise ReadError("the file is neither UTF-8 nor GB18030 text; give its encoding (--encoding)")


class CsvSource(Source):
    """pandas' C parser in chunks, every column as str. (pyarrow's CSV reader is faster but skips blank
    lines without telling, which would shift every later row number.) A value spanning lines inside
    quotes shifts the numbering of the rows after it by those extra lines."""

    def __init__(self, path: Path, encoding: str | None):
        self.path = path
        if encoding:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ReadError(f"unknown encoding {encoding!r}") from None
            self.encoding = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
        else:
            self.encoding = detect_encoding(path)
        try:
            with open(path, encoding=self.encoding, newline="") as f:
                lines = csv.reader(f)
                self.header = next(lines, [])
                first = next(lines, [])
        except UnicodeDecodeError:
            raise ReadError(f"the header is not {self.encoding} text") from None
        except csv.Error:  # a malformed first data row: pandas names its line below
            first = []
        if not any(h.strip() for h in self.header):
            raise ReadError("the file is empty or has no header row")
        self._first_values = len(first)

    def chunks(self, size: int) -> Iterator[Chunk]:
        n = len(self.header)
        # pandas cuts a first data row longer than the header short without a word (later rows are an
        # error): "1,2,000,000.00" read as 1 and 2 would import a wrong amount
        if self._first_values > n:
            raise ReadError(_too_many(self._first_values, n), row=2)
        reader = pd.read_csv(
            self.path,
            encoding=self.encoding,
            header=None,
            skiprows=1,
            names=list(range(n)),
            index_col=False,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            chunksize=size,
            engine="c",
        )
        start = 2
        try:
            for df in reader:
                rows = np.arange(start, start + len(df), dtype=np.int64)
                start += len(df)
                t = pa.Table.from_pandas(df, preserve_index=False)
                cols = [t.column(i).combine_chunks().cast(pa.string()) for i in range(n)]
                yield _drop_blank(rows, cols)
        except UnicodeDecodeError:
            raise ReadError(f"not {self.encoding} text after line {start - 1}; give the right --encoding",
                            row=start) from None
        except pd.errors.ParserError as e:
            msg = str(e).removeprefix("Error tokenizing data. C error: ")
            line = re.search(r"line (\d+)", msg)
            extra = re.search(r"Expected (\d+) fields in line \d+, saw (\d+)", msg)
            if extra:
                raise ReadError(_too_many(int(extra[2]), int(extra[1])), row=int(line[1])) from None
            raise ReadError(f"malformed CSV: {msg}", row=int(line[1]) if line else None) from None


def _too_many(values: int, columns: int) -> str:
    return (f"{values} values, the header has {columns} columns (an unquoted comma inside a value, "
            'e.g. 2,000,000.00? Quote it: "2,000,000.00")')


# -- Excel -----------------------------------------------------------------------------------------
def cell_text(v) -> str:
    """An Excel cell as the text a user would type: 110000 not 110000.0, dates as YYYY-MM-DD."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e17:
            return str(int(v))
        return float_text(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if v is None:
        return ""
    return str(v)


HEADER_SEARCH_ROWS = 5  # rows below the first non-empty one where the header may be (under a title)


class ExcelSource(Source):
    """The header is the first non-empty row, unless the importer finds the table's header a few rows
    below it (``header_candidates`` / ``use_header``): a workbook often carries a title row such as
    "2024年基金收支台账" or a unit line above the header."""

    def __init__(self, path: Path, sheet: str | None):
        from python_calamine import CalamineWorkbook

        try:
            wb = CalamineWorkbook.from_path(str(path))
        except Exception as e:  # calamine raises its own error types for corrupt files
            raise ReadError(f"cannot open the workbook: {e}") from None
        if sheet is not None and sheet not in wb.sheet_names:
            raise ReadError(f"no sheet {sheet!r} (sheets: {', '.join(wb.sheet_names)})")
        ws = wb.get_sheet_by_name(sheet) if sheet is not None else wb.get_sheet_by_index(0)
        it = ws.iter_rows()  # from Excel row 1, columns from the first used one
        self._excel_row = 0
        self.header = []
        for r in it:
            self._excel_row += 1
            if any(cell_text(v).strip() for v in r):
                self.header = [cell_text(v).strip() for v in r]
                break
        if not self.header:
            raise ReadError("the sheet is empty")
        self.header_row = self._excel_row
        self._height = ws.total_height
        self.total_rows = max(self._height - self._excel_row, 0)
        self._ahead = list(itertools.islice(it, HEADER_SEARCH_ROWS))  # the rows just below the header
        self._it = it
        self._rows = itertools.chain(self._ahead, it)

    def header_candidates(self) -> list[tuple[int, list[str]]]:
        """(Excel row, cells as text) of the non-empty rows just below the first one."""
        out = []
        for i, r in enumerate(self._ahead):
            cells = [cell_text(v).strip() for v in r]
            if any(cells):
                out.append((self.header_row + 1 + i, cells))
        return out

    def use_header(self, row: int) -> None:
        """Take Excel row `row` (one of header_candidates) as the header; the rows above it are ignored."""
        i = row - self.header_row - 1
        self.header = [cell_text(v).strip() for v in self._ahead[i]]
        self.header_row = self._excel_row = row
        self._ahead = self._ahead[i + 1 :]
        self._rows = itertools.chain(self._ahead, self._it)
        self.total_rows = max(self._height - row, 0)

    def chunks(self, size: int) -> Iterator[Chunk]:
        n = len(self.header)
        while True:
            batch = []
            for r in self._rows:
                batch.append(r)
                if len(batch) >= size:
                    break
            if not batch:
                return
            rows = np.arange(self._excel_row + 1, self._excel_row + 1 + len(batch), dtype=np.int64)
            self._excel_row += len(batch)
            cols = [
                pa.array([cell_text(r[i]) if i < len(r) else "" for r in batch], type=pa.string())
                for i in range(n)
            ]
            yield _drop_blank(rows, cols)


# -- Parquet ---------------------------------------------------------------------------------------
def arrow_text(a: pa.Array) -> pa.Array:
    """A typed Arrow column as text the converter parses (no exponent notation, dates as YYYY-MM-DD)."""
    t = a.type
    if pa.types.is_dictionary(t):
        return arrow_text(a.dictionary_decode())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return a.cast(pa.string())
    if pa.types.is_floating(t):
        return _float_text(a)
    if pa.types.is_timestamp(t):
        return a.cast(pa.date32()).cast(pa.string())
    if pa.types.is_boolean(t):
        return pc.if_else(a, "true", "false")
    try:
        return a.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ReadError(f"a column of type {t} cannot be read as text") from None


# A float read from a file is binary: 1234.56 typed in Excel may come back as 1234.5600000000002 after a
# sum, 12345678901234.56 is stored as 12345678901234.560546875. Such a value is read as the decimal with
# the fewest places k (at most FLOAT_PLACES) that is the float itself (it reads back as the same float),
# or that lies within FLOAT_ULPS units in the last place of it where that is float noise: far below the
# k-th decimal (FLOAT_ULPS ulps at most 1/100 of 10^-k). That is the number the writer meant, so that an
# amount's decimals are its own and not the float's: 0.004 of a yuan written in a float is still 0.004
# (and refused as finer than the fen). Other floats keep their full text.
FLOAT_PLACES = 10
FLOAT_ULPS = 4


def float_text(v: float) -> str:
    """One float as the decimal text the writer meant (see FLOAT_ULPS)."""
    if not math.isfinite(v):
        return repr(v)
    tol = FLOAT_ULPS * math.ulp(v)
    for k in range(FLOAT_PLACES + 1):
        n = round(v * 10**k)
        if abs(n) >= 2**53:
            break
        r = n / 10**k
        if r == v or (abs(v - r) <= tol and tol <= 10.0**-k / 100):
            return _decimal_text(n, k)
    r = repr(v)
    return format(Decimal(r), "f") if "e" in r else r


def _decimal_text(n: int, k: int) -> str:
    digits = str(abs(n)).rjust(k + 1, "0")
    body = digits if k == 0 else f"{digits[:-k]}.{digits[-k:]}"
    return ("-" if n < 0 else "") + body


def _float_text(a: pa.Array) -> pa.Array:
    """Floats as plain decimal text, vectorised: whole numbers print as integers (a code6 column written as
    float keeps its digits), others as ``float_text`` writes them."""
    a = pc.if_else(pc.is_nan(a), pa.scalar(None, a.type), a).cast(pa.float64())
    finite = pc.drop_null(a)
    if len(finite) == 0:
        return pa.nulls(len(a), pa.string())
    if pc.all(pc.equal(pc.floor(finite), finite)).as_py() and pc.max(pc.abs(finite)).as_py() < 9e18:
        return a.cast(pa.int64()).cast(pa.string())
    v = a.to_numpy(zero_copy_only=False).astype(np.float64)  # nulls are NaN
    places = np.full(len(v), -1, dtype=np.int64)
    ints = np.zeros(len(v), dtype=np.int64)
    with np.errstate(invalid="ignore", over="ignore"):
        tol = FLOAT_ULPS * np.spacing(np.abs(v))
        for k in range(FLOAT_PLACES + 1):
            n = np.rint(v * 10.0**k)
            r = n / 10.0**k
            near = (r == v) | ((np.abs(v - r) <= tol) & (tol <= 10.0**-k / 100))
            hit = (places < 0) & (np.abs(n) < 2.0**53) & near
            places[hit] = k
            ints[hit] = n[hit].astype(np.int64)
    out = np.full(len(v), None, dtype=object)
    for k in np.unique(places[places >= 0]):
        idx = np.flatnonzero(places == k)
        n = ints[idx]
        digits = pc.utf8_lpad(pa.array(np.abs(n)).cast(pa.string()), width=int(k) + 1, padding="0")
        if k:
            digits = pc.binary_join_element_wise(pc.utf8_slice_codeunits(digits, 0, -int(k)),
                                                 pc.utf8_slice_codeunits(digits, -int(k)), ".")
        sign = pc.if_else(pa.array(n < 0), "-", "")
        out[idx] = pc.binary_join_element_wise(sign, digits, "").to_numpy(zero_copy_only=False)
    rest = np.flatnonzero((places < 0) & np.isfinite(v))
    out[rest] = [float_text(float(v[i])) for i in rest]
    return pa.array(out, type=pa.string())


class ParquetSource(Source):
    def __init__(self, path: Path):
        try:
            self._file = pq.ParquetFile(path)
        except Exception as e:  # pyarrow raises several types for a file that is not Parquet
            raise ReadError(f"not a readable Parquet file: {e}") from None
        self.header = list(self._file.schema_arrow.names)
        self.header_row = None
        self.total_rows = self._file.metadata.num_rows

    def chunks(self, size: int) -> Iterator[Chunk]:
        start = 1
        for batch in self._file.iter_batches(batch_size=size):
            rows = np.arange(start, start + batch.num_rows, dtype=np.int64)
            start += batch.num_rows
            yield _drop_blank(rows, [arrow_text(c) for c in batch.columns])
