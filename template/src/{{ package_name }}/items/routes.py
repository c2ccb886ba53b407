"""CRUD of the caller's items. Another user's item is a 404: its existence stays hidden."""

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Security, status

from ..auth.dependencies import Actor, acting_principal
from ..core.errors import ErrorBody
from ..core.pagination import Page, PageDep
from . import service
from .models import Item
from .schemas import ItemCreate, ItemRead, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])

Reader = Annotated[Actor, Security(acting_principal, scopes=["items:read"])]
Writer = Annotated[Actor, Security(acting_principal, scopes=["items:write"])]

AUTH_ERRORS: dict[int | str, dict[str, object]] = {
    status.HTTP_401_UNAUTHORIZED: {"model": ErrorBody},
    status.HTTP_403_FORBIDDEN: {"model": ErrorBody},
}
ITEM_ERRORS = AUTH_ERRORS | {status.HTTP_404_NOT_FOUND: {"model": ErrorBody}}


async def visible_item(actor: Actor, item_id: uuid.UUID) -> Item:
    item = await service.get_item(actor.session, actor.principal, item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Item not found")
    return item


@router.get("", responses=AUTH_ERRORS)
async def list_items(actor: Reader, page: PageDep) -> Page[ItemRead]:
    items, total = await service.list_items(actor.session, actor.principal, page.limit, page.offset)
    return Page(
        items=[ItemRead.model_validate(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=AUTH_ERRORS)
async def create_item(actor: Writer, body: ItemCreate) -> ItemRead:
    return ItemRead.model_validate(await service.create_item(actor.session, actor.principal, body))


@router.get("/{item_id}", responses=ITEM_ERRORS)
async def read_item(actor: Reader, item_id: uuid.UUID) -> ItemRead:
    return ItemRead.model_validate(await visible_item(actor, item_id))


@router.patch("/{item_id}", responses=ITEM_ERRORS)
async def update_item(actor: Writer, item_id: uuid.UUID, changes: ItemUpdate) -> ItemRead:
    item = await visible_item(actor, item_id)
    return ItemRead.model_validate(await service.update_item(actor.session, item, changes))


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ITEM_ERRORS)
async def delete_item(actor: Writer, item_id: uuid.UUID) -> None:
    await service.delete_item(actor.session, await visible_item(actor, item_id))
