"""The OAuth2 password flow, refresh rotation and logout."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status

from ..core.config import SettingsDep
from ..core.db import SessionDep
from ..core.errors import ErrorBody, Responses
from . import service, throttle
from .dependencies import PrincipalDep
from .schemas import LoginForm, RefreshRequest, TokenPair

router = APIRouter(prefix="/auth", tags=["auth"])

NO_STORE = {"Cache-Control": "no-store"}
TOKEN_ERRORS: Responses = {
    status.HTTP_400_BAD_REQUEST: {"model": ErrorBody, "description": "invalid_scope"},
    status.HTTP_401_UNAUTHORIZED: {"model": ErrorBody, "description": "invalid_grant"},
}
THROTTLED: Responses = {
    status.HTTP_429_TOO_MANY_REQUESTS: {
        "model": ErrorBody,
        "description": "Too many login attempts from this address or for this account",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        },
    }
}


def client_address(request: Request) -> str:
    # Behind a proxy, uvicorn's --forwarded-allow-ips makes this the real client.
    return request.client.host if request.client else "unknown"


@router.post("/token", responses=TOKEN_ERRORS | THROTTLED)
async def login(
    form: Annotated[LoginForm, Form()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> TokenPair:
    """Exchange an email (`username`) and password for a token pair with the asked scopes.

    Throttled per client address and per account (429 with Retry-After)."""
    await throttle.admit_login(session, settings, client_address(request), form.username)
    user = await service.authenticate(session, form.username, form.password)
    scopes = service.grant_scopes(form.scopes, user.scopes)
    await throttle.login_succeeded(session, settings, form.username)
    response.headers.update(NO_STORE)
    return await service.issue_token_pair(session, settings, user, scopes)


@router.post("/refresh", responses=TOKEN_ERRORS)
async def refresh(
    body: RefreshRequest, session: SessionDep, settings: SettingsDep, response: Response
) -> TokenPair:
    """Spend a refresh token for a new pair. A spent token presented again revokes its family."""
    response.headers.update(NO_STORE)
    return await service.refresh(session, settings, body.refresh_token)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={status.HTTP_401_UNAUTHORIZED: {"model": ErrorBody}},
)
async def logout(body: RefreshRequest, principal: PrincipalDep, session: SessionDep) -> None:
    """Revoke the refresh token's whole family: every device of this login is logged out."""
    await service.logout(session, principal.user_id, body.refresh_token)
