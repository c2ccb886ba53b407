"""CRUD of the caller's items. Another user's item is a 404: its existence stays hidden."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Response, Security, status

from ..auth.dependencies import require_principal
from ..auth.principal import Principal
from ..db.session import SessionDep
from ..web.errors import AUTH_ERRORS, NOT_FOUND
from ..web.pagination import Page, PageDep
from ..web.responses import json_response
from . import service
from .schemas import ItemCreate, ItemRead, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])

ItemReaderDep = Annotated[Principal, Security(require_principal, scopes=["items:read"])]
ItemWriterDep = Annotated[Principal, Security(require_principal, scopes=["items:write"])]

ITEM_ERRORS = AUTH_ERRORS | NOT_FOUND


@router.get("", response_model=Page[ItemRead], responses=AUTH_ERRORS)
async def list_items(caller: ItemReaderDep, session: SessionDep, page: PageDep) -> Response:
    """List the caller's items.

    Newest first, a page at a time (`limit`, `offset`), with the `total` count; an
    administrator (`users:admin`) sees every user's. 401 without a valid token, 403
    without `items:read`.
    """
    rows, total = await service.list_items(session, caller, page.limit, page.offset)
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
async def create_item(caller: ItemWriterDep, session: SessionDep, body: ItemCreate) -> Response:
    """Create an item owned by the caller.

    201 with the item. 401 without a valid token (or when the caller's account was
    deleted meanwhile), 403 without `items:write`, 422 for a bad body.
    """
    item = await service.create_item(session, caller, body)
    return json_response(ItemRead.model_validate(item), status.HTTP_201_CREATED)


@router.get("/{item_id}", response_model=ItemRead, responses=ITEM_ERRORS)
async def read_item(caller: ItemReaderDep, session: SessionDep, item_id: uuid.UUID) -> Response:
    """Read one of the caller's items.

    404 when it does not exist or is another user's (the same answer: existence stays
    hidden); 401 and 403 as for listing.
    """
    return json_response(ItemRead.model_validate(await service.read_item(session, caller, item_id)))


@router.patch("/{item_id}", response_model=ItemRead, responses=ITEM_ERRORS)
async def update_item(
    caller: ItemWriterDep, session: SessionDep, item_id: uuid.UUID, changes: ItemUpdate
) -> Response:
    """Change one of the caller's items.

    A partial update: only the fields sent change (a null description clears it); 200
    with the item. 404 as for reading, 403 without `items:write`, 422 for a bad body.
    """
    row = await service.update_item(session, caller, item_id, changes)
    return json_response(ItemRead.model_validate(row))


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ITEM_ERRORS)
async def delete_item(caller: ItemWriterDep, session: SessionDep, item_id: uuid.UUID) -> None:
    """Delete one of the caller's items.

    204 with no body. 404 as for reading, 403 without `items:write`.
    """
    await service.delete_item(session, caller, item_id)
