"""Async engine and sessions; one session per request, from the app's sessionmaker."""

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True)
class DatabaseUrls:
    """Where the service connects (`app`), and where migrations run (`migration`)."""

    app: str
    migration: str

    @property
    def app_role(self) -> str | None:
        return make_url(self.app).username


class AppSession(Session):
    """The synchronous session under every AsyncSession of the service: session events
    (such as the per-transaction Row-Level Security context) attach to this class."""


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: reloading them would need a lazy (sync) load.
    return async_sessionmaker(
        engine, class_=AsyncSession, sync_session_class=AppSession, expire_on_commit=False
    )


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one session, from the app's sessionmaker (`app.state.sessionmaker`).

    Every dependency and route of a request that asks for `SessionDep` gets this same
    session (FastAPI solves a dependency once per request), so `require_principal` can
    make it act for the caller. Tests replace it with `app.dependency_overrides[get_session]`
    or by swapping the sessionmaker. Closed when the request ends; a transaction left
    open is rolled back.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def act_as(session: AsyncSession, user_id: UUID, scopes: Iterable[str]) -> None:
    """Record whom the session acts for (the user id and the scopes it may use); with
    Row-Level Security, every transaction it begins from now on tells PostgreSQL."""
    session.info["user_id"] = str(user_id)
    session.info["scopes"] = " ".join(sorted(scopes))
