"""The pages that mailed links lead to, for a service without a web app of its own
(FRONTEND_URL unset): set a new password, confirm an email address.

Plain HTML forms, no script. A link only shows a form: the token is spent by the form's
POST, so a mail scanner that fetches every link spends nothing. The API routes
(`/api/v1/auth/password-reset/confirm`, `/api/v1/auth/email-verification/confirm`) do the
same for a web app's own pages.
"""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import TypeAdapter, ValidationError

from ..db.session import SessionDep
from ..users.schemas import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Password
from . import recovery
from .account_tokens import EMAIL_VERIFICATION, PASSWORD_RESET, is_redeemable
from .auth_routes import INVALID_LINK, password_reset_enabled

PAGES_PREFIX = "/account"
router = APIRouter(prefix=PAGES_PREFIX, include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))

Token = Annotated[str, Query(max_length=512)]
PostedToken = Annotated[str, Form(max_length=512)]
_PASSWORD = TypeAdapter(Password)


def page(
    request: Request, template: str, status_code: int = status.HTTP_200_OK, **context: object
) -> HTMLResponse:
    """Render `template` (from `templates/`, autoescaped) with `context` and the project."""
    settings = request.app.state.settings
    return templates.TemplateResponse(
        request,
        template,
        {"project_name": settings.project_name, **context},
        status_code=status_code,
    )


def expired_link(request: Request) -> HTMLResponse:
    """400: the page saying that the link is invalid or expired, and to ask for a new one."""
    return page(
        request,
        "page.html",
        status.HTTP_400_BAD_REQUEST,
        title="Link expired",
        message=INVALID_LINK,
    )


def reset_form(
    request: Request, token: str, problem: str | None = None, status_code: int = status.HTTP_200_OK
) -> HTMLResponse:
    """The form to type a new password in, carrying `token`.

    `problem` says what was wrong with the password typed last, if anything.
    """
    return page(
        request,
        "reset_password.html",
        status_code,
        title="Set a new password",
        token=token,
        problem=problem,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
    )


@router.get("/reset-password", dependencies=[Depends(password_reset_enabled)])
async def reset_password_page(request: Request, session: SessionDep, token: Token) -> HTMLResponse:
    """The page a password reset link opens: a form for the new password.

    Spends nothing. 400 with a page to say so when the token (`?token=`, at most 512
    characters) could not be redeemed; 404 when PASSWORD_RESET_ENABLED is off.
    """
    # Told now, not after a new password was typed in vain (looking spends nothing).
    if not await is_redeemable(session, token, PASSWORD_RESET):
        return expired_link(request)
    return reset_form(request, token)


@router.post("/reset-password", dependencies=[Depends(password_reset_enabled)])
async def reset_password(
    request: Request, session: SessionDep, token: PostedToken, new_password: Annotated[str, Form()]
) -> HTMLResponse:
    """The reset form's POST: set the new password and say so on a page.

    As `POST /api/v1/auth/password-reset/confirm` does: every session of the account ends.
    422 with the form again and the password policy's complaint; 400 with a page for a
    token that is unknown, spent or expired; 404 when PASSWORD_RESET_ENABLED is off.
    """
    try:
        _PASSWORD.validate_python(new_password)
    except ValidationError as exc:
        problem = "; ".join(str(error["msg"]) for error in exc.errors())
        return reset_form(request, token, problem, status.HTTP_422_UNPROCESSABLE_CONTENT)
    if not await recovery.reset_password(session, token, new_password):
        return expired_link(request)
    message = "Your new password is set, and every earlier session has ended: log in again."
    return page(request, "page.html", title="Password set", message=message)


@router.get("/verify-email")
async def verify_email_page(request: Request, session: SessionDep, token: Token) -> HTMLResponse:
    """The page a verification link opens: a button that confirms the address.

    Spends nothing (a mail scanner that follows the link verifies nothing); 400 with a
    page to say so when the token could not be redeemed.
    """
    if not await is_redeemable(session, token, EMAIL_VERIFICATION):
        return expired_link(request)
    return page(request, "verify_email.html", title="Confirm your email address", token=token)


@router.post("/verify-email")
async def verify_email(request: Request, session: SessionDep, token: PostedToken) -> HTMLResponse:
    """The verification page's POST: verify the address and say so on a page.

    As `POST /api/v1/auth/email-verification/confirm` does. 400 with a page for a token
    that is unknown, spent or expired.
    """
    if not await recovery.verify_email(session, token):
        return expired_link(request)
    message = "Your email address is confirmed. You can close this page."
    return page(request, "page.html", title="Email confirmed", message=message)
