"""The floor of the stack: the minimal app's two reads, done the way FastAPI and
SQLAlchemy are meant to be used, and nothing else.

FastAPI routes with two dependencies (the caller, from the same JWT check as the minimal
app; the request's `AsyncSession`, from SQLAlchemy's `async_sessionmaker` on asyncpg),
the same Row-Level Security context in the same transaction, the same queries as Core
`select()`s, and the same `json.dumps`. No middleware, no response model, no ORM
entities, no settings: any app built on FastAPI's dependencies and SQLAlchemy's session
costs at least this much per request. compare.py --floor measures it beside the other
two, to tell what the service adds from what the stack costs.
"""

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

SECRET = os.environ["SECRET_KEY"]
AUDIENCE = os.environ["JWT_AUDIENCE"]
ISSUER = os.environ["JWT_ISSUER"]
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


def row_json(row: Any) -> dict[str, object]:
    created_at: datetime = row.created_at
    updated_at: datetime = row.updated_at
    return {
        "id": str(row.id),
        "title": row.title,
        "description": row.description,
        "owner_id": str(row.owner_id),
        "created_at": created_at.isoformat(),
        "updated_at": updated_at.isoformat(),
    }


# `async def`, though it awaits nothing: FastAPI runs a plain `def` dependency in a worker
# thread, which cost this app 0.7 ms of server CPU per item read (one round, 2026-12-01).
async def caller(authorization: Annotated[str, Header()] = "") -> tuple[str, str]:
    try:
        claims = jwt.decode(
            authorization.removeprefix("Bearer "),
            SECRET,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
        )
    except jwt.InvalidTokenError as exc:
        raise HTTPException(401, "Could not validate credentials") from exc
    return str(claims["sub"]), str(claims["scope"])


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
        await session.execute(SET_CONTEXT, {"user_id": who[0], "scopes": who[1]})
        query = select(ITEM).where(ITEM.c.id == item_id, ITEM.c.owner_id == uuid.UUID(who[0]))
        row = (await session.execute(query)).first()
    if row is None:
        raise HTTPException(404, "Item not found")
    return Response(json.dumps(row_json(row)), media_type="application/json")


@app.get("/api/v1/items")
async def list_items(who: Caller, session: Session, limit: int = 50, offset: int = 0) -> Response:
    limit, owner = min(limit, 100), uuid.UUID(who[0])
    async with session.begin():
        await session.execute(SET_CONTEXT, {"user_id": who[0], "scopes": who[1]})
        count = select(func.count(ITEM.c.id)).where(ITEM.c.owner_id == owner)
        total = (await session.execute(count)).scalar_one()
        page = (
            select(ITEM)
            .where(ITEM.c.owner_id == owner)
            .order_by(ITEM.c.created_at.desc(), ITEM.c.id)
            .limit(limit)
            .offset(offset)
        )
        rows = (await session.execute(page)).all()
    items = [row_json(row) for row in rows]
    body = {"items": items, "total": total, "limit": limit, "offset": offset}
    return Response(json.dumps(body), media_type="application/json")
