"""The OpenAPI document, corrected to match what the app really answers on errors.

FastAPI documents every 422 with its own ``HTTPValidationError`` (``detail`` a list of
objects), but app/error_handlers.py answers every error, invalid input included, with
``{"error": code, "detail": message, "field": name-or-null, ...}``. This rewrites the
generated document once: every 4xx response an operation documents gets the ``ErrorBody``
schema (unless the route chose a model of its own, e.g. the partner API's 410 tombstone),
every operation gets a ``4XX`` fallback with it, and FastAPI's unused validation schemas
are dropped.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.errors import ErrorBody

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
REPLACED = {"#/components/schemas/HTTPValidationError"}
COMMON = (
    "Any other error: 401 (not logged in, or an unknown or revoked key), 403 (not allowed), "
    "404 (no such thing, or not public), 405, 409 (conflict or stale version), "
    "413, 415, 422 (invalid input) or 429 (rate limited; see Retry-After)."
)
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _error_content(example: dict[str, Any] | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": ERROR_REF}
    if example:
        media["example"] = example
    return {"application/json": media}


def _fix_operation(op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    for status, response in responses.items():
        if not status.startswith(("4", "5")):  # documented 5xx (507) are errors too
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None or schema.get("$ref") in REPLACED:
            response["content"] = _error_content()
        if status == "422" and response.get("description") == "Validation Error":
            response["description"] = "Invalid input: the body names the field and the problem"
    responses.setdefault("4XX", {"description": COMMON, "content": _error_content()})


def _referenced(document: Any) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                found.add(ref.rsplit("/", 1)[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return found


def fix_errors(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(body.pop("$defs", {}))
    components["ErrorBody"] = body
    for item in schema.get("paths", {}).values():
        for method, op in item.items():
            if method in METHODS:
                _fix_operation(op)
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's, now unused
        others = {n: v for n, v in components.items() if n != name}
        if name in components and name not in _referenced([schema.get("paths"), others]):
            del components[name]
    return schema


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = fix_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
