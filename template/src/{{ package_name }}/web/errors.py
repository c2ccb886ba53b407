"""Every error is a JSON body; a 500 says nothing but the request id to quote, and a
database that cannot serve is a 503 that clients may retry."""

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import cast

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from ..db.outage import database_unavailable
from ..observability.request_id import HEADER
from .cors import CorsPolicy
from .guard import API_HEADERS

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "database unavailable"
# Seconds a client should wait before retrying after a 503.
RETRY_AFTER_UNAVAILABLE = "5"


class ErrorBody(BaseModel):
    detail: str


class ServerErrorBody(ErrorBody):
    request_id: str


# OpenAPI `responses=` of the routes: which errors they document, with their body.
Responses = dict[int | str, dict[str, object]]
AUTH_ERRORS: Responses = {
    status.HTTP_401_UNAUTHORIZED: {"model": ErrorBody},
    status.HTTP_403_FORBIDDEN: {"model": ErrorBody},
}
NOT_FOUND: Responses = {status.HTTP_404_NOT_FOUND: {"model": ErrorBody}}
UNAVAILABLE: Responses = {
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "model": ErrorBody,
        "description": "The database cannot be reached now; retry after Retry-After seconds",
    }
}


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    # Pydantic echoes the rejected input; a rejected password must not come back.
    errors = [
        {key: value for key, value in error.items() if key not in {"input", "url", "ctx"}}
        for error in cast(RequestValidationError, exc).errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


UNPARSABLE_BODY = {"type": "json_invalid", "loc": ["body"], "msg": "Body is not valid JSON"}


async def http_error(request: Request, exc: Exception) -> Response:
    error = cast(HTTPException, exc)
    if error.status_code == status.HTTP_400_BAD_REQUEST and isinstance(
        error.__cause__, ValueError | RecursionError
    ):
        # A body that is not JSON text at all (not UTF-8, a number past Python's digit
        # limit, nesting too deep): refused like any malformed JSON, with a 422.
        return JSONResponse({"detail": [UNPARSABLE_BODY]}, status_code=422)
    if error.status_code == status.HTTP_405_METHOD_NOT_ALLOWED and (
        allowed := allowed_methods(request)
    ):
        error.headers = {**(error.headers or {}), "Allow": allowed}
    return await http_exception_handler(request, error)


def allowed_methods(request: Request) -> str | None:
    """Every method of the path (RFC 9110: a 405 lists them), from the OpenAPI schema:
    the router's own header names only the first route that matched the path."""
    path, paths = request.scope["path"], request.app.openapi()["paths"]
    # As in OpenAPI, a concrete path (/users/me) comes before a template (/users/{id}).
    matching = [path] if path in paths else [t for t in paths if compile_path(t)[0].match(path)]
    methods = {method.upper() for template in matching for method in paths[template]}
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
    return ", ".join(sorted(methods)) or None


def request_id_of(request: Request) -> str:
    request_id: str = getattr(request.state, "request_id", "-")
    return request_id


def server_error(request: Request, exc: Exception) -> JSONResponse:
    request_id = request_id_of(request)
    logger.error("unhandled error (request id %s)", request_id, exc_info=exc)
    body = ServerErrorBody(detail="Internal Server Error", request_id=request_id)
    return JSONResponse(body.model_dump(), status_code=500)


async def unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    response = server_error(request, exc)
    # This handler answers outside every middleware: it adds what they would have.
    response.headers.update({HEADER: request_id_of(request), **API_HEADERS})
    cors: CorsPolicy | None = request.app.state.cors
    if cors is not None:
        response.headers.update(cors.response_headers(request.headers))
        response.headers.add_vary_header("Origin")
    return response


async def database_error(request: Request, exc: Exception) -> JSONResponse:
    """SQLAlchemy's and the driver's errors: a 503 when the database cannot serve."""
    if not database_unavailable(exc):
        return server_error(request, exc)
    # One line, no traceback: an outage would otherwise flood the logs.
    logger.warning("%s: %s", DATABASE_UNAVAILABLE, type(exc).__name__)
    return JSONResponse(
        {"detail": DATABASE_UNAVAILABLE},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
    )


@dataclass(frozen=True)
class ErrorResponse:
    """The response a feature's exception becomes: its status, the `detail` clients see
    (fixed text: an exception's own message is for the logs), and the headers it needs,
    derived from the exception (`Retry-After`, `WWW-Authenticate`), if any."""

    status_code: int
    detail: str
    headers: Callable[[Exception], dict[str, str]] | None = None


Handler = Callable[[Request, Exception], Awaitable[Response]]


def feature_error_handler(answer: ErrorResponse) -> Handler:
    async def handle(_request: Request, exc: Exception) -> Response:
        headers = answer.headers(exc) if answer.headers else None
        body = ErrorBody(detail=answer.detail).model_dump()
        return JSONResponse(body, status_code=answer.status_code, headers=headers)

    return handle


def install_error_handlers(
    app: FastAPI, feature_errors: Mapping[type[Exception], ErrorResponse]
) -> None:
    """Every error handler of the app: request validation (422), HTTP errors, the
    features' exceptions from `feature_errors` (a subclass answers as its base does),
    database outages (503) and anything else (a logged 500 with the request id)."""
    for exception_class, answer in feature_errors.items():
        app.add_exception_handler(exception_class, feature_error_handler(answer))
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    # Handled inside the middleware (this class is not Exception itself).
    app.add_exception_handler(SQLAlchemyError, database_error)
    app.add_exception_handler(Exception, unhandled_error)
