"""Who is calling, as the service layer sees it: no HTTP here, so services can take it.

Also what a token is checked against (`AccountState`) and where that comes from
(`AccountStates`): `auth/` knows accounts only through this protocol, so it sits below
`users/`, which implements it (`users/revocation.AccountView`) and `main.py` wires in.
"""

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True)
class Principal:
    """Who is calling: the access token's subject (`user_id`), and the scopes it may use
    now: those the token grants (RFC 6749 section 3.3) that its account still holds."""

    user_id: UUID
    scopes: frozenset[str]


class OwnerGoneError(Exception):
    """The caller's account was deleted while the request ran, after its token was
    checked: there is no owner to give a new row to (feature_errors.py: a 401)."""


@dataclass(frozen=True, slots=True)
class AccountState:
    """What a token is checked against: the account as it is now."""

    is_active: bool
    scopes: frozenset[str]
    credentials_version: int


class AccountStates(Protocol):
    """The current state of accounts, as `app.state.accounts` provides it."""

    async def state_of(self, session: AsyncSession, user_id: UUID) -> AccountState | None:
        """The account's current state, or None when it does not exist. May use
        `session` for a transaction of its own, committed before returning."""
        ...
