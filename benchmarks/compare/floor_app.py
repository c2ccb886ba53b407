"""The stack's floor: the minimal app's two reads, written plainly on FastAPI's
dependencies and SQLAlchemy's `AsyncSession`, and nothing else.

FastAPI routes with two dependencies (the caller, checked by the minimal app's own
`caller`; the request's `AsyncSession`, from SQLAlchemy's `async_sessionmaker` on asyncpg
with its stock pool), the same Row-Level Security context in the same transaction as its
own statement, the same queries as Core `select()`s built once with bound parameters (as
the service's items/service.py does, which measured an eighth of a read's CPU for
building them per request), and the minimal app's `row_json` and `json.dumps`. No
middleware, no response model, no ORM entities, no settings. compare.py --floor measures
it beside the other two: what a plain app on this stack costs for the same work, to tell
the stack's share of the gap from the service's features. (The service does less work
than either baseline where it can: it checks a token's signature once per worker and
sends the context with BEGIN.)
"""

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response
from minimal_app import caller as verified_caller
from minimal_app import row_json
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

SET_CONTEXT = text(
    "SELECT set_config('app.user_id', :user_id, true), set_config('app.scopes', :scopes, true)"
)
ITEM = Table(
    "item",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("title", String),
    Column("description", String),
    Column("owner_id", Uuid),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)
OWNED = ITEM.c.owner_id == bindparam("owner")
READ = select(ITEM).where(ITEM.c.id == bindparam("item_id"), OWNED)
COUNT = select(func.count(ITEM.c.id)).where(OWNED)
PAGE = (
    select(ITEM)
    .where(OWNED)
    .order_by(ITEM.c.created_at.desc(), ITEM.c.id)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


# `async def`, though it awaits nothing: FastAPI runs a plain `def` dependency in a worker
# thread, which cost this app 0.7 ms of server CPU per item read (one round, 2026-12-01).
async def caller(request: Request) -> tuple[str, str]:
    """The caller's user id and scopes, or 401."""
    who = verified_caller(request)
    if who is None:
        raise HTTPException(401, "Could not validate credentials")
    return who


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


Caller = Annotated[tuple[str, str], Depends(caller)]
Session = Annotated[AsyncSession, Depends(session)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(url, pool_size=10, max_overflow=0)
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan, openapi_url=None)


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/items/{item_id}")
async def read_item(item_id: uuid.UUID, who: Caller, session: Session) -> Response:
    async with session.begin():
        connection = await session.connection()
        await connection.execute(SET_CONTEXT, {"user_id": who[0], "scopes": who[1]})
        found = await connection.execute(READ, {"item_id": item_id, "owner": uuid.UUID(who[0])})
        row = found.mappings().first()
    if row is None:
        raise HTTPException(404, "Item not found")
    return Response(json.dumps(row_json(row)), media_type="application/json")


@app.get("/api/v1/items")
async def list_items(who: Caller, session: Session, limit: int = 50, offset: int = 0) -> Response:
    limit, owner = min(limit, 100), uuid.UUID(who[0])
    async with session.begin():
        connection = await session.connection()
        await connection.execute(SET_CONTEXT, {"user_id": who[0], "scopes": who[1]})
        total = (await connection.execute(COUNT, {"owner": owner})).scalar_one()
        page = {"owner": owner, "limit": limit, "offset": offset}
        rows = (await connection.execute(PAGE, page)).mappings().all()
    items = [row_json(row) for row in rows]
    body = {"items": items, "total": total, "limit": limit, "offset": offset}
    return Response(json.dumps(body), media_type="application/json")
