"""OAuth2 token endpoint errors (RFC 6749 section 5.2), in the API's `{"detail": ...}` shape."""

from typing import cast

from fastapi import Request, status
from fastapi.responses import JSONResponse


class OAuth2Error(Exception):
    def __init__(self, error: str, description: str, status_code: int) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code


def invalid_grant(description: str) -> OAuth2Error:
    return OAuth2Error("invalid_grant", description, status.HTTP_401_UNAUTHORIZED)


def invalid_scope(description: str) -> OAuth2Error:
    return OAuth2Error("invalid_scope", description, status.HTTP_400_BAD_REQUEST)


async def oauth2_error_response(_request: Request, exc: Exception) -> JSONResponse:
    error = cast(OAuth2Error, exc)
    headers = {"Cache-Control": "no-store"}
    if error.status_code == status.HTTP_401_UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    body = {
        "detail": error.description,
        "error": error.error,
        "error_description": error.description,
    }
    return JSONResponse(body, status_code=error.status_code, headers=headers)
