"""OpenAPI 3.1 documents generated from the pydantic models a service's routes use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF_TEMPLATE = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    """One documented route."""

    method: str
    path: str
    summary: str
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    request: type[BaseModel] | None = None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    secured: bool = False
    tags: tuple[str, ...] = ()


def build_openapi(
    title: str, version: str, operations: list[Operation], *, error_model: type[BaseModel]
) -> dict[str, Any]:
    """An OpenAPI 3.1 document whose schemas come from the models themselves."""
    models = {error_model} | {op.request for op in operations if op.request}
    models |= {m for op in operations for _, m in op.responses.values() if m}
    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template=REF_TEMPLATE,
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, error_model)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _operation(op: Operation, error_model: type[BaseModel]) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": op.summary, "responses": {}}
    if op.tags:
        doc["tags"] = list(op.tags)
    if op.parameters:
        doc["parameters"] = op.parameters
    if op.secured:
        doc["security"] = [{"bearer": []}]
    if op.request:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.request)}},
        }
    for status, (description, model) in sorted(op.responses.items()):
        response: dict[str, Any] = {"description": description}
        schema_model = model or (error_model if status >= 400 else None)
        if schema_model:
            response["content"] = {"application/json": {"schema": _ref(schema_model)}}
        doc["responses"][str(status)] = response
    return doc
