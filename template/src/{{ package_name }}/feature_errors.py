"""Every feature exception and the response it becomes, in one table.

Services raise exceptions that say what went wrong in their own terms and know nothing of
HTTP; `create_app` installs this table (core/errors.py), so no route catches and
translates them one by one. A new feature adds its exceptions here.
"""

import math
from typing import cast

from fastapi import status

from .auth.dependencies import INVALID_BEARER_CHALLENGE
from .auth.service import WrongPasswordError
from .auth.throttle import TOO_MANY_ATTEMPTS, TooManyAttemptsError
from .core.errors import ErrorResponse
from .items.service import ItemNotFoundError, OwnerGoneError
from .users.routes import EMAIL_TAKEN, WRONG_PASSWORD
from .users.service import LAST_ADMIN, EmailTakenError, LastAdminError, UserNotFoundError


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
    # A password confirming a change (not a login: that is an OAuth2 error, auth/errors.py).
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
