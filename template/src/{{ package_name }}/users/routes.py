"""Sign-up, the caller's own account, and account administration."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, Security, status

from ..auth.dependencies import CurrentUser, require_principal
from ..core.db import SessionDep
from ..core.errors import AUTH_ERRORS, NOT_FOUND, ErrorBody
from ..core.pagination import Page, PageDep
from ..core.responses import json_response
from . import service
from .models import User
from .schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


can_read_users = Security(require_principal, scopes=["users:read"])
can_admin_users = Security(require_principal, scopes=["users:admin"])


def user_response(user: User, status_code: int = status.HTTP_200_OK) -> Response:
    return json_response(UserRead.model_validate(user), status_code)


@router.post(
    "",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses={status.HTTP_409_CONFLICT: {"model": ErrorBody}},
)
async def register(body: UserCreate, session: SessionDep) -> Response:
    try:
        user = await service.create_user(session, body)
    except service.EmailTakenError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "Email already registered") from exc
    return user_response(user, status.HTTP_201_CREATED)


@router.get("/me", response_model=UserRead, responses=AUTH_ERRORS)
async def read_me(user: CurrentUser) -> Response:
    return user_response(user)


@router.get("", response_model=Page[UserRead], dependencies=[can_read_users], responses=AUTH_ERRORS)
async def list_users(session: SessionDep, page: PageDep) -> Response:
    users, total = await service.list_users(session, page.limit, page.offset)
    body = Page[UserRead](
        items=[UserRead.model_validate(user) for user in users],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
    return json_response(body)


async def existing_user(user_id: uuid.UUID, session: SessionDep) -> User:
    user = await service.get_user(session, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "User not found")
    return user


ExistingUser = Annotated[User, Depends(existing_user)]


@router.get(
    "/{user_id}",
    response_model=UserRead,
    dependencies=[can_read_users],
    responses=AUTH_ERRORS | NOT_FOUND,
)
async def read_user(user: ExistingUser) -> Response:
    return user_response(user)


@router.patch(
    "/{user_id}",
    response_model=UserRead,
    dependencies=[can_admin_users],
    responses=AUTH_ERRORS | NOT_FOUND,
)
async def update_user(user: ExistingUser, changes: UserUpdate, session: SessionDep) -> Response:
    return user_response(await service.update_user(session, user, changes))


@router.delete(
    "/{user_id}",
    dependencies=[can_admin_users],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=AUTH_ERRORS | NOT_FOUND,
)
async def delete_user(user: ExistingUser, session: SessionDep) -> None:
    await service.delete_user(session, user)
