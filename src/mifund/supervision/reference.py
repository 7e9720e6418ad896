"""Slow, obviously correct pandas versions of some checks, one claim at a time: the yardstick of the
property tests (tests/test_supervision_hypothesis.py) and the "naive pandas" side of the benchmark.
Not used in screening."""

from __future__ import annotations

import pandas as pd


def readmission(claims: pd.DataFrame, max_gap_days: int) -> set[tuple[str, str]]:
    """(claim_id, related_claim_id) of both stays of each readmission within max_gap_days (same person,
    provider and diagnosis; each stay compared with the stay just before it)."""
    out = set()
    c = claims[claims.visit_type == "inpatient"].sort_values(["admit_date", "discharge_date", "claim_id"])
    for _, g in c.groupby(["person_id", "provider_id", "diagnosis_code"]):
        prev = None
        for row in g.itertuples():
            if prev is not None:
                gap = (row.admit_date - prev.discharge_date).days
                if 0 <= gap <= max_gap_days:
                    out.add((row.claim_id, prev.claim_id))
                    out.add((prev.claim_id, row.claim_id))
            prev = row
    return out


def daily_quantity(lines: pd.DataFrame, catalog: pd.DataFrame, tolerance: float = 0.0) -> set[tuple[str, int]]:
    """(claim_id, line_no) of lines whose item's summed quantity that day on that claim exceeds the limit."""
    limit = dict(zip(catalog.item_code, catalog.max_daily_quantity, strict=True))
    totals: dict[tuple, float] = {}
    for row in lines.itertuples():
        k = (row.claim_id, row.item_code, row.service_date)
        totals[k] = totals.get(k, 0.0) + row.quantity
    out = set()
    for row in lines.itertuples():
        m = limit.get(row.item_code)
        if m is not None and not pd.isna(m) and totals[(row.claim_id, row.item_code, row.service_date)] > m * (1 + tolerance):
            out.add((row.claim_id, int(row.line_no)))
    return out


def duplicate_claims(claims: pd.DataFrame, match: list[str]) -> set[tuple[str, str]]:
    """(duplicate, original) for every claim equal in `match` to an earlier claim_id (lines not compared)."""
    out = set()
    first: dict[tuple, str] = {}
    for row in claims.sort_values("claim_id").itertuples():
        k = tuple(getattr(row, m) for m in match)
        if k in first:
            out.add((row.claim_id, first[k]))
        else:
            first[k] = row.claim_id
    return out


def overlapping_stays(claims: pd.DataFrame, min_overlap_days: int = 1) -> set[tuple[str, str]]:
    """(claim_id, related_claim_id) of inpatient stays that begin at least min_overlap_days nights before
    the latest discharge of the person's earlier-admitted stays (related: that latest-ending stay, the one
    admitted last among ties), leaving out stays identical in provider and dates to that one."""
    out = set()
    c = claims[claims.visit_type == "inpatient"].sort_values(["admit_date", "discharge_date", "claim_id"])
    for _, g in c.groupby("person_id"):
        earlier: list = []
        for row in g.itertuples():
            if earlier:
                end = max(e.discharge_date for e in earlier)
                ref = [e for e in earlier if e.discharge_date == end][-1]
                nights = (min(row.discharge_date, end) - row.admit_date).days
                identical = (ref.provider_id, ref.admit_date, ref.discharge_date) == (
                    row.provider_id, row.admit_date, row.discharge_date)
                if nights >= min_overlap_days and not identical:
                    out.add((row.claim_id, ref.claim_id))
            earlier.append(row)
    return out
