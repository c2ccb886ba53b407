"""Who is calling, and may they: a route declares its scope once, with `Security`.

    NoteReaderDep = Annotated[Principal, Security(require_principal, scopes=["notes:read"])]

    @router.get("")
    async def list_notes(caller: NoteReaderDep, session: SessionDep) -> ...

`require_principal` checks the caller on the request's one session (`SessionDep`,
`db/session.get_session`) and makes that session act for the caller: with Row-Level
Security every later transaction of the request tells PostgreSQL whom it serves. So a
route takes `SessionDep` beside the caller and needs nothing else, and a test's
`app.dependency_overrides[get_session]` reaches every query of the request.

The signed token carries the user id and the granted scopes; whether its account may
still use them comes from `app.state.accounts` (`AccountStates`; users/revocation.py), which
costs a hot request no database round trip. The dependency chains are kept short on
purpose: FastAPI's cost per request grows with each dependency it solves.
"""

from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlmodel.ext.asyncio.session import AsyncSession

from ..db.session import SessionDep, act_as
from ..settings import API_PREFIX, Settings
from .principal import AccountStates, Principal
from .scopes import SCOPES
from .security import decode_access_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl=f"{API_PREFIX}/auth/token", scopes=SCOPES)


# RFC 6750 section 3.1: the challenge of a 401 for a bad, expired or revoked token.
INVALID_BEARER_CHALLENGE = 'Bearer error="invalid_token"'


def invalid_token() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "Could not validate credentials",
        headers={"WWW-Authenticate": INVALID_BEARER_CHALLENGE},
    )


def insufficient_scope(security_scopes: SecurityScopes) -> HTTPException:
    # RFC 6750 section 3.1: say which scopes the route needs.
    challenge = f'Bearer error="insufficient_scope", scope="{security_scopes.scope_str}"'
    return HTTPException(
        status.HTTP_403_FORBIDDEN, "Not enough permissions", headers={"WWW-Authenticate": challenge}
    )


async def authorize(
    request: Request, token: str, security_scopes: SecurityScopes, session: AsyncSession
) -> Principal:
    """The caller of a valid token whose account may still use it, with the scopes that
    both the token grants and the account still holds.

    Raises 401 (RFC 6750 `invalid_token`) for a bad or expired token, or an account that
    is gone, deactivated, or whose password changed since the token was issued; 403
    (`insufficient_scope`) when those scopes lack one the route needs.
    """
    settings: Settings = request.app.state.settings
    try:
        claims = decode_access_token(settings, token)
    except jwt.InvalidTokenError as exc:
        raise invalid_token() from exc
    accounts: AccountStates = request.app.state.accounts
    account = await accounts.state_of(session, claims.subject)
    if (
        account is None
        or not account.is_active
        or account.credentials_version != claims.credentials_version
    ):
        raise invalid_token()
    scopes = claims.scopes if claims.scopes <= account.scopes else claims.scopes & account.scopes
    if not scopes.issuperset(security_scopes.scopes):
        raise insufficient_scope(security_scopes)
    return Principal(user_id=claims.subject, scopes=scopes)


async def require_principal(
    security_scopes: SecurityScopes,
    request: Request,
    token: Annotated[str, Depends(oauth2_scheme)],
    session: SessionDep,
) -> Principal:
    """The caller, checked as `authorize` does (401 or 403 with an RFC 6750 challenge),
    with `session` (the request's one session) acting for it from here on."""
    principal = await authorize(request, token, security_scopes, session)
    act_as(session, principal.user_id, principal.scopes)
    return principal


PrincipalDep = Annotated[Principal, Security(require_principal)]
