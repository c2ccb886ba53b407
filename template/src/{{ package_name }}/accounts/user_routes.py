"""Sign-up, the caller's own account (self-service), and account administration."""

import uuid
from typing import Annotated

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    Request,
    Response,
    Security,
    status,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from ..auth.dependencies import PrincipalDep, require_principal
from ..auth.scopes import ADMIN_SCOPE
from ..auth.security import hash_password
from ..db.session import SessionDep
from ..settings import Settings
from ..users import service
from ..users.dependencies import CurrentUserDep
from ..users.models import User
from ..users.schemas import (
    AccountDeletion,
    PasswordChange,
    ProfileUpdate,
    UserCreate,
    UserRead,
    UserUpdate,
)
from ..web.dependencies import SettingsDep
from ..web.errors import AUTH_ERRORS, NOT_FOUND, ErrorBody, Responses
from ..web.pagination import Page, PageDep
from ..web.responses import json_response
from . import recovery, throttle
from . import service as auth
from .auth_routes import NO_STORE, THROTTLED
from .dependencies import client_address, login_gate
from .schemas import TokenPair

router = APIRouter(prefix="/users", tags=["users"])


can_read_users = Security(require_principal, scopes=["users:read"])
can_admin_users = Security(require_principal, scopes=[ADMIN_SCOPE])

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
    """`user` as a `UserRead` JSON response (never the password hash)."""
    return json_response(UserRead.model_validate(user), status_code)


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
    """Sign up: a new account, with the default scopes.

    No token needed. 201 with the account (`UserRead`); a link to verify the address is
    mailed to it after the response (when mail can go out). Scopes and the active flag
    are an administrator's: a body that sends them is refused like any unknown field.
    409 when the address, in any spelling of it, has an account already; 422 for a
    malformed address, a password outside the policy (12 to 128 characters) or one that
    is the email address.
    """
    user = await service.create_user(session, body)
    mail_verification(background, request, settings, user.email)
    return user_response(user, status.HTTP_201_CREATED)


@router.get("/me", response_model=UserRead, responses=AUTH_ERRORS)
async def read_me(user: CurrentUserDep) -> Response:
    """Your own account: the access token's.

    Any scope will do. 401 without a valid token, or when the account is gone or
    inactive.
    """
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
    await auth.confirm_password(session, user, password)
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
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    background: BackgroundTasks,
) -> Response:
    """Change your own name or email; fields left out stay as they are.

    200 with the account. `full_name: null` clears the name. A new `email` needs
    `current_password` (422 without it), checked like a login attempt: 400 when wrong,
    429 with `Retry-After` over the login limits; 409 when the new address has an
    account. A new address is unverified until the link mailed to it is followed.
    401 without a valid token.
    """
    new_email = changes.email if changes.email not in (None, user.email) else None
    if new_email is not None:
        # The schema requires it with an email; were it missing, "" matches no password.
        await check_password(request, session, settings, user, changes.current_password or "")
    user = await service.update_profile(session, user, changes)
    if new_email is not None:
        mail_verification(background, request, settings, new_email)
    return user_response(user)


@router.post("/me/password", responses=AUTH_ERRORS | PASSWORD_CHECKED)
async def change_my_password(
    body: PasswordChange,
    user: CurrentUserDep,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> TokenPair:
    """Change your own password, ending every session of the account.

    `current_password` is checked like a login attempt: 400 when wrong, 429 with
    `Retry-After` over the login limits; 422 for a `new_password` outside the policy.
    Earlier access tokens are refused from the next request on, every refresh token is
    revoked, this session's too: the answer (200, `Cache-Control: no-store`) is a fresh
    token pair with this token's scopes, to go on with. 401 without a valid token.
    """
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
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> None:
    """Delete your own account and everything it owns.

    204. `password` is checked like a login attempt: 400 when wrong, 429 with
    `Retry-After` over the login limits. The account's tokens are refused from the next
    request on. 409 for the last active account holding users:admin (nobody could
    administer accounts through the API any more); 401 without a valid token.
    """
    await check_password(request, session, settings, user, body.password)
    await service.delete_user(session, user)


@router.get("", response_model=Page[UserRead], dependencies=[can_read_users], responses=AUTH_ERRORS)
async def list_users(session: SessionDep, page: PageDep) -> Response:
    """List the accounts, oldest first, a page at a time.

    Needs `users:read`. `limit` (1 to 100, default 50) and `offset` pick the page; 200
    with `items`, the `total` count, `limit` and `offset`. 401 without a valid token,
    403 without the scope.
    """
    users, total = await service.list_users(session, page.limit, page.offset)
    body = Page[UserRead](
        items=[UserRead.model_validate(user) for user in users],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
    return json_response(body)


async def existing_user(user_id: uuid.UUID, session: SessionDep) -> User:
    """Dependency: the account of the path's `user_id`; 404 when there is none."""
    return await service.get_user(session, user_id)


ExistingUserDep = Annotated[User, Depends(existing_user)]


@router.get(
    "/{user_id}",
    response_model=UserRead,
    dependencies=[can_read_users],
    responses=AUTH_ERRORS | NOT_FOUND,
)
async def read_user(user: ExistingUserDep) -> Response:
    """Read one account by its id.

    Needs `users:read`. 404 when no account has the id; 401 without a valid token, 403
    without the scope.
    """
    return user_response(user)


@router.patch(
    "/{user_id}",
    response_model=UserRead,
    dependencies=[can_admin_users],
    responses=AUTH_ERRORS | NOT_FOUND | LAST_ADMIN,
)
async def update_user(user: ExistingUserDep, changes: UserUpdate, session: SessionDep) -> Response:
    """Change an account's name, scopes, active flag or password (an administrator's).

    Needs `users:admin`; fields left out or null stay as they are. 200 with the account.
    Takes effect on the account's very next request: deactivated, its tokens are refused
    (401); scopes taken away no longer count (403); a new `password` ends all its
    sessions. 409 when no active account would hold users:admin any more; 404 when no
    account has the id; 422 for an unknown scope or a password outside the policy.
    """
    hashed = None
    if changes.password is not None:
        # Hashing is slow: the connection that loaded the account goes back first.
        await session.commit()
        hashed = await hash_password(changes.password)
    user = await service.update_user(session, user, changes)
    if hashed is not None:
        await auth.set_password(session, user, hashed)
    return user_response(user)


@router.delete(
    "/{user_id}",
    dependencies=[can_admin_users],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=AUTH_ERRORS | NOT_FOUND | LAST_ADMIN,
)
async def delete_user(user: ExistingUserDep, session: SessionDep) -> None:
    """Delete an account and everything it owns (an administrator's).

    Needs `users:admin`. 204; the account's tokens are refused from the next request on.
    409 for the last active account holding users:admin; 404 when no account has the id.
    """
    await service.delete_user(session, user)
