"""Every error is a JSON body; a 500 says nothing but the request id to quote."""

import logging
from typing import cast

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .request_id import HEADER

logger = logging.getLogger(__name__)


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


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    # Pydantic echoes the rejected input; a rejected password must not come back.
    errors = [
        {key: value for key, value in error.items() if key not in {"input", "url", "ctx"}}
        for error in cast(RequestValidationError, exc).errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def unhandled_error(request: Request, _exc: Exception) -> JSONResponse:
    request_id: str = getattr(request.state, "request_id", "-")
    logger.exception("unhandled error (request id %s)", request_id)
    body = ServerErrorBody(detail="Internal Server Error", request_id=request_id)
    return JSONResponse(body.model_dump(), status_code=500, headers={HEADER: request_id})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unhandled_error)
