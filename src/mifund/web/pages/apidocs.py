"""/docs: the API reference rendered from the OpenAPI document (/openapi.json), served locally (no
Swagger UI from a CDN: nothing is fetched from the internet)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request

from mifund.web.deps import OptionalUser, render

router = APIRouter()


def _resolve(spec: dict, schema: dict) -> dict:
    """A schema with its $ref followed (components/schemas)."""
    seen = 0
    while "$ref" in schema and seen < 10:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec.get("components", {}).get("schemas", {}).get(name, {})
        seen += 1
    return schema


def _type(spec: dict, prop: dict) -> str:
    """A property's type as people read it: 'string', 'number | null', 'array of binary', 'one of a, b'."""
    prop = _resolve(spec, prop)
    if "anyOf" in prop:
        return " | ".join(_type(spec, p) for p in prop["anyOf"])
    if "enum" in prop:
        return "one of " + ", ".join(str(v) for v in prop["enum"])
    if prop.get("type") == "array":
        return "array of " + _type(spec, prop.get("items", {}))
    if prop.get("format") == "binary" or prop.get("contentMediaType") == "application/octet-stream":
        return "file"
    return str(prop.get("type", "object"))


_LIMITS = (("minimum", "≥ {}"), ("exclusiveMinimum", "> {}"), ("maximum", "≤ {}"), ("exclusiveMaximum", "< {}"),
           ("minLength", "length ≥ {}"), ("maxLength", "length ≤ {}"))


def _limits(spec: dict, prop: dict) -> str:
    prop = _resolve(spec, prop)
    parts = [fmt.format(prop[k]) for k, fmt in _LIMITS if k in prop]
    for alt in prop.get("anyOf", []):
        parts += [fmt.format(alt[k]) for k, fmt in _LIMITS if k in alt]
    if "default" in prop:
        parts.append(f"default {json.dumps(prop['default'], ensure_ascii=False)}")
    return ", ".join(parts)


def request_body(spec: dict, op: dict) -> dict | None:
    """The request body of an operation from the OpenAPI document: media type, required, its fields
    (name, type, required, limits, description) and the schema's examples."""
    body = op.get("requestBody")
    if not body:
        return None
    media, content = next(iter(body.get("content", {}).items()), (None, {}))
    schema = _resolve(spec, content.get("schema", {}))
    required = set(schema.get("required", []))
    fields = [{"name": name, "type": _type(spec, prop), "required": name in required,
               "limits": _limits(spec, prop), "description": _description(spec, prop)}
              for name, prop in schema.get("properties", {}).items()]
    examples = schema.get("examples") or ([content["example"]] if "example" in content else [])
    return {"media": media, "required": body.get("required", False), "fields": fields,
            "description": schema.get("description", ""),
            "examples": [json.dumps(e, ensure_ascii=False) for e in examples]}


def _object(spec: dict, prop: dict) -> dict | None:
    """The object schema a property holds, directly, as the items of an array or as the non-null
    alternative of an anyOf; None for a plain value (or an object without declared fields)."""
    prop = _resolve(spec, prop)
    for alt in prop.get("anyOf", []):
        if (found := _object(spec, alt)) is not None:
            return found
    if prop.get("type") == "array":
        return _object(spec, prop.get("items", {}))
    return prop if prop.get("properties") else None


def _description(spec: dict, prop: dict) -> str:
    """A property's own description (beside its $ref), else the one of the schema it refers to."""
    return prop.get("description") or _resolve(spec, prop).get("description", "")


def _field_rows(spec: dict, schema: dict, prefix: str = "") -> list[dict]:
    return [{"name": prefix + name, "type": _type(spec, prop), "nested": bool(prefix),
             "description": _description(spec, prop)}
            for name, prop in schema.get("properties", {}).items()]


def response_fields(spec: dict, op: dict) -> dict | None:
    """The successful (200) answer of an operation from the OpenAPI document: its description, the
    media types it may come as, and the fields of its JSON (name, type, description), with the fields of
    nested objects one level down (`rows[].payable_months`, `case.status`); deeper levels are named by
    their type only (the full schema is in /openapi.json)."""
    ok = op.get("responses", {}).get("200")
    if not ok:
        return None
    content = ok.get("content", {})
    schema = _resolve(spec, content.get("application/json", {}).get("schema", {}))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        fields += _field_rows(spec, {"properties": {name: prop}})
        inner = _object(spec, prop)
        if inner is not None and inner is not schema:
            prop = _resolve(spec, prop)
            many = any(_resolve(spec, p).get("type") == "array" for p in [prop, *prop.get("anyOf", [])])
            fields += _field_rows(spec, inner, f"{name}[]." if many else f"{name}.")
    return {"description": ok.get("description", ""), "media": list(content), "fields": fields,
            "schema_description": schema.get("description", "")}


@router.get("/docs")
def docs(request: Request, user: OptionalUser):
    spec = request.app.openapi()
    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "tags": op.get("tags", []),
                        "params": [(p["name"], p["in"], p.get("required", False), p.get("description", "")
                                    or p.get("schema", {}).get("description", ""))
                                   for p in op.get("parameters", [])],
                        "body": request_body(spec, op),
                        "answer": response_fields(spec, op),
                        "responses": sorted(op.get("responses", {}))})
    return render(request, "apidocs.html", {"spec": spec, "ops": ops}, user=user)
