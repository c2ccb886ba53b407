"""Offset pagination: `?limit=&offset=` in, `{items, total, limit, offset}` out."""

from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel

MAX_LIMIT = 100


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip")] = 0,
) -> PageParams:
    # async: a plain `def` dependency would cost a thread-pool hop per request.
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page[T](BaseModel):
    items: list[T]
    total: int
    limit: int
    offset: int
