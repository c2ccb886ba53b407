"""CRUD of the caller's items. Another user's item is a 404: its existence stays hidden."""

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Response, Security, status
from sqlalchemy import RowMapping

from ..auth.dependencies import Actor, acting_principal, invalid_token
from ..core.errors import AUTH_ERRORS, NOT_FOUND
from ..core.pagination import Page, PageDep
from ..core.responses import json_response
from . import service
from .schemas import ItemCreate, ItemRead, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])

Reader = Annotated[Actor, Security(acting_principal, scopes=["items:read"])]
Writer = Annotated[Actor, Security(acting_principal, scopes=["items:write"])]

ITEM_ERRORS = AUTH_ERRORS | NOT_FOUND


def item_not_found() -> HTTPException:
    # Another user's item and a missing one get the same answer.
    return HTTPException(status.HTTP_404_NOT_FOUND, "Item not found")


def item_response(row: RowMapping | None) -> Response:
    if row is None:
        raise item_not_found()
    return json_response(ItemRead.model_validate(row))


@router.get("", response_model=Page[ItemRead], responses=AUTH_ERRORS)
async def list_items(actor: Reader, page: PageDep) -> Response:
    rows, total = await service.list_items(actor.session, actor.principal, page.limit, page.offset)
    body = Page[ItemRead](
        items=[ItemRead.model_validate(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
    return json_response(body)


@router.post(
    "", response_model=ItemRead, status_code=status.HTTP_201_CREATED, responses=AUTH_ERRORS
)
async def create_item(actor: Writer, body: ItemCreate) -> Response:
    try:
        item = await service.create_item(actor.session, actor.principal, body)
    except service.OwnerGoneError as exc:
        raise invalid_token() from exc
    return json_response(ItemRead.model_validate(item), status.HTTP_201_CREATED)


@router.get("/{item_id}", response_model=ItemRead, responses=ITEM_ERRORS)
async def read_item(actor: Reader, item_id: uuid.UUID) -> Response:
    return item_response(await service.read_item(actor.session, actor.principal, item_id))


@router.patch("/{item_id}", response_model=ItemRead, responses=ITEM_ERRORS)
async def update_item(actor: Writer, item_id: uuid.UUID, changes: ItemUpdate) -> Response:
    row = await service.update_item(actor.session, actor.principal, item_id, changes)
    return item_response(row)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ITEM_ERRORS)
async def delete_item(actor: Writer, item_id: uuid.UUID) -> None:
    if not await service.delete_item(actor.session, actor.principal, item_id):
        raise item_not_found()
