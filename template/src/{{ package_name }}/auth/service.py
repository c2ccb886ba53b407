"""Logins, token pairs, refresh rotation with reuse detection, logout."""

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from ..core.config import Settings
from ..core.scopes import SCOPES
from ..core.security import (
    create_access_token,
    new_refresh_token,
    refresh_token_digest,
    verify_password,
    waste_password_check,
)
from ..core.types import utc_now
from ..users.models import User
from ..users.service import get_user_by_email
from .errors import invalid_grant, invalid_scope
from .models import RefreshToken
from .schemas import TokenPair

logger = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Incorrect email or password"


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    """The account for these credentials; every failure is the same 401, in the same time."""
    user = await get_user_by_email(session, email)
    if user is None:
        await waste_password_check(password)
        raise invalid_grant(WRONG_CREDENTIALS)
    check = await verify_password(password, user.hashed_password)
    if not check.valid or not user.is_active:
        raise invalid_grant(WRONG_CREDENTIALS)
    if check.new_hash is not None:
        # An old scheme or old parameters: upgrade while the password is at hand.
        user.hashed_password = check.new_hash
        session.add(user)
        await session.commit()
    return user


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
    refresh_token = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_digest=refresh_token_digest(refresh_token),
            scopes=scopes,
            expires_at=utc_now() + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.commit()
    return TokenPair(
        access_token=create_access_token(settings, user.id, scopes),
        refresh_token=refresh_token,
        expires_in=settings.access_token_minutes * 60,
        scope=" ".join(scopes),
    )


async def find_refresh_token(session: AsyncSession, presented: str) -> RefreshToken | None:
    digest = refresh_token_digest(presented)
    statement = select(RefreshToken).where(RefreshToken.token_digest == digest)
    return (await session.exec(statement)).first()


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    statement = (
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utc_now())
    )
    await session.exec(statement)
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
    if not await spend(session, token):
        logger.warning("refresh token reuse: revoking family %s", token.family_id)
        await revoke_family(session, token.family_id)
        raise invalid_grant("Refresh token already used; log in again")
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        await session.commit()
        raise invalid_grant("Invalid refresh token")
    # Scopes the user has lost since the login are not carried forward.
    scopes = [scope for scope in token.scopes if scope in user.scopes]
    return await issue_token_pair(session, settings, user, scopes, family_id=token.family_id)


async def logout(session: AsyncSession, user_id: uuid.UUID, presented: str) -> None:
    token = await find_refresh_token(session, presented)
    if token is None or token.user_id != user_id:
        raise invalid_grant("Invalid refresh token")
    await revoke_family(session, token.family_id)
