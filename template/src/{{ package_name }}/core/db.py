"""Async engine and sessions; one session per request, from the app's sessionmaker."""

from collections.abc import AsyncIterator, Iterable
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: reloading them would need a lazy (sync) load.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def act_as(session: AsyncSession, user_id: UUID, scopes: Iterable[str]) -> None:
    """Record whom the session acts for; with RLS, every transaction tells PostgreSQL."""
    session.info["user_id"] = str(user_id)
    session.info["scopes"] = " ".join(sorted(scopes))
