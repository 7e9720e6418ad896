"""GET /api/v1/pooling: the pooling-mode comparison of a city (county pooling, the city adjustment fund,
unified revenue and expenditure) on its historic ledgers: who covers each deficit, the treasuries'
top-ups, years below the safety line. The same figures as the /pooling page."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from mifund.web.api.schemas import PoolingComparison
from mifund.web.deps import CurrentUser, Svc
from mifund.web.services import pooling
from mifund.web.services.fund import records

router = APIRouter(tags=["pooling"])


@router.get("/pooling", response_model=PoolingComparison, summary="Pooling modes compared on a city's ledgers (users who may see the whole city)")
def get_pooling(
    user: CurrentUser, svc: Svc,
    city: Annotated[str | None, Query(max_length=12, description="City code (default: your first city)")] = None,
    scheme: Annotated[Literal["resident", "employee"], Query(description="Insurance scheme: resident (城乡居民) or employee (职工)")] = "resident",
) -> dict:
    cities = pooling.cities(svc, user)
    if city is None:
        if not cities:  # a county user: no whole city to compare, and nothing of the others
            return {"cities": [], "city": None, "scheme": scheme, "rows": []}
        city = cities[0]
    return {"cities": cities, "city": city, "scheme": scheme, "rows": records(pooling.compare(svc, user, city, scheme))}
