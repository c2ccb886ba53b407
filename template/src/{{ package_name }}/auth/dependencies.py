"""Who is calling, and may they: a route declares its scope once, with `Security`.

    @router.get("/items", dependencies=[Security(require_principal, scopes=["items:read"])])

An authenticated read needs no database lookup: the signed token carries the user id
and the granted scopes. The dependency chains are kept short on purpose: FastAPI's cost
per request grows with each dependency it solves.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import jwt
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlmodel.ext.asyncio.session import AsyncSession

from ..core.config import API_PREFIX, Settings
from ..core.db import SessionDep, act_as, new_session
from ..core.scopes import SCOPES
from ..core.security import decode_access_token
from ..users.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl=f"{API_PREFIX}/auth/token", scopes=SCOPES)


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    scopes: frozenset[str]


def invalid_token() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "Could not validate credentials",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def insufficient_scope(security_scopes: SecurityScopes) -> HTTPException:
    # RFC 6750 section 3.1: say which scopes the route needs.
    challenge = f'Bearer error="insufficient_scope", scope="{security_scopes.scope_str}"'
    return HTTPException(
        status.HTTP_403_FORBIDDEN, "Not enough permissions", headers={"WWW-Authenticate": challenge}
    )


def authorize(request: Request, token: str, security_scopes: SecurityScopes) -> Principal:
    settings: Settings = request.app.state.settings
    try:
        claims = decode_access_token(settings, token)
    except jwt.InvalidTokenError as exc:
        raise invalid_token() from exc
    if not claims.scopes.issuperset(security_scopes.scopes):
        raise insufficient_scope(security_scopes)
    return Principal(user_id=claims.subject, scopes=claims.scopes)


async def require_principal(
    security_scopes: SecurityScopes, request: Request, token: Annotated[str, Depends(oauth2_scheme)]
) -> Principal:
    return authorize(request, token, security_scopes)


PrincipalDep = Annotated[Principal, Security(require_principal)]


async def require_user(principal: PrincipalDep, session: SessionDep) -> User:
    """The caller's account, which must still exist and be active."""
    user = await session.get(User, principal.user_id)
    if user is None or not user.is_active:
        raise invalid_token()
    return user


CurrentUser = Annotated[User, Depends(require_user)]


@dataclass(frozen=True)
class Actor:
    """A caller, and the session that acts for it (with RLS: as it, in the database)."""

    principal: Principal
    session: AsyncSession


async def acting_principal(
    security_scopes: SecurityScopes, request: Request, token: Annotated[str, Depends(oauth2_scheme)]
) -> AsyncIterator[Actor]:
    """Use as `Annotated[Actor, Security(acting_principal, scopes=[...])]`: the caller, checked,
    and a session of its own, in one dependency (the hot path of every item route)."""
    principal = authorize(request, token, security_scopes)
    async with new_session(request) as session:
        act_as(session, principal.user_id, principal.scopes)
        yield Actor(principal, session)
