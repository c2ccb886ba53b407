"""User accounts: the queries and rules behind the routes and the CLI.

Passwords are auth's (accounts/service.py): this module never sets one after sign-up.
"""

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import String, cast
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..auth.scopes import ADMIN_SCOPE
from ..auth.security import hash_password
from ..db.types import utc_now
from .emails import InvalidEmailError, normalize_email
from .models import User
from .schemas import ProfileUpdate, UserCreate, UserUpdate


class EmailTakenError(Exception):
    """An account with this email exists already."""


LAST_ADMIN = (
    "This is the last active account holding users:admin: grant users:admin to "
    "another account first"
)


class LastAdminError(Exception):
    """The change would leave no active account holding users:admin: nobody could manage
    accounts through the API any more (the CLI still can: `users create --scope`)."""

    def __str__(self) -> str:
        return LAST_ADMIN


class UserNotFoundError(LookupError):
    """No account has this id."""


async def create_user(
    session: AsyncSession,
    data: UserCreate,
    scopes: Sequence[str] | None = None,
    *,
    email_verified: bool = False,
) -> User:
    """Create an account from a sign-up body, hashing its password (slow by design).

    `scopes`: the account's, deduplicated and sorted (None: the default ones).
    `email_verified`: whoever creates it vouches for the address (an operator at the
    CLI). Commits. Raises EmailTakenError when the address has an account: the unique
    index decides, so of two racing sign-ups one wins.
    """
    user = User(
        email=data.email,
        full_name=data.full_name,
        hashed_password=await hash_password(data.password),
        email_verified_at=utc_now() if email_verified else None,
    )
    if scopes is not None:
        user.scopes = sorted(set(scopes))
    session.add(user)
    try:
        # The unique index decides, not a lookup first: two racing sign-ups cannot both win.
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise EmailTakenError(data.email) from exc
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    """The account with the id `user_id`. Raises UserNotFoundError."""
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFoundError(user_id)
    return user


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The account of `email`, however it is spelled (normalized: users/emails.py).

    None for an address without an account, or a string that is no address at all.
    """
    try:
        normalized = normalize_email(email)
    except InvalidEmailError:
        return None
    statement = select(User).where(User.email == normalized)
    return (await session.exec(statement)).first()


async def list_users(session: AsyncSession, limit: int, offset: int) -> tuple[list[User], int]:
    """A page of accounts, oldest first (ties by id), and the count of all accounts."""
    total = (await session.exec(select(func.count(col(User.id))))).one()
    statement = (
        select(User).order_by(col(User.created_at), col(User.id)).limit(limit).offset(offset)
    )
    return list((await session.exec(statement)).all()), total


def _is_admin(is_active: bool, scopes: Collection[str]) -> bool:
    return is_active and ADMIN_SCOPE in scopes


async def keep_an_admin(
    session: AsyncSession, user: User, *, is_active: bool, scopes: Collection[str]
) -> None:
    """Refuse a change that would leave no active account holding users:admin.

    Raises LastAdminError when `user`, an active administrator, would stop being one
    (become `is_active` with `scopes`; deleted: inactive, no scopes) and no other active
    administrator exists.

    The administrators' rows stay locked until the transaction ends (taken in id order,
    so two such changes wait for each other instead of deadlocking): of two admins
    demoting each other at once, the second sees the first's change and is refused.
    """
    if not _is_admin(user.is_active, user.scopes) or _is_admin(is_active, scopes):
        return
    # The JSON list as text holds each scope quoted: a match is an element, not a prefix.
    holds_admin = cast(User.scopes, String).contains(f'"{ADMIN_SCOPE}"', autoescape=True)
    admins = (
        select(User.id)
        .where(col(User.is_active), holds_admin)
        .order_by(col(User.id))
        .with_for_update()
    )
    if not any(admin != user.id for admin in (await session.exec(admins)).all()):
        raise LastAdminError


async def update_user(session: AsyncSession, user: User, changes: UserUpdate) -> User:
    """Apply an administrator's change of name, scopes and active flag.

    Fields unset or None stay as they are; a new password is not set here but through
    auth's `set_password` (which ends the account's sessions). Commits. Raises
    LastAdminError when no active administrator would remain.
    """
    values = {
        field: value
        for field, value in changes.model_dump(exclude_unset=True, exclude={"password"}).items()
        if value is not None
    }
    await keep_an_admin(
        session,
        user,
        is_active=values.get("is_active", user.is_active),
        scopes=values.get("scopes", user.scopes),
    )
    for field, value in values.items():
        setattr(user, field, value)
    session.add(user)
    await session.commit()
    return user


async def update_profile(session: AsyncSession, user: User, changes: ProfileUpdate) -> User:
    """Apply the account holder's change of name or email.

    The caller has confirmed the password already, when the email changes. A new email
    is unverified until its link is followed; `full_name` None clears the name. Commits.
    Raises EmailTakenError when another account has the new address.
    """
    values = changes.model_dump(exclude_unset=True, exclude={"current_password"})
    if values.get("email") is None:
        values.pop("email", None)
    elif values["email"] != user.email:
        user.email_verified_at = None
    for field, value in values.items():
        setattr(user, field, value)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise EmailTakenError(values["email"]) from exc
    return user


async def delete_user(session: AsyncSession, user: User) -> None:
    """Delete the account and every row it owns.

    The foreign keys' ON DELETE CASCADE deletes the rows (PostgreSQL runs the cascade
    past Row-Level Security). Commits. Raises LastAdminError for the last active
    account holding users:admin.
    """
    await keep_an_admin(session, user, is_active=False, scopes=())
    await session.delete(user)
    await session.commit()
