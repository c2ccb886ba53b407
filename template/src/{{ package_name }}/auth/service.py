"""Logins, token pairs, refresh rotation with reuse detection, logout, and the account's
credentials: checking a password, setting a new one (which ends every session).

A password check takes tens of milliseconds of a core by design: no pooled connection
is checked out while it runs (each function commits what it read first).
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import ColumnElement, Update
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from ..core.config import Settings
from ..core.scopes import SCOPES
from ..core.security import (
    create_access_token,
    new_opaque_token,
    token_digest,
    verify_password,
    waste_password_check,
)
from ..core.types import utc_now
from ..users.models import User
from ..users.service import get_user_by_email
from .account_tokens import PASSWORD_RESET
from .errors import invalid_grant, invalid_scope
from .models import AccountToken, RefreshToken
from .schemas import TokenPair

logger = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Incorrect email or password"
EMAIL_NOT_VERIFIED = (
    "Email address not verified: follow the link mailed to it, or ask for a new one "
    "(POST /api/v1/auth/email-verification)"
)


class WrongPasswordError(Exception):
    """The password presented to confirm a change is not the account's."""


async def find_account(session: AsyncSession, email: str) -> User | None:
    """The account of `email` as typed (normalized for the lookup, users/emails.py), read
    in a transaction that is committed before returning: the password check that follows
    holds no connection."""
    user = await get_user_by_email(session, email)
    await session.commit()
    return user


async def authenticate(
    session: AsyncSession, user: User | None, password: str, *, require_verified_email: bool = False
) -> User:
    """`user` (from `find_account`) if `password` is theirs; every failure is the same 401,
    in the same time.

    Raises OAuth2Error `invalid_grant` for no account, a wrong password or an inactive
    account, and, with `require_verified_email`, for an unverified address (told only to
    whoever knows the password).
    """
    if user is None:
        await waste_password_check(password)
        raise invalid_grant(WRONG_CREDENTIALS)
    if not await password_matches(session, user, password) or not user.is_active:
        raise invalid_grant(WRONG_CREDENTIALS)
    if require_verified_email and not user.email_verified:
        raise invalid_grant(EMAIL_NOT_VERIFIED)
    return user


async def password_matches(session: AsyncSession, user: User, password: str) -> bool:
    """Whether `password` is the account's. Call it with no transaction open on `session`:
    the check runs with no connection checked out. A hash of an old scheme or old
    parameters is replaced while the password is at hand (committed)."""
    check = await verify_password(password, user.hashed_password)
    if check.valid and check.new_hash is not None:
        user.hashed_password = check.new_hash
        session.add(user)
        await session.commit()
    return check.valid


async def confirm_password(session: AsyncSession, user: User, password: str) -> None:
    """For a change the account holder must confirm: raise WrongPasswordError unless
    `password` is theirs. Ends the session's transaction before checking it."""
    await session.commit()
    if not await password_matches(session, user, password):
        raise WrongPasswordError


def grant_scopes(requested: Iterable[str], held: Iterable[str]) -> list[str]:
    """The requested scopes, all of which the user must hold; none requested: all held."""
    wanted, holding = set(requested), set(held)
    unknown = wanted - SCOPES.keys()
    if unknown:
        raise invalid_scope(f"Unknown scope: {' '.join(sorted(unknown))}")
    refused = wanted - holding
    if refused:
        raise invalid_scope(f"Scope not granted to this user: {' '.join(sorted(refused))}")
    return sorted(wanted or holding)


async def issue_token_pair(
    session: AsyncSession,
    settings: Settings,
    user: User,
    scopes: list[str],
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    """A new access token and a refresh token in `family_id` (None: a new family, as a
    login starts). Commits the refresh token's digest."""
    refresh_token = new_opaque_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_digest=token_digest(refresh_token),
            scopes=scopes,
            expires_at=utc_now() + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.commit()
    return TokenPair(
        access_token=create_access_token(settings, user.id, scopes, user.credentials_version),
        refresh_token=refresh_token,
        expires_in=settings.access_token_minutes * 60,
        scope=" ".join(scopes),
    )


async def find_refresh_token(session: AsyncSession, presented: str) -> RefreshToken | None:
    digest = token_digest(presented)
    statement = select(RefreshToken).where(RefreshToken.token_digest == digest)
    return (await session.exec(statement)).first()


def _revoke(condition: ColumnElement[bool]) -> Update:
    """Revoke the refresh tokens that `condition` selects and that are not revoked yet."""
    return (
        update(RefreshToken)
        .where(condition, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utc_now())
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.exec(_revoke(col(RefreshToken.family_id) == family_id))
    await session.commit()


async def spend(session: AsyncSession, token: RefreshToken) -> bool:
    """Mark the token used; False when another request spent or revoked it first."""
    statement = (
        update(RefreshToken)
        .where(
            col(RefreshToken.id) == token.id,
            col(RefreshToken.used_at).is_(None),
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(used_at=utc_now())
    )
    # One conditional UPDATE: of two racing refreshes with one token, one wins.
    result = await session.exec(statement)
    return bool(result.rowcount == 1)


async def refresh(session: AsyncSession, settings: Settings, presented: str) -> TokenPair:
    token = await find_refresh_token(session, presented)
    if token is None:
        raise invalid_grant("Invalid refresh token")
    if token.expires_at <= utc_now():
        raise invalid_grant("Refresh token expired")
    if token.revoked_at is not None:
        # Logged out, or its account's password changed: not a sign of theft.
        raise invalid_grant("Refresh token revoked; log in again")
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        # Not spent: a deactivated account's client that tries again once it is active
        # again is no thief replaying a token.
        await session.commit()
        raise invalid_grant("Invalid refresh token")
    if not await spend(session, token):
        logger.warning("refresh token reuse: revoking family %s", token.family_id)
        await revoke_family(session, token.family_id)
        raise invalid_grant("Refresh token already used; log in again")
    # Scopes the user has lost since the login are not carried forward.
    scopes = [scope for scope in token.scopes if scope in user.scopes]
    return await issue_token_pair(session, settings, user, scopes, family_id=token.family_id)


async def logout(session: AsyncSession, user_id: uuid.UUID, presented: str) -> None:
    token = await find_refresh_token(session, presented)
    if token is None or token.user_id != user_id:
        raise invalid_grant("Invalid refresh token")
    await revoke_family(session, token.family_id)


async def set_password(session: AsyncSession, user: User, hashed_password: str) -> None:
    """Give the account a new password hash (hash it first, with no transaction open) and
    end every session it had: every earlier access token (its credentials version moves
    on, auth/revocation.py), every refresh-token family, every unused reset link.
    Commits."""
    user.hashed_password = hashed_password
    user.credentials_version += 1
    session.add(user)
    await session.exec(_revoke(col(RefreshToken.user_id) == user.id))
    unused_resets = delete(AccountToken).where(
        col(AccountToken.user_id) == user.id,
        col(AccountToken.purpose) == PASSWORD_RESET,
        col(AccountToken.used_at).is_(None),
    )
    await session.exec(unused_resets)
    await session.commit()
