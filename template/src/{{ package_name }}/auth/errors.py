"""OAuth2 token endpoint errors (RFC 6749 section 5.2), in the API's `{"detail": ...}` shape."""

from typing import cast

from fastapi import Request, status
from fastapi.responses import JSONResponse


class OAuth2Error(Exception):
    """An error of the token endpoint or of a refresh: its RFC 6749 section 5.2 `error`
    code, a `description` for humans, and the HTTP status to answer with."""

    def __init__(self, error: str, description: str, status_code: int) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code


def invalid_grant(description: str) -> OAuth2Error:
    """401 `invalid_grant`: the credentials or the refresh token are not good.

    RFC 6749 section 5.2 answers 400; this API answers 401, with `WWW-Authenticate`.
    """
    return OAuth2Error("invalid_grant", description, status.HTTP_401_UNAUTHORIZED)


def invalid_scope(description: str) -> OAuth2Error:
    """400 `invalid_scope`: a requested scope does not exist or is not the account's."""
    return OAuth2Error("invalid_scope", description, status.HTTP_400_BAD_REQUEST)


async def oauth2_error_response(_request: Request, exc: Exception) -> JSONResponse:
    """The exception handler of OAuth2Error: `{"detail", "error", "error_description"}`.

    `Cache-Control: no-store` (RFC 6749 section 5.2), and on a 401 a `WWW-Authenticate:
    Bearer` challenge (RFC 9110 section 15.5.2).
    """
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
