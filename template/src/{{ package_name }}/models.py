"""Every table of the service, imported so that Alembic's autogenerate and check see them."""

from sqlmodel import SQLModel

from .accounts.models import AccountToken, LoginThrottle, RefreshToken
from .items.models import Item
from .users.models import User

metadata = SQLModel.metadata

__all__ = ["AccountToken", "Item", "LoginThrottle", "RefreshToken", "User", "metadata"]
