"""Password reset and email verification by mail: the flows behind their routes.

Mails go out after the response (the routes hand `send_*` to background tasks), so a
request answers in the same time whether or not the address has an account; a mail
that cannot be sent is logged with the request id and changes no answer.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlmodel.ext.asyncio.session import AsyncSession

from ..auth.security import hash_password
from ..db.types import utc_now
from ..mail import render_mail, send_mail
from ..settings import Settings
from ..users.emails import deliverable_address
from ..users.models import User
from ..users.service import get_user_by_email
from .account_tokens import (
    EMAIL_VERIFICATION,
    PASSWORD_RESET,
    is_redeemable,
    issue_account_token,
    redeem_account_token,
)
from .service import set_password

logger = logging.getLogger(__name__)

Sessions = Callable[[], AsyncSession]
# send_password_reset and send_email_verification: run after a request's response.
MailSender = Callable[[Sessions, Settings, str], Awaitable[None]]

# The service's own pages (accounts/pages.py), or a web app's with the same names.
RESET_PAGE = "reset-password"
VERIFY_PAGE = "verify-email"


def in_words(duration: timedelta) -> str:
    """A link's lifetime as a mail says it: "1 minute", "30 minutes", "48 hours"."""
    minutes = int(duration.total_seconds() // 60)
    amount, unit = (minutes // 60, "hour") if minutes % 60 == 0 else (minutes, "minute")
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


def account_link(settings: Settings, page: str, token: str) -> str:
    """The absolute URL a mail links to, with the token in its query (`?token=`).

    FRONTEND_URL's `page` when it is set, else this service's `/account/<page>` at
    PUBLIC_URL (accounts/pages.py).
    """
    if settings.frontend_url:
        base = f"{settings.frontend_url.rstrip('/')}/{page}"
    else:
        base = f"{settings.public_url.rstrip('/')}/account/{page}"
    return f"{base}?{urlencode({'token': token})}"


@dataclass(frozen=True)
class AccountMail:
    """One kind of mailed link: its token's purpose, its mail template, its page."""

    purpose: str
    template: str
    page: str


RESET_MAIL = AccountMail(PASSWORD_RESET, "password_reset", RESET_PAGE)
VERIFICATION_MAIL = AccountMail(EMAIL_VERIFICATION, "email_verification", VERIFY_PAGE)


async def _mail_link(
    sessions: Sessions,
    settings: Settings,
    email: str,
    kind: AccountMail,
    lifetime: timedelta,
    wanted: Callable[[User], bool],
) -> None:
    """Mail a `kind` link valid for `lifetime` to `email`'s account, if it has one that
    is `wanted`. The token is committed before the mail goes: no connection is held
    while the SMTP server answers."""
    async with sessions() as session:
        user = await get_user_by_email(session, email)
        if user is None or not wanted(user):
            return
        token = await issue_account_token(session, user, kind.purpose, lifetime)
        await session.commit()
    mail = render_mail(
        kind.template,
        to=deliverable_address(user.email),
        project_name=settings.project_name,
        link=account_link(settings, kind.page, token),
        expires_in=in_words(lifetime),
    )
    await send_mail(settings, mail)


async def send_password_reset(sessions: Sessions, settings: Settings, email: str) -> None:
    """Mail a password reset link to `email` if an active account has it; else nothing.

    The link works once, for PASSWORD_RESET_TOKEN_MINUTES. Runs after the response, in a
    session of its own from `sessions`; a mail that cannot be sent is logged
    (`send_mail`), never raised.
    """
    lifetime = timedelta(minutes=settings.password_reset_token_minutes)
    await _mail_link(sessions, settings, email, RESET_MAIL, lifetime, lambda user: user.is_active)


async def send_email_verification(sessions: Sessions, settings: Settings, email: str) -> None:
    """Mail a verification link to `email` if an account has it unverified; else nothing.

    The link works once, for EMAIL_VERIFICATION_TOKEN_HOURS. Runs after the response, as
    `send_password_reset` does.
    """
    lifetime = timedelta(hours=settings.email_verification_token_hours)
    await _mail_link(
        sessions, settings, email, VERIFICATION_MAIL, lifetime, lambda user: not user.email_verified
    )


async def _account_of_link(session: AsyncSession, token: str, purpose: str) -> User | None:
    """Spend a mailed link's `token` and return its account; None when the token is
    unknown, spent, expired or for another purpose, or the account no longer has the
    address it was mailed to (the caller then rolls back: nothing is spent)."""
    redeemed = await redeem_account_token(session, token, purpose)
    user = None if redeemed is None else await session.get(User, redeemed.user_id)
    if redeemed is None or user is None or user.email != redeemed.email:
        return None
    return user


async def reset_password(session: AsyncSession, token: str, new_password: str) -> bool:
    """Redeem a password reset token: set the account's new password; False if it cannot.

    The account's sessions all end (`set_password`). Following the link also proves the
    address, so an unverified one becomes verified. False, with nothing changed or
    spent, when the token is unknown, spent or expired, or was mailed to an address the
    account no longer has. The new password is hashed (slow by design) only for a token
    that may work, with no connection held. Commits.
    """
    redeemable = await is_redeemable(session, token, PASSWORD_RESET)
    # Hashing is slow by design: only for a token that may work, with no connection held.
    await session.commit()
    if not redeemable:
        return False
    hashed = await hash_password(new_password)
    user = await _account_of_link(session, token, PASSWORD_RESET)
    if user is None:
        # Spent by a concurrent request meanwhile, or mailed to an address the account
        # has left since: whoever holds that mailbox now must not take the account.
        await session.rollback()
        return False
    if user.email_verified_at is None:
        user.email_verified_at = utc_now()
    # One commit with the redemption: a token is spent only if its password is set.
    await set_password(session, user, hashed)
    return True


async def verify_email(session: AsyncSession, token: str) -> bool:
    """Redeem an email verification token: mark its account's address verified.

    False, with nothing spent, when the token is unknown, spent or expired, or the
    account's address has changed since it was mailed. Commits.
    """
    user = await _account_of_link(session, token, EMAIL_VERIFICATION)
    if user is None:
        await session.rollback()
        return False
    if user.email_verified_at is None:
        user.email_verified_at = utc_now()
        session.add(user)
    await session.commit()
    return True
