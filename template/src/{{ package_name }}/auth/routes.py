"""The OAuth2 password flow, refresh rotation and logout; password reset and email
verification by mail."""

import asyncio
from typing import Annotated

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    Form,
    HTTPException,
    Request,
    Response,
    status,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from ..core.config import Settings, SettingsDep
from ..core.db import SessionDep
from ..core.errors import ErrorBody, Responses
from . import recovery, service, throttle
from .dependencies import LoginGate, PrincipalDep, client_address
from .schemas import (
    EmailRequest,
    EmailVerification,
    LoginForm,
    MailRequested,
    PasswordReset,
    RefreshRequest,
    TokenPair,
)

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


@router.post("/token", responses=TOKEN_ERRORS | THROTTLED)
async def login(
    form: Annotated[LoginForm, Form()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    gate: LoginGate,
    response: Response,
) -> TokenPair:
    """Exchange an email (`username`) and password for a token pair with the asked scopes.

    Throttled per client address and per account (429 with Retry-After)."""
    async with gate:
        await throttle.admit_login(session, settings, client_address(request), form.username)
        account = await service.find_account(session, form.username)
    user = await service.authenticate(
        session,
        account,
        form.password,
        require_verified_email=settings.email_verification_required,
    )
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


INVALID_LINK = "This link is invalid or has expired: ask for a new one"
MAIL_ON_ITS_WAY = "If the address has an account, a mail is on its way to it"
MAIL_REQUEST: Responses = {
    status.HTTP_202_ACCEPTED: {
        "description": "The same answer whether or not the address has an account"
    }
}
INVALID_TOKEN: Responses = {
    status.HTTP_400_BAD_REQUEST: {
        "model": ErrorBody,
        "description": "The token is unknown, spent or expired",
    }
}


async def accept_mail_request(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    gate: asyncio.Semaphore,
    background: BackgroundTasks,
    email: str,
    send: recovery.MailSender,
) -> MailRequested:
    """Count a request for a mail to `email`; unless it is over a limit, have `send` mail
    it after the response. The same answer either way."""
    async with gate:
        admitted = await throttle.admit_account_mail(
            session, settings, client_address(request), email
        )
    if admitted:
        background.add_task(send, request.app.state.sessionmaker, settings, email)
    return MailRequested(detail=MAIL_ON_ITS_WAY)


async def password_reset_enabled(settings: SettingsDep) -> None:
    if not settings.password_reset_enabled:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Password reset is disabled")


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(password_reset_enabled)],
    responses=MAIL_REQUEST | {status.HTTP_404_NOT_FOUND: {"model": ErrorBody}},
)
async def request_password_reset(
    body: EmailRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    gate: LoginGate,
    background: BackgroundTasks,
) -> MailRequested:
    """Mail a link to set a new password to the address, if an active account has it.

    Always 202, in the same time, throttled or not (ACCOUNT_MAILS_PER_ACCOUNT and
    ACCOUNT_MAILS_PER_ADDRESS): the answer tells nothing about accounts. The link is
    valid for PASSWORD_RESET_TOKEN_MINUTES, once."""
    send = recovery.send_password_reset
    return await accept_mail_request(request, session, settings, gate, background, body.email, send)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(password_reset_enabled)],
    responses=INVALID_TOKEN | {status.HTTP_404_NOT_FOUND: {"model": ErrorBody}},
)
async def confirm_password_reset(body: PasswordReset, session: SessionDep) -> None:
    """Set a new password with a reset link's token. Every session of the account ends:
    its access tokens are refused from the next request on, its refresh tokens revoked."""
    if not await recovery.reset_password(session, body.token, body.new_password):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, INVALID_LINK)


@router.post("/email-verification", status_code=status.HTTP_202_ACCEPTED, responses=MAIL_REQUEST)
async def request_email_verification(
    body: EmailRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    gate: LoginGate,
    background: BackgroundTasks,
) -> MailRequested:
    """Mail a new verification link to the address, if an account has it unverified.

    Always 202, in the same time, throttled like password resets."""
    send = recovery.send_email_verification
    return await accept_mail_request(request, session, settings, gate, background, body.email, send)


@router.post(
    "/email-verification/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=INVALID_TOKEN,
)
async def confirm_email_verification(body: EmailVerification, session: SessionDep) -> None:
    """Mark the address a verification link was mailed to as verified (if the account
    still has that address)."""
    if not await recovery.verify_email(session, body.token):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, INVALID_LINK)
