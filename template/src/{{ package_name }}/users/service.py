"""User accounts: the queries and rules behind the routes and the CLI."""

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..core.security import hash_password
from .models import User
from .schemas import UserCreate, UserUpdate


class EmailTakenError(Exception):
    """An account with this email exists already."""


async def create_user(
    session: AsyncSession, data: UserCreate, scopes: Sequence[str] | None = None
) -> User:
    user = User(
        email=data.email,
        full_name=data.full_name,
        hashed_password=await hash_password(data.password),
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


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    statement = select(User).where(User.email == email.strip().lower())
    return (await session.exec(statement)).first()


async def list_users(session: AsyncSession, limit: int, offset: int) -> tuple[list[User], int]:
    total = (await session.exec(select(func.count(col(User.id))))).one()
    statement = (
        select(User).order_by(col(User.created_at), col(User.id)).limit(limit).offset(offset)
    )
    return list((await session.exec(statement)).all()), total


async def update_user(session: AsyncSession, user: User, changes: UserUpdate) -> User:
    values = changes.model_dump(exclude_unset=True)
    password = values.pop("password", None)
    for field, value in values.items():
        if value is not None:
            setattr(user, field, value)
    if password is not None:
        user.hashed_password = await hash_password(password)
    session.add(user)
    await session.commit()
    return user


async def delete_user(session: AsyncSession, user: User) -> None:
    await session.delete(user)
    await session.commit()
