"""Every error is a JSON body; a 500 says nothing but the request id to quote, and a
database that cannot serve is a 503 that clients may retry."""

import logging
from typing import cast

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from .guard import API_HEADERS
from .outage import database_unavailable
from .request_id import HEADER

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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    # Handled inside the middleware (these classes are not Exception itself).
    app.add_exception_handler(SQLAlchemyError, database_error)
    app.add_exception_handler(OSError, database_error)
    app.add_exception_handler(Exception, unhandled_error)
