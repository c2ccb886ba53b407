"""Every feature exception and the response it becomes, in one table.

Services raise exceptions that say what went wrong in their own terms and know nothing of
HTTP; `create_app` installs this table (web/errors.py), so no route catches and
translates them one by one. A new feature adds its exceptions here.
"""

import math
from typing import cast

from fastapi import Request, status
from fastapi.responses import JSONResponse

from .accounts.errors import OAuth2Error
from .accounts.service import WrongPasswordError
from .accounts.throttle import TOO_MANY_ATTEMPTS, TooManyAttemptsError
from .accounts.user_routes import EMAIL_TAKEN, WRONG_PASSWORD
from .auth.dependencies import INVALID_BEARER_CHALLENGE
from .auth.principal import OwnerGoneError
from .items.service import ItemNotFoundError
from .users.service import LAST_ADMIN, EmailTakenError, LastAdminError, UserNotFoundError
from .web.errors import ErrorResponse


def invalid_token_challenge(_exc: Exception) -> dict[str, str]:
    """RFC 6750 section 3.1: a 401 names why the bearer token was refused."""
    return {"WWW-Authenticate": INVALID_BEARER_CHALLENGE}


def retry_after(exc: Exception) -> dict[str, str]:
    """`Retry-After` in whole seconds, rounded up (RFC 9110 section 10.2.3); never cached."""
    seconds = cast(TooManyAttemptsError, exc).retry_after_seconds
    return {"Retry-After": str(math.ceil(seconds)), "Cache-Control": "no-store"}


FEATURE_ERRORS: dict[type[Exception], ErrorResponse] = {
    UserNotFoundError: ErrorResponse(status.HTTP_404_NOT_FOUND, "User not found"),
    EmailTakenError: ErrorResponse(status.HTTP_409_CONFLICT, EMAIL_TAKEN),
    LastAdminError: ErrorResponse(status.HTTP_409_CONFLICT, LAST_ADMIN),
    # A password confirming a change (not a login: that is an OAuth2 error, accounts/errors.py).
    WrongPasswordError: ErrorResponse(status.HTTP_400_BAD_REQUEST, WRONG_PASSWORD),
    ItemNotFoundError: ErrorResponse(status.HTTP_404_NOT_FOUND, "Item not found"),
    # The account behind the token went away mid-request: its token is no longer valid.
    OwnerGoneError: ErrorResponse(
        status.HTTP_401_UNAUTHORIZED, "Could not validate credentials", invalid_token_challenge
    ),
    TooManyAttemptsError: ErrorResponse(
        status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY_ATTEMPTS, retry_after
    ),
}


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
