"""Sign-up, the caller's own account (self-service), and account administration."""

import uuid
from typing import Annotated

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    HTTPException,
    Request,
    Response,
    Security,
    status,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from ..auth import recovery, throttle
from ..auth import service as auth
from ..auth.dependencies import (
    CurrentUser,
    PrincipalDep,
    client_address,
    login_gate,
    require_principal,
)
from ..auth.routes import NO_STORE, THROTTLED
from ..auth.schemas import TokenPair
from ..core.config import Settings, SettingsDep
from ..core.db import SessionDep
from ..core.errors import AUTH_ERRORS, NOT_FOUND, ErrorBody, Responses
from ..core.pagination import Page, PageDep
from ..core.responses import json_response
from ..core.security import hash_password
from . import service
from .models import User
from .schemas import (
    AccountDeletion,
    PasswordChange,
    ProfileUpdate,
    UserCreate,
    UserRead,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["users"])


can_read_users = Security(require_principal, scopes=["users:read"])
can_admin_users = Security(require_principal, scopes=["users:admin"])

WRONG_PASSWORD = "Incorrect password"  # noqa: S105 (a message, not a password)
EMAIL_TAKEN = "Email already registered"
EMAIL_CONFLICT: Responses = {status.HTTP_409_CONFLICT: {"model": ErrorBody}}
LAST_ADMIN: Responses = {
    status.HTTP_409_CONFLICT: {
        "model": ErrorBody,
        "description": "The change would leave no active account holding users:admin",
    }
}
PASSWORD_CHECKED: Responses = {
    status.HTTP_400_BAD_REQUEST: {"model": ErrorBody, "description": WRONG_PASSWORD},
    **THROTTLED,
}


def user_response(user: User, status_code: int = status.HTTP_200_OK) -> Response:
    return json_response(UserRead.model_validate(user), status_code)


def conflict(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail)


def mail_verification(
    background: BackgroundTasks, request: Request, settings: Settings, email: str
) -> None:
    """After the response: mail `email` its verification link (when mail can go out)."""
    if settings.mail_deliverable:
        sessions = request.app.state.sessionmaker
        background.add_task(recovery.send_email_verification, sessions, settings, email)


@router.post(
    "", response_model=UserRead, status_code=status.HTTP_201_CREATED, responses=EMAIL_CONFLICT
)
async def register(
    body: UserCreate,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    background: BackgroundTasks,
) -> Response:
    """Sign up: an account with the default scopes, and a verification link mailed to it.

    409 when the address (in any spelling) has an account already."""
    try:
        user = await service.create_user(session, body)
    except service.EmailTakenError as exc:
        raise conflict(EMAIL_TAKEN) from exc
    mail_verification(background, request, settings, user.email)
    return user_response(user, status.HTTP_201_CREATED)


@router.get("/me", response_model=UserRead, responses=AUTH_ERRORS)
async def read_me(user: CurrentUser) -> Response:
    """The caller's own account."""
    return user_response(user)


async def check_password(
    request: Request, session: AsyncSession, settings: Settings, user: User, password: str
) -> None:
    """The account holder confirms a change with their password, counted like a login
    attempt (429 over the limits); 400 when it is wrong. Ends with no transaction open:
    its callers may go on to slow work (hashing a new password)."""
    gate = await login_gate(request)
    # Reading the caller's account began a transaction: ended before queueing, or its
    # connection (and SQLite's write lock, which the logins inside the gate need: a
    # deadlock until the busy timeout) would be held for the whole wait.
    await session.commit()
    async with gate:
        await throttle.admit_login(session, settings, client_address(request), user.email)
    try:
        await auth.confirm_password(session, user, password)
    except auth.WrongPasswordError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, WRONG_PASSWORD) from exc
    await throttle.login_succeeded(session, settings, user.email)
    # The account's count cleared: committed now, or its connection, row locks (and with
    # SQLite the database's write lock) would wait through the caller's hashing.
    await session.commit()


@router.patch(
    "/me",
    response_model=UserRead,
    responses=AUTH_ERRORS | PASSWORD_CHECKED | EMAIL_CONFLICT,
)
async def update_me(
    changes: ProfileUpdate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    background: BackgroundTasks,
) -> Response:
    """Change your name, or your email (with `current_password`: 400 when wrong, 409 when
    the address has an account). A new address is unverified until its link, mailed to
    it, is followed."""
    new_email = changes.email if changes.email not in (None, user.email) else None
    if new_email is not None:
        # The schema requires it with an email; were it missing, "" matches no password.
        await check_password(request, session, settings, user, changes.current_password or "")
    try:
        user = await service.update_profile(session, user, changes)
    except service.EmailTakenError as exc:
        raise conflict(EMAIL_TAKEN) from exc
    if new_email is not None:
        mail_verification(background, request, settings, new_email)
    return user_response(user)


@router.post("/me/password", responses=AUTH_ERRORS | PASSWORD_CHECKED)
async def change_my_password(
    body: PasswordChange,
    user: CurrentUser,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> TokenPair:
    """Change your password (400 when `current_password` is wrong).

    Every session of the account ends, this one included: earlier access tokens are
    refused from the next request on, every refresh token is revoked. The answer is a
    fresh token pair, with this token's scopes, to go on with."""
    await check_password(request, session, settings, user, body.current_password)
    hashed = await hash_password(body.new_password)
    await auth.set_password(session, user, hashed)
    response.headers.update(NO_STORE)
    return await auth.issue_token_pair(session, settings, user, sorted(principal.scopes))


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=AUTH_ERRORS | PASSWORD_CHECKED | LAST_ADMIN,
)
async def delete_me(
    body: AccountDeletion,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> None:
    """Delete your account and everything it owns, with your `password` (400 when wrong).

    409 for the last active account holding users:admin."""
    await check_password(request, session, settings, user, body.password)
    try:
        await service.delete_user(session, user)
    except service.LastAdminError as exc:
        raise conflict(str(exc)) from exc


@router.get("", response_model=Page[UserRead], dependencies=[can_read_users], responses=AUTH_ERRORS)
async def list_users(session: SessionDep, page: PageDep) -> Response:
    """A page of accounts, oldest first (`users:read`)."""
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
    """One account (`users:read`)."""
    return user_response(user)


@router.patch(
    "/{user_id}",
    response_model=UserRead,
    dependencies=[can_admin_users],
    responses=AUTH_ERRORS | NOT_FOUND | LAST_ADMIN,
)
async def update_user(user: ExistingUser, changes: UserUpdate, session: SessionDep) -> Response:
    """Change an account (`users:admin`). Takes effect on the account's very next request:
    deactivated, its tokens are refused (401); scopes taken away no longer count (403);
    a new `password` ends all its sessions. 409 when it would leave no active account
    holding users:admin."""
    hashed = None
    if changes.password is not None:
        # Hashing is slow: the connection that loaded the account goes back first.
        await session.commit()
        hashed = await hash_password(changes.password)
    try:
        user = await service.update_user(session, user, changes)
    except service.LastAdminError as exc:
        raise conflict(str(exc)) from exc
    if hashed is not None:
        await auth.set_password(session, user, hashed)
    return user_response(user)


@router.delete(
    "/{user_id}",
    dependencies=[can_admin_users],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=AUTH_ERRORS | NOT_FOUND | LAST_ADMIN,
)
async def delete_user(user: ExistingUser, session: SessionDep) -> None:
    """Delete an account and everything it owns (`users:admin`); its tokens are refused
    from the next request on. 409 for the last active account holding users:admin."""
    try:
        await service.delete_user(session, user)
    except service.LastAdminError as exc:
        raise conflict(str(exc)) from exc
