"""Reads docs/openapi.yaml (the repo's, at ../../docs/openapi.yaml from the SDK directory) for
the parity and error-enum tests: operations with their method, path, query parameters and
body properties, with local ``$ref``s resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SDK_DIR = Path(__file__).resolve().parent.parent
SPEC_PATH = SDK_DIR / "../../docs/openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass
class SpecOperation:
    operation_id: str
    method: str
    path: str
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Name -> schema of each query parameter."""
    body: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Name -> schema of each request-body property (all alternatives of an anyOf/oneOf)."""


@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    with open(SPEC_PATH, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    assert isinstance(doc, dict), "openapi.yaml is not a mapping"
    return doc


def resolve(node: Any, doc: dict[str, Any] | None = None) -> Any:
    """Follows ``{"$ref": "#/a/b"}`` (repeatedly) within the document."""
    doc = doc or load()
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert isinstance(ref, str) and ref.startswith("#/"), f"only local refs: {ref}"
        cur: Any = doc
        for part in ref[2:].split("/"):
            cur = cur[part]
        node = cur
        seen += 1
        assert seen < 50, f"$ref loop at {ref}"
    return node


def properties(schema: Any) -> dict[str, dict[str, Any]]:
    """Every property a body may have: its own, and those of allOf/anyOf/oneOf members."""
    schema = resolve(schema)
    if not isinstance(schema, dict):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, sub in (schema.get("properties") or {}).items():
        out[name] = resolve(sub) if isinstance(sub, dict) else {}
    for key in ("allOf", "anyOf", "oneOf"):
        for member in schema.get(key) or []:
            out.update(properties(member))
    return out


def operations() -> dict[str, SpecOperation]:
    doc = load()
    out: dict[str, SpecOperation] = {}
    for path, item in (doc.get("paths") or {}).items():
        shared = [resolve(p) for p in item.get("parameters") or []]
        for method in HTTP_METHODS:
            o = item.get(method)
            if not isinstance(o, dict):
                continue
            op_id = o.get("operationId")
            assert isinstance(op_id, str), f"{method.upper()} {path} has no operationId"
            assert op_id not in out, f"operationId {op_id} used twice"
            params = shared + [resolve(p) for p in o.get("parameters") or []]
            query = {p["name"]: resolve(p.get("schema") or {}) for p in params if p.get("in") == "query"}
            body: dict[str, dict[str, Any]] = {}
            rb = resolve(o.get("requestBody") or {})
            for media in (rb.get("content") or {}).values():
                body.update(properties(media.get("schema") or {}))
            out[op_id] = SpecOperation(op_id, method.upper(), path, query, body)
    return out


def error_enum(field_name: str) -> list[str] | None:
    """``components.schemas.Error.properties.error.properties.<field>.enum`` when the spec
    declares one (``None`` otherwise)."""
    err = resolve(load()["components"]["schemas"]["Error"])
    inner = resolve(err.get("properties", {}).get("error", {}))
    prop = resolve(inner.get("properties", {}).get(field_name, {}))
    return _enum_values(prop)


def _enum_values(schema: Any) -> list[str] | None:
    """An ``enum``, or the union of the enums (and consts) of ``anyOf``/``oneOf`` members."""
    schema = resolve(schema)
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("enum"), list):
        return [str(x) for x in schema["enum"]]
    if "const" in schema:
        return [str(schema["const"])]
    found: list[str] | None = None
    for key in ("anyOf", "oneOf"):
        for member in schema.get(key) or []:
            vals = _enum_values(member)
            if vals is not None:
                found = (found or []) + vals
    return found
