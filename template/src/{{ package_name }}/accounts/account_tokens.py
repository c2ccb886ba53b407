"""Single-use tokens mailed to an account's address: password resets and email
verifications, one machinery for both.

The mail carries the token; the table keeps only its digest (a stolen copy of the table
resets nothing), the address it went to, and an expiry. Redeeming is one conditional
UPDATE, so of two requests with one token, one wins.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, bindparam, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from ..auth.security import new_opaque_token, token_digest
from ..db.types import utc_now
from ..users.models import User
from .models import AccountToken

PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose, not a password)
EMAIL_VERIFICATION = "email_verification"

_TOKEN = AccountToken.metadata.tables["account_token"]  # for Core statements
_REDEEMABLE = and_(
    _TOKEN.c.token_digest == bindparam("digest"),
    _TOKEN.c.purpose == bindparam("wanted_purpose"),
    _TOKEN.c.used_at.is_(None),
    _TOKEN.c.expires_at > bindparam("now"),
)
_FIND = select(_TOKEN.c.id).where(_REDEEMABLE)
_REDEEM = (
    update(_TOKEN)
    .where(_REDEEMABLE)
    .values(used_at=bindparam("now"))
    .returning(_TOKEN.c.user_id, _TOKEN.c.email)
)


@dataclass(frozen=True)
class Redeemed:
    """A spent token's account, and the address it was mailed to."""

    user_id: uuid.UUID
    # The address the token was mailed to.
    email: str


async def issue_account_token(
    session: AsyncSession, user: User, purpose: str, lifetime: timedelta
) -> str:
    """A new single-use token for `purpose` (PASSWORD_RESET or EMAIL_VERIFICATION).

    URL-safe text, for the account's current address, valid for `lifetime`. Only its
    SHA-256 digest is added to the session (the caller commits).
    """
    token = new_opaque_token()
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_digest=token_digest(token),
            email=user.email,
            expires_at=utc_now() + lifetime,
        )
    )
    return token


def _parameters(token: str, purpose: str) -> dict[str, object]:
    return {"digest": token_digest(token), "wanted_purpose": purpose, "now": utc_now()}


async def is_redeemable(session: AsyncSession, token: str, purpose: str) -> bool:
    """Whether `token` could be redeemed for `purpose` now, without spending it.

    A cheap look before slow work, such as hashing a new password for it.
    """
    connection = await session.connection()
    found = await connection.execute(_FIND, _parameters(token, purpose))
    return found.first() is not None


async def redeem_account_token(session: AsyncSession, token: str, purpose: str) -> Redeemed | None:
    """Spend `token`: whom it was for, or None if it cannot be spent.

    None when it is unknown, spent, expired, or for another purpose. One conditional
    UPDATE in the session's transaction (the caller commits): of two requests with one
    token, one wins.
    """
    connection = await session.connection()
    row = (await connection.execute(_REDEEM, _parameters(token, purpose))).first()
    return None if row is None else Redeemed(user_id=row.user_id, email=row.email)
