"""Duplicate enrolment (重复参保) and its effect on each region's insured rate (参保率).

An insured rate is enrolment rows over resident population. A person enrolled in two regions or schemes
in one year is counted in both, which is how a rate can read above 100%. This module shows, per region
and year: the enrolment rows, the persons enrolled there with another enrolment the same year
(duplicates), the count with each person kept once, and both rates.

Which enrolment a duplicated person keeps: an employee enrolment before a resident one (the employee
scheme is compulsory for the employed), then the region of the earliest row; the rule is stated in the
output so a reader knows what "deduplicated" means.
"""

from __future__ import annotations

import ibis
import pandas as pd

from mifund.supervision.checks import Tables

KEEP_RULE = "each person kept once: employee enrolment first, then the lowest region code"


def duplicate_persons(t: Tables) -> ibis.Table:
    """Person-years enrolled more than once in different regions or schemes, with the rows."""
    e = t.enrollment
    g = e.group_by(["person_id", "year"]).aggregate(rows=e.count(), regions=e.region_code.nunique(),
                                                    schemes=e.scheme.nunique())
    return g.filter((g.rows > 1) & ((g.regions > 1) | (g.schemes > 1)))


def insured_rate_effect(source) -> pd.DataFrame:
    """Per region and year: enrolled rows, duplicated persons, persons kept once, population, rates."""
    t = source if isinstance(source, Tables) else Tables.from_warehouse(source)
    e = t.enrollment
    dup = duplicate_persons(t).select("person_id", "year", dup=ibis.literal(1))
    e = e.left_join(dup, ["person_id", "year"]).drop("person_id_right", "year_right")
    w = ibis.window(group_by=["person_id", "year"],
                    order_by=[ibis.ifelse(e.scheme == "employee", 0, 1), e.region_code])
    e = e.mutate(keep=(ibis.row_number().over(w) == 0).cast("int64"), dup=e.dup.fill_null(0))
    g = e.group_by(["region_code", "year"]).aggregate(
        enrolled=e.count(), duplicated=e.dup.sum(), kept=e.keep.sum())
    df = g.to_pyarrow().to_pandas()
    pop = t.population
    if pop is not None:
        p = pop.group_by(["region_code", "year"]).aggregate(population=pop.persons.sum()).to_pyarrow().to_pandas()
        df = df.merge(p, on=["region_code", "year"], how="left")
    else:
        df["population"] = pd.NA
    df["insured_rate"] = df.enrolled / df.population
    df["insured_rate_dedup"] = df.kept / df.population
    df["rate_effect"] = df.insured_rate - df.insured_rate_dedup
    df["note"] = KEEP_RULE
    return df.sort_values(["year", "region_code"]).reset_index(drop=True)
