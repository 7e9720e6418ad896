"""/docs: the API reference rendered from the OpenAPI document (/openapi.json), served locally (no
Swagger UI from a CDN: nothing is fetched from the internet)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from mifund.web.deps import OptionalUser, render

router = APIRouter()


@router.get("/docs")
def docs(request: Request, user: OptionalUser):
    spec = request.app.openapi()
    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "tags": op.get("tags", []),
                        "params": [(p["name"], p["in"], p.get("required", False), p.get("description", ""))
                                   for p in op.get("parameters", [])],
                        "responses": sorted(op.get("responses", {}))})
    return render(request, "apidocs.html", {"spec": spec, "ops": ops}, user=user)
