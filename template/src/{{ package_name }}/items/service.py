"""Items, always seen through their owner: another user's item does not exist for you.

With Row-Level Security the database enforces the same rule; the filter stays here too,
so a query never depends on one safeguard alone.
"""

import uuid

from sqlalchemy import ColumnElement
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..auth.dependencies import Principal
from ..core.types import utc_now
from .models import Item
from .schemas import ItemCreate, ItemUpdate

ADMIN_SCOPE = "users:admin"


def visible_to(principal: Principal) -> list[ColumnElement[bool]]:
    if ADMIN_SCOPE in principal.scopes:
        return []
    return [col(Item.owner_id) == principal.user_id]


async def list_items(
    session: AsyncSession, principal: Principal, limit: int, offset: int
) -> tuple[list[Item], int]:
    conditions = visible_to(principal)
    # The total rides along with the page (a window over the filtered rows): one round
    # trip instead of two. Only a page past the end needs the count on its own.
    statement = (
        select(Item, func.count().over().label("total"))
        .where(*conditions)
        .order_by(col(Item.created_at).desc(), col(Item.id))
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.exec(statement)).all()
    if rows:
        return [item for item, _ in rows], rows[0][1]
    total = (await session.exec(select(func.count(col(Item.id))).where(*conditions))).one()
    return [], total


async def get_item(session: AsyncSession, principal: Principal, item_id: uuid.UUID) -> Item | None:
    statement = select(Item).where(col(Item.id) == item_id, *visible_to(principal))
    return (await session.exec(statement)).first()


async def create_item(session: AsyncSession, principal: Principal, data: ItemCreate) -> Item:
    item = Item(owner_id=principal.user_id, **data.model_dump())
    session.add(item)
    await session.commit()
    return item


async def update_item(session: AsyncSession, item: Item, changes: ItemUpdate) -> Item:
    for field, value in changes.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    item.updated_at = utc_now()
    session.add(item)
    await session.commit()
    return item


async def delete_item(session: AsyncSession, item: Item) -> None:
    await session.delete(item)
    await session.commit()
