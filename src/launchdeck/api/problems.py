"""RFC 9457 problem+json for every error the API answers with."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from launchdeck.errors import LaunchdeckError, ValidationFailed

__all__ = ["PROBLEM_JSON", "install_problem_handlers", "problem_response"]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("launchdeck.api")


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    hint: str | None = None,
    where: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:launchdeck:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if hint:
        body["hint"] = hint
    if where:
        body["where"] = where
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _title(code: str) -> str:
    return code.replace("_", " ").capitalize()


async def _launchdeck_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LaunchdeckError)
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationFailed):
        extra["errors"] = [
            {"where": p.where, "field": p.field, "message": p.message, "hint": p.hint}
            for p in exc.problems
        ]
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=_title(exc.code),
        detail=exc.message,
        hint=exc.hint,
        where=exc.where,
        extra=extra,
        headers=headers,
    )


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ())),
            "message": str(e.get("msg", "")).removeprefix("Value error, "),
        }
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    return problem_response(
        status=422,
        code="invalid_request",
        title="Invalid request",
        detail=f"{first['field']}: {first['message']}" if first["field"] else first["message"],
        extra={"errors": errors},
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem_response(
        status=exc.status_code,
        code=code,
        title=_title(code),
        detail=str(exc.detail),
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _data_error(_request: Request, _exc: Exception) -> JSONResponse:
    # The database refused a value (a NUL byte, an over-long string): a client error.
    return problem_response(
        status=422,
        code="unstorable_value",
        title="Unstorable value",
        detail="a value in the request cannot be stored",
        hint="remove control characters and shorten very long values",
    )


async def _database_down(_request: Request, _exc: Exception) -> JSONResponse:
    log.warning("database operation failed", exc_info=True)
    return problem_response(
        status=503,
        code="upstream_unavailable",
        title="Database unavailable",
        detail="the database did not answer",
        hint="retry shortly",
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return problem_response(
        status=500, code="internal", title="Internal error", detail="an unexpected error occurred"
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error through problem+json (Starlette finds handlers along the MRO)."""
    app.add_exception_handler(LaunchdeckError, _launchdeck_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(Exception, _unexpected)
