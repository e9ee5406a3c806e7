"""The OpenAPI 3 document, built from the route table (each handler's `@doc`) and the plan's JSON schema."""
from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from .. import __version__
from ..core.schema import plan_json_schema


def doc(summary: str, *, request: dict | str | None = None, response: dict | str | None = None,
        status: int = 200, query: dict[str, str] | None = None, errors: tuple[int, ...] = ()):
    """Describe a handler for the OpenAPI document: request/response schemas (or component names), the
    success status, query parameters ({name: description}) and the error statuses it can answer."""
    def mark(handler):
        handler.openapi = {"summary": summary, "request": request, "response": response, "status": status,
                           "query": query or {}, "errors": errors}
        return handler
    return mark


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _schema(value: dict | str | None) -> dict | None:
    if value is None:
        return None
    return ref(value) if isinstance(value, str) else value


_OBJ = {"type": "object"}
_STR = {"type": "string"}
_PATH = {"type": "string", "description": "absolute path of an existing regular file"}

COMPONENTS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": _STR, "message": _STR, "field": _STR, "path": _STR,
            "retry_after": {"type": "integer"}}}}},
    "Catalog": {"type": "object", "properties": {"id": _STR, "path": _STR, "name": _STR},
                "description": "a catalog by id (preferred) or path; a watch-folder profile is {id: 'profile:NAME'}"},
    "Photo": {"type": "object", "properties": {
        "path": _PATH, "photo_id": _STR, "settings": _OBJ, "is_raw": {"type": "boolean"},
        "preview": {"type": "string", "format": "byte", "description": "base64 JPEG for formats we cannot read"}}},
    "PlanResult": {"type": "object", "properties": {
        "photo_id": _STR, "path": _STR, "plan": ref("Plan"), "settings": _OBJ, "summary": _STR,
        "notes": {"type": "array", "items": _STR}, "xmp": _STR}},
    "Job": {"type": "object", "required": ["job_id", "state", "done", "total"], "properties": {
        "job_id": _STR, "kind": {"enum": ["plan", "sidecar", "learn"]},
        "state": {"enum": ["queued", "running", "done", "cancelled", "failed"]},
        "done": {"type": "integer"}, "total": {"type": "integer"}, "current": _OBJ,
        "cancel_requested": {"type": "boolean"},
        "not_processed": {"type": "array", "items": {"type": "integer"}},
        "results": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": "integer"}, "photo_id": _STR, "path": _STR, "ok": {"type": "boolean"},
            "plan": ref("Plan"), "settings": _OBJ, "summary": _STR, "sidecar": _STR,
            "error": {"$ref": "#/components/schemas/Error/properties/error"}}}},
        "error": _OBJ}},
}

PLAN_OPTIONS = {"catalog": ref("Catalog"), "instruction": _STR,
                "strength": {"type": "number", "minimum": 0, "maximum": 2, "default": 1},
                "attributes": {"type": "object", "additionalProperties": {"type": "object"}},
                "clicks": {"type": "array", "items": _OBJ},
                "plan": {**ref("Plan"), "description": "an explicit plan instead of the automatic one"}}


def build_document(routes: web.RouteTableDef) -> dict:
    paths: dict[str, dict] = {}
    for route in routes:
        if not isinstance(route, web.RouteDef) or route.method == "HEAD":
            continue
        meta = getattr(route.handler, "openapi", None) or {"summary": route.handler.__name__}
        op: dict[str, Any] = {"operationId": route.handler.__name__, "summary": meta["summary"]}
        params = [{"name": name, "in": "path", "required": True, "schema": _STR}
                  for name in re.findall(r"{(\w+)}", route.path)]
        params += [{"name": name, "in": "query", "description": text, "schema": _STR}
                   for name, text in meta.get("query", {}).items()]
        if params:
            op["parameters"] = params
        if meta.get("request") is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": _schema(meta["request"])}}}
        success = {"description": "success"}
        if meta.get("response") is not None:
            success["content"] = {"application/json": {"schema": _schema(meta["response"])}}
        responses: dict[str, Any] = {str(meta.get("status", 200)): success}
        public = getattr(route.handler, "public", False)
        statuses = set(meta.get("errors", ())) | {400, 403, 500} | (set() if public else {401})
        if meta.get("request") is not None:
            statuses |= {413}
        for status in sorted(statuses):
            responses[str(status)] = {"description": "error", "content": {"application/json": {
                "schema": ref("Error")}}}
        op["responses"] = responses
        if public:
            op["security"] = []
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "AI Retouch bridge", "version": __version__,
                 "description": "Local HTTP API of the AI Retouch bridge (see docs/API.md)."},
        "servers": [{"url": "http://127.0.0.1:8765"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {**COMPONENTS, "Plan": plan_json_schema()}},
        "paths": paths,
    }
