"""The OAuth2 password flow, refresh rotation and logout."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from ..core.config import SettingsDep
from ..core.db import SessionDep
from ..core.errors import ErrorBody, Responses
from . import service
from .dependencies import PrincipalDep
from .schemas import RefreshRequest, TokenPair

router = APIRouter(prefix="/auth", tags=["auth"])

NO_STORE = {"Cache-Control": "no-store"}
TOKEN_ERRORS: Responses = {
    status.HTTP_400_BAD_REQUEST: {"model": ErrorBody, "description": "invalid_scope"},
    status.HTTP_401_UNAUTHORIZED: {"model": ErrorBody, "description": "invalid_grant"},
}


@router.post("/token", responses=TOKEN_ERRORS)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> TokenPair:
    """Exchange an email (`username`) and password for a token pair with the asked scopes."""
    user = await service.authenticate(session, form.username, form.password)
    scopes = service.grant_scopes(form.scopes, user.scopes)
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
