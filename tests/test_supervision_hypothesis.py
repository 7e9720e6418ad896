"""Property tests: the vectorised checks agree with the slow one-claim-at-a-time pandas references
(mifund.supervision.reference) on random small claim sets."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mifund.supervision import checks, reference
from test_supervision import claim, line, tables

D0 = dt.date(2024, 1, 1)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

stays = st.lists(st.tuples(st.sampled_from(["P1", "P2"]), st.sampled_from(["H1", "H2"]), st.sampled_from(["A", "B"]),
                           st.integers(0, 60), st.integers(0, 6)), min_size=1, max_size=12)


@pytest.mark.slow
@FAST
@given(stays, st.integers(0, 10))
def test_readmission_matches_reference(rows, gap):
    cl = [claim(f"C{i:02d}", pid=p, prov=h, dx=dx, admit=D0 + dt.timedelta(days=a),
                discharge=D0 + dt.timedelta(days=a + los)) for i, (p, h, dx, a, los) in enumerate(rows)]
    got = checks.readmission(tables(cl), checks.ReadmissionParams(max_gap_days=gap)).to_pyarrow().to_pandas()
    df = pd.DataFrame(cl)
    df["admit_date"] = pd.to_datetime(df.admit_date)
    df["discharge_date"] = pd.to_datetime(df.discharge_date)
    assert set(zip(got.claim_id, got.related_claim_id, strict=True)) == reference.readmission(df, gap)


@pytest.mark.slow
@FAST
@given(stays, st.integers(1, 3))
def test_overlapping_stays_matches_reference(rows, min_nights):
    cl = [claim(f"C{i:02d}", pid=p, prov=h, dx=dx, admit=D0 + dt.timedelta(days=a // 3),
                discharge=D0 + dt.timedelta(days=a // 3 + 3 * los)) for i, (p, h, dx, a, los) in enumerate(rows)]
    got = checks.overlapping_stays(tables(cl), checks.OverlapParams(min_overlap_days=min_nights))
    got = got.to_pyarrow().to_pandas()
    df = pd.DataFrame(cl)
    df["admit_date"] = pd.to_datetime(df.admit_date)
    df["discharge_date"] = pd.to_datetime(df.discharge_date)
    assert set(zip(got.claim_id, got.related_claim_id, strict=True)) == reference.overlapping_stays(df, min_nights)


line_rows = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["XD1", "XDF", "SVB"]), st.integers(0, 1),
                               st.sampled_from([0.5, 1.0, 2.0, 3.0])), min_size=1, max_size=15)


@pytest.mark.slow
@FAST
@given(line_rows, st.sampled_from([0.0, 0.5]))
def test_daily_quantity_matches_reference(rows, tol):
    cl = [claim(f"C{c}", vt="inpatient", discharge=D0 + dt.timedelta(days=1), admit=D0) for c in range(3)]
    ln = [line(f"C{c}", i + 1, item=item, qty=q, amount=10 * q, day=D0 + dt.timedelta(days=d))
          for i, (c, item, d, q) in enumerate(rows)]
    t = tables(cl, ln)
    got = checks.daily_quantity(t, checks.DailyQuantityParams(tolerance=tol)).to_pyarrow().to_pandas()
    from test_supervision import CATALOG

    want = reference.daily_quantity(pd.DataFrame(ln), pd.DataFrame(CATALOG), tol)
    assert set(zip(got.claim_id, got.line_no, strict=True)) == want


@pytest.mark.slow
@FAST
@given(st.lists(st.tuples(st.sampled_from(["P1", "P2"]), st.sampled_from(["H1", "H2"]), st.integers(0, 2),
                          st.sampled_from([100.0, 200.0])), min_size=1, max_size=12))
def test_duplicate_claims_matches_reference(rows):
    cl = [claim(f"C{i:02d}", pid=p, prov=h, vt="outpatient", admit=D0 + dt.timedelta(days=d), total=a)
          for i, (p, h, d, a) in enumerate(rows)]
    match = ["person_id", "provider_id", "admit_date", "total_amount"]
    got = checks.duplicate_claims(tables(cl), checks.DuplicateParams(match=match, match_lines=False))
    got = got.to_pyarrow().to_pandas()
    assert set(zip(got.claim_id, got.related_claim_id, strict=True)) == reference.duplicate_claims(pd.DataFrame(cl),
                                                                                                    match)
