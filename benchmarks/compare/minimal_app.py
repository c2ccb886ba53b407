"""The baseline: the least a hand-written service does for the same two reads.

Starlette and asyncpg, no ORM, no validation layer: verify the same JWT, set the same
Row-Level Security context in the same transaction, run the same queries, dump JSON.
Run by benchmarks/compare.py with the rendered service's own environment.
"""

import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SECRET = os.environ["SECRET_KEY"]
AUDIENCE = os.environ["JWT_AUDIENCE"]
ISSUER = os.environ["JWT_ISSUER"]
SET_CONTEXT = "SELECT set_config('app.user_id', $1, true), set_config('app.scopes', $2, true)"
COLUMNS = "id, title, description, owner_id, created_at, updated_at"


def row_json(row: Mapping[str, Any]) -> dict[str, object]:
    """An item as JSON's types; `row` is an asyncpg record (or, in floor_app.py, a
    SQLAlchemy row mapping)."""
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "description": row["description"],
        "owner_id": str(row["owner_id"]),
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


def caller(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    try:
        claims = jwt.decode(
            header.removeprefix("Bearer "),
            SECRET,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
        )
    except jwt.InvalidTokenError:
        return None
    return str(claims["sub"]), str(claims["scope"])


async def read_item(request: Request) -> Response:
    who = caller(request)
    if who is None:
        return JSONResponse({"detail": "Could not validate credentials"}, status_code=401)
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        await connection.execute(SET_CONTEXT, *who)
        row = await connection.fetchrow(
            f"SELECT {COLUMNS} FROM item WHERE id = $1 AND owner_id = $2",
            uuid.UUID(request.path_params["item_id"]),
            uuid.UUID(who[0]),
        )
    if row is None:
        return JSONResponse({"detail": "Item not found"}, status_code=404)
    return Response(json.dumps(row_json(row)), media_type="application/json")


async def list_items(request: Request) -> Response:
    who = caller(request)
    if who is None:
        return JSONResponse({"detail": "Could not validate credentials"}, status_code=401)
    limit = min(int(request.query_params.get("limit", 50)), 100)
    offset = int(request.query_params.get("offset", 0))
    owner = uuid.UUID(who[0])
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        await connection.execute(SET_CONTEXT, *who)
        total = await connection.fetchval("SELECT count(id) FROM item WHERE owner_id = $1", owner)
        rows = await connection.fetch(
            f"SELECT {COLUMNS} FROM item WHERE owner_id = $1 "
            "ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
            owner,
            limit,
            offset,
        )
    body = {
        "items": [row_json(row) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
    return Response(json.dumps(body), media_type="application/json")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=10)
    yield
    await app.state.pool.close()


async def live(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/health/live", live),
        Route("/api/v1/items", list_items),
        Route("/api/v1/items/{item_id}", read_item),
    ],
    lifespan=lifespan,
)
