"""The one place that turns domain and request errors into HTTP statuses and JSON bodies."""

from __future__ import annotations

import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from traceability.errors import (
    AlreadyExists,
    ConfigurationError,
    ConflictingInput,
    Forbidden,
    InvalidInput,
    NotFound,
    Refused,
    TraceabilityError,
    Unauthenticated,
    VerificationError,
)

STATUS_BY_ERROR: dict[type[TraceabilityError], int] = {
    InvalidInput: 400,
    ConflictingInput: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    AlreadyExists: 409,
    Refused: 409,
    VerificationError: 422,
    ConfigurationError: 503,
    TraceabilityError: 400,
}
"""HTTP status of each domain error; a subclass takes the status of its nearest listed base."""

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class ErrorBody(BaseModel):
    """The JSON body of every error response."""

    error: str = Field(description="snake_case name of the error class", examples=["invalid_input"])
    reason: str = Field(
        description="a human-readable sentence saying what went wrong",
        examples=["tree_size 500 is beyond the log's size 40"],
    )


def snake_case(name: str) -> str:
    """Return a CamelCase class name in snake_case: `RootMismatch` becomes `root_mismatch`."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def status_for(exc: TraceabilityError) -> int:
    """Return the HTTP status of a domain error, found along its class's MRO."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400  # unreachable: TraceabilityError itself is listed


def error_response(status: int, error: str, reason: str) -> JSONResponse:
    """Build the JSON error response `{"error": ..., "reason": ...}`."""
    body = ErrorBody(error=error, reason=reason)
    return JSONResponse(status_code=status, content=body.model_dump())


def _describe(errors: Sequence[Any]) -> str:
    """Turn FastAPI's validation errors into one sentence naming each bad parameter."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        msg = str(err.get("msg", "is invalid"))
        if len(loc) > 1:
            parts.append(f"{loc[0]} parameter {'.'.join(loc[1:])}: {msg}")
        else:
            parts.append(msg)
    return "; ".join(parts) or "the request is invalid"


async def _on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TraceabilityError)  # noqa: S101 - registered for this class only
    reason = str(exc) or (type(exc).__doc__ or "").strip().split("\n")[0]
    response = error_response(status_for(exc), snake_case(type(exc).__name__), reason)
    if isinstance(exc, Unauthenticated):  # RFC 6750 §3: say which scheme would do
        response.headers["WWW-Authenticate"] = 'Bearer realm="herbtrace"'
    return response


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this class only
    return error_response(422, "request_validation_error", _describe(exc.errors()))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this class only
    phrase = HTTPStatus(exc.status_code).phrase
    reason = (
        exc.detail if exc.detail != phrase else f"{phrase}: {request.method} {request.url.path}"
    )
    response = error_response(exc.status_code, snake_case(phrase.replace(" ", "")), reason)
    response.headers.update(exc.headers or {})
    return response


async def _on_unexpected_error(_request: Request, _exc: Exception) -> JSONResponse:
    return error_response(500, "internal_error", "the server failed to handle the request")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the `ErrorBody` shape and its status."""
    app.add_exception_handler(TraceabilityError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected_error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI `responses` entries documenting `statuses` with the `ErrorBody` model."""
    return {
        status: {"model": ErrorBody, "description": HTTPStatus(status).phrase}
        for status in statuses
    }
