"""The caller's account row, for routes that work on the caller's own account."""

from typing import Annotated

from fastapi import Depends

from ..auth.dependencies import PrincipalDep, invalid_token
from ..db.session import SessionDep
from .models import User


async def require_user(principal: PrincipalDep, session: SessionDep) -> User:
    """The caller's account row, which must still exist and be active (else 401)."""
    user = await session.get(User, principal.user_id)
    if user is None or not user.is_active:
        raise invalid_token()
    return user


CurrentUserDep = Annotated[User, Depends(require_user)]
