"""Sign-up, the caller's own account, and account administration."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Security, status

from ..auth.dependencies import CurrentUser, require_principal
from ..core.db import SessionDep
from ..core.errors import AUTH_ERRORS, NOT_FOUND, ErrorBody
from ..core.pagination import Page, PageDep
from . import service
from .models import User
from .schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


can_read_users = Security(require_principal, scopes=["users:read"])
can_admin_users = Security(require_principal, scopes=["users:admin"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={status.HTTP_409_CONFLICT: {"model": ErrorBody}},
)
async def register(body: UserCreate, session: SessionDep) -> UserRead:
    try:
        user = await service.create_user(session, body)
    except service.EmailTakenError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "Email already registered") from exc
    return UserRead.model_validate(user)


@router.get("/me", responses=AUTH_ERRORS)
async def read_me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.get("", dependencies=[can_read_users], responses=AUTH_ERRORS)
async def list_users(session: SessionDep, page: PageDep) -> Page[UserRead]:
    users, total = await service.list_users(session, page.limit, page.offset)
    return Page(
        items=[UserRead.model_validate(user) for user in users],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


async def existing_user(user_id: uuid.UUID, session: SessionDep) -> User:
    user = await service.get_user(session, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "User not found")
    return user


ExistingUser = Annotated[User, Depends(existing_user)]


@router.get("/{user_id}", dependencies=[can_read_users], responses=AUTH_ERRORS | NOT_FOUND)
async def read_user(user: ExistingUser) -> UserRead:
    return UserRead.model_validate(user)


@router.patch("/{user_id}", dependencies=[can_admin_users], responses=AUTH_ERRORS | NOT_FOUND)
async def update_user(user: ExistingUser, changes: UserUpdate, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await service.update_user(session, user, changes))


@router.delete(
    "/{user_id}",
    dependencies=[can_admin_users],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=AUTH_ERRORS | NOT_FOUND,
)
async def delete_user(user: ExistingUser, session: SessionDep) -> None:
    await service.delete_user(session, user)
