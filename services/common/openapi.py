"""OpenAPI 3.1 documents generated from the pydantic models a service's routes use.

Request bodies are documented as the models validate them, responses as the handlers
serialize them (`mode="serialization"`, field names as `model_dump` writes them), so a
client built from the document reads what the service really sends. Every operation has an
`operationId` and documents a 500 with the error shape; secured ones also a 401.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF_TEMPLATE = "#/components/schemas/{model}"
JsonSchemaMode = Literal["validation", "serialization"]
Responses = dict[int, tuple[str, type[BaseModel] | None]]


@dataclass(frozen=True)
class Operation:
    """One documented route."""

    method: str
    path: str
    summary: str
    responses: Responses
    operation_id: str
    request: type[BaseModel] | None = None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    secured: bool = False
    tags: tuple[str, ...] = ()
    body_required: bool = True
    links: dict[int, dict[str, Any]] = field(default_factory=dict)


def build_openapi(
    title: str,
    version: str,
    operations: list[Operation],
    *,
    error_model: type[BaseModel],
    description: str = "",
    rules: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """An OpenAPI 3.1 document whose schemas come from the models themselves; `rules` adds,
    per component schema, what its validators check beyond the types (e.g. a stripped
    string's pattern, or a field required when another has some value)."""
    _check_unique_ids(operations)
    requests = {op.request for op in operations if op.request}
    responses = {error_model} | {m for op in operations for _, m in op.responses.values() if m}
    schemas = _schemas(requests, "validation") | _schemas(responses, "serialization")
    for name, rule in (rules or {}).items():
        schemas[name] = _with_rule(schemas[name], rule)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, error_model)
    info = {"title": title, "version": version}
    if description:
        info["description"] = description
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _schemas(models: set[type[BaseModel]], mode: JsonSchemaMode) -> dict[str, Any]:
    """The component schemas of `models` in `mode`: aliases for what is read, field names
    (as `model_dump` writes them) for what is sent."""
    _, defs = models_json_schema(
        [(m, mode) for m in sorted(models, key=lambda m: m.__name__)],
        ref_template=REF_TEMPLATE,
        by_alias=mode == "validation",
    )
    schemas: dict[str, Any] = defs.get("$defs", {})
    return schemas


def _with_rule(schema: dict[str, Any], rule: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` with `rule`'s keys set, its `properties` merged property by property."""
    properties = {**schema.get("properties", {}), **rule.get("properties", {})}
    return {**schema, **rule, "properties": properties}


def _check_unique_ids(operations: list[Operation]) -> None:
    seen = [op.operation_id for op in operations]
    duplicates = {name for name in seen if seen.count(name) > 1}
    if duplicates or not all(seen):
        raise ValueError(f"every operation needs its own operationId: {sorted(duplicates)}")


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _operation(op: Operation, error_model: type[BaseModel]) -> dict[str, Any]:
    doc: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "responses": {}}
    if op.tags:
        doc["tags"] = list(op.tags)
    if op.parameters:
        doc["parameters"] = op.parameters
    if op.secured:
        doc["security"] = [{"bearer": []}]
    if op.request:
        content = {"application/json": {"schema": _ref(op.request)}}
        doc["requestBody"] = {"required": op.body_required, "content": content}
    for status, (description, model) in sorted(_all_responses(op).items()):
        response: dict[str, Any] = {"description": description}
        schema_model = model or (error_model if status >= 400 else None)
        if schema_model:
            response["content"] = {"application/json": {"schema": _ref(schema_model)}}
        if status in op.links:
            response["links"] = op.links[status]
        doc["responses"][str(status)] = response
    return doc


def _all_responses(op: Operation) -> Responses:
    """The operation's own responses plus those every route can give."""
    common: Responses = {500: ("Unexpected error; quote its error_id", None)}
    if op.secured:
        common[401] = ("No valid bearer token", None)
    return common | op.responses
