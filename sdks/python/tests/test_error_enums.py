"""The SDK's ``ErrorType``/``ErrorCode`` unions against the spec's enums under
``components.schemas.Error`` (exact: a code added or dropped on either side fails). While the
spec has no ``code`` enum, the codes are read from the server's Rust sources instead and must
all be in the union."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from payment_orchestrator import ErrorCode, ErrorType, errors
from payment_orchestrator._core import error_class

from . import spec

SHARED = spec.SDK_DIR / "../../shared/src"


def _server_codes() -> set[str]:
    """Every code the server's sources can send: the code tables of ``error.rs`` when they
    exist, else the literals of ``classify`` and of every ``ApiError::invalid``/``Invalid``."""
    error_rs = (SHARED / "error.rs").read_text(encoding="utf-8")
    if "INVALID_CODES" in error_rs:
        out: set[str] = set()
        for table in ("INVALID_CODES", "GATEWAY_CODES", "OTHER_CODES"):
            start = error_rs.index(f"pub const {table}")
            body = error_rs[start : error_rs.index("];", start)]
            if table == "OTHER_CODES":
                out |= set(re.findall(r'\("[a-z_]+",\s*"([a-z_]+)"\)', body))
            elif table == "INVALID_CODES":
                out |= set(re.findall(r'\(\s*"([a-z_]+)",', body))
            else:
                out |= set(re.findall(r'"([a-z_]+)"', body))
        return out
    out = set()
    classify = (SHARED / "api/error_response.rs").read_text(encoding="utf-8")
    out |= set(re.findall(r'\(\d{3}, "[a-z_]+", "([a-z_]+)"\.into\(\)\)', classify))
    for path in Path(SHARED).rglob("*.rs"):
        text = path.read_text(encoding="utf-8")
        out |= set(re.findall(r'ApiError::invalid\(\s*"([a-z_]+)"', text))
        out |= set(re.findall(r'ApiError::Invalid\s*\{\s*code:\s*"([a-z_]+)"', text))
    return out


def _server_types() -> set[str]:
    classify = (SHARED / "api/error_response.rs").read_text(encoding="utf-8")
    return set(re.findall(r'\(\d{3}, "([a-z_]+)",', classify))


def test_error_type_union_is_the_spec_enum() -> None:
    enum = spec.error_enum("type")
    ours = set(get_args(ErrorType))
    if enum is not None:
        assert ours == set(enum), f"SDK only: {sorted(ours - set(enum))}; spec only: {sorted(set(enum) - ours)}"
    assert _server_types() <= ours, f"types the server sends that ErrorType lacks: {_server_types() - ours}"


def test_error_code_union_is_the_spec_enum_or_holds_every_server_code() -> None:
    ours = set(get_args(ErrorCode))
    enum = spec.error_enum("code")
    if enum is not None:
        assert ours == set(enum), f"SDK only: {sorted(ours - set(enum))}; spec only: {sorted(set(enum) - ours)}"
        return
    server = _server_codes()
    assert server, "no code found in the server's sources: the patterns are stale"
    assert server <= ours, f"codes the server sends that ErrorCode lacks: {sorted(server - ours)}"


@pytest.mark.parametrize("type_", get_args(ErrorType))
def test_every_error_type_maps_to_a_specific_class(type_: str) -> None:
    cls = error_class(400, type_, None)
    assert cls is not errors.APIError and cls is not errors.BadRequestError, type_


def test_rate_limited_type_is_a_rate_limit_error() -> None:
    assert error_class(400, "rate_limited", "rate_limited") is errors.RateLimitError
