"""An import limited to some regions: a county branch's administrator imports its own rows only.

Why here, not in the web layer: the rule is about the data (which rows a region's staff may write), so
every way in (the dashboard's upload, the API, a script calling ``import_paths``) applies the same check,
inside the import's one transaction, on the staged rows just before they replace anything.

A row is outside the scope when its region is, and also when the row it would replace (same key) is:
moving another county's provider into one's own county replaces that county's row. Claims and claim lines
carry no region: they are the scope's when the insured person is enrolled only in the scope's regions.
The catalogue is the whole city's and is refused outright.

Each refusal carries a catalogue key (``ImportIssue.key``) and its placeholders, so a page can say it in
its own language without parsing the English text.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from mifund.ingest.report import ImportFailed, ImportIssue

SHOWN_OUTSIDE = 200  # rows named in a refusal; the rest are counted

# catalogue key -> the reason in English, with {placeholders}
REASONS = {
    "import_reason_outside_region": "region outside your regions ({scope} and below)",
    "import_reason_outside_provider": "region outside your regions, or the provider is another region's "
                                      "({scope} and below)",
    "import_reason_outside_regions": "only regions within your own, or new ones below them, can be imported, "
                                     "and none moved ({scope} and below)",
    "import_reason_outside_enrolled": "region outside your regions, or the person is enrolled in another region "
                                      "that year ({scope} and below)",
    "import_reason_outside_claim": "the insured person is not enrolled in your regions ({scope} and below)",
    "import_reason_catalog": "the catalogue is the whole city's: only the city administrator imports it "
                             "({scope} and below are yours)",
    "import_reason_no_table": "cannot tell the table from the file name or its header; give --table ({tables})",
    "import_reason_file_type": "unsupported file type (use .csv, .xlsx, .xls or .parquet)",
}


def issue(label: str, row: int | None, column: str | None, key: str, value: str | None = None,
          **params: str) -> ImportIssue:
    """An error issue whose reason is REASONS[key] filled with `params` (kept on the issue too)."""
    return ImportIssue(label, row, column, REASONS[key].format(**params), value=value, key=key, params=params)


def outside_rows(wh, table: str, stage: str, scope: frozenset[str]) -> tuple[ir.Table, str, str]:
    """Rows of a staged import outside `scope`: (expression of _row and value; column; REASONS key)."""
    s = wh.table(stage)
    codes = sorted(scope)
    if table in ("population", "fund_ledger"):  # the key holds the region
        bad = s.filter(~s.region_code.isin(codes))
        return bad.select("_row", value=bad.region_code), "region_code", "import_reason_outside_region"
    if table == "enrollment":
        # the row's region, and the person's: an enrolment of a person whom another region enrols in the same
        # year would make that person (and the year's claims, settled under one of the two) the scope's too
        e = wh.table("enrollment")
        theirs = e.filter(~e.region_code.isin(codes)).select(o_person="person_id", o_year="year",
                                                             o_region="region_code")
        j = s.left_join(theirs, [s.person_id == theirs.o_person, s.year == theirs.o_year])
        bad = j.filter(~j.region_code.isin(codes) | j.o_region.notnull())
        value = ibis.ifelse(bad.region_code.isin(codes), "person enrolled in " + bad.o_region.cast("string"),
                            bad.region_code)
        bad = bad.select("_row", value=value).distinct()
        return bad, "region_code", "import_reason_outside_enrolled"
    if table == "providers":
        t = wh.table("providers")
        old = t.select(provider_id=t.provider_id, old_region=t.region_code)
        j = s.left_join(old, s.provider_id == old.provider_id)
        bad = j.filter(~j.region_code.isin(codes) | (j.old_region.notnull() & ~j.old_region.isin(codes)))
        value = bad.old_region.notnull().ifelse(bad.old_region.cast("string").concat(" → ", bad.region_code),
                                                  bad.region_code)
        return bad.select("_row", value=value), "region_code", "import_reason_outside_provider"
    if table == "regions":
        t = wh.table("regions")
        old = t.select(old_code=t.region_code, old_parent=t.parent_code)
        j = s.left_join(old, s.region_code == old.old_code)
        same_parent = (j.parent_code == j.old_parent) | (j.parent_code.isnull() & j.old_parent.isnull())
        ok = (j.old_code.notnull() & j.region_code.isin(codes) & same_parent) | (
            j.old_code.isnull() & j.parent_code.isin(codes))
        bad = j.filter(~ok)
        return bad.select("_row", value=bad.region_code), "region_code", "import_reason_outside_regions"
    if table in ("claims", "claim_lines"):
        e = wh.table("enrollment")
        outside = e.filter(~e.region_code.isin(codes)).select("person_id").distinct()
        known = e.select("person_id").distinct()
        c = wh.table("claims")
        if table == "claims":  # the claim, and the one it replaces
            old = c.select(old_claim=c.claim_id, old_person=c.person_id)
            j = s.left_join(old, s.claim_id == old.old_claim)
            rows = j.select("_row", "claim_id", "person_id", "old_person")
        else:  # the lines' claims are in the warehouse by now (claims are imported first, in this transaction)
            cc = c.select(line_claim=c.claim_id, person_id=c.person_id)
            j = s.left_join(cc, s.claim_id == cc.line_claim)
            rows = j.select("_row", "claim_id", "person_id", old_person=j.person_id)
        bad = rows.filter(rows.person_id.isnull()
                          | rows.person_id.isin(outside.person_id) | ~rows.person_id.isin(known.person_id)
                          | rows.old_person.isin(outside.person_id))
        return bad.select("_row", value=bad.claim_id), "claim_id", "import_reason_outside_claim"
    raise ValueError(f"no region rule for table {table}")  # a new contract table must say whose its rows are


def check_scope(wh, table: str, stage: str, scope: frozenset[str], root: str, label: str) -> None:
    """Raise ImportFailed naming the staged rows of `table` outside `scope` (`root`: the scope's top region,
    as the messages name it); the catalogue is refused whole."""
    if table == "catalog":
        raise ImportFailed([issue(label, None, None, "import_reason_catalog", scope=root)])
    bad, column, key = outside_rows(wh, table, stage, scope)
    n = int(wh.to_pandas(bad.aggregate(n=bad.count()))["n"].iloc[0])
    if not n:
        return
    rows = wh.to_pandas(bad.order_by("_row").limit(SHOWN_OUTSIDE))
    raise ImportFailed([issue(label, int(row), column, key, value=None if pd.isna(value) else str(value), scope=root)
                        for row, value in zip(rows["_row"], rows["value"], strict=True)], more=n - len(rows))
