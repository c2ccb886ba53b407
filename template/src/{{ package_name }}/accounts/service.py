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

from ..auth.scopes import SCOPES
from ..auth.security import (
    create_access_token,
    new_opaque_token,
    token_digest,
    verify_password,
    waste_password_check,
)
from ..db.types import utc_now
from ..settings import Settings
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
    """The account of `email` as typed at login (normalized for the lookup), or None.

    Read in a transaction that is committed before returning: the password check that
    follows holds no connection.
    """
    user = await get_user_by_email(session, email)
    await session.commit()
    return user


async def authenticate(
    session: AsyncSession, user: User | None, password: str, *, require_verified_email: bool = False
) -> User:
    """Check a login's password: `user` (from `find_account`) if `password` is theirs.

    Every failure is the same 401, in the same time (without an account, a password is
    hashed anyway). Raises OAuth2Error `invalid_grant` (RFC 6749 section 5.2) for no
    account, a wrong password or an inactive account, and, with
    `require_verified_email`, for an unverified address (told only to whoever knows the
    password).
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
    """Whether `password` is the account's.

    Call it with no transaction open on `session`: the check (tens of milliseconds of a
    core) runs with no connection checked out. A hash of an old scheme or old parameters
    is replaced while the password is at hand (committed).
    """
    check = await verify_password(password, user.hashed_password)
    if check.valid and check.new_hash is not None:
        user.hashed_password = check.new_hash
        session.add(user)
        await session.commit()
    return check.valid


async def confirm_password(session: AsyncSession, user: User, password: str) -> None:
    """Check the password that confirms an account holder's change.

    Ends the session's transaction before checking it. Raises WrongPasswordError unless
    `password` is the account's.
    """
    await session.commit()
    if not await password_matches(session, user, password):
        raise WrongPasswordError


def grant_scopes(requested: Iterable[str], held: Iterable[str]) -> list[str]:
    """The scopes to grant a login: those requested, sorted; none requested: all held.

    Raises OAuth2Error `invalid_scope` (RFC 6749 section 3.3) for a requested scope that
    does not exist, or that the account does not hold.
    """
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
    """Issue an access token and a refresh token granting `scopes` to `user`.

    The access token is a signed JWT valid for ACCESS_TOKEN_MINUTES (`expires_in`, in
    seconds); the refresh token, opaque, for REFRESH_TOKEN_DAYS, in `family_id` (None:
    a new family, as a login starts). Commits the refresh token's SHA-256 digest, never
    the token. The response shape is RFC 6749 section 5.1's.
    """
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
    """The stored refresh token whose digest is the presented token's, or None."""
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
    """Revoke every refresh token of the family that is not revoked yet. Commits."""
    await session.exec(_revoke(col(RefreshToken.family_id) == family_id))
    await session.commit()


async def spend(session: AsyncSession, token: RefreshToken) -> bool:
    """Mark the refresh token used; False when another request spent or revoked it first.

    One conditional UPDATE, in the session's transaction (the caller commits).
    """
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
    """Spend the presented refresh token for a new pair in its family (RFC 6749 section 6).

    The new pair keeps the login's scopes that the account still holds. A token spent
    already is a replay: its family is revoked (RFC 9700 section 4.14). Commits. Raises
    OAuth2Error `invalid_grant` for a token that is unknown, expired, revoked or spent,
    or whose account is gone or inactive.
    """
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
    """Revoke the family of the presented refresh token, which must be `user_id`'s.

    Commits. Raises OAuth2Error `invalid_grant` for a token that is unknown or another
    account's.
    """
    token = await find_refresh_token(session, presented)
    if token is None or token.user_id != user_id:
        raise invalid_grant("Invalid refresh token")
    await revoke_family(session, token.family_id)


async def set_password(session: AsyncSession, user: User, hashed_password: str) -> None:
    """Give the account a new password hash and end every session it had.

    Hash the password first, with no transaction open. Every earlier access token is
    refused from the next request on (the credentials version moves on,
    users/revocation.py), every refresh-token family revoked, every unused reset link
    deleted. Commits.
    """
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
