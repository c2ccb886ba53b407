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

from ..auth.dependencies import PrincipalDep
from ..db.session import SessionDep
from ..settings import Settings
from ..web.dependencies import SettingsDep
from ..web.errors import ErrorBody, Responses
from . import recovery, service, throttle
from .dependencies import LoginGateDep, client_address
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
    gate: LoginGateDep,
    response: Response,
) -> TokenPair:
    """Log in: exchange an email and password for an access and a refresh token.

    The OAuth2 password grant (RFC 6749 section 4.3): a form with `username` (the email,
    in any spelling of it), `password`, and optionally `scope` (space-separated; none:
    every scope the account holds) and `grant_type=password`. 200 with a `TokenPair`:
    a bearer access token (a JWT for the `Authorization` header, RFC 6750) valid for
    `expires_in` seconds, a refresh token for `POST /auth/refresh`, and the granted
    `scope`; `Cache-Control: no-store` (RFC 6749 section 5.1).

    Errors carry `error` and `error_description` (RFC 6749 section 5.2): 401
    `invalid_grant` for an unknown email, a wrong password or an inactive account, all
    alike (and, with EMAIL_VERIFICATION_REQUIRED, an unverified address); 400
    `invalid_scope` for a scope that does not exist or the account does not hold; 429
    with `Retry-After` (seconds) over LOGIN_ATTEMPTS_PER_ADDRESS or
    LOGIN_ATTEMPTS_PER_ACCOUNT; 422 for a form without username or password.
    """
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
    """Spend a refresh token for a new token pair (RFC 6749 section 6).

    Each refresh token works once: the answer carries its successor, in the same family
    (the chain of one login), with the login's scopes less any the account has lost
    since. A spent token presented again revokes its whole family, as a stolen and
    replayed one would (rotation with reuse detection, RFC 9700 section 4.14).
    `Cache-Control: no-store`.

    401 `invalid_grant` (RFC 6749 section 5.2) for a token that is unknown, expired,
    revoked (logout, a password change) or spent, or whose account is gone or inactive;
    422 for a body without `refresh_token`.
    """
    response.headers.update(NO_STORE)
    return await service.refresh(session, settings, body.refresh_token)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={status.HTTP_401_UNAUTHORIZED: {"model": ErrorBody}},
)
async def logout(body: RefreshRequest, principal: PrincipalDep, session: SessionDep) -> None:
    """Log out: revoke the refresh token's family, the chain of tokens of its login.

    Needs the access token (`Authorization: Bearer`) of the account the refresh token
    belongs to; 204. The login's refresh tokens stop working at once; access tokens
    already issued stay valid until they expire (`expires_in`). Other logins of the
    account go on. 401 without a valid access token (RFC 6750), and `invalid_grant` for
    a refresh token that is unknown or another account's.
    """
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
    """Dependency of the password reset routes: 404 when PASSWORD_RESET_ENABLED is off."""
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
    gate: LoginGateDep,
    background: BackgroundTasks,
) -> MailRequested:
    """Ask for a password reset link, mailed to the address if an active account has it.

    Always 202 with the same body, whether or not the address has an account and whether
    or not the request was over ACCOUNT_MAILS_PER_ADDRESS or ACCOUNT_MAILS_PER_ACCOUNT
    (per ACCOUNT_MAIL_WINDOW_SECONDS): the answer tells nothing about accounts. The mail
    goes after the response; its link (FRONTEND_URL's `/reset-password`, else this
    service's `/account/reset-password`, with `?token=`) works once, for
    PASSWORD_RESET_TOKEN_MINUTES. 404 when PASSWORD_RESET_ENABLED is off; 422 for a
    malformed address.
    """
    send = recovery.send_password_reset
    return await accept_mail_request(request, session, settings, gate, background, body.email, send)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(password_reset_enabled)],
    responses=INVALID_TOKEN | {status.HTTP_404_NOT_FOUND: {"model": ErrorBody}},
)
async def confirm_password_reset(body: PasswordReset, session: SessionDep) -> None:
    """Set a new password with the token of a password reset link.

    204, and every session of the account ends: its access tokens are refused from the
    next request on, its refresh tokens and other reset links are revoked. Following the
    link proves the address, so an unverified one becomes verified. 400 for a token that
    is unknown, spent or expired, or was mailed to an address the account no longer
    has; 404 when PASSWORD_RESET_ENABLED is off; 422 for a password outside the policy
    (12 to 128 characters).
    """
    if not await recovery.reset_password(session, body.token, body.new_password):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, INVALID_LINK)


@router.post("/email-verification", status_code=status.HTTP_202_ACCEPTED, responses=MAIL_REQUEST)
async def request_email_verification(
    body: EmailRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    gate: LoginGateDep,
    background: BackgroundTasks,
) -> MailRequested:
    """Ask for a new verification link, mailed if an account has the address unverified.

    Always 202 with the same body, throttled like password reset requests (which share
    the counts). The link (FRONTEND_URL's `/verify-email`, else this service's
    `/account/verify-email`) works once, for EMAIL_VERIFICATION_TOKEN_HOURS. 422 for a
    malformed address.
    """
    send = recovery.send_email_verification
    return await accept_mail_request(request, session, settings, gate, background, body.email, send)


@router.post(
    "/email-verification/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=INVALID_TOKEN,
)
async def confirm_email_verification(body: EmailVerification, session: SessionDep) -> None:
    """Verify an email address with the token of a verification link.

    204: the account's address is verified (it was already: 204 too, the token spent).
    400 for a token that is unknown, spent or expired, or when the account's address
    has changed since the link was mailed.
    """
    if not await recovery.verify_email(session, body.token):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, INVALID_LINK)
